"""``bench baseline`` and ``bench check`` (the work lives in bench.gate.baseline / bench.gate.check)."""

from __future__ import annotations

import argparse


def cmd_baseline(args: argparse.Namespace) -> int:
    from bench.gate.baseline import build_baseline, parse_tolerances, write_baseline
    from bench.gate.check import calibrate

    metrics = args.metrics.split(",") if args.metrics else None
    timings = [t for t in args.timings.split(",") if t] if args.timings is not None else None
    base = build_baseline(args.results, metrics, timings, parse_tolerances(args.tolerance),
                          args.time_factor, args.alpha, calibration=None, max_spread=args.max_spread)
    if base["timings"]:
        base["calibration"] = cal = calibrate()
        if cal["spread"] > base["max_spread"]:
            print(f"warning: calibration too noisy (spread {cal['spread']:.2f} > {base['max_spread']:g}): "
                  "bench check will not judge timings against this baseline; make it on a quiet machine")
    path = write_baseline(args.out, base)
    print(f"baseline: {path} ({len(base['configs'])} configurations; metrics {', '.join(base['metrics'])}; "
          f"timings {', '.join(base['timings']) or 'none'})")
    if base["timings"]:
        print(f"calibration: median {cal['seconds']:.3f} s of {len(cal['repeats'])} repeats, spread {cal['spread']:.2f}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bench.gate.check import check

    result = check(args.results, args.baseline, time_factor=args.time_factor, alpha=args.alpha,
                   max_spread=args.max_spread)
    print(result.render())
    return result.exit_code


def add_parser(sub) -> None:
    from bench.gate.baseline import (
        DEFAULT_ALPHA,
        DEFAULT_MAX_SPREAD,
        DEFAULT_METRICS,
        DEFAULT_TIME_FACTOR,
        DEFAULT_TIMINGS,
    )

    p = sub.add_parser("baseline", help="condense a finished results folder into a baseline file for bench check")
    p.add_argument("--results", required=True, help="results folder (with records/)")
    p.add_argument("--out", required=True, help="baseline file to write, e.g. baselines/NAME.json")
    p.add_argument("--metrics", default=None, help=f"quality metrics to gate, comma-separated "
                                                   f"(default {','.join(DEFAULT_METRICS)})")
    p.add_argument("--timings", default=None, help=f"timings to gate, comma-separated; '' for none "
                                                   f"(default {','.join(DEFAULT_TIMINGS)})")
    p.add_argument("--tolerance", action="append", metavar="METRIC=DROP",
                   help="allowed absolute drop of a metric (repeatable); per-configuration overrides go in the file")
    p.add_argument("--time-factor", type=float, default=DEFAULT_TIME_FACTOR,
                   help=f"allowed calibrated slowdown stored in the file (default {DEFAULT_TIME_FACTOR:g})")
    p.add_argument("--max-spread", type=float, default=DEFAULT_MAX_SPREAD,
                   help=f"calibration spread above which timings are not judged, stored in the file "
                        f"(default {DEFAULT_MAX_SPREAD:g})")
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="significance level stored in the file")
    p.set_defaults(run=run)

    p = sub.add_parser("check", help="regression gate: compare a results folder with a baseline (exit 1 on regression)")
    p.add_argument("--results", required=True, help="results folder (with records/)")
    p.add_argument("--baseline", required=True, help="baseline file (bench baseline)")
    p.add_argument("--time-factor", type=float, default=None,
                   help=f"allowed calibrated slowdown (default: the baseline's, {DEFAULT_TIME_FACTOR:g})")
    p.add_argument("--max-spread", type=float, default=None,
                   help=f"calibration spread (max-min)/median above which timings are not judged "
                        f"(default: the baseline's, {DEFAULT_MAX_SPREAD:g})")
    p.add_argument("--alpha", type=float, default=None, help="significance level (default: the baseline's, 0.05)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return {"baseline": cmd_baseline, "check": cmd_check}[args.command](args)
