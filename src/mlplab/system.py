"""The LightningModule: trains whichever network it is given, one shared step, metrics once per epoch."""

import math

import pytorch_lightning as pl
import torch


class Diverged(RuntimeError):
    """Raised at the end of the epoch whose loss stopped being finite."""

    def __init__(self, epoch, metrics):
        super().__init__(f"non-finite loss in epoch {epoch}: {metrics}")
        self.epoch = epoch


class Classifier(pl.LightningModule):
    """Wraps a network with ``forward(x) -> logits`` and ``loss(logits, y)``; never asks which one.

    Epoch metrics are per-sample averages over the whole epoch: each batch adds loss * batch size and its
    correct count to running sums, and the sums are read once at the epoch's end (no per-step logging).
    ``history`` holds one row per epoch: train/loss, val/loss, val/acc.
    """

    def __init__(self, net, optimizer="sgd", lr=0.01, momentum=0.0, weight_decay=0.0):
        super().__init__()
        self.save_hyperparameters(ignore=["net"], logger=False)  # hparams go to TensorBoard with final metrics
        self.net = net
        self.history = []
        self.test_metrics = {}
        self._sums = {}
        self._row = {}

    def forward(self, x):
        return self.net(x)

    def _step(self, batch, stage):
        x, y = batch
        logits = self.net(x)
        loss = self.net.loss(logits, y)
        s = self._sums
        with torch.no_grad():
            s["loss"] = s.get("loss", 0.0) + loss.detach() * len(y)
            if stage != "train":
                s["correct"] = s.get("correct", 0) + (logits.argmax(1) == y).sum()
        s["n"] = s.get("n", 0) + len(y)
        return loss

    def _epoch_metrics(self, stage):
        s, self._sums = self._sums, {}
        out = {f"{stage}/loss": float(s["loss"]) / s["n"]}
        if "correct" in s:
            out[f"{stage}/acc"] = int(s["correct"]) / s["n"]
        return out

    def _publish(self, metrics):
        if self.trainer.progress_bar_callback is not None:  # log_dict only feeds the bar: ~20% of a sweep job
            self.log_dict(metrics, prog_bar=True, logger=False)
        if self.logger is not None:  # TensorBoard, with the epoch as the x axis
            self.logger.log_metrics(metrics, step=self.current_epoch + 1)

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._step(batch, "test")

    def on_train_epoch_start(self):
        self._sums = {}

    def on_validation_epoch_start(self):
        self._train_sums, self._sums = self._sums, {}  # validation runs inside the training epoch

    def on_validation_epoch_end(self):
        self._row = self._epoch_metrics("val")
        self._sums = self._train_sums

    def on_train_epoch_end(self):
        row = {"epoch": self.current_epoch + 1, **self._epoch_metrics("train"), **self._row}
        self._row = {}
        self.history.append(row)
        self._publish({k: v for k, v in row.items() if k != "epoch"})
        if not all(math.isfinite(v) for v in row.values()):
            raise Diverged(row["epoch"], row)

    def on_test_epoch_start(self):
        self._sums = {}

    def on_test_epoch_end(self):
        self.test_metrics = self._epoch_metrics("test")
        self._publish(self.test_metrics)

    def configure_optimizers(self):
        h = self.hparams
        if h.optimizer == "sgd":
            return torch.optim.SGD(self.parameters(), lr=h.lr, momentum=h.momentum, weight_decay=h.weight_decay)
        if h.optimizer == "adam":
            return torch.optim.Adam(self.parameters(), lr=h.lr, weight_decay=h.weight_decay)
        raise ValueError(f"optimizer={h.optimizer!r}; allowed: sgd, adam")
