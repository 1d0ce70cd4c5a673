"""One training run: fit + test one config and write its TensorBoard log, checkpoint and metrics.json."""

import json
import logging
import math
import os
import time
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from pytorch_lightning.loggers import TensorBoardLogger

from mlplab.config import N_CLASSES, N_FEATURES, validate
from mlplab.data import IrisDataModule
from mlplab.nets import NETWORKS
from mlplab.system import Classifier, Diverged

# PL 2.6 on torch >= 2.10 warns about its own pytree use on every run: not ours to act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
for _name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning.fabric"):
    logging.getLogger(_name).setLevel(logging.WARNING)  # no "GPU available: False" banners per job


def build(cfg):
    """The LightningModule and DataModule that ``cfg`` describes."""
    net = NETWORKS[cfg.impl.name.name](
        in_features=N_FEATURES,
        hidden_dims=list(cfg.model.hidden_dims),
        out_features=N_CLASSES,
        init=cfg.init.scheme.name,
        seed=cfg.seed,
    )
    o = cfg.optimizer
    model = Classifier(net, optimizer=o.name.name, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    d = cfg.data
    dm = IrisDataModule(d.test_size, d.val_size, d.split_seed, d.batch_size, d.standardize, seed=cfg.seed)
    return model, dm


def hparams(cfg):
    """The flat hyperparameters shown in TensorBoard's HParams tab."""
    return {
        "impl": cfg.impl.name.name,
        "init": cfg.init.scheme.name,
        "seed": cfg.seed,
        "optimizer": cfg.optimizer.name.name,
        "lr": cfg.optimizer.lr,
        "hidden_dims": str(list(cfg.model.hidden_dims)),
        "batch_size": cfg.data.batch_size,
        "max_epochs": cfg.trainer.max_epochs,
        "standardize": cfg.data.standardize,
        "precision": cfg.trainer.precision,
    }


def log_hparams(logger, params, metrics):
    """One HParams row holding the hyperparameters with the final test metrics.

    Written as the raw hparams summary: Lightning's ``log_hyperparams(params, metrics)`` would also log
    the metrics again as scalars at step 0, beside the real ones.
    """
    from torch.utils.tensorboard.summary import hparams as hparams_summary

    writer = logger.experiment._get_file_writer()
    for summary in hparams_summary(params, metrics):
        writer.add_summary(summary)
    logger.experiment.flush()


def write_json(path, record):
    """Write ``record`` to ``path`` atomically: a reader sees the old file or the new one, never half."""
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(_finite_or_null(record), indent=1, allow_nan=False))
    os.replace(tmp, path)


def train(cfg, out_dir, overrides=(), progress_bar=True):
    """Fit and test ``cfg`` into ``out_dir``; return the record also written to ``out_dir/metrics.json``.

    Status is "completed", "diverged" (non-finite loss: training stops at the end of that epoch) or
    "failed" (any other error, its message recorded): a failing job leaves a record and never raises.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    record = {
        "status": "running",
        "epoch": 0,
        "error": None,
        "final": {},
        "history": [],
        "overrides": list(overrides),
        "eval_split": "val" if cfg.data.val_size > 0 else "test",
        "config": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
    }
    write_json(out_dir / "metrics.json", record)
    model = None
    try:
        validate(cfg)
        torch.set_num_threads(cfg.trainer.threads)
        pl.seed_everything(cfg.seed, verbose=False)
        model, dm = build(cfg)
        logger = TensorBoardLogger(save_dir=str(out_dir), name="", version="", default_hp_metric=False)
        trainer = pl.Trainer(
            max_epochs=cfg.trainer.max_epochs,
            accelerator=cfg.trainer.accelerator.name,
            devices=cfg.trainer.devices,
            precision=cfg.trainer.precision,
            deterministic=_deterministic(cfg.trainer),
            num_sanity_val_steps=cfg.trainer.num_sanity_val_steps,
            logger=logger,
            default_root_dir=str(out_dir),
            enable_checkpointing=False,  # one checkpoint at the end instead of one per epoch
            enable_model_summary=False,
            enable_progress_bar=progress_bar,
            log_every_n_steps=1,  # nothing is logged per step; this only silences a "too few batches" warning
        )
        trainer.fit(model, dm)
        trainer.test(model, dm, verbose=False)
        if cfg.trainer.save_checkpoint:
            trainer.save_checkpoint(out_dir / "model.ckpt")
        last = model.history[-1]
        record.update(status="completed", epoch=last["epoch"], final={**model.test_metrics, **_without_epoch(last)})
        log_hparams(logger, hparams(cfg), model.test_metrics)
        logger.finalize("success")
    except Diverged as e:
        record.update(status="diverged", epoch=e.epoch, error=str(e))
    except Exception as e:  # recorded, not raised: one bad job must not stop a sweep
        record.update(status="failed", error=f"{type(e).__name__}: {e}")
    except BaseException as e:  # Ctrl-C (Lightning turns it into SystemExit): record it, then stop
        record.update(status="failed", error=f"interrupted ({type(e).__name__})")
        raise
    finally:  # whatever happened, metrics.json ends with the history so far
        if model is not None:
            record["history"] = model.history
            record["epoch"] = record["epoch"] or len(model.history)
        record["duration_s"] = round(time.perf_counter() - start, 3)
        write_json(out_dir / "metrics.json", record)
    return record


def _deterministic(t):
    # torch.use_deterministic_algorithms costs ~15% of a CPU run and buys nothing there: the CPU kernels
    # this MLP uses give the same bits every time. On a GPU (atomics in scatter/index backward) it matters.
    if t.deterministic is not None:
        return t.deterministic
    return t.accelerator.name in ("gpu", "cuda") or (t.accelerator.name == "auto" and torch.cuda.is_available())


def _without_epoch(row):
    return {k: v for k, v in row.items() if k != "epoch"}


def summary_line(record):
    """One line: status and final test metrics, or what went wrong."""
    if record["status"] == "completed":
        f = record["final"]
        return f"completed: test/acc={f['test/acc']:.4f} test/loss={f['test/loss']:.4f} after {record['epoch']} epochs"
    if record["status"] == "diverged":
        return f"diverged in epoch {record['epoch']} (non-finite loss)"
    return f"failed: {str(record['error']).splitlines()[0]}"


def _finite_or_null(x):
    # strict JSON has no NaN/Infinity: a diverged run's non-finite losses are stored as null
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite_or_null(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite_or_null(v) for v in x]
    return x
