"""Print the racing policy's error rates over simulated races (docs/RACING.md's block ``race-simulation``).

    python scripts/docs/race_simulation.py [--races 1000]

Synthetic records (bench.report.race_sim): four configurations in one race group, 3 seeds, 80 test
documents, accuracy; two are truly equal and best, the others worse by 0.1 and 0.3. Two scenarios:
a small per-seed effect (seed sd 0.15 on the logit scale) and a large one (0.6), each at
``--min-seeds`` 1 (test from the first seed) and 2. Deterministic (seeded): the same figures on any machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.report.race_sim import simulate  # noqa: E402

MARGINS = {"best": 0.0, "equal": 0.0, "worse 0.1": 0.1, "worse 0.3": 0.3}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--races", type=int, default=1000)
    args = ap.parse_args(argv)
    print(f"{args.races} races per row; alpha 0.05; 3 seeds; 80 test documents; 200 bootstrap resamples; "
          "share eliminated (mean round of elimination)")
    head = ["seed sd", "min seeds", *MARGINS, "runs used"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for seed_sd in (0.15, 0.6):
        for min_seeds in (1, 2):
            out = simulate(args.races, MARGINS, [0, 1, 2], alpha=0.05, min_seeds=min_seeds, n_docs=80, seed=7,
                           seed_sd=seed_sd)
            cells = [f"{c['eliminated']:.3f}" + (f" ({c['mean_round']:.2f})" if c["mean_round"] else "")
                     for c in out["configs"].values()]
            print(f"| {seed_sd} | {min_seeds} | " + " | ".join(cells) + f" | {out['runs_share']:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
