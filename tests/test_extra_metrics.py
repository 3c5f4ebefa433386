"""`bench run --extra-metric SPEC` / matrices' `extra_metrics`: real `evaluate.load` of the shipped
modules (metrics/mcc, metrics/brier) and of a user module written here, through a real tiny cell;
built-in metrics cross-checked against the modules and scikit-learn; an offline Hub name is one
line and exit 2 before anything runs, without touching the network."""

from __future__ import annotations

import json
import socket
import time

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, matthews_corrcoef

from bench.cli import main
from bench.errors import ConfigError
from bench.record.io import iter_records
from tests.conftest import ROOT, write

TINY = ["--task", "drugs-sentiment", "--model", "tiny-bert", "--max-length", "64", "--epochs", "1",
        "--batch-size", "16", "--limit-train", "48", "--limit-eval", "30"]

# A user's own evaluate module (what a team keeps in its repository): accuracy via scikit-learn.
USER_ACCURACY = '''
import datasets
import evaluate
from sklearn.metrics import accuracy_score


class Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Accuracy. Higher is better.", citation="", inputs_description="",
            features=datasets.Features({"predictions": datasets.Value("int32"),
                                        "references": datasets.Value("int32")}))

    def _compute(self, predictions, references, normalize=True):
        return {"accuracy": float(accuracy_score(references, predictions, normalize=normalize))}
'''

# Binary-style scalar scores: only fits two-class tasks (bench passes P(class 1)).
USER_SCALAR_SCORES = '''
import datasets
import evaluate


class PositiveMean(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Mean positive score; lower is better.", citation="", inputs_description="",
            features=datasets.Features({"prediction_scores": datasets.Value("float64"),
                                        "references": datasets.Value("int32")}))

    def _compute(self, prediction_scores, references):
        return {"positive_mean": sum(prediction_scores) / len(prediction_scores)}
'''


@pytest.fixture(scope="module")
def user_modules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user_metrics")
    write(folder / "accuracy" / "accuracy.py", USER_ACCURACY)
    write(folder / "positive_mean.py", USER_SCALAR_SCORES)
    return folder


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, user_modules):
    """One real tiny-bert cell with the shipped modules (relative SPECs, from the repo root) and a user module."""
    out = tmp_path_factory.mktemp("extra") / "out"
    mp = pytest.MonkeyPatch()
    mp.chdir(ROOT)
    try:
        code = main(["run", *TINY, "--out", str(out), "--extra-metric", "metrics/mcc",
                     "--extra-metric", "metrics/brier", "--extra-metric", str(user_modules / "accuracy")])
    finally:
        mp.undo()
    assert code == 0
    (rec,) = list(iter_records(out))
    return rec


def test_shipped_modules_through_a_real_cell_match_sklearn(tiny_run, user_modules):
    rec = tiny_run
    m, p = rec["metrics"], rec["predictions"]
    labels, pred, proba = np.array(p["labels"]), np.array(p["pred"]), np.array(p["proba"])
    assert m["mcc"] == pytest.approx(matthews_corrcoef(labels, pred), abs=1e-12)
    onehot = np.eye(proba.shape[1])[labels]
    assert m["brier"] == pytest.approx(np.mean(np.sum((proba - onehot) ** 2, axis=1)), abs=1e-5)
    # our built-in accuracy against a user's evaluate module and scikit-learn, on the same predictions
    assert m["evaluate_accuracy"] == pytest.approx(m["accuracy"], abs=1e-12)
    assert m["accuracy"] == pytest.approx(accuracy_score(labels, pred), abs=1e-12)
    section = rec["extra_metrics"]
    assert section["metrics/mcc"]["source"] == str(ROOT / "metrics" / "mcc")  # resolved to an absolute path
    assert section["metrics/mcc"]["direction"] == {"mcc": 1}
    assert section["metrics/brier"]["direction"] == {"brier": -1}  # lower is better, explicitly
    assert section[str(user_modules / "accuracy")]["keys"] == ["evaluate_accuracy"]
    assert rec["timing"]["loss_curve"] and all(np.isfinite(rec["timing"]["loss_curve"]))  # per epoch: 1


def test_offline_hub_name_exits_2_before_anything_runs(tmp_path, capsys, monkeypatch):
    attempts = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: attempts.append(a) or (_ for _ in ()).throw(OSError))
    monkeypatch.setattr(socket.socket, "connect", lambda *a: attempts.append(a) or (_ for _ in ()).throw(OSError))
    monkeypatch.setenv("BENCH_TASKS_DIR", str(ROOT / "tasks"))
    monkeypatch.chdir(tmp_path)  # `metrics/mcc` does not exist here: it is a Hub name now
    out = tmp_path / "out"
    for spec in ("matthews_correlation", "metrics/mcc"):
        t0 = time.perf_counter()
        assert main(["run", *TINY, "--out", str(out), "--extra-metric", spec]) == 2
        assert time.perf_counter() - t0 < 30
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and f"extra metric {spec!r} needs the Hub" in err and "local path" in err
    matrix = write(tmp_path / "m.yaml", "name: m\ntasks: [drugs-sentiment]\nmodels: [tfidf-logreg]\n"
                                        "context: [full]\nextra_metrics: [some-user/some-metric]\n")
    assert main(["run", "--matrix", str(matrix), "--out", str(out)]) == 2
    assert "'some-user/some-metric' needs the Hub" in capsys.readouterr().err
    assert not out.exists() and attempts == []


@pytest.mark.parametrize("args, message", [
    (["--extra-metric", "metrics/mcc:foo=1"], "takes no argument 'foo'"),
    (["--extra-metric", "metrics/mcc", "--extra-metric", "metrics/mcc/mcc.py"], "both named 'mcc'"),
    (["--extra-metric", "tests"], "cannot load it with evaluate.load"),
])
def test_bad_extra_metric_is_one_line_exit_2(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(ROOT)
    assert main(["run", *TINY, "--out", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0
    assert not (tmp_path / "out").exists()


def test_inputs_follow_the_module_features(user_modules):
    from bench.record.evaluate_metrics import add_to_record, load

    with pytest.raises(ConfigError, match="which way is better is unknown; declare it"):
        load([str(user_modules / "positive_mean.py")])  # its description says "lower is better": not read
    (scalar,) = load([str(user_modules / "positive_mean.py") + ":direction=lower"])
    assert scalar.direction("positive_mean") == -1 and scalar.kwargs == {}  # declared, not passed to compute
    rec = {"status": "ok", "metrics": {"accuracy": 0.5},
           "predictions": {"labels": [0, 1, 1], "pred": [0, 1, 0], "proba": [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]}}
    assert add_to_record(rec, [scalar])
    assert rec["metrics"]["positive_mean"] == pytest.approx((0.1 + 0.8 + 0.4) / 3)
    assert not add_to_record(rec, [scalar])  # already there: nothing recomputed
    three = {"status": "ok", "metrics": {}, "predictions": {"labels": [0, 2], "pred": [0, 2],
                                                            "proba": [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]]}}
    add_to_record(three, [scalar])  # a scalar score cannot describe three classes: noted, not fatal
    assert "positive_mean" not in three["metrics"] and "error" in three["extra_metrics"][scalar.spec]


def test_matrix_extra_metrics_fill_in_without_retraining_and_gate(tmp_path, capsys):
    body = "name: m\ntasks: [drugs-sentiment]\nmodels: [tfidf-logreg]\ncontext: [full]\nseeds: [0]\n" \
           "budget: {limit_train: 60, limit_eval: 30}\n"
    out = tmp_path / "out"
    assert main(["run", "--matrix", str(write(tmp_path / "a.yaml", body)), "--out", str(out)]) == 0
    (before,) = list(iter_records(out))
    assert "mcc" not in before["metrics"]
    with_extra = write(tmp_path / "b.yaml", body + f"extra_metrics: [{ROOT / 'metrics' / 'mcc'}]\n")
    assert main(["run", "--matrix", str(with_extra), "--out", str(out), "--extra-metric",
                 str(ROOT / "metrics" / "brier")]) == 0
    (after,) = list(iter_records(out))
    assert after["cell_id"] == before["cell_id"] and after["finished_at"] == before["finished_at"]  # not retrained
    p = after["predictions"]
    assert after["metrics"]["mcc"] == pytest.approx(matthews_corrcoef(p["labels"], p["pred"]), abs=1e-12)
    assert 0 <= after["metrics"]["brier"] <= 2
    base = tmp_path / "base.json"
    capsys.readouterr()
    assert main(["baseline", "--results", str(out), "--out", str(base), "--metrics", "mcc,brier", "--timings", ""]) == 0
    assert json.loads(base.read_text())["metrics"] == ["mcc", "brier"]
    assert main(["check", "--results", str(out), "--baseline", str(base)]) == 0
    capsys.readouterr()
    assert main(["report", "--results", str(out), "--metric", "brier"]) == 0  # a leaderboard by an extra metric
    assert f"{after['metrics']['brier']:.3f}"[:4] in capsys.readouterr().out

def test_shipped_metrics_recompute_on_resampled_documents_like_the_modules():
    """bench compare and the gate's paired bootstrap resample test documents: mcc and brier are
    recomputed there with the same values the evaluate modules give."""
    import evaluate

    from bench.report.stats import metric_values

    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 40)
    proba = rng.dirichlet(np.ones(3), 40)
    proba[np.arange(40), y] += 0.8
    proba /= proba.sum(1, keepdims=True)
    idx = rng.integers(0, 40, (5, 40))
    mcc = evaluate.load(str(ROOT / "metrics" / "mcc"), keep_in_memory=True)
    brier = evaluate.load(str(ROOT / "metrics" / "brier"), keep_in_memory=True)
    names = ["a", "b", "c"]
    got_mcc, got_brier = metric_values("mcc", y, proba, idx, names), metric_values("brier", y, proba, idx, names)
    for b, i in enumerate(idx):
        assert got_mcc[b] == pytest.approx(matthews_corrcoef(y[i], proba[i].argmax(1)), abs=1e-12)
        assert got_mcc[b] == pytest.approx(mcc.compute(references=y[i], predictions=proba[i].argmax(1))["mcc"])
        assert got_brier[b] == pytest.approx(brier.compute(references=y[i], prediction_scores=proba[i])["brier"])
    constant = np.zeros_like(proba)
    constant[:, 0] = 1.0
    assert np.all(metric_values("mcc", y, constant, idx, names) == 0.0)  # undefined -> 0, as sklearn
