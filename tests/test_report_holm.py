"""Families of comparisons are Holm-corrected (bench.report.significance.holm): the axis view's rows
per task and pooled, each task's pairs, the leaderboard's ≈ best; p never finer than the resampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.report.axis import ROW_COLUMNS, _correct_pairs, _correct_rows
from bench.report.significance import format_p, holm, min_p

ISSUE = [0.004, 0.016, 0.034, 0.098, 0.324]  # docs/IMBALANCE.md's five strategies before the correction


def test_holm_on_the_published_imbalance_p_values():
    adj = holm(ISSUE)
    assert adj.tolist() == pytest.approx([0.02, 0.064, 0.102, 0.196, 0.324])
    assert (adj < 0.05).tolist() == [True, False, False, False, False]  # only oversample survives
    assert np.isnan(holm([0.01, np.nan])[1]) and holm([0.01, np.nan])[0] == pytest.approx(0.01)


def test_holm_equals_statsmodels_without_its_full_collection(monkeypatch):
    """statsmodels' Holm ends with gc.collect() (0.1-1 s in a process holding torch): holm() gives
    statsmodels' numbers on random families (ties, ones, sizes 1-12) and never collects."""
    import gc

    from statsmodels.stats.multitest import multipletests

    calls = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append(a) or 0)  # also keeps statsmodels' calls cheap
    rng = np.random.default_rng(0)
    families = [np.round(rng.uniform(0, 1, rng.integers(1, 13)) ** 3, 2) for _ in range(300)]  # rounding: ties
    ours = [holm(p) for p in families]
    assert not calls  # holm() never collects
    for p, adj in zip(families, ours, strict=True):
        assert adj == pytest.approx(multipletests(p, method="holm")[1], abs=1e-12)


def test_axis_rows_are_corrected_per_task_and_pooled():
    values = ["oversample", "balanced_sampler", "logit_adjust", "class_weight", "focal"]
    rows = pd.DataFrame([{"kind": "pairs", "value": v, "task": t, "p_value": p}
                         for t in ("t1", "pooled") for v, p in zip(values, ISSUE, strict=True)]
                        + [{"kind": "baseline", "value": "majority", "task": "t1"}], columns=ROW_COLUMNS)
    out = _correct_rows(rows, 0.05)
    tested = out[out["kind"] == "pairs"]
    assert tested["significant"].tolist() == [True, False, False, False, False] * 2
    assert set(tested["family"]) == {"task t1: 5 value(s)", "pooled rows: 5 value(s)"}
    assert not out[out["kind"] == "baseline"]["significant"].any()


def test_pairs_are_wins_only_after_correction():
    pairs = [{"task": "t1", "diff": 0.05, "p_value": p, "_direction": 1} for p in (0.01, 0.04, 0.04)] + \
            [{"task": "t2", "diff": -0.05, "p_value": 0.03, "_direction": 1}]
    _correct_pairs(pairs, 0.05)
    assert [p["outcome"] for p in pairs] == ["win", "tie", "tie", "loss"]  # t1 Holm: 0.03, 0.08, 0.08; t2 alone
    assert pairs[1]["p_adjusted"] == pytest.approx(0.08) and pairs[3]["family"] == "t2: 1 pair(s)"


def test_p_is_never_finer_than_the_resamples():
    assert min_p(1000) == pytest.approx(2 / 1001)
    assert format_p(2 / 1001, 1000) == "≤0.002" and format_p(0.0341, 1000) == "0.034"
    assert "<0.001" not in format_p(2 / 1001, 1000)
