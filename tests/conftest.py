import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("BENCH_DEVICE", "cpu")  # CI has no GPU; GPU paths are exercised through Device on CPU
# precision "auto" resolves to fp32 in tests on every machine (no CPU calibration, machine-independent
# ids and numbers); tests of the calibration inject timings (tests/test_calibrate.py)
os.environ.setdefault("BENCH_BF16", "0")
os.environ.setdefault("BENCH_MACHINE_COST", "0")  # estimates never depend on what ran before (bench.run.throughput)
# Under pytest-xdist (README's test command: `-n auto`), the cores are shared between the workers: each
# worker's torch (and the subprocesses it starts) gets its share of threads, never every core each.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, _share)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from bench.spec.cell import Cell, TrainParams  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny_cell():
    """A tiny-bert cell on a small stratified subset of drugs-sentiment: seconds on CPU."""
    return Cell(task="drugs-sentiment", model="tiny-bert", max_length=64, seed=0,
                train=TrainParams(epochs=1, batch_size=16, limit_train=48, limit_eval=30, latency_docs=4))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


TASK_TEMPLATE = """
name: {name}
description: test task
domain: test
version: "1"
license: CC0
source: {{type: files, train: {train}}}
text_column: text
label_column: label
split_rule: {{validation: 0.2, test: 0.2}}
"""


@pytest.fixture
def csv_task(tmp_path):
    """Factory: write a CSV + a task YAML into tmp_path and return the YAML path."""

    def make(rows, name="t", extra="", fname="data.csv"):
        import csv

        with open(tmp_path / fname, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows(rows)
        return write(tmp_path / f"{name}.yaml", TASK_TEMPLATE.format(name=name, train=fname) + extra)

    return make


def balanced_rows(n_per_class=10, labels=("a", "b")):
    return [(f"document number {i} about {lab} things {lab}", lab) for lab in labels for i in range(n_per_class)]


def need(module: str, reason: str = ""):
    """Import an optional dependency; skip without it locally, but fail under CI (CI=true), where
    scripts/install.sh installs every extra the tests use: a skip must never hide a missing install."""
    import importlib

    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=reason or None)
