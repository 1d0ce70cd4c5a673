"""Command line: ``python train.py [-m] key=value ...`` -> Hydra -> ``mlplab.run.train``.

Before Hydra launches anything, ``preflight`` checks every value the command line names, and every
combination of swept values, so a bad value stops the command with one line instead of a traceback or a
half-finished sweep.
"""

import dataclasses
import enum
import itertools
import sys
from typing import List, Optional

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from omegaconf import OmegaConf

from mlplab import config
from mlplab.config import CONF_DIR, ConfigError, TrainConfig, validate


def task(cfg):
    """Hydra's task: one job. Lightning is imported here, not at start-up, so a bad command fails fast."""
    from mlplab.run import summary_line, train

    hc = HydraConfig.get()
    sweep = hc.mode == RunMode.MULTIRUN
    out_dir = hc.runtime.output_dir
    # default: a bar for a single run in a terminal; none inside sweeps or in logs (it would print thousands
    # of carriage-return updates there)
    progress = cfg.trainer.progress_bar if cfg.trainer.progress_bar is not None else not sweep and sys.stdout.isatty()
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


# Hydra's flags that take a value, and those that are plain switches; any other flag (--help, --info,
# --config-name, ...) is Hydra's own business and skips the pre-flight check.
_FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p"}
_SWITCHES = {"-m", "--multirun", "--resolve"}


def preflight(argv):
    """Exit with one line if any job of this command line would get a bad config; nothing runs before."""
    args, multirun, it = [], False, iter(argv)
    for a in it:
        if a in _FLAGS_WITH_VALUE:
            next(it, None)
        elif a in _SWITCHES:
            multirun |= a in ("-m", "--multirun")
        elif a.startswith("-"):
            return
        else:
            args.append(a)
    if any(a in ("--cfg", "-c") for a in argv):
        config.DRY_RUN = True  # printing the config must not claim an output folder
    try:
        _check_overrides(args, multirun)
    except ConfigError as e:
        die(str(e))
    except Exception as e:  # Hydra/OmegaConf composition errors, reworded to one line
        die(_one_line(e))


def _check_overrides(args, multirun):
    """Compose once, then check every swept value, and every combination of plain swept values.

    Group choices (impl=nn,manual) are each composed once; plain keys (seed, optimizer.lr, ...) are set on
    the composed config, which type-checks them, and every combination is validated: no combination of
    values can fail later inside the sweep. Composing costs ~0.1 s, so it is not done per job.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(args)
    for o in parsed:
        key = o.get_key_element()
        if key[0] in "+~" and not key.lstrip("+~").startswith("hydra"):
            raise ConfigError(f"'{o.input_line}' adds or removes a key; mlplab's config keys are fixed "
                              f"(allowed top-level keys: {', '.join(_keys_under(''))})")
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    sweeps = [o for o in parsed if o.is_sweep_override()]
    first = {o.get_key_element(): f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}" for o in sweeps}
    base = _compose(fixed + list(first.values()))
    if sweeps and not multirun and str(base.hydra.mode) != "RunMode.MULTIRUN":
        raise ConfigError(f"'{sweeps[0].input_line}' lists several values; add -m to run one job per value")
    groups = [o for o in sweeps if _is_group(o.get_key_element())]
    composed = [base]
    for o in groups:
        key = o.get_key_element()
        for v in list(o.sweep_string_iterator())[1:]:
            composed.append(_compose(fixed + [f"{key}={v}" if k == key else line for k, line in first.items()]))
    plain = [o for o in sweeps if o not in groups and not o.get_key_element().startswith("hydra")]
    values = [list(o.sweep_iterator()) for o in plain]
    for c in composed:  # each group choice with every combination of the plain values (optimizer=adam x momentum)
        cfg = OmegaConf.masked_copy(c, [k for k in c.keys() if k != "hydra"])
        for combo in itertools.product(*values):
            for o, v in zip(plain, combo):
                try:
                    OmegaConf.update(cfg, o.get_key_element(), v, merge=False)
                except Exception as e:
                    raise ConfigError(_one_line(e, f"{o.get_key_element()}={v}")) from e
            validate(cfg)


def _is_group(key):
    return (CONF_DIR / key).is_dir() or key.startswith("hydra/")


def _compose(overrides):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=overrides, return_hydra_config=True)


def _one_line(e, override=None):
    from hydra.errors import MissingConfigException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

    if isinstance(e, MissingConfigException) and e.missing_cfg_file and e.options:
        group, _, value = e.missing_cfg_file.rpartition("/")
        return f"{group}={value} is not an option; allowed: {', '.join(sorted(e.options))}"
    cause = e.__cause__ if isinstance(e.__cause__, OmegaConfBaseException) else e
    key = getattr(cause, "full_key", None)
    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)) and key:
        parent, _, _ = key.rpartition(".")
        where = f" under '{parent}'" if parent else ""
        return f"unknown key '{key}'; allowed keys{where}: {', '.join(_keys_under(parent))}"
    if isinstance(cause, OmegaConfBaseException) and key:
        what = override or key
        return f"{what}: {str(cause.msg).splitlines()[0]} (expected {_expected(key)})"
    return str(e).strip().splitlines()[0]


def _keys_under(parent):
    node = OmegaConf.select(_compose([]), parent) if parent else _compose([])
    return [str(k) for k in node.keys() if k != "hydra"] if node is not None and hasattr(node, "keys") else []


def _expected(full_key):
    """What the schema accepts at ``full_key``, in words."""
    node = TrainConfig
    for part in full_key.split("."):
        fields = {f.name: f.type for f in dataclasses.fields(node)} if dataclasses.is_dataclass(node) else {}
        if part not in fields:
            return "a value of the documented type"
        node = fields[part]
    words = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
             List[int]: "a list of integers such as [100] or [100,100]", Optional[bool]: "true, false or null"}
    if isinstance(node, type) and issubclass(node, enum.Enum):
        return "one of: " + ", ".join(node.__members__)
    return words.get(node, str(node))
