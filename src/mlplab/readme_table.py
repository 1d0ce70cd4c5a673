"""Paste real result tables into README.md between marker comments, never by hand.

    python -m mlplab.readme_table compare [SWEEP_DIR]   # run experiment=compare (or reuse SWEEP_DIR)
    python -m mlplab.readme_table bench bench.md        # the latest `python -m mlplab.bench` table
"""

import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from mlplab.config import CONF_DIR

ROOT = CONF_DIR.parent
README = ROOT / "README.md"


def replace_block(text, name, body):
    """Swap what stands between <!-- name:start --> and <!-- name:end --> for ``body``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"mlplab.readme_table: README.md has no '{start}' ... '{end}' block")
    return pattern.sub(lambda _: f"{start}\n{body.strip()}\n{end}", text)


def machine():
    import os

    return f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


def compare_table(sweep_dir=None):
    where = f"run on {time.strftime('%Y-%m-%d')} ({machine()})"
    if sweep_dir is None:
        sweep_dir = ROOT / "multirun" / time.strftime("%Y-%m-%d") / (time.strftime("%H-%M-%S") + "-readme")
        cmd = [sys.executable, "train.py", "-m", "experiment=compare", f"hydra.sweep.dir={sweep_dir}"]
        subprocess.run(cmd, cwd=ROOT, check=True)
    else:  # an earlier sweep: its own date; the machine it ran on is not recorded
        where = f"from {sweep_dir}, {time.strftime('%Y-%m-%d', time.localtime(Path(sweep_dir).stat().st_mtime))}"
    summary = (Path(sweep_dir) / "summary.md").read_text().splitlines()
    rows = [line for line in summary if line.startswith("|")]
    counts = next((line for line in summary if "jobs found" in line), "")
    return f"`python train.py -m experiment=compare`, {where}; {counts}\n\n" + "\n".join(rows)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("compare", "bench"):
        raise SystemExit("usage: python -m mlplab.readme_table compare [SWEEP_DIR] | bench BENCH_MD")
    if argv[0] == "compare":
        name, body = "compare-table", compare_table(argv[1] if len(argv) > 1 else None)
    else:
        name, body = "bench-table", Path(argv[1] if len(argv) > 1 else "bench.md").read_text()
    README.write_text(replace_block(README.read_text(), name, body))
    print(f"updated the {name} block of {README}")


if __name__ == "__main__":
    main()
