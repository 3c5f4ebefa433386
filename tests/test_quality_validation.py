"""The degenerate flag is judged on validation; test's majority metrics stay for reporting; old
records upgrade to schema 3 keeping their test judgement (issue 28)."""

import json

import numpy as np

from bench.metrics import classification_metrics
from bench.record.io import iter_records
from bench.record.quality import quality_section
from bench.record.schema import SCHEMA_VERSION

NAMES = ["neg", "neu", "pos"]
TRAIN = [10, 4, 30]
Y_TEST = np.array([2] * 12 + [0] * 5 + [1] * 3)
Y_VAL = np.array([2] * 6 + [0] * 3 + [1] * 2)


def _section(test_pred, val_pred):
    metrics = classification_metrics(Y_TEST, np.eye(3)[test_pred], NAMES)
    val_score = classification_metrics(Y_VAL, np.eye(3)[val_pred], NAMES)["macro_f1"]
    return quality_section(Y_TEST, test_pred, NAMES, TRAIN, "macro_f1", metrics,
                           validation=(Y_VAL, np.asarray(val_pred), val_score))


def test_flag_follows_validation_not_test():
    q = _section(np.full(len(Y_TEST), 2), Y_VAL)  # one class on test, perfect on validation
    assert q["basis"] == "validation" and q["degenerate"] is False and q["reason"] is None
    assert q["test"]["degenerate"] and q["test"]["reason"].startswith("predicts one class (pos)")
    assert q["majority_score"] == q["majority"]["macro_f1"]  # the test majority metrics: for reporting

    q = _section(Y_TEST, np.full(len(Y_VAL), 2))  # perfect on test, one class on validation
    assert q["degenerate"] and q["reason"] == "predicts one class (pos) for all 11 validation documents"
    assert q["test"]["degenerate"] is False and q["validation"]["predicted_classes"] == 1


def test_v2_record_upgrades_keeping_its_test_judgement(tmp_path):
    quality = quality_section(Y_TEST, np.full(len(Y_TEST), 2), NAMES, TRAIN, "macro_f1",
                              classification_metrics(Y_TEST, np.eye(3)[np.full(len(Y_TEST), 2)], NAMES))
    v2 = {k: v for k, v in quality.items() if k not in ("basis", "test")}
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "a.json").write_text(json.dumps(
        {"schema_version": 2, "cell_id": "a", "status": "ok", "quality": v2, "metrics": {"macro_f1": 0.2}}))
    (rec,) = iter_records(tmp_path)
    assert SCHEMA_VERSION == 3 and rec["schema_version"] == 3
    assert rec["quality"]["basis"] == "test" and rec["quality"]["degenerate"]
    assert rec["quality"]["test"] == {"degenerate": True, "reason": v2["reason"]}
