"""One metric registry: each metric defined once; DIRECTION and metric_range are views (issue 28)."""

import math

import numpy as np
import pytest

from bench.metrics import (
    DIRECTION,
    METRICS,
    classification_metrics,
    computable,
    metric_range,
    register_metric,
)


def test_each_metric_is_registered_once_with_its_direction_and_range():
    with pytest.raises(ValueError, match="registered twice"):
        register_metric("macro_f1", higher_is_better=True)
    assert set(DIRECTION) == set(METRICS) and all(DIRECTION[n] == m.direction for n, m in METRICS.items())
    assert DIRECTION["log_loss"] == DIRECTION["ece"] == DIRECTION["brier"] == DIRECTION["train_seconds"] == -1
    assert DIRECTION["macro_f1"] == DIRECTION["mcc"] == DIRECTION["train_tokens_per_s"] == 1
    assert metric_range("log_loss") == (0.0, math.inf) and metric_range("mcc") == (-1.0, 1.0)
    assert metric_range("weighted_recall") == (0.0, 1.0) and metric_range("some_user_metric") is None
    assert METRICS["roc_auc"].needs_scores and not METRICS["accuracy"].needs_scores


def test_classification_metrics_computes_every_registered_function():
    y = np.array([0, 1, 2, 2, 1, 0])
    proba = np.array([[.7, .2, .1], [.1, .8, .1], [.2, .2, .6], [.5, .1, .4], [.3, .4, .3], [.4, .4, .2]])
    m = classification_metrics(y, proba, ["a", "b", "c"], minority=1)
    assert set(m) == set(computable()) | {"minority_recall", "minority_f1"}
    from sklearn.metrics import f1_score, log_loss

    assert m["macro_f1"] == pytest.approx(f1_score(y, proba.argmax(1), average="macro"))
    assert m["log_loss"] == pytest.approx(log_loss(y, proba))


def test_report_metric_range_is_the_registry_view():
    from bench.report import aggregate

    assert aggregate.metric_range is metric_range
