"""Estimates from this machine's own finished cells (bench.run.throughput, bench.run.cost): a new
results folder is estimated from what the same cells really took here, not from an assumed rate."""

import json

import pytest

from bench.cli import main
from tests.conftest import balanced_rows, write

MATRIX = """name: tp
tasks: [{task}]
models: [tfidf-logreg]
context: [full]
imbalance: [none, class_weight]
seeds: [0, 1]
"""


@pytest.fixture
def machine_cost(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_MACHINE_COST", "1")
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))


def _plan(m, out):
    from bench.run.plan import plan_matrix
    from bench.spec.matrix import load_matrix

    return plan_matrix(load_matrix(m), out)


def test_a_new_folder_is_estimated_from_this_machines_finished_cells(tmp_path, csv_task, capsys, machine_cost):
    from bench.run.cost import estimate
    from bench.run.throughput import log_path

    task = csv_task(balanced_rows(16, labels=("a", "b")), name="tp")
    m = write(tmp_path / "m.yaml", MATRIX.format(task=task))
    assert main(["run", "--matrix", str(m), "--out", str(tmp_path / "a")]) == 0
    lines = log_path().read_text().splitlines()
    assert len(lines) == 4 and {json.loads(x)["cell"]["model"] for x in lines} == {"tfidf-logreg"}
    walls = sorted(json.loads(p.read_text())["timing"]["wall_seconds"] for p in (tmp_path / "a" / "records").glob("*.json"))
    capsys.readouterr()

    est, basis = estimate(_plan(m, tmp_path / "b"))  # an empty folder: the machine's log calibrates it
    assert "on this machine's earlier cells for tfidf-logreg" in basis
    # every cell has the same work here, so each estimate is the mean of the measured wall times
    assert est == pytest.approx([sum(walls) / len(walls)] * 4, rel=1e-6)
    assert main(["run", "--matrix", str(m), "--out", str(tmp_path / "b"), "--dry-run"]) == 0
    assert "on this machine's earlier cells for tfidf-logreg" in capsys.readouterr().out


def test_the_folders_own_records_come_first_and_the_switch_turns_it_off(tmp_path, csv_task, monkeypatch, machine_cost):
    from bench.run.cost import estimate
    from bench.run.throughput import log_finished, log_path

    task = csv_task(balanced_rows(16, labels=("a", "b")), name="tp")
    m = write(tmp_path / "m.yaml", MATRIX.format(task=task))
    cells = [c.to_dict() for c in _plan(m, tmp_path / "x").cells]
    for cell in cells:  # a fake history: every cell took 7 s here
        log_finished({"status": "ok", "cell": cell, "precision": "fp32", "timing": {"wall_seconds": 7.0}})
    log_finished({"status": "failed", "cell": cells[0], "timing": {"wall_seconds": 99.0}})  # never counted
    with log_path().open("a") as f:
        f.write("not json\n")  # a torn line is skipped
    est, basis = estimate(_plan(m, tmp_path / "x"))
    assert est == pytest.approx([7.0] * 4) and "earlier cells" in basis
    monkeypatch.setenv("BENCH_MACHINE_COST", "0")
    est, basis = estimate(_plan(m, tmp_path / "x"))
    assert "assuming" in basis and est != pytest.approx([7.0] * 4)


def test_estimates_count_the_rows_a_strategy_trains_on(tmp_path, csv_task):
    """Undersampling trains on fewer rows and oversampling on more: the estimate follows the rows."""
    from bench.run.cost import estimate

    rows = [(f"text number {i} about {'a' if i < 60 else 'b'}", "a" if i < 60 else "b") for i in range(72)]
    task = csv_task(rows, name="skewed")
    m = write(tmp_path / "m.yaml", f"name: rows\ntasks: [{task}]\nmodels: [tiny-bert]\nmax_length: [32]\n"
                                   "imbalance: [none, undersample, oversample]\nseeds: [0]\n")
    est, _ = estimate(_plan(m, tmp_path / "out"))
    none, under, over = est
    assert under < none < over


def test_estimates_count_the_windows_a_context_policy_reads(tmp_path, csv_task):
    """chunk with 2 windows reads up to twice head's tokens; random_window trains on one window."""
    from bench.run.cost import estimate

    task = csv_task(balanced_rows(20, labels=("a", "b")), name="win")
    m = write(tmp_path / "m.yaml", f"name: win\ntasks: [{task}]\nmodels: [tiny-bert]\nmax_length: [32]\n"
                                   "context: [head, 'chunk:max_windows=2', 'random_window:max_windows=2']\nseeds: [0]\n")
    head, chunk, rand = estimate(_plan(m, tmp_path / "out"))[0]
    assert head < rand < chunk


def test_a_model_new_to_a_task_is_estimated_from_its_cells_on_other_tasks(tmp_path, csv_task, machine_cost):
    from bench.run.cost import estimate
    from bench.run.throughput import log_finished

    old = csv_task(balanced_rows(16, labels=("a", "b")), name="old")
    new = csv_task(balanced_rows(16, labels=("a", "b")), name="new", fname="new.csv")
    m_old = write(tmp_path / "m_old.yaml", MATRIX.format(task=old))
    m_new = write(tmp_path / "m_new.yaml", MATRIX.format(task=new))
    for cell in _plan(m_old, tmp_path / "x").cells:  # history on the old task only: 7 s a cell
        log_finished({"status": "ok", "cell": cell.to_dict(), "precision": None, "timing": {"wall_seconds": 7.0}})
    est, basis = estimate(_plan(m_new, tmp_path / "y"))
    assert "on this machine's earlier cells for tfidf-logreg" in basis
    assert est == pytest.approx([7.0] * 4, rel=1e-6)  # same rows on both tasks: the same seconds


def test_a_probe_never_calibrates_full_fine_tuning(tmp_path, csv_task, machine_cost):
    """Rates are kept per kind of training: a probe on cached features costs nothing like its FLOPs say."""
    from bench.run.cost import estimate
    from bench.run.throughput import log_finished

    task = csv_task(balanced_rows(16, labels=("a", "b")), name="kinds")
    m = write(tmp_path / "m.yaml", f"name: kinds\ntasks: [{task}]\nmodels: [tiny-bert]\nmax_length: [32]\n"
                                   "methods: [full, probe]\nseeds: [0]\n")
    plan = _plan(m, tmp_path / "x")
    for cell in plan.cells:  # history: full fine-tuning 7 s, the probe 0.1 s, same FLOP count
        secs = 7.0 if cell.method == "full" else 0.1
        log_finished({"status": "ok", "cell": cell.to_dict(), "precision": None, "timing": {"wall_seconds": secs}})
    est = dict(zip((c.method for c in plan.cells), estimate(_plan(m, tmp_path / "y"))[0], strict=True))
    assert est["full"] == pytest.approx(7.0, rel=1e-6) and est["probe"] == pytest.approx(0.1, rel=1e-6)
