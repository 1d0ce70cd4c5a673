"""The typed config: one dataclass per group, registered with Hydra so a typo or wrong type fails loudly.

Types are checked by OmegaConf while Hydra composes; ranges (lr > 0, non-empty hidden_dims, ...) and the
accelerator's presence are checked by ``validate``, which raises ``ConfigError`` with one line naming the
value and what is allowed.
"""

import math
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


N_SAMPLES, N_FEATURES, N_CLASSES = 150, 4, 3  # Iris: 50 flowers of each species, 4 measurements


def split_sizes(test_size, val_size):
    """(train, val, test) sample counts, rounded the way scikit-learn's train_test_split rounds them."""
    n_test = math.ceil(N_SAMPLES * test_size)
    n_rest = N_SAMPLES - n_test
    n_val = math.ceil(n_rest * val_size / (1.0 - test_size)) if val_size > 0 else 0
    return n_rest - n_val, n_val, n_test


class ConfigError(ValueError):
    """A config value outside what mlplab accepts; the message is the one line shown to the user."""


Impl = Enum("Impl", {k: k for k in ("manual", "nn")})
Init = Enum("Init", {k: k for k in ("default", "normal", "xavier", "xavier_normal", "kaiming", "torch")})
OptimizerName = Enum("OptimizerName", {k: k for k in ("sgd", "adam")})
Accelerator = Enum("Accelerator", {k: k for k in ("auto", "cpu", "gpu", "cuda", "mps")})


@dataclass
class ImplConfig:
    name: Impl = Impl.manual  # mlplab.nets.NETWORKS maps it to the class


@dataclass
class InitConfig:
    scheme: Init = Init.default


@dataclass
class ModelConfig:
    hidden_dims: List[int] = field(default_factory=lambda: [100])  # inputs (4) and classes (3) are Iris's


@dataclass
class OptimizerConfig:
    name: OptimizerName = OptimizerName.sgd
    lr: float = 0.01
    momentum: float = 0.0  # SGD only
    weight_decay: float = 0.0


@dataclass
class DataConfig:
    test_size: float = 0.2
    val_size: float = 0.0  # 0: per-epoch curves are computed on the test split, as in the original study
    split_seed: int = 0
    batch_size: int = 16
    standardize: bool = False


@dataclass
class TrainerConfig:
    max_epochs: int = 50
    accelerator: Accelerator = Accelerator.auto
    devices: int = 1  # one device per run: a 4-100-3 MLP gains nothing from data parallelism
    precision: str = "32-true"
    deterministic: Optional[bool] = None  # None: on for GPUs; CPU kernels used here are deterministic anyway
    threads: int = 1  # torch intra-op threads: a 4-100-3 MLP runs fastest on one
    progress_bar: Optional[bool] = None  # None: on for a single run, off inside a sweep
    num_sanity_val_steps: int = 0
    save_checkpoint: bool = True


@dataclass
class TrainConfig:
    seed: int = 0
    impl: ImplConfig = field(default_factory=ImplConfig)
    init: InitConfig = field(default_factory=InitConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    data: DataConfig = field(default_factory=DataConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


SEED_MAX = 2**32 - 1  # numpy's seed range, which Lightning's seed_everything also seeds
PRECISIONS = ("64-true", "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true")


def _check(ok, message):
    if not ok:
        raise ConfigError(message)


def validate(cfg):
    """Check the ranges that types cannot express; raise ConfigError naming the value and what is allowed."""
    _check(0 <= cfg.seed <= SEED_MAX, f"seed={cfg.seed} is not allowed; seeds are integers from 0 to {SEED_MAX}")
    _check(len(cfg.model.hidden_dims) > 0, "model.hidden_dims=[] is empty; give at least one hidden layer size, e.g. [100]")
    for d in cfg.model.hidden_dims:
        _check(d > 0, f"model.hidden_dims contains {d}; every hidden size must be a positive integer")
    _check(cfg.optimizer.lr > 0, f"optimizer.lr={cfg.optimizer.lr} is not allowed; the learning rate must be > 0")
    _check(cfg.optimizer.momentum >= 0, f"optimizer.momentum={cfg.optimizer.momentum} is not allowed; it must be >= 0")
    _check(cfg.optimizer.weight_decay >= 0, f"optimizer.weight_decay={cfg.optimizer.weight_decay} is not allowed; it must be >= 0")
    _check(cfg.data.batch_size >= 1, f"data.batch_size={cfg.data.batch_size} is not allowed; it must be an integer >= 1")
    _check(0 < cfg.data.test_size < 1, f"data.test_size={cfg.data.test_size} is not allowed; it must lie in (0, 1)")
    _check(
        0 <= cfg.data.val_size and cfg.data.test_size + cfg.data.val_size < 1,
        f"data.val_size={cfg.data.val_size} with data.test_size={cfg.data.test_size} is not allowed; "
        "val_size must be >= 0 and test_size + val_size < 1",
    )
    sizes = dict(zip(("train", "val", "test"), split_sizes(cfg.data.test_size, cfg.data.val_size)))
    for split, n in sizes.items():
        _check(
            n >= N_CLASSES or (split == "val" and n == 0),
            f"data.test_size={cfg.data.test_size} data.val_size={cfg.data.val_size} leave {n} {split} samples; "
            f"a stratified split needs at least one per class ({N_CLASSES})",
        )
    _check(
        cfg.optimizer.momentum == 0 or cfg.optimizer.name.name == "sgd",
        f"optimizer.momentum={cfg.optimizer.momentum} has no effect with optimizer={cfg.optimizer.name.name}; "
        "leave it at 0 or use optimizer=sgd",
    )
    _check(cfg.trainer.max_epochs >= 1, f"trainer.max_epochs={cfg.trainer.max_epochs} is not allowed; it must be >= 1")
    _check(
        cfg.trainer.devices == 1,
        f"trainer.devices={cfg.trainer.devices} is not supported; each run trains on one device "
        "(run seeds side by side with -m and hydra/launcher=parallel instead)",
    )
    _check(cfg.trainer.threads >= 1, f"trainer.threads={cfg.trainer.threads} is not allowed; it must be >= 1")
    _check(
        cfg.trainer.precision in PRECISIONS,
        f"trainer.precision={cfg.trainer.precision} is not allowed; choose one of: {', '.join(PRECISIONS)}",
    )
    _check_accelerator(cfg.trainer.accelerator.name)


def _check_accelerator(name):
    if name in ("gpu", "cuda"):
        import torch

        _check(
            torch.cuda.is_available(),
            f"trainer.accelerator={name} but this machine has no usable CUDA GPU "
            "(torch.cuda.is_available() is False); use trainer.accelerator=cpu or auto",
        )
    elif name == "mps":
        import torch

        _check(
            torch.backends.mps.is_available(),
            "trainer.accelerator=mps but Apple's MPS backend is not available here; use trainer.accelerator=cpu or auto",
        )


_claimed = {}
DRY_RUN = False  # set for --cfg: resolving the config prints it and must create nothing


def unique_dir(base):
    """``base`` if no folder is there yet, else ``base-1``, ``base-2``, ...: claimed with an atomic mkdir, so
    two runs or sweeps started in the same second never share a folder.

    Memoized within the process as well as through OmegaConf's resolver cache: Hydra re-resolves the run
    folder from copies of the config, and each copy must get the folder already claimed, not a new one."""
    if DRY_RUN:
        return base
    if base not in _claimed:
        path, k = base, 0
        while True:
            try:
                os.makedirs(path)
                break
            except FileExistsError:
                k += 1
                path = f"{base}-{k}"
        _claimed[base] = path
    return _claimed[base]


def register():
    cs = ConfigStore.instance()
    cs.store(name="train_schema", node=TrainConfig)
    if not OmegaConf.has_resolver("mlplab.unique_dir"):
        OmegaConf.register_new_resolver("mlplab.unique_dir", unique_dir, use_cache=True)


register()
