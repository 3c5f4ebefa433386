"""Paired significance between two configurations, on their per-document predictions.

* Paired bootstrap: each resample draws test documents with replacement (the same documents for
  both configurations) and seeds with replacement (the same seed draws for both, paired by seed
  value), recomputes the metric per seed and averages over the drawn seeds. The confidence
  interval of the difference is the percentile interval of the resampled differences.
  Seeds are the replication unit: ``resample_diffs`` adds the seed-to-seed variance (corrected for
  resampling few seeds) to the document variance without counting their interaction twice.
  p-values are (1 + k) / (B + 1): never finer than the number of resamples allows.
* McNemar's test on correctness with the document as the unit (``bench.report.significance``).

Metrics from the confusion matrix, log loss, ECE and ROC-AUC are vectorised over resamples; any other
metric falls back to ``bench.metrics.classification_metrics`` per resample (slower).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.errors import BenchError
from bench.metrics import DIRECTION
from bench.report.significance import mcnemar_clustered, mcnemar_counts  # noqa: F401 - mcnemar_counts re-exported


@dataclass
class Paired:
    y: np.ndarray  # (n,) true labels of the common test documents
    proba_a: np.ndarray  # (S, n, K)
    proba_b: np.ndarray
    label_names: list[str]
    minority: int | None
    seeds: list[tuple[int, int]]  # (seed of A, seed of B)

    @property
    def pred_a(self) -> np.ndarray:
        return self.proba_a.argmax(-1)

    @property
    def pred_b(self) -> np.ndarray:
        return self.proba_b.argmax(-1)


def pair_predictions(recs_a: list[dict], recs_b: list[dict]) -> Paired:
    """Align two configurations' predictions: seeds by seed value (or by order if none is shared),
    documents by id (the documents both were tested on)."""
    for recs in (recs_a, recs_b):
        if not recs:
            raise BenchError("a configuration has no successful records to compare")
        for r in recs:
            if not (r.get("predictions") or {}).get("proba"):
                raise BenchError(f"record {r.get('cell_id')} has no per-document predictions")
    by_a = {r["cell"]["seed"]: r for r in recs_a}
    by_b = {r["cell"]["seed"]: r for r in recs_b}
    common = sorted(set(by_a) & set(by_b))
    pairs = [(s, s) for s in common] or list(zip(sorted(by_a), sorted(by_b), strict=False))
    first_a, first_b = by_a[pairs[0][0]], by_b[pairs[0][1]]
    names_a, names_b = first_a["task"]["label_names"], first_b["task"]["label_names"]
    if names_a != names_b:
        raise BenchError(f"the two configurations have different labels ({names_a} vs {names_b})")
    ids_b = {str(i) for i in first_b["predictions"]["ids"]}
    ids = [str(i) for i in first_a["predictions"]["ids"] if str(i) in ids_b]
    if not ids:
        raise BenchError("the two configurations share no test documents")

    def stack(rec_of: dict, which: int):
        out, labels = [], None
        for pair in pairs:
            p = rec_of[pair[which]]["predictions"]
            pos = {str(i): j for j, i in enumerate(p["ids"])}
            if any(i not in pos for i in ids):
                raise BenchError(f"record {rec_of[pair[which]]['cell_id']} lacks some common test documents")
            take = [pos[i] for i in ids]
            out.append(np.asarray(p["proba"], dtype=float)[take])
            lab = np.asarray(p["labels"])[take]
            if labels is not None and not np.array_equal(labels, lab):
                raise BenchError("records disagree on the true labels of the same documents")
            labels = lab
        return np.stack(out), labels

    pa, ya = stack(by_a, 0)
    pb, yb = stack(by_b, 1)
    if not np.array_equal(ya, yb):
        raise BenchError("the two configurations disagree on the true labels of the same documents")
    minority = first_a["task"].get("minority_class")
    return Paired(ya.astype(int), pa, pb, list(names_a),
                  names_a.index(minority) if minority in names_a else None, pairs)


def metric_values(metric: str, y: np.ndarray, proba: np.ndarray, idx: np.ndarray, label_names: list[str],
                  minority: int | None = None) -> np.ndarray:
    """``metric`` of one seed's predictions on each resample of documents ``idx`` (B, n) -> (B,)."""
    k = len(label_names)
    yy = y[idx]
    if metric == "log_loss":
        p = np.clip(np.take_along_axis(proba[idx], yy[..., None], -1)[..., 0], 1e-12, 1)
        return -np.log(p).mean(1)
    if metric == "roc_auc":
        return _roc_auc(yy, proba[idx], k)
    if metric == "ece":
        return _ece(yy, proba[idx])
    if metric == "brier":  # the shipped evaluate module metrics/brier, per resample
        per_doc = ((proba - np.eye(k)[y]) ** 2).sum(1)
        return per_doc[idx].mean(1)
    if metric in ("minority_recall", "minority_f1") and minority is not None and not (
            (y == minority).any() or (proba.argmax(-1) == minority).any()):
        return np.full(idx.shape[0], np.nan)  # not applicable on this split (bench.metrics)
    cm_metrics = _from_confusion(yy, proba.argmax(-1)[idx], k, minority)
    if metric in cm_metrics:
        return cm_metrics[metric]
    from bench.metrics import classification_metrics

    if metric not in classification_metrics(y, proba, label_names, minority=minority):
        raise BenchError(f"metric {metric!r} cannot be recomputed on resampled test documents (an extra metric "
                         f"stored in the records only); resampling statistics need a built-in metric")
    return np.array([classification_metrics(y[i], proba[i], label_names, minority=minority)[metric] for i in idx])


def _from_confusion(yy: np.ndarray, pp: np.ndarray, k: int, minority: int | None) -> dict[str, np.ndarray]:
    b = yy.shape[0]
    flat = (np.arange(b)[:, None] * k * k + yy * k + pp).ravel()
    cm = np.bincount(flat, minlength=b * k * k).reshape(b, k, k).astype(float)
    tp = np.diagonal(cm, axis1=1, axis2=2)
    support, predicted = cm.sum(2), cm.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(predicted > 0, tp / predicted, 0.0)
        rec = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
        bal = np.nanmean(np.where(support > 0, rec, np.nan), axis=1)
    w = support / support.sum(1, keepdims=True)
    acc = tp.sum(1) / support.sum(1)
    out = {"accuracy": acc, "balanced_accuracy": bal, "micro_precision": acc, "micro_recall": acc, "micro_f1": acc}
    seen = support + predicted > 0  # macro over the classes in the truth or the predictions (bench.metrics)
    for name, per in (("precision", prec), ("recall", rec), ("f1", f1)):
        out[f"macro_{name}"] = (per * seen).sum(1) / seen.sum(1)
        out[f"weighted_{name}"] = (per * w).sum(1)
    if minority is not None:
        out["minority_recall"], out["minority_f1"] = rec[:, minority], f1[:, minority]
    s = support.sum(1)  # Matthews correlation (metrics/mcc; Gorodkin's K-class form), 0 when undefined
    cov = tp.sum(1) * s - (predicted * support).sum(1)
    den = np.sqrt((s**2 - (predicted**2).sum(1)) * (s**2 - (support**2).sum(1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mcc"] = np.where(den > 0, cov / den, 0.0)
    return out


def _ece(yy: np.ndarray, pp: np.ndarray, n_bins: int = 15) -> np.ndarray:
    """Top-label ECE per resample, as ``bench.metrics.expected_calibration_error``:
    sum over bins of |sum(correct) - sum(confidence)| / n."""
    b, n = yy.shape
    conf = pp.max(-1)
    correct = (pp.argmax(-1) == yy).astype(float)
    flat = (np.arange(b)[:, None] * n_bins + np.minimum((conf * n_bins).astype(int), n_bins - 1)).ravel()
    hits = np.bincount(flat, weights=correct.ravel(), minlength=b * n_bins).reshape(b, n_bins)
    confs = np.bincount(flat, weights=conf.ravel(), minlength=b * n_bins).reshape(b, n_bins)
    return np.abs(hits - confs).sum(1) / n


def _roc_auc(yy: np.ndarray, pp: np.ndarray, k: int) -> np.ndarray:
    """One-vs-rest macro ROC-AUC per resample via the rank-sum (Mann-Whitney) identity."""
    from scipy.stats import rankdata

    classes = [1] if k == 2 else range(k)
    aucs = []
    for c in classes:
        pos = yy == c
        npos, nneg = pos.sum(1), (~pos).sum(1)
        ranks = rankdata(pp[..., c], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = ((ranks * pos).sum(1) - npos * (npos + 1) / 2) / (npos * nneg)
        aucs.append(np.where((npos > 0) & (nneg > 0), auc, np.nan))
    with np.errstate(invalid="ignore"):
        return np.nanmean(np.stack(aucs), axis=0) if k > 2 else aucs[0]


def resample_diffs(y: np.ndarray, proba_a: np.ndarray, proba_b: np.ndarray | None, metric: str, label_names: list[str],
                   minority: int | None = None, resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Resampled A - B differences of the seed-mean ``metric`` (B,), seeds as the replication unit.

    Seeds and test documents are crossed (every seed is scored on the same documents), so the
    difference has three sources of noise: documents, seeds, and their interaction. Each resample
    draws documents with replacement, the same draw for every seed (``c``: documents plus interaction
    / S), and seeds with replacement on the full test set (``s``: seeds plus interaction / n, times
    (S-1)/S); the interaction part of ``s`` is estimated from the document resamples and removed, the
    rest rescaled by S/(S-1) (resampling S seeds underestimates their variance by (S-1)/S), and added
    to ``c`` as ``lam * (s - mean)``. One seed: documents only. ``proba_b`` None: A's own metric.
    """
    if resamples < 1:
        raise BenchError(f"--resamples must be >= 1 (got {resamples})")
    s, n = proba_a.shape[:2]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    seed_idx = rng.integers(0, s, size=(s, resamples))
    full = np.arange(n)[None, :]

    def per_seed(docs: np.ndarray) -> np.ndarray:  # (S, B) of A - B
        def one(proba: np.ndarray | None, i: int) -> np.ndarray | float:
            return 0.0 if proba is None else metric_values(metric, y, proba[i], docs, label_names, minority)

        return np.stack([one(proba_a, i) - one(proba_b, i) for i in range(s)])

    d_docs = per_seed(idx)
    c = d_docs.mean(0)
    if s == 1:
        return c
    d_full = per_seed(full)[:, 0]
    boot_seeds = d_full[seed_idx].mean(0)
    with np.errstate(invalid="ignore"):
        v_seed = float(np.nanvar(d_full, ddof=1)) / s  # seeds + interaction / n
        v_inter = max(0.0, float(np.nanmean(np.nanvar(d_docs, axis=1)) - np.nanvar(c)) / (s - 1))
        v_boot = float(np.nanvar(boot_seeds))
    extra = max(0.0, v_seed - v_inter)
    lam = float(np.sqrt(extra / v_boot)) if v_boot > 0 else 0.0
    return c + lam * (boot_seeds - float(np.nanmean(d_full)))


def bootstrap_diffs(recs_a: list[dict], recs_b: list[dict], metric: str, resamples: int = 1000,
                    seed: int = 0) -> tuple[np.ndarray, float, float, Paired]:
    """The paired resampling behind ``paired_bootstrap``: (A - B per resample, mean A, mean B, pairing).
    With the same ``seed`` and the same number of common documents and seeds, two calls draw the same
    documents and seeds, so differences of several pairs on one task can be averaged resample by resample."""
    if resamples < 1:
        raise BenchError(f"--resamples must be >= 1 (got {resamples})")
    P = pair_predictions(recs_a, recs_b)
    diffs = resample_diffs(P.y, P.proba_a, P.proba_b, metric, P.label_names, P.minority, resamples, seed)
    full = np.arange(P.y.shape[0])[None, :]
    mean_a = float(np.mean([metric_values(metric, P.y, pa, full, P.label_names, P.minority) for pa in P.proba_a]))
    mean_b = float(np.mean([metric_values(metric, P.y, pb, full, P.label_names, P.minority) for pb in P.proba_b]))
    return diffs, mean_a, mean_b, P


def bootstrap_p(diffs: np.ndarray) -> tuple[float, float, float]:
    """(two-sided p, p that A - B <= 0, p that A - B >= 0) of resampled differences, each as
    (1 + k) / (B + 1): never below 1 / (B + 1) (two-sided: 2 / (B + 1)), whatever was observed."""
    d = diffs[~np.isnan(diffs)]
    b = len(d)
    p_le, p_ge = (1 + int((d <= 0).sum())) / (b + 1), (1 + int((d >= 0).sum())) / (b + 1)
    return min(1.0, 2 * min(p_le, p_ge)), min(1.0, p_le), min(1.0, p_ge)


def summarize(diffs: np.ndarray, diff: float, metric: str, alpha: float = 0.05) -> dict:
    """Percentile (1 - alpha) interval, two-sided bootstrap p ((1 + k) / (B + 1), ``bootstrap_p``) and
    which side is better, of resampled differences ``diffs`` around the observed difference ``diff`` (A - B).
    ``significant`` is uncorrected (p < alpha): a family of comparisons corrects it (``significance.holm``)."""
    lo, hi = (float(v) for v in np.nanpercentile(diffs, [50 * alpha, 100 - 50 * alpha]))
    p, p_le, p_ge = bootstrap_p(diffs)
    direction = DIRECTION.get(metric, 1)
    return {"metric": metric, "diff": diff, "ci_low": lo, "ci_high": hi, "alpha": alpha, "p_value": p,
            "p_a_not_above": p_le, "p_a_not_below": p_ge, "significant": p < alpha,
            "resamples": int(len(diffs)), "min_p": min(1.0, 2 / (len(diffs) + 1)),
            "better": None if diff == 0 else ("A" if diff * direction > 0 else "B")}


def paired_bootstrap(recs_a: list[dict], recs_b: list[dict], metric: str, resamples: int = 1000,
                     seed: int = 0, alpha: float = 0.05) -> dict:
    """Difference A - B in ``metric`` with a paired (1 - alpha) interval and p over test documents and
    seeds (``resample_diffs``); the keys of ``summarize`` plus mean_a, mean_b, n_docs, n_seeds, seed_pairs."""
    diffs, mean_a, mean_b, P = bootstrap_diffs(recs_a, recs_b, metric, resamples, seed)
    return {**summarize(diffs, mean_a - mean_b, metric, alpha), "mean_a": mean_a, "mean_b": mean_b,
            "n_docs": int(P.y.shape[0]), "n_seeds": len(P.seeds), "seed_pairs": P.seeds}


def seed_interval(recs: list[dict], metric: str, resamples: int = 1000, seed: int = 0,
                  alpha: float = 0.05) -> tuple[float, float] | None:
    """(1 - alpha) percentile interval of one configuration's mean ``metric`` over its seeds, by the
    crossed bootstrap of ``resample_diffs`` (``proba_b`` None). None when a record lacks per-document predictions."""
    if not recs or not all((r.get("predictions") or {}).get("proba") for r in recs):
        return None
    try:
        P = pair_predictions(recs, recs)
        means = resample_diffs(P.y, P.proba_a, None, metric, P.label_names, P.minority, resamples, seed)
    except BenchError:
        return None
    lo, hi = np.nanpercentile(means, [50 * alpha, 100 - 50 * alpha])
    return float(lo), float(hi)


def mcnemar(recs_a: list[dict], recs_b: list[dict]) -> dict:
    """McNemar's test on correct/incorrect per document over the paired seeds, the document as the
    unit (``significance.mcnemar_clustered``: S seeds of one document are not S independent pairs)."""
    P = pair_predictions(recs_a, recs_b)
    return mcnemar_clustered(P.pred_a == P.y, P.pred_b == P.y)
