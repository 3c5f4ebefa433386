"""Metrics as pure functions ``(y_true, y_score) -> dict`` on top of scikit-learn.

``DIRECTION`` says which way is better for each scalar metric (+1 higher, -1 lower); reports and
the regression gate read it from here.

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

import numpy as np

DIRECTION: dict[str, int] = {
    "accuracy": 1, "balanced_accuracy": 1,
    "macro_precision": 1, "macro_recall": 1, "macro_f1": 1,
    "micro_precision": 1, "micro_recall": 1, "micro_f1": 1,
    "weighted_precision": 1, "weighted_recall": 1, "weighted_f1": 1,
    "roc_auc": 1, "pr_auc": 1, "minority_recall": 1, "minority_f1": 1,
    "ece": -1, "log_loss": -1,
    # DomainBench's evaluate modules (metrics/, bench run --extra-metric): Matthews correlation is
    # higher-is-better, the multi-class Brier score lower-is-better
    "mcc": 1, "brier": -1,
    # cost (lower is better unless a rate)
    "train_seconds": -1, "eval_seconds": -1, "peak_memory_mb": -1, "latency_p50_ms": -1,
    "latency_p95_ms": -1, "train_samples_per_s": 1, "train_tokens_per_s": 1, "eval_samples_per_s": 1,
}


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 15) -> float:
    """Top-label ECE with equal-width confidence bins (Guo et al. 2017)."""
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
    """Scalar metrics. ``proba``: (n, K) class probabilities. ``minority``: rarest training class."""
    from sklearn import metrics as skm

    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(proba, dtype=np.float64)
    k = len(label_names)
    pred = p.argmax(axis=1)
    labels = list(range(k))
    out: dict[str, float] = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
    }
    for avg in ("macro", "micro", "weighted"):  # labels=None: the classes in y or pred (module docstring)
        pr, rc, f1, _ = skm.precision_recall_fscore_support(y, pred, average=avg, zero_division=0)
        out[f"{avg}_precision"], out[f"{avg}_recall"], out[f"{avg}_f1"] = pr, rc, f1
    out["roc_auc"] = _roc_auc(y, p, k)
    onehot = np.eye(k)[y]
    present = [c for c in labels if onehot[:, c].any()]
    out["pr_auc"] = float(np.mean([skm.average_precision_score(onehot[:, c], p[:, c]) for c in present]))
    out["ece"] = expected_calibration_error(y, p)
    out["log_loss"] = skm.log_loss(y, np.clip(p, 1e-12, 1), labels=labels)
    if minority is not None:
        _, rc, f1, _ = skm.precision_recall_fscore_support(y, pred, labels=[minority], zero_division=0)
        seen = bool((y == minority).any() or (pred == minority).any())
        out["minority_recall"], out["minority_f1"] = (rc[0], f1[0]) if seen else (math.nan, math.nan)
    return {key: float(v) for key, v in out.items()}


def _roc_auc(y: np.ndarray, p: np.ndarray, k: int) -> float:
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
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return float(np.mean(vals)) if vals else None


def confusion(y_true, proba, k: int) -> list[list[int]]:
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, np.asarray(proba).argmax(axis=1), labels=list(range(k))).tolist()


def roc_curves(y_true, proba, label_names: list[str], max_points: int = 101) -> dict[str, dict[str, list[float]]]:
    """Per-class one-vs-rest ROC curve points (thinned to ``max_points``), for plotting."""
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
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
