"""Synthetic pairs of configurations with a known difference, to calibrate the suite's tests.

``pair`` draws one task's test documents and two configurations' predictions over S seeds:
each document has a difficulty (the chance a configuration gets it right, Beta(4, 2): 0.67 on
average); the two configurations differ per document by +-delta (each is better on some documents,
equal on average) and per seed by a small shift (training noise); ``effect`` adds effect/2 to A's
chance and takes it from B's. With effect 0 the two are of equal skill: every test's false-positive
rate must be alpha. ``false_positive_rates`` / ``power`` run each test (the suite's own functions)
over many such draws.
"""

from __future__ import annotations

import numpy as np

LABELS = ["neg", "pos"]


def pair(rng: np.random.Generator, n: int = 100, seeds: int = 3, effect: float = 0.0, delta: float = 0.1,
         seed_sd: float = 0.01) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y (n,), proba_a (S, n, 2), proba_b (S, n, 2)) of one synthetic task (module docstring)."""
    y = rng.integers(0, 2, n)
    base = rng.beta(4, 2, n)
    d = rng.choice([-delta, delta], n)

    def runs(shift: float | np.ndarray) -> np.ndarray:
        p = np.clip(base[None, :] + shift + rng.normal(0, seed_sd, (seeds, 1)), 0, 1)
        ok = rng.random((seeds, n)) < p
        pred = np.where(ok, y[None, :], 1 - y[None, :])
        proba = np.full((seeds, n, 2), 0.3)
        np.put_along_axis(proba, pred[..., None], 0.7, -1)
        return proba

    return y, runs(d + effect / 2), runs(-d - effect / 2)


def rejections(sims: int = 1000, n: int = 100, seeds: int = 3, effect: float = 0.0, alpha: float = 0.05,
               resamples: int = 200, seed: int = 0, delta: float = 0.1, seed_sd: float = 0.01) -> dict[str, float]:
    """Share of ``sims`` synthetic pairs each test calls significant at ``alpha`` (two-sided). The gate's
    Welch test (one-sided: is B, 'now', worse than A, 'the baseline'?) compares two runs of one
    configuration, so its pairs have no per-document skill difference (delta 0)."""
    from bench.report.significance import mcnemar_clustered, welch_worse
    from bench.report.stats import bootstrap_p, metric_values, resample_diffs

    rng = np.random.default_rng(seed)
    hits = {"paired bootstrap": 0, "McNemar (clustered by document)": 0, "McNemar pooled over seeds (old)": 0,
            "gate: Welch t over seeds": 0}
    full = np.arange(n)[None, :]
    for i in range(sims):
        y, pa, pb = pair(rng, n, seeds, effect, delta, seed_sd)
        diffs = resample_diffs(y, pa, pb, "accuracy", LABELS, None, resamples, seed=i)
        hits["paired bootstrap"] += bootstrap_p(diffs)[0] < alpha
        ok_a, ok_b = pa.argmax(-1) == y, pb.argmax(-1) == y
        hits["McNemar (clustered by document)"] += mcnemar_clustered(ok_a, ok_b)["p_value"] < alpha
        hits["McNemar pooled over seeds (old)"] += mcnemar_clustered(ok_a.reshape(1, -1), ok_b.reshape(1, -1))[
            "p_value"] < alpha
        if seeds < 2:
            continue
        y, pa, pb = pair(rng, n, seeds, effect, 0.0, seed_sd)
        acc_a = [float(metric_values("accuracy", y, p, full, LABELS)[0]) for p in pa]
        acc_b = [float(metric_values("accuracy", y, p, full, LABELS)[0]) for p in pb]
        # the gate's question: is 'now' (B) worse than the baseline (A)? under effect > 0 it is
        hits["gate: Welch t over seeds"] += welch_worse(acc_b, acc_a, 1) < alpha
    if seeds < 2:
        del hits["gate: Welch t over seeds"]
    return {k: v / sims for k, v in hits.items()}


def monte_carlo_error(rate: float, sims: int) -> float:
    """The standard error of a rejection rate estimated from ``sims`` simulations."""
    return float(np.sqrt(rate * (1 - rate) / sims))
