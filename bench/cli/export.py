"""``bench export --results DIR --to mlflow``: log existing records to an experiment tracker, through
the same code path as ``bench run --track`` (bench.run.track); records already tracked are skipped.
Each record goes to ``--experiment``, else to the experiment named after the matrix it was planned
from (what ``--track`` would have used), else ``bench-export``."""

from __future__ import annotations

import argparse


def cmd_export(args: argparse.Namespace) -> int:
    from bench.record.io import iter_records
    from bench.run.track import MlflowTracker, check_tracker, track_records

    check_tracker(args.to)
    records = list(iter_records(args.results, "records to export"))  # every file read before any is logged
    groups: dict[str, list[dict]] = {}
    for rec in records:
        name = args.experiment or (rec.get("matrix") or {}).get("name") or "bench-export"
        groups.setdefault(name, []).append(rec)
    for name, recs in groups.items():
        added, skipped = track_records(MlflowTracker(name), recs)
        print(f"bench export: {added} run(s) added to {args.to} experiment {name!r}, "
              f"{skipped} skipped (failed or already tracked) of {len(recs)} record(s)")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="log existing records to an experiment tracker (MLflow)")
    p.add_argument("--results", required=True, help="results folder (with records/)")
    p.add_argument("--to", required=True, choices=["mlflow"], help="the tracker (MLFLOW_TRACKING_URI decides where)")
    p.add_argument("--experiment", default=None,
                   help="experiment name (default: the record's matrix name, else bench-export; a record "
                        "already tracked in any experiment is skipped)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return cmd_export(args)
