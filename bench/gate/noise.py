"""Is a quality drop beyond noise? The gate's tests and their correction (``bench.gate.check``).

* ``welch``: both sides have >= 2 seeds -> one-sided Welch t-test over the per-seed values
  (``bench.report.significance.welch_worse``);
* ``bootstrap``: otherwise the paired bootstrap over test documents (and seeds), one-sided;
* ``correct``: Holm over the family of every quality check of a run.
"""

from __future__ import annotations

from typing import Any

from bench.metrics import DIRECTION
from bench.report.significance import welch_worse as welch  # noqa: F401 - the gate's name for it


def correct(rows: list[Any], alpha: float) -> None:
    """Holm over the gate's family: every quality check (configuration x metric; one within tolerance
    counts with p = 1). A drop beyond tolerance is a REGRESSION only when its adjusted p < alpha.
    ``rows``: ``bench.gate.check.Row`` (``p`` None: not a quality check)."""
    from bench.report.significance import holm

    family = [r for r in rows if r.p is not None]
    for r, adj in zip(family, holm([r.p for r in family], alpha), strict=True):
        if r.verdict != "noise":
            continue
        r.failing = bool(adj < alpha)
        r.verdict = "REGRESSION" if r.failing else "noise"
        r.evidence += (f", Holm-adjusted {adj:.3g} over {len(family)} quality check(s) "
                       f"{'<' if r.failing else '≥'} {alpha:g}")


def bootstrap(now_recs: list[dict], base_recs: list[dict], metric: str, alpha: float) -> tuple[float, str]:
    from bench.report.stats import paired_bootstrap

    if not base_recs or not now_recs:
        return 0.0, "tolerance only (no stored predictions to test):"
    res = paired_bootstrap(now_recs, base_recs, metric, resamples=2000, seed=0, alpha=alpha)
    # one-sided, (1 + k) / (B + 1): k resamples where now (A) is not worse than the baseline (B)
    p = res["p_a_not_below"] if DIRECTION[metric] > 0 else res["p_a_not_above"]
    return p, f"paired bootstrap over {res['n_docs']} docs × {res['n_seeds']} seed(s), {res['resamples']} resamples"
