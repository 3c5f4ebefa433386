"""Macro averages run over the classes present in the truth or the predictions (issue 12, item 4)."""

import numpy as np
import pytest

from bench.metrics import classification_metrics

NAMES = ["a", "b", "c", "d", "e"]


def scores(pred, k=5, p=0.9):
    out = np.full((len(pred), k), (1 - p) / (k - 1))
    out[np.arange(len(pred)), pred] = p
    return out


def test_perfect_classifier_on_three_of_five_classes_scores_one():
    y = [0, 0, 1, 1, 2, 2]  # classes d and e are absent from this split
    m = classification_metrics(y, scores(y), NAMES)
    for key in ("macro_precision", "macro_recall", "macro_f1", "weighted_f1", "accuracy", "balanced_accuracy"):
        assert m[key] == pytest.approx(1.0), key


def test_predicting_an_absent_class_is_penalised():
    y = [0, 0, 1, 1, 2, 2]
    pred = [0, 0, 1, 1, 2, 4]  # one document sent to class e, which the truth lacks
    m = classification_metrics(y, scores(pred), NAMES)
    # classes in y or pred: a, b, c, e -> F1 a=1, b=1, c=2/3, e=0
    assert m["macro_f1"] == pytest.approx((1 + 1 + 2 / 3 + 0) / 4)
    assert m["macro_precision"] == pytest.approx((1 + 1 + 1 + 0) / 4)
    assert m["macro_recall"] == pytest.approx((1 + 1 + 0.5) / 3 * 3 / 4)
    assert m["macro_f1"] < classification_metrics(y, scores(y), NAMES)["macro_f1"]


def test_macro_f1_matches_sklearn_default_semantics():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)  # 5 label names, 3 present
    proba = rng.dirichlet(np.ones(5), 200)
    m = classification_metrics(y, proba, NAMES)
    assert m["macro_f1"] == pytest.approx(f1_score(y, proba.argmax(1), average="macro"))
