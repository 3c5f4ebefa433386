"""How steady is the gate's calibration on this machine? (docs/CHECK.md, the ``calibration-spread`` block)

    python scripts/docs/calibration_spread.py [--runs 3] [--threads 1]

Runs ``bench.gate.calibrate.calibrate()`` several times in a row and prints, per run, the 1-minute
load average before it, every repeat's seconds, their median and spread, then the min / median /
max over all repeats and whether ``bench check`` would judge timings (spread <= MAX_SPREAD).
"""

from __future__ import annotations

import argparse
import os
import statistics


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the cells' setting)")
    args = ap.parse_args(argv)
    import torch

    from bench.gate.calibrate import MAX_SPREAD, calibrate

    torch.set_num_threads(args.threads)
    allr = []
    print(f"{'run':>3}  {'load':>5}  {'repeats (s)':<40}  {'median':>7}  {'spread':>6}  judged (<= {MAX_SPREAD:g})")
    for i in range(args.runs):
        load = os.getloadavg()[0]
        cal = calibrate()
        allr += cal["repeats"]
        reps = " ".join(f"{t:.2f}" for t in cal["repeats"])
        print(f"{i + 1:>3}  {load:>5.2f}  {reps:<40}  {cal['seconds']:>7.3f}  {cal['spread']:>6.2f}  "
              f"{'yes' if cal['spread'] <= MAX_SPREAD else 'no'}")
    print(f"all {len(allr)} repeats: min {min(allr):.3f} s, median {statistics.median(allr):.3f} s, "
          f"max {max(allr):.3f} s; workload: {cal['workload']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
