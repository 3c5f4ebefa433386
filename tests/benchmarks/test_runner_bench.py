"""Matrix runner speed (pytest-benchmark; run with --benchmark-enable). Each group has a
reference measured in the same run, so the table reads as a ratio:

- resume: re-running an already finished 100-cell matrix (expand, validate, ids, scan the
  records, nothing to run, summary + leaderboard) vs. just json-loading those 100 records.
  Goal: <= 2 s. Records are realistic in size but synthetic (a scan does not care).
- expand: a 10,000-cell matrix vs. the bare itertools.product over the same axes.
"""

import io
import itertools
import json

import pytest
from rich.console import Console

from bench.record.io import record_path
from bench.record.schema import failed_record
from bench.run.matrix import read_outcome_records, run_matrix
from bench.run.plan import plan_matrix
from bench.run.progress import print_outcome
from bench.spec.matrix import AXES, MatrixSpec
from bench.store import write_json_atomic
from tests.conftest import balanced_rows


@pytest.fixture
def finished(tmp_path, csv_task):
    task = csv_task(balanced_rows(12, labels=("a", "b", "c")), name="tiny3")
    spec = MatrixSpec(tasks=[str(task)], models=["tfidf-logreg"], imbalance=["none", "class_weight"],
                      context=["full"], seeds=list(range(50)))
    plan = plan_matrix(spec, tmp_path / "out")
    assert len(plan.ids) == 100
    for cell, cid in zip(plan.cells, plan.ids, strict=True):
        rec = failed_record(cell, cid, RuntimeError("synthetic"))
        rec.update(status="ok", cell_id=cid, main_score=0.5 + cell.seed / 1000,
                   task={"main_score": "macro_f1"}, model={"label": cell.model},
                   metrics={"accuracy": 0.6, "macro_f1": 0.5 + cell.seed / 1000},
                   timing={"train_seconds": 1.0, "wall_seconds": 2.0},
                   predictions={"proba": [[0.2, 0.3, 0.5]] * 400, "ids": [str(i) for i in range(400)]})
        write_json_atomic(record_path(tmp_path / "out", cid), rec)
    return spec, tmp_path / "out"


@pytest.mark.benchmark(group="resume: finished 100-cell matrix")
def test_rerun_finished_matrix(benchmark, finished):
    spec, out = finished

    def rerun():
        plan = plan_matrix(spec, out)
        outcome = run_matrix(plan)
        print_outcome(outcome, read_outcome_records(outcome), Console(file=io.StringIO(), width=200))
        return outcome

    outcome = benchmark(rerun)
    assert not outcome.ran and outcome.exit_code == 0


@pytest.mark.benchmark(group="resume: finished 100-cell matrix")
def test_reference_json_load_100_records(benchmark, finished):
    _, out = finished
    paths = sorted((out / "records").glob("*.json"))
    recs = benchmark(lambda: [json.loads(p.read_bytes()) for p in paths])
    assert len(recs) == 100


BIG = dict(tasks=[f"t{i}" for i in range(5)], models=["m1", "m2"], imbalance=[f"i{k}" for k in range(10)],
           context=[f"c{k}:n={k}" for k in range(10)], seeds=list(range(10)),
           exclude=[{"task": "t0", "imbalance": "i0", "context": "c0"}], train={"learning_rate": 1e-4})


@pytest.mark.benchmark(group="expand: 10,000-cell matrix")
def test_expand_ten_thousand_cells(benchmark):
    cells = benchmark(lambda: MatrixSpec(**BIG).expand())
    assert len(cells) == 10_000 - 2 * 10


@pytest.mark.benchmark(group="expand: 10,000-cell matrix")
def test_reference_bare_product(benchmark):
    spec = MatrixSpec(**BIG)
    axes = [spec.axis(a) for a in AXES]
    combos = benchmark(lambda: list(itertools.product(*axes)))
    assert len(combos) == 10_000
