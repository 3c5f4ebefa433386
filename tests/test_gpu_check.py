"""scripts/gpu_check.sh: argument handling, the dry run, the CPU path end to end (tiny budget), and
the JSON + Markdown summary it writes (bench.perf.summary)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "gpu_check.sh"
# The environment running these tests (.venv locally, .venv-ci in CI), not a hard-coded one.
BIN = Path(sys.executable).parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "BENCH_DEVICE": "cpu", "CUDA_VISIBLE_DEVICES": "",
       "BENCH": str(BIN / "bench"), "PY": sys.executable}


def script(*args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=ENV, timeout=timeout)


def test_bad_argument_is_one_line_exit_2(tmp_path):
    r = script("--turbo")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "--turbo" in r.stderr
    r = script("--out")
    assert r.returncode == 2 and "--out" in r.stderr


def test_dry_run_on_cpu_says_cuda_is_skipped_and_runs_nothing(tmp_path):
    out = tmp_path / "gc"
    r = script("--dry-run", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "SKIPPED" in r.stdout and "CUDA=0" in r.stdout
    assert "bench perf" in r.stdout.replace(str(ENV["BENCH"]), "bench") and "imbalance: [none, logit_adjust]" in r.stdout
    assert not out.exists()


@pytest.mark.slow
def test_cpu_path_end_to_end(tmp_path):
    out = tmp_path / "gc"
    r = script("--out", str(out), timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    s = json.loads((out / "summary.json").read_text())
    assert [x["step"] for x in s["steps"]] == ["side_by_side", "bf16_matrix"]
    assert all(x["exit_code"] == 0 for x in s["steps"])
    assert set(s["perf"]["perf_tiny_cpu"]["rows"]) == {"seed", "bench", "bare"}
    assert sorted(c["training_reused"] for c in s["matrix"]) == [False, True]
    md = (out / "summary.md").read_text()
    assert "| side_by_side | 0 |" in md and "## bf16 matrix" in md


def test_summary_from_step_outputs(tmp_path):
    from bench.perf.summary import main

    (tmp_path / "steps.tsv").write_text("side_by_side\t0\t120\nbf16_matrix\t124\t240\n")
    row = {"precision": "bf16", "wall_seconds": 50.0, "train_seconds": 40.0, "samples_per_s": 25.6,
           "real_tokens_per_s": 13000.0, "padding_share": 0.01, "mfu": 0.42, "macro_f1": [0.8, 0.82]}
    rep = {"config": {"task": "bbc-news", "model": "mpnet-base", "max_length": 512, "limit_train": 1024, "repeats": 2},
           "machine": {"gpu": "H200"}, "peak_gflops": {"fp32": 50000.0, "bf16": 700000.0},
           "rows": {"bench": row, "bare": {**row, "mfu": 0.45}}, "ratios": {"b/c train": 1.02},
           "load_verdict": {"ok": True, "why": "load ok"}}
    (tmp_path / "perf_mpnet.json").write_text(json.dumps(rep))
    rec = {"cell_id": "abc", "status": "ok", "precision": "bf16", "main_score": 0.9,
           "cell": {"task": "bbc-news", "model": "mpnet-base", "imbalance": "logit_adjust", "max_length": 512},
           "timing": {"train_seconds": 3.0, "training_reused": True, "peak_cuda_memory_mb": 5000.0}}
    (tmp_path / "matrix" / "records").mkdir(parents=True)
    (tmp_path / "matrix" / "records" / "abc.json").write_text(json.dumps(rec))
    assert main([str(tmp_path)]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["steps"][1] == {"step": "bf16_matrix", "exit_code": 124, "seconds": 240.0}
    assert s["perf"]["perf_mpnet"]["rows"]["bare"]["mfu"] == 0.45
    md = (tmp_path / "summary.md").read_text()
    assert "| bench | bf16 | 50.0 | 40.0 | 25.6 | 13000 | 1.0% | 42.0% | 0.800 0.820 |" in md
    assert "b/c train 1.02x" in md and "| reused |" in md and "| bf16_matrix | 124 | 240 |" in md
    assert main([str(tmp_path / "nope")]) == 2
