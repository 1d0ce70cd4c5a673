"""The LightningModule and a whole run: epoch averages, float64, checkpoints, divergence, outputs."""

import json
import math

import pytest
import pytorch_lightning as pl
import torch

from mlplab.nets import ManualMLP, TorchMLP
from mlplab.run import build, train
from mlplab.system import Classifier


def test_epoch_metrics_are_per_sample_averages_over_uneven_batches():
    # batches of 3 and 1 samples: the epoch mean weights each sample once, not each batch
    net = TorchMLP(4, [5], 3, "xavier", 0)
    model = Classifier(net)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(4, 4, generator=g), torch.tensor([0, 1, 2, 1])
    model._step((x[:3], y[:3]), "test")
    model._step((x[3:], y[3:]), "test")
    got = model._epoch_metrics("test")
    logits = net(x)
    assert got["test/loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item(), abs=1e-6)
    assert got["test/acc"] == (logits.argmax(1) == y).float().mean().item()


@pytest.mark.parametrize("impl", ["manual", "nn"])
def test_end_to_end_run_through_compose(cfg_factory, tmp_path, impl):
    cfg = cfg_factory(f"impl={impl}", "init=xavier", "trainer.max_epochs=50")
    rec = train(cfg, tmp_path, overrides=[f"impl={impl}", "init=xavier"], progress_bar=False)
    assert rec["status"] == "completed" and rec["epoch"] == 50 and len(rec["history"]) == 50
    acc = rec["final"]["test/acc"]
    assert acc >= 0.9 and abs(acc * 30 - round(acc * 30)) < 1e-9  # a whole number of the 30 test samples
    assert [h["epoch"] for h in rec["history"]] == list(range(1, 51))
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["final"] == rec["final"] and on_disk["config"]["impl"]["name"] == impl
    assert on_disk["eval_split"] == "test"
    assert 0 <= min(h["val/acc"] for h in on_disk["history"]) <= max(h["val/acc"] for h in on_disk["history"]) <= 1
    assert list(tmp_path.glob("events.out.tfevents.*")) and (tmp_path / "model.ckpt").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_same_config_twice_gives_identical_metrics(cfg_factory, tmp_path):
    cfg = cfg_factory("impl=manual", "init=kaiming", "trainer.max_epochs=5", "seed=3")
    a = train(cfg, tmp_path / "a", progress_bar=False)
    b = train(cfg, tmp_path / "b", progress_bar=False)
    assert a["history"] == b["history"] and a["final"] == b["final"]
    c = train(cfg_factory("impl=manual", "init=kaiming", "trainer.max_epochs=5", "seed=4"), tmp_path / "c", progress_bar=False)
    assert c["history"] != a["history"]


def test_seed_zero_is_a_seed(cfg_factory, tmp_path):
    # seed 0 must be applied, not skipped: two seed-0 runs agree, and differ from seed 1
    runs = [train(cfg_factory("init=default", f"seed={s}", "trainer.max_epochs=2"), tmp_path / str(i), progress_bar=False)
            for i, s in enumerate([0, 0, 1])]
    assert runs[0]["history"] == runs[1]["history"] != runs[2]["history"]


def test_manual_tensors_stay_leaves_and_the_optimizer_updates_them(cfg_factory):
    model, dm = build(cfg_factory("impl=manual", "init=xavier", "trainer.max_epochs=1"))
    layer = model.net.mlp.layers[0]
    before = layer.w.detach().clone()
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(model, dm)
    assert layer.w is model.net.w0 and layer.w.is_leaf and layer.w.requires_grad
    assert not torch.equal(before, layer.w.detach())
    assert {n for n, _ in model.named_parameters()} == {"net.w0", "net.b0", "net.w1", "net.b1"}


def test_precision_64_trains_manual_in_float64(cfg_factory, tmp_path):
    cfg = cfg_factory("impl=manual", "init=xavier", "trainer.precision=64-true", "trainer.max_epochs=50")
    rec = train(cfg, tmp_path, progress_bar=False)
    assert rec["status"] == "completed", rec["error"]
    assert rec["final"]["test/acc"] >= 0.9
    state = torch.load(tmp_path / "model.ckpt", weights_only=False)["state_dict"]
    assert all(v.dtype == torch.float64 for v in state.values())


@pytest.mark.parametrize("impl, net_cls", [("manual", ManualMLP), ("nn", TorchMLP)])
def test_checkpoint_round_trip_gives_same_test_accuracy(cfg_factory, tmp_path, impl, net_cls):
    cfg = cfg_factory(f"impl={impl}", "init=xavier", "trainer.max_epochs=10")
    rec = train(cfg, tmp_path, progress_bar=False)
    fresh = net_cls(4, [100], 3, "normal", seed=123)  # different weights until the checkpoint loads
    model = Classifier.load_from_checkpoint(tmp_path / "model.ckpt", net=fresh)
    _, dm = build(cfg)
    trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.test(model, dm, verbose=False)
    assert model.test_metrics["test/acc"] == rec["final"]["test/acc"]
    assert model.test_metrics["test/loss"] == pytest.approx(rec["final"]["test/loss"], abs=1e-6)


def test_divergence_is_recorded_with_its_epoch(cfg_factory, tmp_path):
    cfg = cfg_factory("impl=manual", "init=normal", "optimizer.lr=10", "model.hidden_dims=[100,100,100]",
                      "trainer.max_epochs=20")
    rec = train(cfg, tmp_path, progress_bar=False)
    assert rec["status"] == "diverged" and 1 <= rec["epoch"] < 20
    assert len(rec["history"]) == rec["epoch"]  # stopped at once, not after all 20 epochs
    on_disk = json.loads((tmp_path / "metrics.json").read_text())  # strict JSON: NaN stored as null
    assert on_disk["status"] == "diverged" and on_disk["epoch"] == rec["epoch"]


def test_a_raising_job_records_failed_with_its_message(cfg_factory, tmp_path, monkeypatch):
    import mlplab.run as run

    def boom(cfg):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(run, "build", boom)
    rec = train(cfg_factory(), tmp_path, progress_bar=False)
    assert rec["status"] == "failed" and "disk on fire" in rec["error"]
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "failed"


def test_an_interrupted_run_is_recorded_then_stops(cfg_factory, tmp_path, monkeypatch):
    import mlplab.run as run

    def interrupt(cfg):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "build", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(cfg_factory(), tmp_path, progress_bar=False)
    rec = json.loads((tmp_path / "metrics.json").read_text())
    assert rec["status"] == "failed" and "interrupted" in rec["error"]
