"""Metrics as pure functions ``(y_true, y_score) -> dict`` on top of scikit-learn.

**One registry** (:data:`METRICS`, filled by :func:`register_metric` in the lm-eval style): each
metric is defined once with its function (None for the cost figures and for the metrics that
DomainBench's evaluate modules in ``metrics/`` compute), whether higher is better, its range,
whether it needs the predicted scores (probabilities) rather than the predicted labels, and how a
configuration aggregates it over seeds. ``DIRECTION`` (+1 higher is better, -1 lower) and
:func:`metric_range` are read-only views of it; task files' ``main_score``, records, reports, the
regression gate and ``--extra-metric`` modules all look metrics up here.

Averages follow scikit-learn's default semantics: macro (and weighted) precision, recall and F1
run over the classes present in the truth **or** the predictions of the split being scored. A
class that is absent from both (a small ``--limit-eval`` split, a 100-label task whose test split
lacks some labels) is not counted as a zero; a class that is predicted but absent from the truth
is counted (its precision is 0), so predicting an absent class is penalised. ROC-AUC and PR-AUC
average one-vs-rest over the classes present in the truth (a curve needs positives).

Per-class rows (:func:`per_class`, a record's ``per_class``) follow the same rule: a class absent
from both the truth and the predictions is *not applicable*, its precision, recall and F1 are None
(JSON null, ``n/a`` in reports; support 0), never 0; readers skip it (:func:`mean_applicable`). So
are ``minority_recall`` / ``minority_f1`` (NaN) when the rarest training class is absent from both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where used: bench.spec.task reads the registry without it
    import numpy as np

INF = math.inf


@dataclass(frozen=True)
class Metric:
    """One registered metric. ``fn(y, pred, proba) -> float`` (class indices, argmax predictions,
    (n, K) probabilities); None when DomainBench computes it elsewhere (cost figures, evaluate modules)."""

    name: str
    higher_is_better: bool
    range: tuple[float, float] | None = None
    needs_scores: bool = False
    aggregation: str = "mean"  # over a configuration's seeds
    fn: Callable | None = None
    kind: str = "quality"  # quality | cost

    @property
    def direction(self) -> int:
        return 1 if self.higher_is_better else -1


METRICS: dict[str, Metric] = {}


def register_metric(name: str, *, higher_is_better: bool, range: tuple[float, float] | None = None,  # noqa: A002
                    needs_scores: bool = False, aggregation: str = "mean", kind: str = "quality",
                    fn: Callable | None = None):
    """Register a metric once (a second registration of a name is an error). Called with ``fn``
    or without one; the returned decorator sets the function: ``@register_metric(...)`` above it."""
    if name in METRICS:
        raise ValueError(f"metric {name!r} is registered twice")
    METRICS[name] = Metric(name, higher_is_better, range, needs_scores, aggregation, fn, kind)

    def set_fn(f: Callable) -> Callable:
        METRICS[name] = replace(METRICS[name], fn=f)
        return f

    return set_fn


class _DirectionView(Mapping):
    """``DIRECTION[name]``: +1 when higher is better, -1 when lower (a live view of :data:`METRICS`)."""

    def __getitem__(self, name: str) -> int:
        return METRICS[name].direction

    def __iter__(self) -> Iterator[str]:
        return iter(METRICS)

    def __len__(self) -> int:
        return len(METRICS)


DIRECTION: Mapping[str, int] = _DirectionView()


def metric_range(name: str) -> tuple[float, float] | None:
    """The range of a registered metric; None for an unknown (extra) metric."""
    m = METRICS.get(name)
    return None if m is None else m.range


def computable() -> list[str]:
    """The metrics :func:`classification_metrics` computes for any split (a task's ``main_score``)."""
    return [m.name for m in METRICS.values() if m.fn is not None]


def check_main_score(name: str) -> str:
    """``name`` when :func:`classification_metrics` computes it, else a ValueError with a did-you-mean."""
    if name in METRICS and METRICS[name].fn is not None:
        return name
    from bench.registry import suggest

    why = "is not computed on every split (it needs the training classes or an evaluate module)" \
        if name in METRICS else "is not a metric"
    raise ValueError(f"main_score {name!r} {why}{suggest(name, computable())}")


# --- the built-in metrics ---------------------------------------------------------------------

UNIT = (0.0, 1.0)


def _skm():
    from sklearn import metrics as skm

    return skm


register_metric("accuracy", higher_is_better=True, range=UNIT,
                fn=lambda y, pred, p: _skm().accuracy_score(y, pred))
register_metric("balanced_accuracy", higher_is_better=True, range=UNIT,
                fn=lambda y, pred, p: _skm().balanced_accuracy_score(y, pred))


def _prf(avg: str, i: int) -> Callable:
    # labels=None: the classes in y or pred (module docstring)
    return lambda y, pred, p: _skm().precision_recall_fscore_support(y, pred, average=avg, zero_division=0)[i]


for _avg in ("macro", "micro", "weighted"):
    for _i, _what in enumerate(("precision", "recall", "f1")):
        register_metric(f"{_avg}_{_what}", higher_is_better=True, range=UNIT, fn=_prf(_avg, _i))
register_metric("roc_auc", higher_is_better=True, range=UNIT, needs_scores=True,
                fn=lambda y, pred, p: _roc_auc(y, p, p.shape[1]))


@register_metric("pr_auc", higher_is_better=True, range=UNIT, needs_scores=True)
def _pr_auc(y, pred, p) -> float:
    import numpy as np

    onehot = np.eye(p.shape[1])[y]
    present = [c for c in range(p.shape[1]) if onehot[:, c].any()]
    return float(np.mean([_skm().average_precision_score(onehot[:, c], p[:, c]) for c in present]))


register_metric("ece", higher_is_better=False, range=UNIT, needs_scores=True,
                fn=lambda y, pred, p: expected_calibration_error(y, p))


@register_metric("log_loss", higher_is_better=False, range=(0.0, INF), needs_scores=True)
def _log_loss(y, pred, p) -> float:
    import numpy as np

    return _skm().log_loss(y, np.clip(p, 1e-12, 1), labels=list(range(p.shape[1])))


# on the rarest training class (classification_metrics' ``minority``): not for main_score
register_metric("minority_recall", higher_is_better=True, range=UNIT)
register_metric("minority_f1", higher_is_better=True, range=UNIT)
# DomainBench's evaluate modules (metrics/, bench run --extra-metric)
register_metric("mcc", higher_is_better=True, range=(-1.0, 1.0))
register_metric("brier", higher_is_better=False, range=(0.0, 2.0), needs_scores=True)
# cost: lower is better unless a rate
for _name in ("train_seconds", "eval_seconds", "peak_memory_mb", "latency_p50_ms", "latency_p95_ms"):
    register_metric(_name, higher_is_better=False, range=(0.0, INF), kind="cost")
for _name in ("train_samples_per_s", "train_tokens_per_s", "eval_samples_per_s"):
    register_metric(_name, higher_is_better=True, range=(0.0, INF), kind="cost")


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 15) -> float:
    """Top-label ECE with equal-width confidence bins (Guo et al. 2017)."""
    import numpy as np

    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(float)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def classification_metrics(
    y_true, proba, label_names: list[str], minority: int | None = None
) -> dict[str, float]:
    """Every registered metric with a function. ``proba``: (n, K) class probabilities.
    ``minority``: the rarest training class (adds ``minority_recall`` and ``minority_f1``)."""
    import numpy as np

    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(proba, dtype=np.float64)
    if p.shape[1] != len(label_names):
        raise ValueError(f"{p.shape[1]} probability columns for {len(label_names)} labels")
    pred = p.argmax(axis=1)
    out = {m.name: float(m.fn(y, pred, p)) for m in METRICS.values() if m.fn is not None}
    if minority is not None:
        _, rc, f1, _ = _skm().precision_recall_fscore_support(y, pred, labels=[minority], zero_division=0)
        seen = bool((y == minority).any() or (pred == minority).any())
        out["minority_recall"], out["minority_f1"] = (float(rc[0]), float(f1[0])) if seen else (math.nan, math.nan)
    return out


def _roc_auc(y: np.ndarray, p: np.ndarray, k: int) -> float:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    present = np.unique(y)
    if len(present) < 2:
        return math.nan
    if k == 2:
        return float(roc_auc_score(y, p[:, 1]))
    # one-vs-rest macro over the classes present in y_true
    return float(np.mean([roc_auc_score(y == c, p[:, c]) for c in present]))


def per_class(y_true, proba, label_names: list[str]) -> dict[str, dict[str, float | None]]:
    """Precision, recall, F1 and support per class; None for a class absent from both the truth and
    the predictions (not applicable, module docstring)."""
    import numpy as np
    from sklearn.metrics import precision_recall_fscore_support

    pred = np.asarray(proba).argmax(axis=1)
    pr, rc, f1, sup = precision_recall_fscore_support(
        y_true, pred, labels=list(range(len(label_names))), zero_division=0
    )
    seen = set(np.asarray(y_true).tolist()) | set(pred.tolist())
    return {
        name: {"precision": float(pr[i]), "recall": float(rc[i]), "f1": float(f1[i]), "support": int(sup[i])}
        if i in seen else {"precision": None, "recall": None, "f1": None, "support": int(sup[i])}
        for i, name in enumerate(label_names)
    }


def mean_applicable(values) -> float | None:
    """The mean of the applicable values (None and NaN skipped); None when none is."""
    import numpy as np
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return float(np.mean(vals)) if vals else None


def confusion(y_true, proba, k: int) -> list[list[int]]:
    import numpy as np
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, np.asarray(proba).argmax(axis=1), labels=list(range(k))).tolist()


def roc_curves(y_true, proba, label_names: list[str], max_points: int = 101) -> dict[str, dict[str, list[float]]]:
    """Per-class one-vs-rest ROC curve points (thinned to ``max_points``), for plotting."""
    import numpy as np
    from sklearn.metrics import roc_curve

    y = np.asarray(y_true)
    p = np.asarray(proba)
    out = {}
    for c, name in enumerate(label_names):
        if not (y == c).any() or (y == c).all():
            continue
        fpr, tpr, _ = roc_curve(y == c, p[:, c])
        if len(fpr) > max_points:
            keep = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
            fpr, tpr = fpr[keep], tpr[keep]
        out[name] = {"fpr": [round(float(v), 5) for v in fpr], "tpr": [round(float(v), 5) for v in tpr]}
    return out


def softmax(logits) -> np.ndarray:
    import numpy as np
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
