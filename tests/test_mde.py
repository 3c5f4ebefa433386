"""Minimum detectable effect (bench.report.mde): from observed variance over seeds and documents."""

from __future__ import annotations

import math

import numpy as np

from bench.report.mde import pair_mde, reading, seeds_needed
from bench.report.race_sim import synthetic_records


def _pair(n_docs: int, seeds: list[int], margin: float, seed: int = 0, seed_sd: float = 0.15):
    recs = synthetic_records(np.random.default_rng(seed), {"a": 0.0, "b": margin}, seeds, n_docs=n_docs,
                             seed_sd=seed_sd)
    return [r for r in recs if r["cell"]["imbalance"] == "a"], [r for r in recs if r["cell"]["imbalance"] == "b"]


def test_mde_shrinks_with_documents_and_is_about_2_8_standard_errors():
    small = pair_mde(*_pair(50, [0, 1, 2], 0.0), "accuracy")
    large = pair_mde(*_pair(800, [0, 1, 2], 0.0), "accuracy")
    assert large["mde"] < small["mde"] / 2  # 16x the documents: about a quarter of the MDE
    assert math.isclose(small["mde"], (1.959964 + 0.841621) * small["se"], rel_tol=1e-4)
    assert small["n_seeds"] == 3 and small["n_docs"] == 50


def test_seeds_needed_solves_the_power_equation():
    z = 1.959964 + 0.841621
    s = seeds_needed(0.05, var_docs=0.0001, var_seed=0.004, z=z)
    assert s is not None and z * math.sqrt(0.0001 + 0.004 / s) <= 0.05 < z * math.sqrt(0.0001 + 0.004 / (s - 1))
    assert seeds_needed(0.01, var_docs=0.001, var_seed=0.004, z=z) is None  # documents alone too noisy
    assert seeds_needed(0.05, 0.0001, float("nan"), z) is None  # one seed: no seed variance seen


def test_one_seed_and_readings():
    one = pair_mde(*_pair(60, [0], 0.0), "accuracy")
    assert one["seeds_needed"] is None and math.isnan(one["var_seed"]) and one["mde"] > 0
    assert reading(0.01, False, 0.08, 12, 3).startswith("no difference larger than 0.080")
    assert "12 seeds" in reading(0.01, False, 0.08, 12, 3)
    assert "~12 seeds" in reading(0.01, False, 0.08, 12.0, 3)  # from a frame column: a float, printed whole
    assert "not reachable" in reading(0.01, False, 0.08, float("nan"), 3)  # None in a frame column is NaN
    assert reading(0.2, True, 0.08, 2, 3).startswith("detected")
