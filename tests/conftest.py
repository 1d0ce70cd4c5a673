import os
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from mlplab.config import CONF_DIR

ROOT = CONF_DIR.parent


def make_cfg(*overrides):
    """The real config, composed by Hydra exactly as train.py would (without the hydra node)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides))


def run_cli(args, cwd, timeout=300, env=None):
    """Run ``python train.py ARGS`` from ``cwd`` as a user would; return the CompletedProcess."""
    import subprocess

    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


@pytest.fixture
def cfg_factory():
    return make_cfg
