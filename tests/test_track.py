"""`bench run --track mlflow` / matrices' `track: mlflow` and `bench export --to mlflow`, against a real
local MLflow store (sqlite under a temp folder), read back with mlflow's own client."""

from __future__ import annotations

import json
import sys

import pytest

from bench.cli import main
from bench.record.io import iter_records
from tests.conftest import ROOT, need, write

mlflow = need("mlflow", reason="the track extra: pip install -e '.[track]'")

MATRIX = f"""
name: tracked
tasks: [drugs-sentiment]
models: [tiny-bert]
max_length: [64]
train: {{batch_size: 16}}
budget: {{limit_train: 48, limit_eval: 30, epochs: 2}}
include: [{{model: tfidf-logreg, context: full}}]
track: mlflow
extra_metrics: [{ROOT / "metrics" / "mcc"}]
"""


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("BENCH_TASKS_DIR", str(ROOT / "tasks"))
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root (./mlruns) lands here
    from mlflow.tracking import MlflowClient

    return MlflowClient()


def all_runs(client):
    from mlflow.entities import ViewType

    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    return client.search_runs(ids, run_view_type=ViewType.ALL)


def test_matrix_tracked_read_back_resume_and_export_add_nothing(tmp_path, store, capsys):
    out = tmp_path / "out"
    matrix = write(tmp_path / "m.yaml", MATRIX)
    assert main(["run", "--matrix", str(matrix), "--out", str(out)]) == 0
    records = {r["cell_id"]: r for r in iter_records(out)}
    exp = store.get_experiment_by_name("tracked")  # the matrix's name
    runs = store.search_runs([exp.experiment_id])
    assert len(runs) == 2 == len(records)
    for run in runs:
        rec = records[run.data.tags["bench.cell_id"]]
        assert run.info.status == "FINISHED"
        assert run.data.tags["bench.task_fingerprint"] == rec["task"]["fingerprint"]
        assert run.data.params["model"] == rec["cell"]["model"]
        assert run.data.params["train.epochs"] == str(rec["cell"]["train"]["epochs"])
        assert run.data.params["max_length"] == "64"
        for key in ("accuracy", "macro_f1", "log_loss", "mcc"):  # mcc: the extra metric, filled in first
            assert run.data.metrics[key] == pytest.approx(rec["metrics"][key])
        assert run.data.metrics["timing.train_seconds"] == pytest.approx(rec["timing"]["train_seconds"])
        history = store.get_metric_history(run.info.run_id, "train_loss")
        curve = rec["timing"].get("loss_curve") or []
        assert [(h.step, h.value) for h in sorted(history, key=lambda h: h.step)] == \
            [(i, pytest.approx(v)) for i, v in enumerate(curve)]
        if rec["cell"]["model"] == "tiny-bert":
            assert len(curve) == 2  # one training loss per epoch
        local = store.download_artifacts(run.info.run_id, "record.json", str(tmp_path))
        assert json.loads(open(local).read()) == rec  # the record as written, extras included

    assert main(["run", "--matrix", str(matrix), "--out", str(out)]) == 0  # resume: nothing new
    assert len(all_runs(store)) == 2
    capsys.readouterr()
    assert main(["export", "--results", str(out), "--to", "mlflow"]) == 0
    assert "0 run(s) added to mlflow experiment 'tracked'" in capsys.readouterr().out  # the record's matrix
    assert len(all_runs(store)) == 2


def test_export_logs_existing_records_once(tmp_path, store, capsys):
    out = tmp_path / "out"
    assert main(["run", "--task", "drugs-sentiment", "--model", "tfidf-logreg", "--context", "full",
                 "--limit-train", "60", "--limit-eval", "30", "--out", str(out)]) == 0
    assert all_runs(store) == []  # not tracked unless asked
    capsys.readouterr()
    assert main(["export", "--results", str(out), "--to", "mlflow", "--experiment", "mine"]) == 0
    assert "1 run(s) added to mlflow experiment 'mine'" in capsys.readouterr().out
    assert main(["export", "--results", str(out), "--to", "mlflow", "--experiment", "mine"]) == 0
    (run,) = all_runs(store)
    (rec,) = list(iter_records(out))
    assert run.data.tags["bench.cell_id"] == rec["cell_id"] and run.data.metrics["accuracy"] == rec["metrics"]["accuracy"]


def test_track_without_mlflow_is_one_line_exit_2(tmp_path, store, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError
    out = tmp_path / "out"
    code = main(["run", "--task", "drugs-sentiment", "--model", "tfidf-logreg", "--context", "full",
                 "--out", str(out), "--track", "mlflow"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "pip install" in err and "domainbench[track]" in err
    assert not out.exists()
    assert main(["export", "--results", str(out), "--to", "mlflow"]) == 2


def test_report_to_mlflow_reaches_the_trainer_and_matches_the_tracked_loss(tmp_path, store, monkeypatch):
    monkeypatch.setenv("BENCH_REPORT_TO", "")  # restored after the test: --report-to sets it for workers
    out = tmp_path / "out"
    assert main(["run", "--task", "drugs-sentiment", "--model", "tiny-bert", "--max-length", "64", "--epochs", "2",
                 "--batch-size", "16", "--limit-train", "48", "--limit-eval", "30", "--out", str(out),
                 "--report-to", "mlflow", "--track", "mlflow"]) == 0
    ours = store.search_runs([store.get_experiment_by_name("bench-run").experiment_id])
    trainer = [r for r in all_runs(store) if r.info.run_id != ours[0].info.run_id]
    assert len(ours) == 1 and len(trainer) == 1  # the Trainer's own MLflowCallback made the other run
    assert "eval_loss" in trainer[0].data.metrics and "learning_rate" in trainer[0].data.params
    steps = sorted(store.get_metric_history(trainer[0].info.run_id, "loss"), key=lambda m: m.step)
    epochs = sorted(store.get_metric_history(ours[0].info.run_id, "train_loss"), key=lambda m: m.step)
    assert [m.value for m in epochs] == pytest.approx([m.value for m in steps]) and len(epochs) == 2


def test_report_to_is_checked_before_anything_runs(tmp_path, capsys, monkeypatch):
    from bench.fit.options import report_to

    monkeypatch.setenv("BENCH_TASKS_DIR", str(ROOT / "tasks"))
    monkeypatch.delenv("BENCH_REPORT_TO", raising=False)
    assert report_to() == "none"
    code = main(["run", "--task", "drugs-sentiment", "--model", "tiny-bert", "--out", str(tmp_path / "o"),
                 "--report-to", "no-such-integration"])
    assert code == 2 and "not a Trainer integration" in capsys.readouterr().err
    monkeypatch.setenv("BENCH_REPORT_TO", "tensorboard, mlflow")
    assert report_to() == ["tensorboard", "mlflow"]
