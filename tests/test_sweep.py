"""Real Hydra multiruns through the CLI: layout, TensorBoard per job, report, failures, launchers."""

import csv
import json
import subprocess
import sys

import pytest

from conftest import ROOT, run_cli
from tb import hparam_sessions, load_runs

pytestmark = pytest.mark.slow
FAST = ["trainer.max_epochs=2"]


def _sweep_dirs(cwd):
    return sorted(p for p in (cwd / "multirun").glob("*/*") if p.is_dir())


def test_small_sweep_layout_tensorboard_and_report(tmp_path):
    p = run_cli(["-m", "impl=manual,nn", "init=default,xavier", "seed=0,1", *FAST], cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    (sweep,) = _sweep_dirs(tmp_path)
    jobs = sorted(d.name for d in sweep.iterdir() if d.is_dir())
    expected = sorted(f"impl={i},init={n},seed={s},trainer.max_epochs=2"
                      for i in ("manual", "nn") for n in ("default", "xavier") for s in (0, 1))
    assert jobs == expected
    for job in jobs:
        assert (sweep / job / ".hydra" / "overrides.yaml").exists()
        assert json.loads((sweep / job / "metrics.json").read_text())["status"] == "completed"
    # one line per finished job, no progress bars
    assert sum(line.startswith("mlplab: job ") for line in p.stdout.splitlines()) == 8
    assert "it/s" not in p.stdout + p.stderr
    # TensorBoard lists one run per job, named by its overrides, one HParams row each with real metrics
    runs = load_runs(sweep)
    assert sorted(runs) == expected
    for name, acc in runs.items():
        (session,) = hparam_sessions(acc)
        assert f"impl={session['impl']}" in name and f"init={session['init']}" in name
        assert f"seed={int(session['seed'])}" in name
        assert {"test/acc", "test/loss", "train/loss", "val/loss", "val/acc"} <= set(acc.Tags()["scalars"])
    # the report, written by the end-of-sweep callback
    rows = list(csv.DictReader((sweep / "summary.csv").open()))
    assert len(rows) == 4 and {(r["impl"], r["init"]) for r in rows} == {
        (i, n) for i in ("manual", "nn") for n in ("default", "xavier")}
    assert all(r["n_completed"] == "2" for r in rows)
    assert (sweep / "summary.md").exists() and (sweep / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "| manual | default |" in p.stdout
    # a second sweep adds a folder, never overwrites
    p2 = run_cli(["-m", "seed=0", *FAST], cwd=tmp_path)
    assert p2.returncode == 0 and len(_sweep_dirs(tmp_path)) == 2


def test_two_sweeps_started_together_never_share_a_folder(tmp_path):
    cmd = [sys.executable, str(ROOT / "train.py"), "-m", "seed=0", "trainer.max_epochs=1"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    sweeps = _sweep_dirs(tmp_path)
    assert len(sweeps) == 2
    assert all(len(list(s.glob("*/metrics.json"))) == 1 for s in sweeps)


def test_a_diverging_job_is_isolated(tmp_path):
    p = run_cli(["-m", "init=normal", "optimizer.lr=0.01,10", "model.hidden_dims=[100,100,100]", *FAST], cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]  # one job completed: the sweep succeeds
    (sweep,) = _sweep_dirs(tmp_path)
    recs = {d.name: json.loads((d / "metrics.json").read_text()) for d in sweep.iterdir() if d.is_dir()}
    status = {r["config"]["optimizer"]["lr"]: r["status"] for r in recs.values()}
    assert status == {0.01: "completed", 10.0: "diverged"}
    assert "1 of 2 jobs did not complete" in p.stdout and "diverged" in p.stdout
    rows = list(csv.DictReader((sweep / "summary.csv").open()))
    assert sorted((r["optimizer.lr"], r["n_completed"], r["n_diverged"]) for r in rows) == [
        ("0.01", "1", "0"), ("10", "0", "1")]


def test_a_sweep_with_no_completed_job_exits_nonzero(tmp_path):
    p = run_cli(["-m", "init=normal", "optimizer.lr=10", "model.hidden_dims=[100,100,100]", "seed=0,1", *FAST],
                cwd=tmp_path)
    assert p.returncode != 0
    assert "no job of this sweep completed" in p.stderr


def test_joblib_launcher_runs_jobs_in_parallel_processes(tmp_path):
    cmd = [sys.executable, str(ROOT / "train.py"), "-m", "hydra/launcher=parallel", "hydra.launcher.n_jobs=2",
           "impl=manual,nn", *FAST]
    p = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.communicate(timeout=300)[0]
    assert p.returncode == 0, out[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in out
    (sweep,) = _sweep_dirs(tmp_path)
    # TensorBoard names event files ...<host>.<pid>.<n>: the jobs ran in worker processes, not the launcher
    pids = {int(f.name.split(".")[-2]) for f in sweep.glob("*/events.out.tfevents.*")}
    assert pids and p.pid not in pids
    recs = [json.loads(m.read_text()) for m in sweep.glob("*/metrics.json")]
    assert sorted(r["config"]["impl"]["name"] for r in recs) == ["manual", "nn"]
    assert all(r["status"] == "completed" for r in recs)


def test_submitit_local_launcher(tmp_path):
    p = run_cli(["-m", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5", "seed=0,1", *FAST],
                cwd=tmp_path, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    (sweep,) = _sweep_dirs(tmp_path)
    recs = [json.loads(m.read_text()) for m in sweep.glob("*/metrics.json")]
    assert sorted(r["config"]["seed"] for r in recs) == [0, 1] and all(r["status"] == "completed" for r in recs)
    assert (sweep / ".submitit").is_dir()  # submitit's own job records: it really went through submitit
    assert (sweep / "summary.csv").exists()
