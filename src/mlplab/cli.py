"""Command line: ``python train.py [-m] key=value ...`` -> Hydra -> ``mlplab.run.train``.

Before Hydra launches anything, ``preflight`` composes the config for every value the command line names
and validates it, so a bad value stops the command with one line instead of a traceback or a half sweep.
"""

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from mlplab.config import CONF_DIR, ConfigError, validate


def task(cfg):
    """Hydra's task: one job. Lightning is imported here, not at start-up, so a bad command fails fast."""
    from mlplab.run import summary_line, train

    hc = HydraConfig.get()
    sweep = hc.mode == RunMode.MULTIRUN
    out_dir = hc.runtime.output_dir
    progress = cfg.trainer.progress_bar if cfg.trainer.progress_bar is not None else not sweep
    record = train(cfg, out_dir, overrides=hc.overrides.task, progress_bar=progress)
    name = (hc.job.override_dirname if sweep else " ".join(hc.overrides.task)) or "(defaults)"
    if sweep:
        print(f"mlplab: job {hc.job.num} {name} {summary_line(record)} ({record['duration_s']:.1f} s)", flush=True)
        return record["status"]
    eval_note = "per-epoch val/* curves were computed on the test split (data.val_size=0)"
    if record["eval_split"] == "val":
        eval_note = "per-epoch val/* curves were computed on the validation split"
    print(
        f"\nmlplab: {name}: {summary_line(record)}\n"
        f"  {eval_note}\n"
        f"  run folder:  {out_dir}\n"
        f"  metrics:     {out_dir}/metrics.json\n"
        f"  TensorBoard: tensorboard --logdir {out_dir}",
        flush=True,
    )
    if record["status"] != "completed":
        sys.exit(1)
    return record["status"]


_hydra_main = hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")(task)


def main():
    preflight(sys.argv[1:])
    _hydra_main()


def die(message):
    print(f"mlplab: error: {message}", file=sys.stderr)
    sys.exit(2)


def preflight(argv):
    """Exit with one line if any job of this command line would get a bad config."""
    args = [a for a in argv if a not in ("-m", "--multirun")]
    if any(a.startswith("-") for a in args):  # --help, --cfg, --info ...: Hydra's own business
        return
    try:
        for overrides in _variants(args):
            validate(_compose(overrides))
    except ConfigError as e:
        die(str(e))
    except Exception as e:  # Hydra/OmegaConf composition errors, reworded to one line
        die(_one_line(e))


def _variants(args):
    """Override lists that together try every value of every swept key (not the whole product)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(args)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    sweeps = [(o.get_key_element(), list(o.sweep_string_iterator())) for o in parsed if o.is_sweep_override()]
    first = [f"{k}={vs[0]}" for k, vs in sweeps if vs]
    yield fixed + first
    for i, (key, values) in enumerate(sweeps):
        for v in values[1:]:
            yield fixed + first[:i] + [f"{key}={v}"] + first[i + 1 :]


def _compose(overrides):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=overrides, return_hydra_config=True)


def _one_line(e):
    from hydra.errors import MissingConfigException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

    if isinstance(e, MissingConfigException) and e.missing_cfg_file and e.options:
        group, _, value = e.missing_cfg_file.rpartition("/")
        return f"{group}={value} is not an option; allowed: {', '.join(sorted(e.options))}"
    cause = e.__cause__ if isinstance(e.__cause__, OmegaConfBaseException) else e
    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)) and getattr(cause, "full_key", None):
        parent, _, key = cause.full_key.rpartition(".")
        allowed = _keys_under(parent)
        where = f" under '{parent}'" if parent else ""
        return f"unknown key '{cause.full_key}'; allowed keys{where}: {', '.join(allowed)}"
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        return f"{cause.full_key}: {str(cause.msg).splitlines()[0]}"
    return str(e).strip().splitlines()[0]


def _keys_under(parent):
    from omegaconf import OmegaConf

    node = OmegaConf.select(_compose([]), parent) if parent else _compose([])
    return [str(k) for k in node.keys()] if node is not None and hasattr(node, "keys") else []
