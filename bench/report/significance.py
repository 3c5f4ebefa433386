"""Tests beside the bootstrap, and the correction every family of comparisons goes through.

* ``holm``: Holm's step-down adjustment of one family's p-values (equal to statsmodels'
  ``multipletests``, without its full garbage collection per call).
  A comparison is called significant (a win, a loss, a regression, "worse than best") only when its
  adjusted p is below alpha; reports show the raw and the adjusted p and name the family.
* ``mcnemar_clustered``: McNemar's test on correct/incorrect with the test document as the unit.
  Every seed is scored on the same documents, so S seed pairs of one document are not S independent
  pairs: the clustered form (Durkalski et al. 2003, Obuchowski 1998) sums each document's discordant
  pairs into one signed count w_i = (A-only correct - B-only correct over the seeds) and refers
  (sum w_i)^2 / sum w_i^2 to chi-square(1). With one seed it is McNemar's test (exact binomial
  below 25 discordant pairs, chi-square with continuity correction otherwise).
* ``format_p``: a p-value as text, never finer than the resampling allows.
* ``welch_worse``: the gate's one-sided Welch t-test over per-seed values.
"""

from __future__ import annotations

import math
import statistics

import numpy as np


def holm(pvalues, alpha: float = 0.05) -> np.ndarray:
    """Holm-adjusted p-values of one family (NaN stays NaN and is not counted in the family): the
    ``i``-th smallest of ``m`` times ``m - i + 1``, made monotone, capped at 1 -- statsmodels'
    ``multipletests(method="holm")`` value for value (tests/test_report_holm.py checks it on random
    families with ties). Not called through statsmodels because its Holm branch ends with a full
    ``gc.collect()``: 0.1-1 s per family in a process holding torch, paid for every family of a
    report (measured: 0.88 of a 1.45 s axis report). ``alpha`` does not change adjusted p-values."""
    del alpha
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size:
        order = ok[np.argsort(p[ok], kind="stable")]
        m = order.size
        out[order] = np.minimum(np.maximum.accumulate(p[order] * np.arange(m, 0, -1)), 1.0)
    return out


def min_p(resamples: int, sides: int = 2) -> float:
    """The smallest p that ``resamples`` resamples can give: sides / (B + 1)."""
    return min(1.0, sides / (resamples + 1))


def format_p(p, resamples: int | None = None, prefix: str = "") -> str:
    """The one way a p-value is printed: '0.034'; at the floor of a bootstrap with ``resamples`` resamples
    '≤0.002' (the attainable bound, never '<0.001' from 1,000 resamples); below 0.001 (an exact or
    asymptotic test) '<0.001', never '0'; '—' for none. ``prefix="p"`` gives 'p=0.034' / 'p≤0.002' / 'p<0.001'."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "—"
    if resamples and p <= min_p(resamples) * (1 + 1e-9):
        text = f"≤{min_p(resamples):.2g}"
    else:
        text = "<0.001" if p < 0.001 else f"{p:.3f}"
    return f"{prefix}{text}" if not prefix or text[0] in "<≤" else f"{prefix}={text}"


def mcnemar_counts(b: int, c: int) -> tuple[float, float, str]:
    """(statistic, two-sided p-value, method) of McNemar's test for b, c discordant pairs (one seed)."""
    from scipy.stats import binomtest, chi2

    if b + c == 0:
        return 0.0, 1.0, "exact"
    if b + c < 25:
        return float(min(b, c)), float(binomtest(b, b + c, 0.5).pvalue), "exact"
    stat = (abs(b - c) - 1) ** 2 / (b + c)
    return float(stat), float(chi2.sf(stat, 1)), "chi2-cc"


def mcnemar_clustered(ok_a: np.ndarray, ok_b: np.ndarray) -> dict:
    """McNemar's test with documents as the unit; ``ok_a``/``ok_b``: (S, n) correct per seed and document."""
    from scipy.stats import chi2

    ok_a, ok_b = np.asarray(ok_a, bool), np.asarray(ok_b, bool)
    b, c = int((ok_a & ~ok_b).sum()), int((~ok_a & ok_b).sum())
    out = {"a_only_correct": b, "b_only_correct": c, "pairs": int(ok_a.size), "n_seeds": int(ok_a.shape[0]),
           "n_docs": int(ok_a.shape[1])}
    if ok_a.shape[0] == 1:
        stat, p, method = mcnemar_counts(b, c)
        return {**out, "statistic": stat, "p_value": p, "method": method}
    w = (ok_a.astype(int) - ok_b.astype(int)).sum(0)
    den = float((w.astype(float) ** 2).sum())
    stat = float(w.sum()) ** 2 / den if den > 0 else 0.0
    return {**out, "statistic": stat, "p_value": float(chi2.sf(stat, 1)) if den > 0 else 1.0,
            "method": "clustered by document"}


def welch_worse(now: list[float], base: list[float], direction: int) -> float:
    """One-sided p-value that ``now`` is worse than ``base`` (Welch's t over per-seed values; the gate)."""
    from scipy.stats import ttest_ind

    if statistics.pstdev(now) == 0 and statistics.pstdev(base) == 0:  # no noise observed at all
        return 0.0 if (statistics.fmean(now) - statistics.fmean(base)) * direction < 0 else 1.0
    res = ttest_ind(now, base, equal_var=False, alternative="less" if direction > 0 else "greater")
    return float(res.pvalue)
