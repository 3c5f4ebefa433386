"""The gate's family correction (bench.gate.noise.correct): a drop beyond tolerance is a regression
only when its Holm-adjusted p over every quality check of the run is below alpha."""

from __future__ import annotations

from bench.gate.check import Row
from bench.gate.noise import correct


def _rows(ps: list[float]) -> list[Row]:
    rows = []
    for i, p in enumerate(ps):
        beyond = p < 1.0  # within tolerance: p 1, verdict ok
        rows.append(Row(f"c{i}", "macro_f1", "", "", "", "noise" if beyond else "ok", "drop > tol" if beyond else "",
                        p=p))
    return rows


def test_a_raw_p_below_alpha_is_noise_after_holm():
    rows = _rows([0.03, 1.0, 1.0]) + [Row("c9", "train_seconds", "", "", "", "ok")]  # a timing is not in the family
    correct(rows, 0.05)
    assert rows[0].verdict == "noise" and not rows[0].failing
    assert "Holm-adjusted 0.09 over 3 quality check(s) ≥ 0.05" in rows[0].evidence
    assert [r.verdict for r in rows[1:]] == ["ok", "ok", "ok"]


def test_a_drop_that_survives_holm_is_a_regression():
    rows = _rows([0.01, 0.04, 1.0])
    correct(rows, 0.05)
    assert rows[0].verdict == "REGRESSION" and rows[0].failing  # 0.01 x 3 = 0.03 < 0.05
    assert rows[1].verdict == "noise" and not rows[1].failing  # 0.04 x 2 = 0.08
