"""Smoke test for ``python -m mlplab.bench``: it runs, writes its two files where told, and nothing else."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SKIP = {".git", ".venv", "__pycache__", ".pytest_cache"}  # caches other runs may touch


def repo_files():
    found = set()
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP]
        found.update(os.path.relpath(os.path.join(root, f), REPO) for f in files)
    return found


def test_bench_smoke(tmp_path):
    before = repo_files()
    cmd = [sys.executable, "-m", "mlplab.bench", "--repeats", "1", "--epochs", "2", "--no-sweep", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "bench.md").is_file()
    result = json.loads((tmp_path / "bench.json").read_text())
    cases = result["cases"]
    assert set(cases) == {"bare", "dataloader", "mlplab-manual", "mlplab-nn"}
    assert all(c["median_s"] > 0 for c in cases.values())
    assert cases["bare"]["ratio"] == 1.0
    assert result["sweep"] is None
    assert repo_files() - before == set()
