"""Argument parsers of ``bench report`` and ``bench compare``; the work (pandas, matplotlib) is
imported only when a command runs."""

from __future__ import annotations

import argparse

GROUPS = "task, model, method, imbalance, context, adapt, max_length, config"


def cmd_report(args: argparse.Namespace) -> int:
    from bench.report.commands import cmd_report as run

    return run(args)


def cmd_compare(args: argparse.Namespace) -> int:
    from bench.report.commands import cmd_compare as run

    return run(args)


def add_report_parsers(sub) -> None:
    p = sub.add_parser("report", help="leaderboard of a results folder: tables (md/latex/csv/json), plots, HTML site")
    p.add_argument("--results", default="results", help="results folder (holds records/)")
    p.add_argument("--format", default="md", choices=["md", "latex", "csv", "json", "html"])
    p.add_argument("--out", default=None, help="a file, or a folder (table + plots; html: the site). Default: stdout")
    p.add_argument("--metric", default=None, help="metric to rank by (default: the tasks' main score)")
    p.add_argument("--rows", default=None, help=f"comma list of {GROUPS} (default: config)")
    p.add_argument("--cols", default=None, help="comma list, as --rows (default: task)")
    p.add_argument("--task", default=None, help="only this task")
    p.add_argument("--resamples", type=int, default=1000, help="paired-bootstrap resamples for the vs-best marks")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="paired significance of configuration A vs B (bootstrap CI + McNemar)")
    p.add_argument("a", metavar="A", help="selector of A: key=value[,key=value] over " + GROUPS + ", or a config id")
    p.add_argument("b", metavar="B", help="selector of B; dimensions it does not name are taken from A")
    p.add_argument("--results", default="results", help="results folder (holds records/)")
    p.add_argument("--metric", default=None, help="metric (default: the tasks' main score)")
    p.add_argument("--task", default=None, help="only this task")
    p.add_argument("--resamples", type=int, default=1000, help="paired-bootstrap resamples")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (CI is 1 - alpha)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_compare)
