"""Write docs/REPORT.md's ``stats-calibration`` block: the false-positive rate of each of the suite's
tests on synthetic pairs of equal skill, and their power at a stated effect (bench.report.simulate).

    python scripts/docs/stats_calibration.py [--sims 1000] [--resamples 200]

The figures are seeded (the same on any machine and numpy version that draws the same numbers); the
block states the command, machine and date, and an ``inputs:`` line with the sha256 of the code that
made them, so ``scripts/docs/generate.py --check`` fails when that code changes without a rerun.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from blocks import ROOT, inputs_line, replace, write_page  # noqa: E402
from run_block import machine  # noqa: E402

PAGE, NAME = "docs/REPORT.md", "stats-calibration"
INPUTS = ["bench/report/stats.py", "bench/report/significance.py", "bench/report/simulate.py", "bench/gate/noise.py"]
ALPHA, EFFECT = 0.05, 0.10
SCENARIOS = [  # (label, keyword arguments of simulate.rejections)
    ("equal skill: 100 documents, 3 seeds, per-document differences ±0.1, seed shift sd 0.01", {}),
    ("equal skill, large per-document differences (±0.3)", {"delta": 0.3}),
    ("equal skill, strong seed-to-seed shifts (sd 0.04)", {"seed_sd": 0.04}),
    ("equal skill, one seed", {"seeds": 1}),
    (f"power: A better by {EFFECT:+.2f} accuracy (first scenario otherwise)", {"effect": EFFECT}),
]
TESTS = ["paired bootstrap", "McNemar (clustered by document)", "McNemar pooled over seeds (old)",
         "gate: Welch t over seeds"]


def body(sims: int, resamples: int) -> str:
    from bench.report.simulate import monte_carlo_error, rejections

    rows = []
    for i, (label, kw) in enumerate(SCENARIOS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rates = rejections(sims, alpha=ALPHA, resamples=resamples, seed=100 + i, **kw)
        cells = [f"{rates[t]:.3f} ± {monte_carlo_error(rates[t], sims):.3f}" if t in rates else "— (needs 2 seeds)"
                 for t in TESTS]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    cmd = "python scripts/docs/stats_calibration.py" + (f" --sims {sims}" if sims != 1000 else "") + (
        f" --resamples {resamples}" if resamples != 200 else "")
    band = 3 * monte_carlo_error(ALPHA, sims)
    return "\n".join([
        inputs_line(INPUTS),
        f"Command: `{cmd}`  ",
        f"Machine: {machine()}  ",
        f"Date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M+00:00')}  ",
        f"{sims} simulations per row, {resamples} bootstrap resamples each, alpha {ALPHA:g}; each figure is the "
        f"share of simulations a test called significant ± its Monte Carlo standard error. Equal-skill rows are "
        f"false-positive rates (calibrated: {ALPHA:g} ± {band:.3f}, 3 standard errors); the last row is power. "
        "The gate's Welch test compares two runs of one configuration (no per-document differences), one-sided.",
        "",
        "| scenario | " + " | ".join(TESTS) + " |",
        "|---" * (len(TESTS) + 1) + "|",
        *rows,
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--resamples", type=int, default=200)
    args = ap.parse_args(argv)
    page = ROOT / PAGE
    text = replace(page.read_text(encoding="utf-8"), NAME, body(args.sims, args.resamples),
                   "(by scripts/docs/stats_calibration.py; regenerate with python scripts/docs/stats_calibration.py)")
    write_page(page, text)
    print(f"wrote {PAGE} block {NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
