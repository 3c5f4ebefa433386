"""Minimum detectable effect of a paired comparison, from its observed variance (seeds and documents).

For a pair A - B on the same test documents and paired seeds, the variance of the mean difference
is split in two parts, both estimated from the records:

* documents: the variance of the seed-averaged difference over bootstrap resamples of the test
  documents (seeds kept): it does not shrink with more seeds (the same documents every seed);
* seeds: the sample variance of the per-seed differences over the seeds, divided by the seeds;
  it shrinks as 1/seeds (it also holds some document noise: a conservative estimate).

SE(s) = sqrt(var_docs + var_seed / s). At two-sided level alpha and power 1 - beta the smallest
difference the comparison detects is MDE = (z_{1-alpha/2} + z_{1-beta}) x SE(s) at the seeds it has;
the seeds a difference of the observed size would need solve (z_a + z_b)^2 SE(s)^2 = diff^2 (none
when the documents alone are too few: more seeds cannot help, more test documents would). With one
seed there is no seed variance to see: the MDE then rests on the documents alone (stated).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from bench.errors import BenchError


def pair_mde(recs_a: list[dict], recs_b: list[dict], metric: str, alpha: float = 0.05, power: float = 0.8,
             resamples: int = 500, seed: int = 0) -> dict:
    """{mde, seeds_needed, se, var_docs, var_seed, n_seeds, n_docs, diff} of A - B (see the module)."""
    from bench.report.stats import metric_values, pair_predictions

    P = pair_predictions(recs_a, recs_b)
    s, n = P.proba_a.shape[:2]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    full = np.arange(n)[None, :]

    def per_seed(proba: np.ndarray, docs: np.ndarray) -> np.ndarray:
        return np.stack([metric_values(metric, P.y, proba[i], docs, P.label_names, P.minority) for i in range(s)])

    boot = (per_seed(P.proba_a, idx) - per_seed(P.proba_b, idx)).mean(0)
    d_seed = (per_seed(P.proba_a, full) - per_seed(P.proba_b, full))[:, 0]
    var_docs = float(np.nanvar(boot, ddof=1))
    var_seed = float(np.nanvar(d_seed, ddof=1)) if s > 1 else float("nan")
    z = float(norm.ppf(1 - alpha / 2) + norm.ppf(power))
    se = math.sqrt(var_docs + (var_seed / s if s > 1 else 0.0))
    diff = float(np.nanmean(d_seed))
    return {"mde": z * se, "seeds_needed": seeds_needed(diff, var_docs, var_seed, z), "se": se,
            "var_docs": var_docs, "var_seed": var_seed, "n_seeds": s, "n_docs": n, "diff": diff}


def seeds_needed(diff: float, var_docs: float, var_seed: float, z: float) -> int | None:
    """Seeds at which a true difference ``diff`` reaches the power (None: unknown with one seed, or
    unreachable on these test documents whatever the seeds)."""
    if math.isnan(var_seed) or diff == 0:
        return None
    room = diff**2 / z**2 - var_docs
    if room <= 0:
        return None
    return max(1, math.ceil(var_seed / room)) if var_seed > 0 else 1


def add_mde(view, res, alpha: float | None = None, power: float = 0.8) -> None:
    """Columns ``mde`` and ``seeds_needed`` on an axis view's pairs (bench.report.axis.AxisView)."""
    if not len(view.pairs):
        return
    ids = {(t, c): cid for t, c, cid in res.ok[["task", "config", "config_id"]].drop_duplicates().itertuples(index=False)}
    mdes, need = [], []
    for r in view.pairs.itertuples():
        try:
            m = pair_mde(res.config_records(ids[(r.task, r.config)]), res.config_records(ids[(r.task, r.reference_config)]),
                         view.metric, alpha or view.alpha, power)
            mdes.append(m["mde"])
            need.append(m["seeds_needed"])
        except (KeyError, BenchError):
            mdes.append(float("nan"))
            need.append(None)
    view.pairs["mde"] = mdes
    view.pairs["seeds_needed"] = need


def reading(diff: float, significant: bool, mde: float, seeds: int | None, n_seeds: int) -> str:
    """One phrase: what a comparison can say, with its minimum detectable effect."""
    if math.isnan(mde):
        return "no MDE (predictions missing)"
    if significant:
        return f"detected (MDE {mde:.3f} at {n_seeds} seeds)"
    if seeds is not None and (isinstance(seeds, float) and math.isnan(seeds)):
        seeds = None  # a frame column turns None into NaN
    more = (f"; a true difference of {abs(diff):.3f} would need ~{int(seeds)} seeds" if seeds and seeds > n_seeds
            else "; a difference of this size is not reachable by more seeds on these test documents" if seeds is None
            and diff else "")
    return f"no difference larger than {mde:.3f} (80% power at {n_seeds} seeds){more}"


def mde_lines(view) -> list[str]:
    """Markdown table lines of the pairs' MDE (empty when ``add_mde`` did not run)."""
    if "mde" not in view.pairs or not len(view.pairs):
        return []
    out = ["### Minimum detectable effect", "",
           f"MDE: the smallest difference each pair detects at 80% power and level {view.alpha} from its observed "
           "variance over seeds and test documents (bench.report.mde); seeds needed: for a true difference "
           "of the observed size.", "", "| task | configuration | Δ | MDE | reading |", "|---|---|---|---|---|"]
    for r in view.pairs.itertuples():
        text = reading(r.diff, r.outcome != "tie", r.mde, r.seeds_needed, int(r.n_seeds))
        out.append(f"| {r.task} | {r.config} | {r.diff:+.4f} | {r.mde:.4f} | {text} |")
    return out
