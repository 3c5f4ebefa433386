"""``bench run`` options that connect a run to the field's tools, none of them in the cell id:
``--extra-metric SPEC`` (Hugging Face ``evaluate`` modules), ``--track mlflow`` (one MLflow run per
record) and ``--report-to`` (the Trainer's own logging integrations). Matrices: ``extra_metrics``,
``track``, ``report_to`` (the command line adds to / overrides them)."""

from __future__ import annotations

import argparse
import os

from bench.errors import ConfigError


def add_ecosystem_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("metrics and tracking (not in the cell id)")
    g.add_argument("--extra-metric", action="append", default=[], metavar="SPEC",
                   help="an evaluate module (local path, e.g. metrics/mcc, or a Hub name when online), "
                        "PATH[:k=v,...] passes compute() arguments; computed on the test predictions and "
                        "stored in the record's metrics under its name (repeatable)")
    g.add_argument("--track", choices=["mlflow"], default=None,
                   help="log every record as one MLflow run (MLFLOW_TRACKING_URI decides where; experiment: "
                        "the matrix's name, bench-run for one cell); needs pip install 'domainbench[track]'")
    g.add_argument("--report-to", default=None, metavar="NAMES",
                   help="the Trainer's own integrations, comma-separated (tensorboard, wandb, mlflow, ...; "
                        "default none; runtime: BENCH_REPORT_TO)")


def report_to_from_args(args: argparse.Namespace, spec=None) -> None:
    """--report-to (else the matrix's report_to) -> BENCH_REPORT_TO, checked against the installed
    integrations of transformers (one ConfigError line instead of a failure in every cell)."""
    value = getattr(args, "report_to", None)
    names = [n.strip() for n in value.split(",") if n.strip()] if value is not None else \
        list(getattr(spec, "report_to", None) or [])
    if not names:
        return
    if names not in (["none"], ["all"]):
        from transformers.integrations import get_available_reporting_integrations
        from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

        for name in names:
            if name not in INTEGRATION_TO_CALLBACK:
                raise ConfigError(f"--report-to {name!r}: not a Trainer integration "
                                  f"(known: {', '.join(sorted(INTEGRATION_TO_CALLBACK))})")
            if name not in get_available_reporting_integrations():
                raise ConfigError(f"--report-to {name!r}: its package is not installed")
    os.environ["BENCH_REPORT_TO"] = ",".join(names)


def finish_from_args(args: argparse.Namespace, spec=None, experiment: str = "bench-run"):
    """The extra metrics (matrix's, then the command line's) and the tracker, loaded and checked
    before anything runs (bench.run.finish). A dry run checks the tracker but opens no experiment."""
    from bench.run.finish import make_finish

    specs = list(getattr(spec, "extra_metrics", None) or [])
    specs += [s for s in (getattr(args, "extra_metric", None) or []) if s not in specs]
    track = getattr(args, "track", None) or getattr(spec, "track", None)
    return make_finish(specs, track, experiment, open_tracker=not getattr(args, "dry_run", False))
