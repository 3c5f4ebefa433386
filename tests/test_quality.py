"""Degenerate-result detection (the record's quality section), the majority-class reference row and
the record schema upgrade 1 -> 2 that adds the section to older results folders."""

import json

import numpy as np
import pytest

from bench.errors import SchemaError
from bench.metrics import classification_metrics
from bench.record.io import iter_records, read_record
from bench.record.quality import MARGIN, majority_metrics, majority_row, quality_section
from bench.record.schema import SCHEMA_VERSION

NAMES = ["neg", "neu", "pos"]
Y = np.array([2] * 12 + [0] * 5 + [1] * 3)  # test labels; pos is the majority
TRAIN_COUNTS = [10, 4, 30]


def onehot(pred):
    return np.eye(3)[np.asarray(pred)]


def test_learning_rate_zero_cell_is_degenerate(tmp_path, capsys):
    """bench run records and prints it; bench compare marks that side (a deliberately broken cell)."""
    from bench.cli import main

    common = ["--task", "drugs-sentiment", "--max-length", "64", "--epochs", "1", "--limit-train", "48",
              "--limit-eval", "30", "--out", str(tmp_path)]
    assert main(["run", "--model", "tiny-bert", "--learning-rate", "0", *common]) == 0
    out = capsys.readouterr().out
    (rec,) = iter_records(tmp_path)
    q = rec["quality"]
    assert q["degenerate"] is True and q["predicted_classes"] == 1
    assert q["reason"].startswith(f"predicts one class ({q['majority_class']})")
    assert q["majority_class"] == rec["task"]["label_names"][int(np.argmax(rec["task"]["class_counts"]["train"]))]
    assert set(q["majority"]) == set(rec["metrics"]) and q["majority_score"] == q["majority"]["macro_f1"]
    assert f"DEGENERATE: {q['reason']}" in out and f"majority class ({q['majority_class']}, no training)" in out
    fit = [*common[:6], "--limit-train", "200", *common[8:]]  # class-weighted TF-IDF on 200 reviews learns
    assert main(["run", "--model", "tfidf-logreg", "--imbalance", "class_weight", *fit]) == 0
    assert "DEGENERATE" not in capsys.readouterr().out
    assert main(["compare", "model=tiny-bert", "model=tfidf-logreg", "--results", str(tmp_path),
                 "--resamples", "50"]) == 0
    a_line, b_line = [x for x in capsys.readouterr().out.splitlines() if x[:2] in ("A:", "B:")]
    assert f"DEGENERATE (1/1 seeds): {q['reason']}" in a_line and "DEGENERATE" not in b_line


def _section(pred, macro_f1):
    metrics = {**classification_metrics(Y, onehot(pred), NAMES), "macro_f1": macro_f1}
    return quality_section(Y, pred, NAMES, TRAIN_COUNTS, "macro_f1", metrics)


def test_margin_rule_just_below_and_above():
    pred = np.where(np.arange(len(Y)) % 4 == 0, (Y + 1) % 3, Y)  # three classes predicted
    maj = majority_metrics(Y, 2, NAMES)["macro_f1"]
    below, above = _section(pred, maj + MARGIN - 1e-4), _section(pred, maj + MARGIN + 1e-4)
    assert below["majority_score"] == pytest.approx(maj) and below["majority_class"] == "pos"
    assert below["degenerate"] is True and "not above the majority baseline" in below["reason"]
    assert f"by margin {MARGIN:g}" in below["reason"]
    assert above["degenerate"] is False and above["reason"] is None and above["predicted_classes"] == 3


def test_one_class_rule_needs_two_true_classes():
    assert _section(np.full(len(Y), 0), 0.9)["reason"].startswith("predicts one class (neg)")
    one = quality_section([1, 1, 1], [1, 1, 1], NAMES, TRAIN_COUNTS, "accuracy", {"accuracy": 1.0})
    assert "predicts one class" not in (one["reason"] or "")


def v1_record(pred, seed=0, task="t"):
    cell = {"task": task, "model": "m", "method": "full", "imbalance": "none", "context": "head",
            "max_length": 64, "seed": seed}
    metrics = classification_metrics(Y, onehot(pred), NAMES, minority=1)
    return {"schema_version": 1, "cell_id": f"c{seed}", "status": "ok", "cell": cell,
            "task": {"label_names": NAMES, "main_score": "macro_f1", "minority_class": "neu",
                     "class_counts": {"train": TRAIN_COUNTS, "test": np.bincount(Y).tolist()}},
            "metrics": metrics, "main_score": metrics["macro_f1"],
            "predictions": {"labels": Y.tolist(), "pred": np.asarray(pred).tolist()}}


def test_upgrade_v1_record_gains_quality(tmp_path):
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "a.json").write_text(json.dumps(v1_record(np.full(len(Y), 2))))
    (tmp_path / "records" / "b.json").write_text(json.dumps(v1_record(Y, seed=1)))
    bare = {"schema_version": 1, "cell_id": "x", "status": "ok", "metrics": {"accuracy": 0.5}}
    (tmp_path / "records" / "c.json").write_text(json.dumps(bare))
    a, b, c = iter_records(tmp_path)
    assert SCHEMA_VERSION == 3 and a["schema_version"] == b["schema_version"] == c["schema_version"] == 3
    assert a["quality"]["basis"] == "test" and a["quality"]["test"]["degenerate"]  # v1/v2 kept no validation
    assert a["quality"]["degenerate"] and a["quality"]["reason"].startswith("predicts one class (pos)")
    assert a["quality"]["majority"] == pytest.approx(a["metrics"])  # the record *is* the majority baseline
    assert b["quality"]["degenerate"] is False and b["quality"]["predicted_classes"] == 3
    assert "minority_recall" in b["quality"]["majority"] and "quality" not in c  # too little stored to judge


def test_newer_record_is_still_refused(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({**v1_record(Y), "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(SchemaError, match="newer than this DomainBench supports"):
        read_record(path)


def test_majority_row_from_records(tmp_path):
    (tmp_path / "records").mkdir()
    for seed, pred in enumerate([Y, np.full(len(Y), 0)]):
        (tmp_path / "records" / f"{seed}.json").write_text(json.dumps(v1_record(pred, seed)))
    recs = list(iter_records(tmp_path))
    row = majority_row(recs)
    expected = majority_metrics(Y, 2, NAMES, minority=1)
    assert row["config"] == "majority class (no training)" and row["majority_class"] == "pos"
    assert row["main_score"] == pytest.approx(expected["macro_f1"]) and row["n"] == 2 and row["test_splits"] == 1
    assert row["metrics"]["accuracy"] == pytest.approx(12 / 20)
    with pytest.raises(ValueError, match="one task"):
        majority_row(recs + [{**recs[0], "cell": {**recs[0]["cell"], "task": "other"}}])


def v2_record(pred, seed, model):
    from bench.record.schema import upgrade

    rec = v1_record(pred, seed)
    rec["cell"] = {**rec["cell"], "model": model}
    rec.update(cell_id=f"{model}{seed}", model={"label": model}, timing={"train_seconds": 1.0})
    return upgrade(rec)


def test_console_marks_degenerate_and_never_ranks_it_above(capsys):
    import io

    from rich.console import Console

    from bench.run.progress import MatrixProgress, leaderboard, print_leaderboard

    half = np.where(np.arange(len(Y)) % 3 == 0, (Y + 1) % 3, Y)
    recs = ([v2_record(Y, s, "flaky") for s in (0, 1)] + [v2_record(np.full(len(Y), 2), 2, "flaky")]
            + [v2_record(half, s, "steady") for s in (0, 1, 2)])
    rows = leaderboard(recs)["t"]
    assert rows[0]["mean"] < rows[1]["mean"]  # flaky scores higher on average ...
    assert [r["config"].split(" ")[0] for r in rows] == ["steady", "flaky"]  # ... but ranks below
    assert rows[1]["degenerate"].startswith("DEGENERATE (1/3 seeds): predicts one class (pos)") and not rows[0]["degenerate"]
    out = io.StringIO()
    print_leaderboard(recs, Console(file=out, width=250))
    text = out.getvalue()
    assert "DEGENERATE (1/3 seeds)" in text and "majority class (no training): pos" in text
    line = next(x for x in text.splitlines() if "flaky" in x)
    assert "—" in line.split("│")[2]  # unranked
    prog = MatrixProgress(Console(file=io.StringIO(), width=250))
    prog.done(0, {"id": "x", "status": "ok", "main_score": 0.25, "degenerate": "predicts one class (pos)"})
    assert "DEGENERATE: predicts one class (pos)" in prog.console.file.getvalue()


def test_matrix_summary_counts_and_lists_degenerate_cells():
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from bench.run.progress import print_outcome

    recs = [v2_record(Y, 0, "good"), v2_record(np.full(len(Y), 2), 0, "bad")]
    ran = {r["cell_id"]: {"id": r["cell_id"], "status": "ok", "degenerate": r["quality"]["reason"]} for r in recs}
    plan = SimpleNamespace(name="m", ids=list(ran), state={c: "todo" for c in ran})
    out = io.StringIO()
    print_outcome(SimpleNamespace(plan=plan, ran=ran, wall_seconds=1.0), recs, Console(file=out, width=250))
    text = out.getvalue()
    assert "ran: ok but DEGENERATE (see below)" in text and "DEGENERATE cells" in text
    line = next(x for x in text.splitlines() if "ran: ok but" in x)
    assert line.split("│")[2].strip() == "1"
    assert "bad0" in text and "predicts one class (pos) for all 20 test documents" in text
