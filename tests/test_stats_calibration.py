"""Calibration of the suite's tests on synthetic pairs (bench.report.simulate): with two configurations
of equal skill each test's false-positive rate is alpha within 3 Monte Carlo standard errors over
1,000 simulations; at a known effect the tests find it; the old pooled McNemar over-rejects when
configurations differ per document."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bench.report.simulate import monte_carlo_error, pair, rejections

SIMS, ALPHA = 1000, 0.05


@pytest.fixture(scope="module")
def null_rates() -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy: Welch on nearly identical seed values
        return rejections(SIMS, n=100, seeds=3, effect=0.0, alpha=ALPHA, resamples=200, seed=11)


@pytest.mark.parametrize("test", ["paired bootstrap", "McNemar (clustered by document)", "gate: Welch t over seeds"])
def test_false_positive_rate_is_alpha(null_rates, test):
    band = 3 * monte_carlo_error(ALPHA, SIMS)
    assert abs(null_rates[test] - ALPHA) <= band, (test, null_rates[test], band)


def test_power_at_a_known_effect():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rates = rejections(200, n=100, seeds=3, effect=0.15, alpha=ALPHA, resamples=200, seed=12)
    assert min(rates.values()) > 0.5, rates


def test_pooled_mcnemar_overstates_when_documents_repeat_over_seeds():
    rates = rejections(400, n=100, seeds=3, effect=0.0, alpha=ALPHA, resamples=20, seed=13, delta=0.3)
    assert rates["McNemar pooled over seeds (old)"] > ALPHA + 3 * monte_carlo_error(ALPHA, 400)
    assert abs(rates["McNemar (clustered by document)"] - ALPHA) <= 3 * monte_carlo_error(ALPHA, 400)


def test_pair_is_equal_skill_at_effect_zero_and_shifted_at_an_effect():
    y, a, b = pair(np.random.default_rng(0), 20000, 1, 0.0)
    assert abs((a.argmax(-1) == y).mean() - (b.argmax(-1) == y).mean()) < 0.02
    y, a, b = pair(np.random.default_rng(0), 20000, 1, 0.2)
    assert (a.argmax(-1) == y).mean() - (b.argmax(-1) == y).mean() == pytest.approx(0.2, abs=0.02)


def test_seed_shifts_widen_the_interval_and_one_seed_is_documents_only():
    from bench.report.simulate import LABELS
    from bench.report.stats import resample_diffs

    y, a, b = pair(np.random.default_rng(5), 200, 3, 0.0, seed_sd=0.1)
    spread = resample_diffs(y, a, b, "accuracy", LABELS, None, 400, seed=0).std()
    docs_only = np.mean([resample_diffs(y, a[i:i + 1], b[i:i + 1], "accuracy", LABELS, None, 400, seed=0).std()
                         for i in range(3)]) / np.sqrt(3)  # three independent seeds' document noise, averaged
    assert spread > 1.5 * docs_only  # the seed-to-seed shifts (sd 0.1 per side) are counted
    one = resample_diffs(y, a[:1], b[:1], "accuracy", LABELS, None, 50, seed=0)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 200, size=(50, 200))
    want = (a[0].argmax(-1) == y)[idx].mean(1) - (b[0].argmax(-1) == y)[idx].mean(1)
    assert np.allclose(one, want)
