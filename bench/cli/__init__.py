"""The ``bench`` command line: one module per group of subcommands, one pattern.

Each module (run, ls, report, gate, perf) has ``add_parser(sub)``, which adds its subcommands,
and ``run(args) -> int``. ``main`` parses, dispatches, and turns a BenchError (bad config, bad
data, unknown name) into one ``error: ...`` line and exit code 2, and SIGINT / SIGTERM into one
line and exit code 130 / 143 (bench.run.interrupt; a matrix says how far it got). torch and
transformers load only inside commands that need them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from bench.errors import BenchError

GROUPS = ("ls", "run", "report", "gate", "perf", "export", "race", "advise")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="bench", description="DomainBench: fine-tuning benchmarks for domain adaptation")
    sub = ap.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        module = importlib.import_module(f"bench.cli.{group}")
        module.add_parser(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    from bench.run.interrupt import Interrupted, graceful

    args = build_parser().parse_args(argv)
    try:
        with graceful():
            return int(args.run(args) or 0)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except Interrupted as sig:
        print(sig.message, file=sys.stderr)
        return sig.exit_code


if __name__ == "__main__":
    sys.exit(main())
