"""Benchmark: mlplab's cost over a bare PyTorch loop on the same problem, and the ``compare`` sweep end to end.

    python -m mlplab.bench [--repeats 5] [--epochs 50] [--no-sweep] [--out DIR]

Writes DIR/bench.json and DIR/bench.md and prints the tables. This measures; it passes or fails nothing.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from torch import nn

from mlplab.config import CONF_DIR

REPO = CONF_DIR.parent
SWEEP_JOBS = 40  # experiment=compare: impl (2) x init (2) x seed (10)


def iris():
    """The mlplab split: stratified, test_size 0.2, random_state 0, float32 features, unstandardized."""
    d = load_iris()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, stratify=d.target, random_state=0)
    return (torch.as_tensor(xtr, dtype=torch.float32), torch.as_tensor(ytr),
            torch.as_tensor(xte, dtype=torch.float32), torch.as_tensor(yte))


def evaluate(model, batches):
    """Mean loss and accuracy over ``batches`` (one pass, no grad)."""
    loss, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in batches:
            logits = model(x)
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            n += len(y)
    return loss / n, correct / n


def fit(train_batches, test_batches, epochs, seed):
    """4-100-3 ReLU MLP, SGD lr 0.01: the loop both baselines share, so they differ only in batching."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 100), nn.ReLU(), nn.Linear(100, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(epochs):
        for x, y in train_batches():
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        evaluate(model, test_batches)
    return evaluate(model, test_batches)


def run_bare(data, epochs, seed=0, bs=16):
    """(a) The reference: randperm + indexing of in-memory tensors, no framework."""
    xtr, ytr, xte, yte = data
    test = list(zip(xte.split(bs), yte.split(bs)))
    return fit(lambda: ((xtr[i], ytr[i]) for i in torch.randperm(len(ytr)).split(bs)), test, epochs, seed)


class IrisDataset(torch.utils.data.Dataset):
    """The original study's style: one sample per ``__getitem__``, batched by the default collate."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def run_dataloader(data, epochs, seed=0):
    """(b) Batches from ``DataLoader(Dataset, batch_size=16, shuffle=True)``, for train and test."""
    xtr, ytr, xte, yte = data
    train = torch.utils.data.DataLoader(IrisDataset(xtr, ytr), batch_size=16, shuffle=True)
    test = torch.utils.data.DataLoader(IrisDataset(xte, yte), batch_size=16)
    return fit(lambda: train, test, epochs, seed)


def mlplab_config(impl, epochs):
    """The real config, composed by Hydra from conf/ exactly as ``train.py`` would (minus the hydra node)."""
    from hydra import compose, initialize_config_dir

    overrides = [f"impl={impl}", "init=xavier", "trainer.progress_bar=false", f"trainer.max_epochs={epochs}"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=overrides)


def timed_mlplab(cfg):
    """(c) One ``mlplab.run.train`` call (fit + test + logs + checkpoint) into a fresh temp dir; only it is timed."""
    from mlplab.run import train

    with tempfile.TemporaryDirectory(prefix="mlplab-bench-") as tmp:
        t = time.perf_counter()
        record = train(cfg, out_dir=tmp, progress_bar=False)
        dt = time.perf_counter() - t
    if record["status"] != "completed":  # a failed run would time nothing useful
        raise RuntimeError(f"mlplab run {record['status']}: {record['error']}")
    return dt


def timed(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def bench_cases(repeats, epochs):
    """Each case: one untimed warm-up, then ``repeats`` timed runs; returns {case: {median_s, times_s, ...}}."""
    data = iris()
    cfgs = {impl: mlplab_config(impl, epochs) for impl in ("manual", "nn")}
    cases = {
        "bare": (lambda: timed(run_bare, data, epochs), "randperm + indexing of in-memory tensors, nn.Linear/ReLU"),
        "dataloader": (lambda: timed(run_dataloader, data, epochs), "Dataset.__getitem__ per sample, DataLoader shuffle"),
        "mlplab-manual": (lambda: timed_mlplab(cfgs["manual"]), "train(): Lightning fit+test, TB log, ckpt, metrics.json"),
        "mlplab-nn": (lambda: timed_mlplab(cfgs["nn"]), "same, impl=nn (torch.nn.Linear)"),
    }
    out = {}
    for name, (fn, note) in cases.items():
        torch.set_num_threads(1)  # train() sets it too (trainer.threads=1); keep every case equal
        fn()  # warm-up: imports, allocator, Lightning's first-call costs
        times = [fn() for _ in range(repeats)]
        out[name] = {"median_s": statistics.median(times), "times_s": times, "notes": note}
    for row in out.values():
        row["ratio"] = row["median_s"] / out["bare"]["median_s"]
    return out


def bench_sweep(epochs):
    """``train.py -m experiment=compare`` as a subprocess vs 40 bare trainings in one process + one start-up."""
    data = iris()
    torch.set_num_threads(1)
    bare40 = sum(timed(run_bare, data, epochs, seed) for seed in range(SWEEP_JOBS))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    startup = time.perf_counter() - t
    with tempfile.TemporaryDirectory(prefix="mlplab-bench-sweep-") as tmp:
        cmd = [sys.executable, "train.py", "-m", "experiment=compare", f"hydra.sweep.dir={tmp}/sweep",
               f"trainer.max_epochs={epochs}"]
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        sweep = time.perf_counter() - t
        records = [json.loads(p.read_text()) for p in Path(tmp, "sweep").rglob("metrics.json")]
    if proc.returncode != 0:
        raise RuntimeError(f"sweep failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    done = [r for r in records if r.get("status") == "completed"]
    return {"sweep_s": sweep, "jobs_completed": len(done), "bare40_s": bare40, "startup_s": startup,
            "ratio": sweep / (bare40 + startup), "target": "<= 1.0",
            # the jobs' own train() durations, summed over all workers: the rest of the wall clock is
            # process start, Hydra/launcher overhead, and the end-of-sweep report
            "jobs_train_s_sum": sum(r.get("duration_s", 0.0) for r in done),
            "command": " ".join(cmd[1:]).replace(tmp, "<tmp>")}


def machine():
    import hydra
    import pytorch_lightning

    return {"processor": platform.processor(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "torch": torch.__version__,
            "lightning": pytorch_lightning.__version__, "hydra": hydra.__version__,
            "date": datetime.datetime.now().isoformat(timespec="seconds")}


def markdown(result):
    s, m = result["settings"], result["machine"]
    lines = [f"Machine: {m['machine']}, {m['cpu_count']} CPU cores, Python {m['python']}, torch {m['torch']}, "
             f"Lightning {m['lightning']}, Hydra {m['hydra']}; measured {m['date']}.", "",
             f"Iris 4-100-3 ReLU MLP, SGD lr 0.01, batch 16, {s['epochs']} epochs, eval on test each epoch, "
             f"1 thread; median of {s['repeats']} runs after 1 untimed warm-up per case.", "",
             "| case | median s | × bare | notes |", "|---|---:|---:|---|"]
    for name, r in result["cases"].items():
        lines.append(f"| {name} | {r['median_s']:.3f} | {r['ratio']:.2f} | {r['notes']} |")
    sw = result.get("sweep")
    if sw:
        lines += ["", f"Sweep `{sw['command']}` ({sw['jobs_completed']}/{SWEEP_JOBS} jobs completed, "
                  f"joblib launcher over {m['cpu_count']} CPUs; timed once, wall clock incl. process start):", "",
                  "| figure | seconds |", "|---|---:|",
                  f"| sweep wall clock | {sw['sweep_s']:.2f} |",
                  f"| sum of the jobs' own train() durations (inside the sweep, all workers) | {sw['jobs_train_s_sum']:.2f} |",
                  f"| 40 × bare, one after another in one process | {sw['bare40_s']:.2f} |",
                  f"| start-up: `python -c \"import torch\"` (interpreter + torch import) | {sw['startup_s']:.2f} |",
                  f"| ratio sweep / (40 × bare + start-up), target ≤ 1.0 | {sw['ratio']:.2f} |"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m mlplab.bench", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="timed runs per case; the median is reported")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--no-sweep", action="store_true", help="skip the experiment=compare sweep timing")
    p.add_argument("--out", type=Path, default=Path("."), help="folder for bench.json and bench.md")
    a = p.parse_args(argv)
    result = {"machine": machine(), "settings": {"repeats": a.repeats, "epochs": a.epochs, "threads": 1},
              "cases": bench_cases(a.repeats, a.epochs), "sweep": None if a.no_sweep else bench_sweep(a.epochs)}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "bench.json").write_text(json.dumps(result, indent=1))
    md = markdown(result)
    (a.out / "bench.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
