"""``bench export --results DIR --to mlflow``: log existing records to an experiment tracker, through
the same code path as ``bench run --track`` (bench.run.track); records already tracked are skipped."""

from __future__ import annotations

import argparse


def cmd_export(args: argparse.Namespace) -> int:
    from bench.record.io import iter_records
    from bench.run.track import check_tracker, make_tracker, track_records

    check_tracker(args.to)
    records = list(iter_records(args.results, "records to export"))  # every file read before any is logged
    tracker = make_tracker(args.to, args.experiment)
    added, skipped = track_records(tracker, records)
    print(f"bench export: {added} run(s) added to {args.to} experiment {args.experiment!r}, "
          f"{skipped} skipped (failed or already tracked) of {len(records)} record(s)")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="log existing records to an experiment tracker (MLflow)")
    p.add_argument("--results", required=True, help="results folder (with records/)")
    p.add_argument("--to", required=True, choices=["mlflow"], help="the tracker (MLFLOW_TRACKING_URI decides where)")
    p.add_argument("--experiment", default="bench-export",
                   help="experiment name (default bench-export; records tracked in any experiment are skipped)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return cmd_export(args)
