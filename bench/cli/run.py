"""bench run: one cell (--task ...) or a matrix (--matrix FILE)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.cli.ecosystem import add_ecosystem_args, finish_from_args, report_to_from_args
from bench.cli.run_flags import dry_run_cell, matrix_overrides, print_sharing, with_speed_flags  # noqa: F401 - re-exported
from bench.errors import BenchError, ConfigError
from bench.fit.options import ATTN
from bench.run.cost import estimate
from bench.run.interrupt import Interrupted
from bench.run.quiet import quiet
from bench.spec.cell import PRECISIONS


def add_speed_args(p) -> None:
    p.add_argument("--precision", choices=PRECISIONS, default=None,
                   help="auto (default: bf16 on CUDA with bf16; on a CPU what its calibration measured faster, "
                        "see bench ls machine), fp32 or bf16; in the cell")
    p.add_argument("--group-by-length", action=argparse.BooleanOptionalAction, default=None,
                   help="batches of similar lengths (default off; in the cell; refused with balanced_sampler, "
                        "random_window, length_schedule, the probe and TF-IDF)")
    p.add_argument("--attn", choices=ATTN, default=None, help="attention kernel (runtime: BENCH_ATTN; not in the cell; auto: SDPA, but eager "
                   "attention while training in bf16 on a CPU: bench.fit.attention)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the model (runtime: BENCH_COMPILE; pays on long runs only)")


def speed_from_args(args) -> dict:
    """The cell's speed fields from CLI flags; runtime flags go to the environment so that matrix
    workers (subprocesses) inherit them."""
    if getattr(args, "attn", None):
        os.environ["BENCH_ATTN"] = args.attn
    if getattr(args, "compile", None) is not None:
        os.environ["BENCH_COMPILE"] = "1" if args.compile else "0"
    out = {}
    if getattr(args, "precision", None):
        out["precision"] = args.precision
    if getattr(args, "group_by_length", None) is not None:
        out["group_by_length"] = args.group_by_length
    return out


def _named(value: str, axis: str):
    from bench.components import axis_types
    from bench.spec.named import parse_named

    return parse_named(value, axis_types()[axis])


def add_cell_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", help="task name (bench ls tasks) or a task YAML file (with --matrix: replaces the "
                   "matrix's tasks)")
    p.add_argument("--model", default=None, help="model name (bench ls models) or hf:<id-or-folder> (default "
                   "minilm-l6; with --matrix: replaces the matrix's models)")
    p.add_argument("--method", default="full", help="fine-tuning method NAME[:k=v,...]")
    p.add_argument("--imbalance", default="none", help="imbalance strategy NAME[:k=v,...]")
    p.add_argument("--context", default=None, help="context-length policy NAME[:k=v,...] (default: the model's: "
                   "head for transformers, full for tfidf-logreg)")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--framework", default="hf", help="what trains it: hf (transformers Trainer) or keras (Keras 3 "
                   "fit on TensorFlow, extra [keras]; bench ls frameworks)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=float, default=None, help="(with --matrix: overrides every cell's, as do "
                   "--limit-train and --limit-eval)")
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--limit-train", type=int, default=None, help="stratified training subset (per task, not per seed)")
    p.add_argument("--limit-eval", type=int, default=None, help="stratified validation/test subsets")
    p.add_argument("--patience", type=int, default=None, help="early-stopping patience in epochs (0 = off)")
    pass

    add_speed_args(p)
    p.add_argument("--adapt", default="none", help="adaptation stage before fine-tuning NAME[:k=v,...] (bench ls adapt)")
    p.add_argument("--train-domains", default=None, help="train on these domains only: A,B or all (task domain column)")
    p.add_argument("--eval-domains", default=None, help="evaluate per target domain: A,B or all (default with "
                   "--train-domains: all)")


def cell_from_args(args: argparse.Namespace):
    from bench.spec.cell import Cell, TrainParams

    if not args.task:
        raise BenchError("bench run: give --task T (one cell) or --matrix FILE")
    overrides = {k: v for k, v in {
        "epochs": args.epochs, "learning_rate": args.learning_rate, "batch_size": args.batch_size,
        "limit_train": args.limit_train, "limit_eval": args.limit_eval,
    }.items() if v is not None}
    if args.patience is not None:
        overrides["early_stopping_patience"] = args.patience or None
    pass

    overrides.update(speed_from_args(args))
    train = TrainParams(**overrides)
    method, mparams = _named(args.method, "methods")
    imb, iparams = _named(args.imbalance, "imbalance")
    from bench.components.models import get_model

    model = args.model or "minilm-l6"
    ctx, cparams = _named(args.context or get_model(model).context, "context")
    from bench.data.domains import parse_domains

    adapt, aparams = _named(args.adapt, "adapt")
    domain_fields = {"adapt": adapt, "adapt_params": aparams, "train_domains": parse_domains(args.train_domains),
                     "eval_domains": parse_domains(args.eval_domains)}
    return Cell(task=args.task, model=model, method=method, method_params=mparams, imbalance=imb,
                imbalance_params=iparams, context=ctx, context_params=cparams, max_length=args.max_length,
                seed=args.seed, train=train, framework=args.framework, **domain_fields)


def cmd_run(args: argparse.Namespace) -> int:
    from bench.record.io import check_writable, write_record
    from bench.record.schema import failed_record
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell, validate_cell

    cell = cell_from_args(args)
    validate_cell(cell)
    if args.save_model:
        from bench.components.context import CONTEXT

        if not CONTEXT.get(cell.context).exportable:
            raise ConfigError(f"--save-model: context {cell.context!r} trains a model that cannot be saved as a "
                              "transformers classifier yet (drop --save-model)")
    report_to_from_args(args)
    finish = finish_from_args(args)  # extra metrics and tracker checked before the cell runs
    planned = plan_cell(cell)  # the id and precision, once
    if args.dry_run:
        dry_run_cell(planned, args.out, args.retry_failed)
        return 0
    out = check_writable(args.out)
    fresh_save = bool(args.save_model) and not Path(args.save_model).exists()
    if args.save_model:
        check_writable(args.save_model)
    quiet()
    try:
        rec = run_cell(planned, save_model=args.save_model, share=out / "shared")
    except Interrupted:  # SIGINT/SIGTERM: no record, and no half-saved model in a folder this run made
        if fresh_save:
            shutil.rmtree(args.save_model, ignore_errors=True)
        raise
    except BenchError:
        raise
    except Exception as err:  # noqa: BLE001 - a failed cell still leaves a record
        path = write_record(out, failed_record(planned.cell, planned.cell_id, err))
        print(f"cell failed: {type(err).__name__}: {err} (record: {path})", file=sys.stderr)
        return 1
    finish.record(rec)
    path = write_record(out, rec)
    finish.track(rec)
    print_result(rec, path)
    if args.save_model:
        print(f"fine-tuned model saved to {args.save_model} (load with AutoModelForSequenceClassification"
              ".from_pretrained; pooled models: trust_remote_code=True, the modeling file is saved with them)")
    return 0


def _value(v) -> str:
    """A metric for the console: 4 decimals, or n/a where the record holds none (null: e.g. the recall
    of a class absent from the test split) or NaN."""
    return "n/a" if v is None or v != v else f"{v:.4f}"


def print_result(rec: Mapping[str, Any], path: Path | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    m, t, c = rec["metrics"], rec["timing"], rec["cell"]
    table = Table(title=f"{c['task']} · {rec['model']['label']} · {c['method']} · imbalance={c['imbalance']} "
                        f"· context={c['context']} · L={c['max_length']} · seed={c['seed']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k in ("accuracy", "macro_f1", "balanced_accuracy", "minority_recall", "roc_auc", "pr_auc", "ece", "log_loss"):
        if k in m:
            table.add_row(k, _value(m[k]))
    for k in sorted({k for e in (rec.get("extra_metrics") or {}).values() for k in e.get("keys", [])}):
        table.add_row(f"{k} (evaluate)", _value(m.get(k)))
    for k, fmt in (("train_seconds", "{:.1f}"), ("train_samples_per_s", "{:.1f}"), ("padding_share", "{:.3f}"),
                   ("eval_samples_per_s", "{:.1f}"), ("latency_p50_ms", "{:.1f}"), ("peak_memory_mb", "{:.0f}")):
        if t.get(k) is not None:
            table.add_row(k, fmt.format(t[k]))
    q = rec.get("quality") or {}
    if q.get("majority_score") is not None:  # the reference: predict the training split's most frequent class
        table.add_row(f"{rec['task']['main_score']}: majority class ({q['majority_class']}, no training)",
                      f"{q['majority_score']:.4f}", style="dim")
    Console().print(table)
    if q.get("degenerate"):
        Console().print(f"[bold red]DEGENERATE:[/] {q['reason']} (see README, What a run records)", highlight=False)
    shared = (rec.get("training") or {}).get("shared_with")
    if shared:
        print(f"training reused from cell {shared} (bench.run.share; --no-share-training trains again)")
    if path:
        print(f"record: {path}")


def add_matrix_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("matrix")
    g.add_argument("--matrix", metavar="FILE", help="run every cell of a matrix file (matrices/*.yaml)")
    g.add_argument("--executor", default="sequential", choices=["sequential", "process", "ray"])
    g.add_argument("--workers", type=int, default=1, help="process/ray: cells at a time (GPUs: one per GPU)")
    g.add_argument("--address", default=None, help="ray: cluster address (HOST:PORT, ray://..., auto); "
                                                    "default: start a local instance")
    g.add_argument("--retry-failed", action="store_true", help="rerun cells whose record says failed")
    g.add_argument("--dry-run", action="store_true", help="print the cells (or the one cell), their ids and a cost estimate; "
                   "runs and writes nothing")
    g.add_argument("--only", metavar="EXPR", default=None,
                   help='run a subset, e.g. "task=bbc-news seed=0|1 imbalance!=none id=3fa2"')
    g.add_argument("--race", action="store_true", help="run in rounds of seeds and drop configurations significantly "
                   "worse than their group's best (docs/RACING.md; OUT/race.json)")
    from bench.cli.race import add_race_args

    add_race_args(g)


def cmd_matrix(args: argparse.Namespace) -> int:
    from bench.run.matrix import read_outcome_records, run_matrix
    from bench.run.plan import plan_matrix
    from bench.run.progress import MatrixProgress, print_dry_run, print_outcome
    from bench.run.quiet import quiet
    from bench.spec.matrix import load_matrix
    from bench.spec.matrix_overrides import with_overrides

    if args.save_model:
        raise ConfigError("bench run: --save-model works with one cell (--task), not with --matrix")
    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1 (got {args.workers})")
    if args.address and args.executor != "ray":
        raise ConfigError("--address is for --executor ray")
    overrides = matrix_overrides(args, speed_from_args(args))
    spec = with_overrides(load_matrix(args.matrix), overrides)
    report_to_from_args(args, spec)
    finish = finish_from_args(args, spec, experiment=spec.name)
    plan = plan_matrix(spec, args.out, only=args.only)
    # named in every record's matrix section (with --only): the report plans the same cells
    plan.overrides = {**overrides, **({"only": args.only} if args.only else {})}
    if args.dry_run:
        estimates, basis = estimate(plan)
        print_dry_run(plan, estimates, basis, args.retry_failed)
        print_sharing(plan)
        return 0
    quiet()
    if args.race:
        from bench.cli.race_run import run_raced

        return run_raced(plan, args, MatrixProgress, finish)
    outcome = run_matrix(plan, executor=args.executor, workers=args.workers, address=args.address,
                         retry_failed=args.retry_failed, progress=MatrixProgress(),
                         on_record=finish.written if finish else None)
    for cid, rec in plan.records.items():  # resumed: earlier ok records get missing extras, tracking
        if finish and cid not in outcome.ran and rec.get("status") == "ok":
            finish.written(plan.out, cid)
    print_outcome(outcome, read_outcome_records(outcome))
    return outcome.exit_code


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run one cell (--task ...) or a matrix (--matrix FILE)")
    add_cell_args(p)
    p.add_argument("--out", default="results", help="output folder (records land in OUT/records/)")
    p.add_argument("--save-model", default=None, help="save the fine-tuned model + tokenizer here")
    p.add_argument("--no-share-training", action="store_true",
                   help="train every cell, even one whose training equals another's (default: cells differing "
                        "only after training, e.g. logit_adjust vs none, reuse OUT/shared/; runtime: "
                        "BENCH_SHARE_TRAINING=0)")
    p.add_argument("--latency-docs", type=int, default=None, metavar="N",
                   help="documents the latency probe times one at a time (default: the cell's latency_docs, at "
                        "most 8; runtime: BENCH_LATENCY_DOCS, not in the cell)")
    add_ecosystem_args(p)
    add_matrix_args(p)
    p.set_defaults(run=run)


def runtime_from_args(args: argparse.Namespace) -> None:
    """Runtime switches that change no prediction go to the environment (matrix workers inherit it)."""
    if getattr(args, "no_share_training", False):
        os.environ["BENCH_SHARE_TRAINING"] = "0"
    n = getattr(args, "latency_docs", None)
    if n is not None:
        if n < 0:
            raise ConfigError(f"--latency-docs must be >= 0 (got {n})")
        os.environ["BENCH_LATENCY_DOCS"] = str(n)


def run(args: argparse.Namespace) -> int:
    runtime_from_args(args)
    return cmd_matrix(args) if getattr(args, "matrix", None) else cmd_run(args)
