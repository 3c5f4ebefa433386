"""Metric functions against hand-computed cases."""

import math

import numpy as np
import pytest

from bench.metrics import (
    DIRECTION,
    classification_metrics,
    confusion,
    expected_calibration_error,
    per_class,
    roc_curves,
)

NAMES = ["a", "b", "c"]


def onehot(pred, k=3, p=0.9):
    out = np.full((len(pred), k), (1 - p) / (k - 1))
    out[np.arange(len(pred)), pred] = p
    return out


def test_hand_computed_multiclass():
    y = [0, 0, 0, 1, 1, 2]
    pred = [0, 0, 1, 1, 2, 2]
    m = classification_metrics(y, onehot(pred), NAMES, minority=2)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # per class: a P=1 R=2/3 F=0.8; b P=1/2 R=1/2 F=0.5; c P=1/2 R=1 F=2/3
    assert m["macro_precision"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert m["macro_recall"] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["micro_f1"] == pytest.approx(4 / 6)
    assert m["weighted_f1"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)
    assert m["balanced_accuracy"] == pytest.approx(m["macro_recall"])
    assert m["minority_recall"] == 1.0
    assert m["log_loss"] == pytest.approx(-(4 * math.log(0.9) + 2 * math.log(0.05)) / 6)


def test_perfect_scores_and_auc():
    y = [0, 1, 2, 0, 1, 2]
    m = classification_metrics(y, onehot(y), NAMES)
    assert m["accuracy"] == m["macro_f1"] == m["roc_auc"] == m["pr_auc"] == 1.0


def test_binary_roc_auc_uses_positive_scores():
    y = [0, 0, 1, 1]
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.65, 0.35], [0.2, 0.8]])
    # positives' scores 0.35, 0.8 vs negatives 0.1, 0.6: pairs won 3 of 4
    assert classification_metrics(y, proba, ["n", "p"])["roc_auc"] == pytest.approx(0.75)


def test_ece_hand_case():
    y = np.array([0, 1])
    proba = np.array([[0.8, 0.2], [0.8, 0.2]])  # confidence .8, accuracy .5
    assert expected_calibration_error(y, proba) == pytest.approx(0.3)


def test_per_class_confusion_and_roc_curves():
    y = [0, 0, 1, 2]
    p = onehot([0, 1, 1, 2])
    pc = per_class(y, p, NAMES)
    assert pc["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert confusion(y, p, 3) == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    curves = roc_curves(y, p, NAMES)
    assert set(curves) == {"a", "b", "c"} and curves["c"]["tpr"][-1] == 1.0


def test_every_metric_has_a_direction():
    m = classification_metrics([0, 1, 2], onehot([0, 1, 2]), NAMES, minority=1)
    assert set(m) <= set(DIRECTION)
    assert DIRECTION["ece"] == -1 and DIRECTION["macro_f1"] == 1
