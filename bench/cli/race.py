"""bench race: replay the racing policy over a finished results folder (no training): which cells a race
would have run, the winner sets, the eliminations (round, p) and the share of training seconds used."""

from __future__ import annotations

import argparse
import json

from bench.errors import ConfigError


def add_race_args(p, replay: bool = True) -> None:
    p.add_argument("--alpha", type=float, default=0.05, help="family-wise error per group over the whole race "
                   "(Holm within a group, split evenly over the looks; default 0.05)")
    p.add_argument("--min-seeds", type=int, default=2, help="seeds every configuration runs before the first "
                   "elimination (default 2: one seed cannot show seed-to-seed variance; 1 saves more, "
                   "see docs/RACING.md)")
    p.add_argument("--race-resamples", type=int, default=1000, help="paired-bootstrap resamples per comparison")
    if replay:
        p.add_argument("--metric", default=None, help="metric to race on (default: the task's main score)")


def check_race_args(args) -> None:
    if not 0 < args.alpha < 1:
        raise ConfigError(f"--alpha must be in (0, 1) (got {args.alpha})")
    if args.min_seeds < 1:
        raise ConfigError(f"--min-seeds must be >= 1 (got {args.min_seeds})")
    if args.race_resamples < 100:
        raise ConfigError(f"--race-resamples must be >= 100 (got {args.race_resamples})")


def matrix_records(results: str, spec) -> list[dict]:
    """The ok records under ``results`` of the matrix's configurations (by configuration id)."""
    from bench.record.frame import config_id
    from bench.record.io import iter_records
    from bench.run.plan import expand_planned

    wanted = {config_id(p.cell.to_dict()) for p in expand_planned(spec)}  # as planned: recipe filled in
    recs = [r for r in iter_records(results, "records to replay")
            if r.get("status") == "ok" and config_id(r["cell"]) in wanted]
    if not recs:
        raise ConfigError(f"--results {results}: no ok record of matrix {spec.name!r}'s configurations")
    return recs


def cmd_race(args: argparse.Namespace) -> int:
    from bench.report.race import replay
    from bench.report.race_report import cost_share, labels_of, race_lines
    from bench.spec.matrix import load_matrix

    check_race_args(args)
    spec = load_matrix(args.matrix)
    recs = matrix_records(args.results, spec)
    metric = args.metric or max({(r.get("task") or {}).get("main_score") or "macro_f1" for r in recs})
    race = replay(recs, list(spec.seeds), metric, args.alpha, args.min_seeds, args.race_resamples)
    labels = labels_of(recs)
    if args.json:
        used, total = cost_share(race, recs)
        print(json.dumps({**race.to_dict(), "labels": labels, "train_seconds_used": used,
                          "train_seconds_full": total}, indent=1))
        return 0
    for line in race_lines(race, labels, recs):
        print(line)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("race", help="replay racing over finished records: what a race would have run and declared")
    p.add_argument("--results", required=True, help="a results folder holding the matrix's full records")
    p.add_argument("--matrix", required=True, help="the matrix file (its configurations and seed order)")
    p.add_argument("--json", action="store_true", help="print the race as JSON")
    add_race_args(p)
    p.set_defaults(run=cmd_race)
