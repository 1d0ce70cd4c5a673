"""The main job as a user runs it: `python train.py impl=manual init=xavier` from a fresh folder."""

import json

from conftest import run_cli
from tb import hparam_sessions, load_runs, scalar_steps


def test_main_job_from_the_command_line(tmp_path):
    p = run_cli(["impl=manual", "init=xavier"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert [x.name for x in tmp_path.iterdir()] == ["outputs"]  # nothing else in the folder it ran from
    (run_dir,) = list(tmp_path.glob("outputs/*/*"))
    rec = json.loads((run_dir / "metrics.json").read_text())
    assert rec["status"] == "completed" and rec["epoch"] == 50 and rec["final"]["test/acc"] >= 0.9
    assert rec["config"]["impl"]["name"] == "manual" and rec["config"]["init"]["scheme"] == "xavier"
    assert rec["overrides"] == ["impl=manual", "init=xavier"] and rec["eval_split"] == "test"
    # summary: final test metrics, the folder and the tensorboard command; a progress bar on the way
    out = p.stdout
    assert f"test/acc={rec['final']['test/acc']:.4f}" in out and f"tensorboard --logdir {run_dir}" in out
    assert "computed on the test split" in out
    assert "it/s" not in p.stderr + out  # not a terminal: no progress bar flooding the log

    (acc,) = load_runs(run_dir).values()
    (session,) = hparam_sessions(acc)
    assert session["impl"] == "manual" and session["init"] == "xavier" and session["lr"] == 0.01
    assert session["hidden_dims"] == "[100]" and session["batch_size"] == 16 and session["max_epochs"] == 50
    assert "hp_metric" not in acc.Tags()["scalars"]
    ((step, value),) = scalar_steps(acc, "test/acc")  # once, after the 50 epochs
    assert step == 51 and abs(value - rec["final"]["test/acc"]) < 1e-6
    assert [s for s, _ in scalar_steps(acc, "val/acc")] == list(range(1, 51))


def test_two_runs_in_the_same_second_get_their_own_folders(tmp_path):
    from mlplab.config import unique_dir, _claimed

    base = str(tmp_path / "outputs" / "same-second")
    first = unique_dir(base)
    _claimed.clear()  # a second process would not share this memo
    second = unique_dir(base)
    assert first == base and second == base + "-1"
    assert unique_dir(base) == second  # memoized: one process keeps its folder


def test_a_diverged_single_run_exits_nonzero_with_its_record(tmp_path):
    p = run_cli(["init=normal", "optimizer.lr=10", "model.hidden_dims=[100,100,100]"], cwd=tmp_path)
    assert p.returncode == 1 and "diverged in epoch" in p.stdout
    (metrics,) = list(tmp_path.glob("outputs/*/*/metrics.json"))
    assert json.loads(metrics.read_text())["status"] == "diverged"


def test_progress_bar_when_asked(tmp_path):
    p = run_cli(["trainer.progress_bar=true", "trainer.max_epochs=2"], cwd=tmp_path)
    assert p.returncode == 0 and "Epoch 1: 100%" in p.stdout
