"""Report statistics on known inputs: seed stats, ranks with ties, missing cells, significance."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from bench.errors import BenchError, ConfigError, SchemaError
from bench.metrics import classification_metrics, confusion, per_class, roc_curves
from bench.record.io import write_record
from bench.record.schema import SCHEMA_VERSION
from bench.report.aggregate import build_board, load_record_set, pareto_mask, seed_stats
from bench.report.stats import mcnemar, mcnemar_counts, metric_values, paired_bootstrap
from bench.spec.cell import Cell

NAMES = ["a", "b", "c"]


def synth_record(task="t1", model="m1", imbalance="none", seed=0, labels=None, proba=None, metrics=None,
                 status="ok", train_seconds=10.0, label_names=NAMES, version="1"):
    """A record with known content; metrics come from the predictions unless given."""
    cell = Cell(task=task, model=model, imbalance=imbalance, seed=seed).to_dict()
    cid = hashlib.sha256(json.dumps(cell, sort_keys=True).encode()).hexdigest()[:16]
    rec = {"schema_version": SCHEMA_VERSION, "cell_id": cid, "status": status, "cell": cell}
    if status != "ok":
        rec["error"] = {"type": "RuntimeError", "message": "out of memory"}
        return rec
    rec["task"] = {"name": task, "version": version, "label_names": list(label_names), "main_score": "macro_f1",
                   "minority_class": label_names[-1]}
    rec["metrics"] = dict(metrics or {})
    if proba is not None:
        y, p = np.asarray(labels), np.asarray(proba, float)
        rec["metrics"] = {**classification_metrics(y, p, list(label_names), minority=len(label_names) - 1),
                          **rec["metrics"]}
        rec["per_class"] = per_class(y, p, list(label_names))
        rec["confusion_matrix"] = confusion(y, p, len(label_names))
        rec["roc_curves"] = roc_curves(y, p, list(label_names))
        rec["predictions"] = {"ids": [f"d{i}" for i in range(len(y))], "labels": y.tolist(),
                              "pred": p.argmax(1).tolist(), "proba": p.tolist()}
    rec["timing"] = {"train_seconds": train_seconds, "train_samples_per_s": 100 / train_seconds,
                     "latency_p50_ms": 5.0, "peak_memory_mb": 1000.0}
    rec["manifest"] = {"git": {"sha": "abc", "dirty": False}}
    return rec


def classifier(y: np.ndarray, accuracy: float, seed: int, k: int = 3) -> np.ndarray:
    """Probabilities whose argmax is right on about ``accuracy`` of the documents."""
    rng = np.random.default_rng(seed)
    right = rng.random(len(y)) < accuracy
    pred = np.where(right, y, (y + rng.integers(1, k, len(y))) % k)
    p = rng.random((len(y), k)) * 0.3
    p[np.arange(len(y)), pred] += 1.0
    return p / p.sum(1, keepdims=True)


def write(tmp_path, recs):
    for r in recs:
        write_record(tmp_path, r)
    return tmp_path


def test_seed_stats_known_values():
    s = seed_stats([0.8, 0.9, 1.0])
    assert s["n"] == 3 and s["mean"] == pytest.approx(0.9) and s["std"] == pytest.approx(0.1)
    half = 4.302652729911275 * 0.1 / np.sqrt(3)  # t(0.975, 2)
    assert s["ci_low"] == pytest.approx(0.9 - half) and s["ci_high"] == pytest.approx(0.9 + half)
    wide = seed_stats([0.8, 0.9, 1.0], alpha=0.01)  # --alpha governs the interval
    assert wide["ci_high"] - wide["ci_low"] == pytest.approx(2 * 9.924843200918 * 0.1 / np.sqrt(3))
    one = seed_stats([0.7])
    assert one["n"] == 1 and one["mean"] == 0.7 and np.isnan(one["std"]) and np.isnan(one["ci_low"])


def test_rank_ties_and_direction():
    import pandas as pd

    from bench.report.winrate import ranks_degenerate_last

    clean = pd.Series([False] * 4)
    assert ranks_degenerate_last(pd.Series([0.9, 0.8, 0.9, 0.7]), clean, 1).tolist() == [1, 3, 1, 4]
    assert ranks_degenerate_last(pd.Series([0.2, 0.1, 0.1]), clean[:3], -1).tolist() == [3, 1, 1]
    assert pareto_mask(np.array([0.9, 0.8, 0.95, 0.7]), np.array([10, 5, 30, 20])).tolist() == [True, True, True, False]


def test_board_mean_std_ranks_missing_failed(tmp_path):
    vals = {"m1": [0.8, 0.9, 1.0], "m2": [0.9, 0.9, 0.9], "m3": [0.5, 0.6, 0.7]}
    recs = [synth_record(task="t1", model=m, seed=s, metrics={"macro_f1": v})
            for m, vs in vals.items() for s, v in enumerate(vs)]
    recs += [synth_record(task="t2", model=m, seed=0, metrics={"macro_f1": v}) for m, v in (("m1", 0.5), ("m2", 0.6))]
    recs.append(synth_record(task="t2", model="m3", seed=0, status="failed"))
    recs.append(synth_record(task="t2", model="m4", seed=0, metrics={"macro_f1": 0.99}))  # m4 never ran t1
    board = build_board(load_record_set(write(tmp_path, recs)), "macro_f1", rows=["model"], cols=["task"])
    c = board.cells.set_index(["model", "task"])
    assert c.loc[("m1", "t1"), "mean"] == pytest.approx(0.9) and c.loc[("m1", "t1"), "std"] == pytest.approx(0.1)
    assert c.loc[("m2", "t1"), "std"] == pytest.approx(0.0) and c.loc[("m1", "t1"), "n"] == 3
    # m1 and m2 tie on t1 (0.9): both rank 1, m3 rank 3; both are "best"
    assert c.loc[("m1", "t1"), "rank"] == 1 and c.loc[("m2", "t1"), "rank"] == 1 and c.loc[("m3", "t1"), "rank"] == 3
    assert bool(c.loc[("m1", "t1"), "best"]) and bool(c.loc[("m2", "t1"), "best"])
    assert c.loc[("m3", "t2"), "status"] == "failed" and c.loc[("m4", "t1"), "status"] == "missing"
    assert c.loc[("m4", "t2"), "rank"] == 1 and c.loc[("m2", "t2"), "rank"] == 2
    ov = board.overall.set_index("model")
    # complete rows only: m1 mean rank (1+3)/2 = 2, m2 (1+2)/2 = 1.5 -> m2 first; m3 (failed) and m4 (missing) unranked
    assert ov.loc["m2", "overall_rank"] == 1 and ov.loc["m1", "overall_rank"] == 2
    assert np.isnan(ov.loc["m3", "overall_rank"]) and np.isnan(ov.loc["m4", "overall_rank"])
    assert board.failed["config"].str.startswith("m3").all() and len(board.failed) == 1


def test_layout_that_would_average_configurations_is_refused(tmp_path):
    recs = [synth_record(model=m, imbalance=i, metrics={"macro_f1": 0.5}) for m in ("m1", "m2") for i in ("none", "focal")]
    res = load_record_set(write(tmp_path, recs))
    with pytest.raises(ConfigError, match="imbalance"):
        build_board(res, "macro_f1", rows=["model"], cols=["task"])
    board = build_board(res, "macro_f1", rows=["model"], cols=["imbalance"])
    assert len(board.cells) == 4


def test_bad_inputs(tmp_path):
    with pytest.raises(BenchError, match="does not exist"):
        load_record_set(tmp_path / "nope")
    (tmp_path / "records").mkdir()
    with pytest.raises(BenchError, match="holds no records"):
        load_record_set(tmp_path)
    write(tmp_path, [synth_record(metrics={"macro_f1": 0.5})])
    res = load_record_set(tmp_path)
    with pytest.raises(ConfigError, match="did you mean 'macro_f1'"):
        build_board(res, "macro_f2")
    with pytest.raises(ConfigError, match="did you mean 'imbalance'"):
        build_board(res, "macro_f1", rows=["imbalanse"])
    write_record(tmp_path, synth_record(seed=1, metrics={"macro_f1": 0.5}, version="2"))
    with pytest.raises(SchemaError, match="different task versions"):
        load_record_set(tmp_path)
    (tmp_path / "records").joinpath(synth_record(seed=1)["cell_id"] + ".json").unlink()
    old = synth_record(model="old", metrics={"macro_f1": 0.5})
    old["schema_version"] = 0
    write_record(tmp_path, old)
    with pytest.raises(SchemaError, match="mixed schema versions"):
        load_record_set(tmp_path)


def test_fast_metrics_match_sklearn():
    y = np.random.default_rng(0).integers(0, 3, 200)
    p = classifier(y, 0.7, 1)
    want = classification_metrics(y, p, NAMES, minority=2)
    idx = np.arange(200)[None, :]
    for m in ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "macro_precision", "micro_f1",
              "minority_recall", "log_loss", "roc_auc", "ece", "pr_auc"):
        assert metric_values(m, y, p, idx, NAMES, 2)[0] == pytest.approx(want[m], rel=1e-6, abs=1e-9), m
    y2 = y % 2  # binary: ROC-AUC on the positive class
    p2 = classifier(y2, 0.8, 2, k=2)
    want2 = classification_metrics(y2, p2, ["n", "p"], minority=1)
    for m in ("roc_auc", "macro_f1", "log_loss"):
        assert metric_values(m, y2, p2, idx, ["n", "p"], 1)[0] == pytest.approx(want2[m], rel=1e-6), m


def test_identical_predictions_no_difference():
    y = np.random.default_rng(0).integers(0, 3, 150)
    a = [synth_record(seed=s, labels=y, proba=classifier(y, 0.7, s)) for s in range(3)]
    b = [synth_record(model="m2", seed=s, labels=y, proba=classifier(y, 0.7, s)) for s in range(3)]
    r = paired_bootstrap(a, b, "macro_f1", resamples=300)
    assert r["diff"] == 0 and r["ci_low"] == 0 and r["ci_high"] == 0 and not r["significant"] and r["p_value"] == 1
    m = mcnemar(a, b)
    assert m["a_only_correct"] == m["b_only_correct"] == 0 and m["p_value"] == 1


def test_clearly_better_classifier_is_significant():
    y = np.random.default_rng(0).integers(0, 3, 200)
    good = [synth_record(seed=s, labels=y, proba=classifier(y, 0.9, 10 + s)) for s in range(3)]
    bad = [synth_record(model="m2", seed=s, labels=y, proba=classifier(y, 0.6, 20 + s)) for s in range(3)]
    r = paired_bootstrap(good, bad, "macro_f1", resamples=500)
    assert r["significant"] and r["ci_low"] > 0 and r["p_value"] < 0.05 and r["better"] == "A"
    assert r["n_docs"] == 200 and r["n_seeds"] == 3
    assert r["p_value"] == pytest.approx(2 / 501) == r["min_p"] and r["resamples"] == 500  # (1 + 0) / (B + 1), two-sided
    assert paired_bootstrap(bad, good, "log_loss", resamples=200)["better"] == "B"  # lower is better
    m = mcnemar(good, bad)
    assert m["p_value"] < 0.05 and m["a_only_correct"] > m["b_only_correct"]
    # the same three runs under other seed numbers: equal skill, the interval covers zero (the false-positive
    # rate over many equal-skill pairs is tests/test_stats_calibration.py's)
    same = [synth_record(model="m3", seed=s, labels=y, proba=classifier(y, 0.9, 10 + (s + 1) % 3)) for s in range(3)]
    r = paired_bootstrap(good, same, "accuracy", resamples=500)
    assert not r["significant"] and r["ci_low"] <= 0 <= r["ci_high"] and r["p_value"] > 0.5


def test_mcnemar_known_counts():
    from scipy.stats import binomtest

    assert mcnemar_counts(0, 0)[1] == 1.0
    assert mcnemar_counts(2, 8)[1] == pytest.approx(binomtest(2, 10, 0.5).pvalue)
    stat, p, method = mcnemar_counts(10, 30)
    assert method == "chi2-cc" and stat == pytest.approx((20 - 1) ** 2 / 40) and p < 0.01


def test_board_marks_ties_with_best(tmp_path):
    y = np.random.default_rng(0).integers(0, 3, 200)
    recs = [synth_record(model="best", seed=s, labels=y, proba=classifier(y, 0.9, 10 + s)) for s in range(2)]
    for s in range(2):  # "close": the best's predictions with one right document made wrong
        p = classifier(y, 0.9, 10 + s)
        i = int(np.flatnonzero(p.argmax(1) == y)[0])
        p[i] = np.roll(p[i], 1)
        recs.append(synth_record(model="close", seed=s, labels=y, proba=p))
    recs += [synth_record(model="worse", seed=s, labels=y, proba=classifier(y, 0.5, 50 + s)) for s in range(2)]
    board = build_board(load_record_set(write(tmp_path, recs)), "accuracy", rows=["model"], resamples=300)
    c = board.cells.set_index("model")
    assert c.loc["worse", "tie_best"] is False
    assert bool(c.loc["best", "best"]) and c.loc["close", "tie_best"] is True
    assert c.loc["worse", "p_vs_best_adj"] >= c.loc["worse", "p_vs_best"]  # Holm over the column's family
    assert c.loc["close", "p_vs_best_adj"] >= c.loc["close", "p_vs_best"]


def test_single_record_board(tmp_path):
    board = build_board(load_record_set(write(tmp_path, [synth_record(metrics={"macro_f1": 0.4})])), "macro_f1")
    cell = board.cells.iloc[0]
    assert len(board.cells) == 1 and cell["rank"] == 1 and bool(cell["best"]) and cell["n"] == 1
    assert np.isnan(board.overall["overall_rank"].iloc[0])  # one task: no overall rank (issue 13)
