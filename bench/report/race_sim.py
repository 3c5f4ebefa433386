"""Simulated races: synthetic records with known truths, to measure the racing policy's error rates
(docs/RACING.md's generated block, tests/test_race.py).

One task, binary labels, ``n_docs`` test documents; configurations differ in the imbalance axis
only (one race group). Configuration c on seed s answers document d correctly with probability
``sigmoid(logit(base - margin_c) + doc_d + seed_cs)``: ``doc_d`` ~ N(0, doc_sd) is shared by all
configurations (the same documents are hard for everyone: the pairing the test exploits) and
``seed_cs`` ~ N(0, seed_sd) is a per-run seed effect. Configurations with margin 0 are truly
equal (the same prediction distribution); the others are worse by their margin.
"""

from __future__ import annotations

import numpy as np

from bench.report.race import replay

LABELS = ["neg", "pos"]


def synthetic_records(rng: np.random.Generator, margins: dict[str, float], seeds: list[int], n_docs: int = 60,
                      base: float = 0.75, doc_sd: float = 1.0, seed_sd: float = 0.15) -> list[dict]:
    """Ok records (accuracy, per-document probabilities, train seconds) for every configuration x seed;
    predictions are numpy arrays (the readers take them as they take JSON lists)."""
    y = rng.integers(0, 2, n_docs)
    doc = rng.normal(0, doc_sd, n_docs)
    ids = [f"d{i}" for i in range(n_docs)]
    names = list(margins)
    logit = np.log(np.array([base - margins[c] for c in names]) / (1 - np.array([base - margins[c] for c in names])))
    eff = logit[:, None, None] + doc[None, None, :] + rng.normal(0, seed_sd, (len(names), len(seeds), 1))
    correct = rng.random(eff.shape) < 1 / (1 + np.exp(-eff))  # (C, S, n)
    conf = 0.55 + 0.4 * rng.random(eff.shape)
    p_true = np.where(correct, conf, 1 - conf)
    out = []
    for ci, c in enumerate(names):
        for si, s in enumerate(seeds):
            pt = p_true[ci, si]
            proba = np.where(y[:, None] == np.arange(2)[None, :], pt[:, None], 1 - pt[:, None])
            cell = {"task": "sim", "model": "m", "method": "full", "imbalance": c, "context": "head",
                    "max_length": 64, "seed": s}
            out.append({"cell_id": f"{c}-{s}", "status": "ok", "cell": cell,
                        "task": {"label_names": LABELS, "minority_class": None, "main_score": "accuracy"},
                        "metrics": {"accuracy": float(correct[ci, si].mean())},
                        "timing": {"train_seconds": 1.0},
                        "predictions": {"ids": ids, "labels": y, "proba": list(proba)}})  # rows as arrays: lean
    return out


def simulate(n_races: int, margins: dict[str, float], seeds: list[int], alpha: float = 0.05, min_seeds: int = 1,
             resamples: int = 200, n_docs: int = 60, seed: int = 0, seed_sd: float = 0.15) -> dict:
    """Per configuration: the share of races that eliminated it, and its mean elimination round
    (among those), plus the mean share of the full matrix's runs the races used."""
    import gc

    from statsmodels.stats.multitest import multipletests  # noqa: F401 - loaded before the freeze

    from bench.record.frame import config_id

    gc.freeze()  # statsmodels' Holm calls gc.collect() each time: keep the loaded modules out of its scans
    rng = np.random.default_rng(seed)
    gone = {c: 0 for c in margins}
    rounds = {c: [] for c in margins}  # type: dict[str, list[int]]
    shares = []
    for _ in range(n_races):
        recs = synthetic_records(rng, margins, seeds, n_docs, seed_sd=seed_sd)
        names = {config_id(r["cell"]): r["cell"]["imbalance"] for r in recs}
        race = replay(recs, seeds, "accuracy", alpha, min_seeds, resamples)
        for cid, e in race.eliminated.items():
            gone[names[cid]] += 1
            rounds[names[cid]].append(e.round)
        shares.append(sum(len(v) for v in race.ran.values()) / (len(margins) * len(seeds)))
    return {"races": n_races, "alpha": alpha, "min_seeds": min_seeds, "seeds": len(seeds), "n_docs": n_docs,
            "resamples": resamples, "seed_sd": seed_sd, "runs_share": float(np.mean(shares)),
            "configs": {c: {"margin": margins[c], "eliminated": gone[c] / n_races,
                            "mean_round": float(np.mean(rounds[c])) if rounds[c] else None} for c in margins}}
