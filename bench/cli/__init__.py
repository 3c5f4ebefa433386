"""The ``bench`` command line. torch/transformers load only inside commands that need them."""

from __future__ import annotations

import argparse
import sys

from bench.cli.ls import cmd_data, cmd_ls
from bench.cli.report import cmd_transfer
from bench.cli.run import add_cell_args, cmd_run
from bench.errors import BenchError


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="bench", description="DomainBench: fine-tuning benchmarks for domain adaptation")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ls", help="list tasks, models, imbalance strategies, context policies or methods")
    p.add_argument("what", nargs="?", default="tasks", choices=["tasks", "models", "imbalance", "context", "methods", "adapt"])
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("transfer", help="source x target domain transfer table of cross-domain records")
    p.add_argument("--results", default="results", help="results folder (with records/)")
    p.add_argument("--metric", default=None, help="metric (default: each task's main score)")
    p.add_argument("--min-n", type=int, default=1, help="hide target domains with fewer test rows")
    p.add_argument("--csv", action="store_true")
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("data", help="a task's data card")
    p.add_argument("task")
    p.add_argument("--model", default="minilm-l6", help="tokenizer used for token-length statistics")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("run", help="run one cell (--task ...) or a matrix (--matrix FILE)")
    add_cell_args(p)
    p.add_argument("--out", default="results", help="output folder (records land in OUT/records/)")
    p.add_argument("--save-model", default=None, help="save the fine-tuned model + tokenizer here")
    from bench.cli.run import add_matrix_args

    add_matrix_args(p)
    p.set_defaults(func=cmd_run)
    from bench.cli.perf import add_perf_parser

    add_perf_parser(sub)
    from bench.cli.gate import add_check_parsers

    add_check_parsers(sub)
    from bench.cli.report import add_report_parsers

    add_report_parsers(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
