"""Summarise a sweep (or single-run) folder into summary.csv, summary.md and curves.png.

Usage: python -m mlplab.report multirun/<date>/<time>
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

# Override keys that never define a group: seeds are what we average over, the rest is plumbing.
IGNORED_KEYS = {"seed", "experiment", "hydra/launcher"}
CURVE_METRICS = ("train/loss", "val/loss", "val/acc")
STAT_COLUMNS = [
    "n_completed", "n_diverged", "n_failed", "n_missing",
    "test_acc_mean", "test_acc_std", "test_acc_min", "test_acc_max",
    "test_acc_ci95_low", "test_acc_ci95_high", "test_loss_mean", "test_loss_std",
    "epochs_to_90_median", "n_never_90", "stability",
]
NAN = float("nan")


class ReportError(Exception):
    """The folder holds nothing that can be reported on."""


@dataclass
class Job:
    """One run: its folder name, overrides, status and (possibly empty) metrics.json content."""

    name: str
    overrides: list[str]
    status: str
    metrics: dict = field(default_factory=dict)


@dataclass
class Report:
    """What write_report produced: rows (group keys + STAT_COLUMNS), markdown, files, jobs."""

    rows: list[dict]
    markdown: str
    paths: list[Path]
    jobs: list[Job]

    @property
    def n_completed(self) -> int:
        """How many jobs completed (a sweep callback fails the sweep when none did)."""
        return sum(job.status == "completed" for job in self.jobs)


def _num(value) -> float:
    """JSON null (e.g. a metric not logged that epoch) becomes NaN so arithmetic stays valid."""
    return NAN if value is None else float(value)


def _load_job(path: Path) -> Job:
    metrics, status = {}, "not started"
    if (path / "metrics.json").is_file():
        try:
            metrics = json.loads((path / "metrics.json").read_text())
        except ValueError:
            metrics = None  # e.g. truncated by a full disk: report the job, don't crash
        if isinstance(metrics, dict):
            status = metrics.get("status", "unknown")
        else:
            metrics, status = {}, "unreadable"
    overrides_file = path / ".hydra" / "overrides.yaml"
    if overrides_file.is_file():
        overrides = yaml.safe_load(overrides_file.read_text()) or []
    else:
        overrides = metrics.get("overrides") or []
    return Job(path.name, [str(o) for o in overrides], status, metrics)


def _natural_order(path: Path) -> list:
    """Hydra numbers job folders 0, 1, ..., 10: sort 2 before 10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def find_jobs(folder: Path) -> list[Job]:
    """All jobs in a sweep folder, or the one job when the folder is a single run's output."""
    folder = Path(folder)
    if not folder.exists():
        raise ReportError(f"{folder} does not exist; give a sweep folder (multirun/<date>/<time>) or a run folder")
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a folder")
    if (folder / "metrics.json").is_file() or (folder / ".hydra" / "overrides.yaml").is_file():
        return [_load_job(folder)]
    jobs = [
        _load_job(d) for d in sorted(folder.iterdir(), key=_natural_order)
        if (d / "metrics.json").is_file() or (d / ".hydra" / "overrides.yaml").is_file()
    ]
    if not jobs:
        hint = " (this holds dated folders: pick one sweep, e.g. multirun/<date>/<time>)" if any(
            d.is_dir() for d in folder.glob("*/*")) else ""
        raise ReportError(f"no runs found under {folder} (expected job folders with metrics.json){hint}")
    return jobs


def _group_of(job: Job) -> dict[str, str]:
    group = {}
    for item in job.overrides:
        key, _, value = item.lstrip("+").partition("=")
        if key not in IGNORED_KEYS and not key.startswith("hydra."):  # metrics.json-only folders may list them
            group[key] = value
    return group


def group_jobs(jobs: list[Job]) -> tuple[list[str], dict[tuple, list[Job]]]:
    """Group key names, and jobs keyed by their group values (sorted, numbers numerically)."""
    keys: list[str] = []
    for job in jobs:
        keys += [k for k in _group_of(job) if k not in keys]
    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        group = _group_of(job)
        groups.setdefault(tuple(group.get(k, "") for k in keys), []).append(job)

    def value_key(value: str):
        try:
            return (0, float(value), "")
        except ValueError:
            return (1, 0.0, value)

    return keys, {g: groups[g] for g in sorted(groups, key=lambda g: [value_key(v) for v in g])}


def _bucket(status: str) -> str:
    return status if status in ("completed", "diverged", "failed") else "missing"


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = float(np.mean(values)) if values else NAN
    return mean, float(np.std(values, ddof=1)) if len(values) > 1 else NAN


def _run_stats(metrics: dict) -> dict:
    """One completed run's test numbers, first epoch at 90 % val/acc and late val/loss jitter."""
    final, history = metrics.get("final") or {}, metrics.get("history") or []
    reached = [h["epoch"] for h in history if _num(h.get("val/acc")) >= 0.9]
    val_loss = np.array([_num(h.get("val/loss")) for h in history])
    return {
        "test_acc": _num(final.get("test/acc")),
        "test_loss": _num(final.get("test/loss")),
        "epochs_to_90": reached[0] if reached else None,
        # Last 11 values give the last 10 epoch-to-epoch changes.
        "stability": float(np.mean(np.abs(np.diff(val_loss[-11:])))) if len(val_loss) > 1 else NAN,
    }


def group_stats(jobs: list[Job]) -> dict:
    """The STAT_COLUMNS values for one group of jobs."""
    from scipy.special import stdtrit  # Student t quantile; scipy.stats would cost ~1 s of import per sweep

    counts = Counter(_bucket(job.status) for job in jobs)
    runs = [_run_stats(job.metrics) for job in jobs if job.status == "completed"]
    acc = [r["test_acc"] for r in runs if math.isfinite(r["test_acc"])]
    loss = [r["test_loss"] for r in runs if math.isfinite(r["test_loss"])]
    reached = [r["epochs_to_90"] for r in runs if r["epochs_to_90"] is not None]
    stability = [r["stability"] for r in runs if math.isfinite(r["stability"])]
    acc_mean, acc_std = _mean_std(acc)
    loss_mean, loss_std = _mean_std(loss)
    # 95 % CI of the mean: Student t with n-1 dof times the standard error (NaN when n < 2).
    half = float(stdtrit(len(acc) - 1, 0.975) * acc_std / math.sqrt(len(acc))) if len(acc) > 1 else NAN
    row = {f"n_{b}": counts[b] for b in ("completed", "diverged", "failed", "missing")}
    row.update(
        test_acc_mean=acc_mean, test_acc_std=acc_std,
        test_acc_min=min(acc, default=NAN), test_acc_max=max(acc, default=NAN),
        test_acc_ci95_low=acc_mean - half, test_acc_ci95_high=acc_mean + half,
        test_loss_mean=loss_mean, test_loss_std=loss_std,
        epochs_to_90_median=float(np.median(reached)) if reached else NAN,
        n_never_90=len(runs) - len(reached),
        stability=float(np.mean(stability)) if stability else NAN,
    )
    return row


def curve_band(histories: list[list[dict]], metric: str) -> tuple[list, np.ndarray, np.ndarray]:
    """Epochs, mean and sample std (0 for one run) of a metric over the runs' common epochs."""
    length = min(len(h) for h in histories)
    epochs = [row.get("epoch", i + 1) for i, row in enumerate(histories[0][:length])]
    values = np.array([[_num(row.get(metric)) for row in h[:length]] for h in histories])
    std = values.std(axis=0, ddof=1) if len(histories) > 1 else np.zeros(length)
    return epochs, values.mean(axis=0), std


def plot_curves(curves: dict[str, list[list[dict]]], path: Path, eval_split: str = "eval",
                absent: list[str] = ()) -> None:
    """Three panels (CURVE_METRICS vs epoch), one mean line and ±1 std band per group label.

    The legend sits under the panels, so long labels never squeeze them; groups without a completed run
    (``absent``) are named in the title instead of silently missing.
    """
    # A bare Figure on the Agg canvas: no display needed, and no pyplot import (its backend set-up is slow)
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(15, 4.5))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    # tab10 colours are the easiest to tell apart; past 10 groups spread a continuous map instead.
    colours = (colormaps["tab10"].colors if len(curves) <= 10
               else colormaps["turbo"](np.linspace(0, 1, len(curves))))
    for colour, (label, histories) in zip(colours, curves.items()):
        for ax, metric in zip(axes, CURVE_METRICS):
            epochs, mean, std = curve_band(histories, metric)
            ax.plot(epochs, mean, color=colour, label=label)
            ax.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.2)
    for ax, metric in zip(axes, CURVE_METRICS):
        title = metric if metric.startswith("train") else f"{metric} (on the {eval_split} split)"
        ax.set(title=title, xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    title = "mean ± 1 std over completed runs" if curves else "no completed runs yet"
    if absent:
        title += f"; no completed run: {'; '.join(absent)}"
    fig.suptitle(title)
    if curves:
        ncol = 1 if max(map(len, curves)) > 60 else min(len(curves), 4)
        fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=ncol, fontsize="small",
                   frameon=False)
        rows = math.ceil(len(curves) / ncol)
        fig.set_figheight(4.5 + 0.25 * rows)
        fig.tight_layout(rect=(0, 0.25 * rows / fig.get_figheight() + 0.02, 1, 1))
    else:
        fig.tight_layout()
    fig.savefig(path, dpi=120)


def _fmt(value: float, std: float = NAN) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:.3f}" if not math.isfinite(std) else f"{value:.3f} ± {std:.3f}"


def to_markdown(folder: Path, keys: list[str], rows: list[dict], jobs: list[Job]) -> str:
    """Header line (job counts, eval split), the summary table, then the unfinished jobs."""
    counts = Counter(_bucket(job.status) for job in jobs)
    splits = sorted({str(j.metrics["eval_split"]) for j in jobs if j.metrics.get("eval_split")})
    header = keys + ["completed", "diverged", "failed", "missing", "test acc (mean ± std)",
                     "test acc 95% CI", "test loss (mean ± std)", "epochs to 90% (median)",
                     "never 90%", "stability"]
    lines = [
        f"# Report: {folder}", "",
        f"{len(jobs)} job{'s' * (len(jobs) != 1)} found: {counts['completed']} completed, {counts['diverged']} diverged, "
        f"{counts['failed']} failed, {counts['missing']} missing (running or not started). "
        f"Per-epoch val/* curves were computed on the {'/'.join(splits) or 'unknown'} split.", "",
        "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
    ]
    for row in rows:
        median_90 = row["epochs_to_90_median"]
        ci = (f"[{row['test_acc_ci95_low']:.3f}, {row['test_acc_ci95_high']:.3f}]"
              if math.isfinite(row["test_acc_ci95_low"]) else "—")
        cells = [str(row[k]).replace("|", "\\|") for k in keys] + [
            str(row[c]) for c in ("n_completed", "n_diverged", "n_failed", "n_missing")] + [
            _fmt(row["test_acc_mean"], row["test_acc_std"]), ci,
            _fmt(row["test_loss_mean"], row["test_loss_std"]),
            f"{median_90:g}" if math.isfinite(median_90) else "—", str(row["n_never_90"]),
            _fmt(row["stability"])]
        lines.append("| " + " | ".join(cells) + " |")
    unfinished = [job for job in jobs if job.status != "completed"]
    if unfinished:
        lines += ["", "## Jobs that did not complete", ""]
    for job in unfinished:
        detail = f" at epoch {job.metrics['epoch']}" if job.metrics.get("epoch") is not None else ""
        detail += f": {str(job.metrics['error']).splitlines()[0]}" if job.metrics.get("error") else ""
        lines.append(f"- `{job.name}`: {job.status}{detail}")
    return "\n".join(lines) + "\n"


def _csv_cell(value):
    """NaN becomes an empty cell, which spreadsheets and csv readers treat as "no value"."""
    return "" if isinstance(value, float) and math.isnan(value) else value


def write_report(folder) -> Report:
    """Write summary.csv, summary.md and curves.png into folder; ReportError if it has no runs."""
    folder = Path(folder)
    jobs = find_jobs(folder)
    keys, groups = group_jobs(jobs)
    rows = [{**dict(zip(keys, values)), **group_stats(group)} for values, group in groups.items()]

    paths = [folder / "summary.csv", folder / "summary.md", folder / "curves.png"]
    with open(paths[0], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys + STAT_COLUMNS)
        writer.writeheader()
        writer.writerows({k: _csv_cell(v) for k, v in row.items()} for row in rows)
    markdown = to_markdown(folder, keys, rows, jobs)
    paths[1].write_text(markdown)

    # Legend labels name only the keys that differ between groups (a key every job shares says nothing).
    varying = [i for i, k in enumerate(keys) if len({values[i] for values in groups}) > 1]
    curves, absent = {}, []
    for values, group in groups.items():
        label = ", ".join(f"{keys[i]}={values[i]}" for i in varying if values[i]) or folder.name
        histories = [j.metrics["history"] for j in group
                     if j.status == "completed" and j.metrics.get("history")]
        if histories:
            curves[label] = histories
        else:
            absent.append(label)
    splits = {str(j.metrics.get("eval_split")) for j in jobs if j.metrics.get("eval_split")}
    plot_curves(curves, paths[2], eval_split="/".join(sorted(splits)) or "eval", absent=absent)
    return Report(rows, markdown, paths, jobs)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: write the report, print it, return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m mlplab.report",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path,
                        help="sweep folder (multirun/<date>/<time>) or a single run's folder")
    args = parser.parse_args(argv)
    try:
        report = write_report(args.folder)
    except ReportError as err:
        print(f"mlplab.report: {err}", file=sys.stderr)
        return 1
    print(report.markdown)
    for path in report.paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
