"""Configs compose for every option, and bad values stop before training with one line."""

import pytest
import torch

from conftest import ROOT, make_cfg, run_cli
from mlplab.config import ConfigError, validate

GROUPS = {g: sorted(p.stem for p in (ROOT / "conf" / g).glob("*.yaml")) for g in ("impl", "init", "optimizer", "data", "trainer")}


def test_groups_hold_the_documented_options():
    assert GROUPS["impl"] == ["manual", "nn"]
    assert GROUPS["init"] == ["default", "kaiming", "normal", "torch", "xavier", "xavier_normal"]
    assert GROUPS["optimizer"] == ["adam", "sgd"]


@pytest.mark.parametrize("override", [f"{g}={o}" for g, opts in GROUPS.items() for o in opts if g != "trainer"])
def test_every_option_composes_and_validates(override):
    cfg = make_cfg(override)
    validate(cfg)
    group, option = override.split("=")
    if group == "impl":
        assert cfg.impl.name.name == option
    if group == "init":
        assert cfg.init.scheme.name == option


def test_defaults_are_the_original_study():
    cfg = make_cfg()
    assert (cfg.seed, cfg.optimizer.name.name, cfg.optimizer.lr, cfg.data.batch_size, cfg.trainer.max_epochs) == (
        0, "sgd", 0.01, 16, 50)
    assert list(cfg.model.hidden_dims) == [100] and cfg.data.test_size == 0.2 and cfg.data.split_seed == 0
    assert cfg.data.standardize is False and cfg.data.val_size == 0
    assert cfg.trainer.accelerator.name == "auto"


def test_experiment_presets_compose():
    for name in ("compare", "compare_all"):
        with __import__("hydra").initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = __import__("hydra").compose("train", overrides=[f"experiment={name}"], return_hydra_config=True)
        params = cfg.hydra.sweeper.params
        assert params.impl == "manual,nn" and "xavier" in params.init
        assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")


@pytest.mark.parametrize(
    "override, message",
    [
        ("optimizer.lr=-1", "optimizer.lr=-1.0"),
        ("optimizer.lr=0", "optimizer.lr=0.0"),
        ("model.hidden_dims=[]", "model.hidden_dims=[]"),
        ("model.hidden_dims=[100,0]", "contains 0"),
        ("data.batch_size=0", "data.batch_size=0"),
        ("data.test_size=1.5", "data.test_size=1.5"),
        ("data.val_size=0.9", "data.val_size=0.9"),
        ("trainer.max_epochs=0", "trainer.max_epochs=0"),
        ("trainer.devices=2", "trainer.devices=2"),
        ("trainer.precision=8-true", "trainer.precision=8-true"),
    ],
)
def test_validate_names_the_bad_value(override, message):
    with pytest.raises(ConfigError) as e:
        validate(make_cfg(override))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_gpu_without_cuda_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="trainer.accelerator=gpu.*no usable CUDA GPU.*cpu or auto"):
        validate(make_cfg("trainer.accelerator=gpu"))


CLI_ERRORS = [
    (["impl=foo"], "impl=foo", "manual, nn"),
    (["init=foo"], "init=foo", "xavier"),
    (["optimizer.lr=-1"], "optimizer.lr=-1.0", "> 0"),
    (["model.hidden_dims=[]"], "model.hidden_dims=[]", "at least one"),
    (["data.batch_size=0"], "data.batch_size=0", ">= 1"),
    (["trainer.max_epoch=3"], "trainer.max_epoch", "max_epochs"),
    (["bogus=1"], "bogus", "impl"),
    (["data.batch_size=abc"], "data.batch_size", "abc"),
    (["trainer.accelerator=tpu"], "tpu", "auto, cpu, gpu"),
    (["-m", "impl=manual,foo", "seed=0,1"], "impl=foo", "manual, nn"),
    (["-m", "seed=0,1", "optimizer.lr=0.1,-2"], "optimizer.lr=-2.0", "> 0"),
    # a bad pair of values no single value reveals: every combination of the sweep is checked
    (["-m", "data.test_size=0.2,0.5", "data.val_size=0.1,0.5"], "data.val_size=0.5 with data.test_size=0.5", "< 1"),
    (["-m", "optimizer=sgd,adam", "optimizer.momentum=0,0.9"], "optimizer.momentum=0.9", "optimizer=sgd"),
    (["seed=-1"], "seed=-1", "0 to 4294967295"),
    (["+foo=1"], "'+foo=1'", "seed, impl, init, model"),
    (["~seed"], "'~seed'", "keys are fixed"),
    (["impl._target_=os.system"], "impl._target_", "name"),
    (["model.in_features=5"], "model.in_features", "hidden_dims"),
    (["data.test_size=0.01"], "leave 2 test samples", "one per class"),
    (["optimizer=adam", "optimizer.momentum=0.9"], "optimizer.momentum=0.9", "optimizer=sgd"),
    (["seed=0,1"], "'seed=0,1'", "add -m"),
    (["--cfg", "job", "impl=foo"], "impl=foo", "manual, nn"),
    (["model.hidden_dims=100"], "model.hidden_dims", "such as [100]"),
    (["trainer.devices=2"], "trainer.devices=2", "one device"),
]
if not torch.cuda.is_available():
    CLI_ERRORS.append((["trainer.accelerator=gpu"], "trainer.accelerator=gpu", "cpu or auto"))


@pytest.mark.parametrize("args, bad, allowed", CLI_ERRORS)
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path, args, bad, allowed):
    p = run_cli(args, cwd=tmp_path)
    err = p.stderr.strip()
    assert p.returncode == 2, p.stderr
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("mlplab: error:") and bad in err and allowed in err
    assert not list(tmp_path.iterdir())  # no run folder, no sweep folder: nothing ran


def test_printing_the_config_writes_nothing(tmp_path):
    p = run_cli(["--cfg", "hydra", "--resolve"], cwd=tmp_path)
    assert p.returncode == 0 and "run:" in p.stdout
    assert not list(tmp_path.iterdir())


def test_impl_name_alone_picks_the_network(tmp_path):
    from mlplab.nets import TorchMLP
    from mlplab.run import build

    model, _ = build(make_cfg("impl.name=nn"))
    assert isinstance(model.net, TorchMLP)  # the recorded name and the network cannot disagree
