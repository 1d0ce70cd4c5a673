"""Tests for mlplab.report against hand-built sweep folders and hand-computed statistics."""
import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlplab.report import curve_band, main, write_report

SRC = Path(__file__).resolve().parents[1] / "src"

# Student t 97.5 % quantiles in closed form (df=1: Cauchy; df=2: (2p-1)/sqrt(2p(1-p))),
# so the CI check does not reuse scipy.
T_DF1 = math.tan(math.pi * 0.475)  # 12.7062047361747
T_DF2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)  # 4.3026527297494


def history(val_loss, val_acc):
    return [{"epoch": i + 1, "train/loss": loss + 0.1, "val/loss": loss, "val/acc": acc}
            for i, (loss, acc) in enumerate(zip(val_loss, val_acc))]


def metrics(status="completed", acc=None, loss=None, hist=(), epoch=None, error=None, overrides=()):
    final = {"test/acc": acc, "test/loss": loss} if status == "completed" else {}
    return {"status": status, "epoch": epoch if epoch is not None else len(hist), "error": error,
            "final": final, "history": list(hist), "overrides": list(overrides),
            "eval_split": "test", "config": {}, "duration_s": 1.0}


def write_job(root, name, overrides, content=None):
    job = root / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if content is not None:
        (job / "metrics.json").write_text(json.dumps(content))


# 12 epochs; the first value lies outside the last-10-changes window on purpose:
# |diff| of the last 11 = .5, 0, .1, .2, .2, 0, 0, 0, 0, .1 -> stability 1.1 / 10 = 0.11.
LOSS_JUMPY = [2.0, 1.0, 0.5, 0.5, 0.4, 0.6, 0.4, 0.4, 0.4, 0.4, 0.4, 0.3]
LOSS_LINEAR = [1.2 - 0.05 * i for i in range(12)]  # stability 0.05
LOSS_FLAT = [0.3] * 12  # stability 0


@pytest.fixture
def sweep(tmp_path):
    root = tmp_path / "multirun" / "2026-12-03" / "10-00-00"
    mx = ["impl=manual", "init=xavier", "experiment=baseline"]
    nx = ["impl=nn", "init=xavier", "experiment=baseline"]
    # manual/xavier: first epoch with val/acc >= 0.9 is 2, 3 (exactly 0.9), 5 -> median 3.
    write_job(root, "0", mx + ["seed=0"], metrics(acc=0.9, loss=0.3, hist=history(
        LOSS_JUMPY, [0.5, 0.92] + [0.95] * 10)))
    write_job(root, "1", mx + ["seed=1", "hydra.verbose=true"], metrics(
        acc=0.9333333333333333, loss=0.2, hist=history(LOSS_LINEAR, [0.6, 0.7, 0.9] + [0.93] * 9)))
    write_job(root, "2", mx + ["seed=2"], metrics(acc=1.0, loss=0.1, hist=history(
        LOSS_FLAT, [0.4, 0.5, 0.6, 0.7, 0.91] + [0.97] * 7)))
    write_job(root, "3", mx + ["seed=3"], metrics("failed", epoch=0, error="ValueError: bad shape"))
    write_job(root, "4", mx + ["seed=4"])  # not started: only .hydra/
    # nn/xavier: run lengths 12 and 10; only the first reaches 0.9 (epoch 4).
    write_job(root, "5", nx + ["seed=0"], metrics(acc=0.9666666666666667, loss=0.1, hist=history(
        LOSS_FLAT, [0.5, 0.6, 0.7, 0.95] + [0.96] * 8)))
    write_job(root, "6", nx + ["seed=1"], metrics(acc=0.9333333333333333, loss=0.15, hist=history(
        [1.0 - 0.1 * i for i in range(10)], [0.85] * 10)))  # stability 0.1
    # The trainer writes non-finite numbers as null.
    nan_history = [{"epoch": e, "train/loss": None, "val/loss": None, "val/acc": 0.3} for e in range(1, 8)]
    write_job(root, "7", nx + ["seed=2"],
              metrics("diverged", epoch=7, error="loss is nan", hist=nan_history))
    write_job(root, "8", nx + ["seed=3"],
              metrics("running", epoch=3, hist=history([1.0] * 3, [0.5] * 3)))
    # manual/he: one run only -> no std or CI.
    write_job(root, "9", ["impl=manual", "init=he", "experiment=baseline", "seed=0"],
              metrics(acc=0.8, loss=0.5, hist=history(LOSS_FLAT, [0.5] * 12)))
    return root


def counts(row):
    return tuple(row[f"n_{s}"] for s in ("completed", "diverged", "failed", "missing"))


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_sweep_statistics(sweep):
    report = write_report(sweep)
    assert report.n_completed == 6 and len(report.jobs) == 10
    rows = {(r["impl"], r["init"]): r for r in read_csv(sweep / "summary.csv")}
    assert list(rows) == [("manual", "he"), ("manual", "xavier"), ("nn", "xavier")]
    assert [r["impl"] for r in report.rows] == ["manual", "manual", "nn"]
    header = list(read_csv(sweep / "summary.csv")[0])
    assert header[:2] == ["impl", "init"] and "seed" not in header and "experiment" not in header
    assert not any(h.startswith("hydra") for h in header)

    mx = rows["manual", "xavier"]
    assert counts(mx) == ("3", "0", "1", "1")
    # Accuracies 27/30, 28/30, 30/30: mean 17/18, deviations -4/90, -1/90, 5/90,
    # so the sample variance is (16 + 1 + 25) / 8100 / 2 = 21 / 8100.
    mean, std = 17 / 18, math.sqrt(21) / 90
    assert float(mx["test_acc_mean"]) == pytest.approx(mean, abs=1e-9)
    assert float(mx["test_acc_std"]) == pytest.approx(std, abs=1e-9)
    assert float(mx["test_acc_min"]) == pytest.approx(0.9) and float(mx["test_acc_max"]) == 1.0
    half = T_DF2 * std / math.sqrt(3)
    assert float(mx["test_acc_ci95_low"]) == pytest.approx(mean - half, abs=1e-9)
    assert float(mx["test_acc_ci95_high"]) == pytest.approx(mean + half, abs=1e-9)
    assert float(mx["test_loss_mean"]) == pytest.approx(0.2)
    assert float(mx["test_loss_std"]) == pytest.approx(0.1)
    assert float(mx["epochs_to_90_median"]) == 3 and mx["n_never_90"] == "0"
    assert float(mx["stability"]) == pytest.approx((0.11 + 0.05 + 0.0) / 3)

    nx = rows["nn", "xavier"]
    assert counts(nx) == ("2", "1", "0", "1")
    std = (0.9666666666666667 - 0.9333333333333333) / math.sqrt(2)  # sample std of two values
    assert float(nx["test_acc_mean"]) == pytest.approx(0.95)
    assert float(nx["test_acc_std"]) == pytest.approx(std)
    assert float(nx["test_acc_ci95_high"]) == pytest.approx(0.95 + T_DF1 * std / math.sqrt(2))
    assert float(nx["epochs_to_90_median"]) == 4 and nx["n_never_90"] == "1"
    assert float(nx["stability"]) == pytest.approx((0.0 + 0.1) / 2)

    he = rows["manual", "he"]
    assert float(he["test_acc_mean"]) == 0.8 and he["test_acc_std"] == ""
    assert he["test_acc_ci95_low"] == he["test_acc_ci95_high"] == ""
    assert he["epochs_to_90_median"] == "" and he["n_never_90"] == "1"


def test_markdown_and_png(sweep):
    write_report(sweep)
    md = (sweep / "summary.md").read_text()
    assert "10 jobs found: 6 completed, 1 diverged, 1 failed, 2 missing" in md
    assert "on the test split" in md
    assert ("| manual | xavier | 3 | 0 | 1 | 1 | 0.944 ± 0.051 | [0.818, 1.071] | 0.200 ± 0.100"
            " | 3 | 0 | 0.053 |") in md
    assert ("| nn | xavier | 2 | 1 | 0 | 1 | 0.950 ± 0.024 | [0.738, 1.162] | 0.125 ± 0.035"
            " | 4 | 1 | 0.050 |") in md
    assert "| manual | he | 1 | 0 | 0 | 0 | 0.800 | — |" in md
    unfinished = md.split("## Jobs that did not complete")[1]
    assert "`3`: failed at epoch 0: ValueError: bad shape" in unfinished
    assert "`4`: not started" in unfinished
    assert "`7`: diverged at epoch 7: loss is nan" in unfinished
    assert "`8`: running at epoch 3" in unfinished
    assert (sweep / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_curve_band_uses_common_prefix():
    runs = [history([1.0, 0.5, 0.2], [0.1, 0.2, 0.3]), history([3.0, 1.5], [0.3, 0.4])]
    epochs, mean, std = curve_band(runs, "val/loss")
    assert epochs == [1, 2]
    assert mean.tolist() == pytest.approx([2.0, 1.0])
    assert std.tolist() == pytest.approx([math.sqrt(2), math.sqrt(0.5)])  # |a-b| / sqrt(2)


def test_groups_by_any_override_key(tmp_path):
    jobs = [(impl, lr, seed)
            for impl in ("manual", "nn") for lr in ("0.1", "0.01") for seed in (0, 1)]
    for i, (impl, lr, seed) in enumerate(jobs):
        write_job(tmp_path, f"job{i}", [f"impl={impl}", f"optimizer.lr={lr}", f"seed={seed}"],
                  metrics(acc=0.9 + seed * 0.05, loss=0.1, hist=history(LOSS_FLAT, [0.95] * 12)))
    rows = read_csv(write_report(tmp_path).paths[0])
    assert [(r["impl"], r["optimizer.lr"]) for r in rows] == [
        ("manual", "0.01"), ("manual", "0.1"), ("nn", "0.01"), ("nn", "0.1")]
    assert all(r["n_completed"] == "2" for r in rows)
    assert all(float(r["test_acc_mean"]) == pytest.approx(0.925) for r in rows)


def test_single_run_folder(tmp_path):
    run = tmp_path / "outputs" / "2026-12-03" / "10-00-00"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps(metrics(
        acc=0.9666, loss=0.12, hist=history(LOSS_LINEAR, [0.95] * 12), overrides=["impl=nn"])))
    rows = read_csv(write_report(run).paths[0])
    assert len(rows) == 1 and rows[0]["impl"] == "nn" and rows[0]["n_completed"] == "1"
    assert float(rows[0]["test_acc_mean"]) == pytest.approx(0.9666)
    assert (run / "curves.png").is_file()


def test_sweep_with_nothing_finished(tmp_path):
    write_job(tmp_path, "0", ["impl=nn", "seed=0"])
    rows = write_report(tmp_path).rows
    assert rows[0]["n_missing"] == 1 and math.isnan(rows[0]["test_acc_mean"])
    assert (tmp_path / "curves.png").is_file()


def test_main_prints_table_and_paths(sweep, capsys):
    assert main([str(sweep)]) == 0
    out = capsys.readouterr().out
    assert "| impl | init | completed |" in out
    assert f"wrote {sweep / 'summary.csv'}" in out and f"wrote {sweep / 'curves.png'}" in out


@pytest.mark.parametrize("make", [lambda p: p.mkdir(), lambda p: None], ids=["empty", "absent"])
def test_cli_without_runs_fails_with_one_line(tmp_path, make):
    folder = tmp_path / "nothing"
    make(folder)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run([sys.executable, "-m", "mlplab.report", str(folder)],
                          capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert proc.stderr.startswith("mlplab.report: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr + proc.stdout
