"""The ``bench`` command line. torch/transformers load only inside commands that need them."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from bench.errors import BenchError


def _named(value: str):
    from bench.components import parse_named

    return parse_named(value)


def add_cell_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", help="task name (bench ls tasks) or a task YAML file")
    p.add_argument("--model", default="minilm-l6", help="model name (bench ls models) or hf:<id-or-folder>")
    p.add_argument("--method", default="full", help="fine-tuning method NAME[:k=v,...]")
    p.add_argument("--imbalance", default="none", help="imbalance strategy NAME[:k=v,...]")
    p.add_argument("--context", default="head", help="context-length policy NAME[:k=v,...]")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=float, default=None)
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--limit-train", type=int, default=None, help="stratified training subset (per task, not per seed)")
    p.add_argument("--limit-eval", type=int, default=None, help="stratified validation/test subsets")
    p.add_argument("--patience", type=int, default=None, help="early-stopping patience in epochs (0 = off)")
    from bench.speed import add_speed_args

    add_speed_args(p)
    p.add_argument("--adapt", default="none", help="adaptation stage before fine-tuning NAME[:k=v,...] (bench ls adapt)")
    p.add_argument("--train-domains", default=None, help="train on these domains only: A,B or all (task domain column)")
    p.add_argument("--eval-domains", default=None, help="evaluate per target domain: A,B or all (default with "
                   "--train-domains: all)")


def cell_from_args(args: argparse.Namespace):
    from bench.cell import Cell, TrainParams

    if not args.task:
        raise BenchError("bench run: give --task T (one cell) or --matrix FILE")
    overrides = {k: v for k, v in {
        "epochs": args.epochs, "learning_rate": args.learning_rate, "batch_size": args.batch_size,
        "limit_train": args.limit_train, "limit_eval": args.limit_eval,
    }.items() if v is not None}
    if args.patience is not None:
        overrides["early_stopping_patience"] = args.patience or None
    from bench.speed import speed_from_args

    overrides.update(speed_from_args(args))
    train = TrainParams(**overrides)
    method, mparams = _named(args.method)
    imb, iparams = _named(args.imbalance)
    ctx, cparams = _named(args.context)
    from bench.domains import parse_domains

    adapt, aparams = _named(args.adapt)
    domain_fields = {"adapt": adapt, "adapt_params": aparams, "train_domains": parse_domains(args.train_domains),
                     "eval_domains": parse_domains(args.eval_domains)}
    return Cell(task=args.task, model=args.model, method=method, method_params=mparams, imbalance=imb,
                imbalance_params=iparams, context=ctx, context_params=cparams, max_length=args.max_length,
                seed=args.seed, train=train, **domain_fields)


def cmd_ls(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    what = args.what
    if what == "tasks":
        from bench.tasks import all_tasks

        rows = [[s.name, s.domain, s.source.type, len(s.label_names) if s.label_names else "?", s.version, s.license]
                for s in all_tasks().values()]
        print(tabulate(rows, ["task", "domain", "source", "labels", "version", "license"], disable_numparse=True))
    elif what == "models":
        from bench.models import MODELS

        rows = [[m.label, m.kind, m.description] for m in (MODELS.get(n) for n in MODELS)]
        rows.append(["hf:<id-or-folder>[@rev]", "hf", "any Hugging Face sequence-classification model"])
        print(tabulate(rows, ["model", "kind", "description"]))
    else:
        from bench.components import describe

        print(tabulate([list(r.values()) for r in describe(_component_registry(what))], ["name", "params", "summary"]))
    return 0


def _component_registry(what: str):
    from bench.adapt import ADAPT
    from bench.context import CONTEXT
    from bench.imbalance import IMBALANCE
    from bench.methods import METHODS

    return {"imbalance": IMBALANCE, "context": CONTEXT, "methods": METHODS, "adapt": ADAPT}[what]


def cmd_transfer(args: argparse.Namespace) -> int:
    from bench.domains import format_transfer, transfer_table

    table = transfer_table(args.results, metric=args.metric, min_n=args.min_n)
    print(table.to_csv(index=False) if args.csv else format_transfer(table))
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from bench.datacard import data_card

    card = data_card(args.task, args.model)
    if args.json:
        print(json.dumps(card, indent=1))
        return 0
    from tabulate import tabulate

    print(f"{card['task']} v{card['version']} ({card['domain']}; licence: {card['license']})")
    print(card["description"].strip())
    print(f"labels: {', '.join(card['label_names'])}   main score: {card['main_score']}   "
          f"fingerprint: {card['fingerprint']}   prep: {card['prep']}")
    rows = []
    for split, e in card["splits"].items():
        t = e.get("tokens", {})
        rows.append([split, e["rows"], " ".join(f"{k}:{v}" for k, v in e["class_counts"].items()),
                     e["imbalance_ratio"], t.get("p50"), t.get("p90"), t.get("p99"),
                     t.get("share_over_128"), t.get("share_over_256"), t.get("share_over_512")])
    print(tabulate(rows, ["split", "rows", "class counts", "imb. ratio", "tok p50", "p90", "p99",
                          ">128", ">256", ">512"]))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    if getattr(args, "matrix", None):
        from bench.matrix_cli import cmd_matrix

        return cmd_matrix(args)
    from bench.pipeline import failed_record, run_cell, save_record, validate_cell
    from bench.record import check_writable

    cell = cell_from_args(args)
    validate_cell(cell)
    out = check_writable(args.out)
    if args.save_model:
        check_writable(args.save_model)
    _quiet()
    try:
        rec = run_cell(cell, save_model=args.save_model)
    except BenchError:
        raise
    except Exception as err:  # noqa: BLE001 - a failed cell still leaves a record
        path = save_record(out, failed_record(cell, err))
        print(f"cell failed: {type(err).__name__}: {err} (record: {path})", file=sys.stderr)
        return 1
    path = save_record(out, rec)
    print_summary(rec, path)
    if args.save_model:
        print(f"fine-tuned model saved to {args.save_model} (load with from_pretrained)")
    return 0


def print_summary(rec: dict, path: Path | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    m, t, c = rec["metrics"], rec["timing"], rec["cell"]
    table = Table(title=f"{c['task']} · {rec['model']['label']} · {c['method']} · imbalance={c['imbalance']} "
                        f"· context={c['context']} · L={c['max_length']} · seed={c['seed']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k in ("accuracy", "macro_f1", "balanced_accuracy", "minority_recall", "roc_auc", "pr_auc", "ece", "log_loss"):
        if k in m:
            table.add_row(k, f"{m[k]:.4f}")
    for k, fmt in (("train_seconds", "{:.1f}"), ("train_samples_per_s", "{:.1f}"), ("padding_share", "{:.3f}"),
                   ("eval_samples_per_s", "{:.1f}"), ("latency_p50_ms", "{:.1f}"), ("peak_memory_mb", "{:.0f}")):
        if t.get(k) is not None:
            table.add_row(k, fmt.format(t[k]))
    Console().print(table)
    if path:
        print(f"record: {path}")


def _quiet() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    try:
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass


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
    from bench.matrix_cli import add_matrix_args

    add_matrix_args(p)
    p.set_defaults(func=cmd_run)
    from bench.perf import add_perf_parser

    add_perf_parser(sub)
    from bench.check_cli import add_check_parsers

    add_check_parsers(sub)
    from bench.report.cli import add_report_parsers

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
