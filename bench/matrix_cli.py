"""``bench run --matrix FILE``: plan, dry-run cost estimate, run with an executor, summarise."""

from __future__ import annotations

import argparse

from bench.errors import ConfigError

DEFAULT_FLOPS = 60e9  # effective training FLOP/s assumed before any record calibrates it (2 CPU cores)


def add_matrix_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("matrix")
    g.add_argument("--matrix", metavar="FILE", help="run every cell of a matrix file (matrices/*.yaml)")
    g.add_argument("--executor", default="sequential", choices=["sequential", "process", "ray"])
    g.add_argument("--workers", type=int, default=1, help="process/ray: cells at a time (GPUs: one per GPU)")
    g.add_argument("--address", default=None, help="ray: cluster address (HOST:PORT, ray://..., auto); "
                                                    "default: start a local instance")
    g.add_argument("--retry-failed", action="store_true", help="rerun cells whose record says failed")
    g.add_argument("--dry-run", action="store_true", help="print the cells, their ids and a cost estimate")
    g.add_argument("--only", metavar="EXPR", default=None,
                   help='run a subset, e.g. "task=bbc-news seed=0|1 imbalance!=none id=3fa2"')


def cmd_matrix(args: argparse.Namespace) -> int:
    from bench.cli import _quiet
    from bench.matrix import load_matrix
    from bench.progress import MatrixProgress, print_dry_run, print_outcome
    from bench.runner import plan_matrix, read_outcome_records, run_matrix

    if args.task:
        raise ConfigError("bench run: give either --task (one cell) or --matrix FILE, not both")
    if args.save_model:
        raise ConfigError("bench run: --save-model works with one cell (--task), not with --matrix")
    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1 (got {args.workers})")
    if args.address and args.executor != "ray":
        raise ConfigError("--address is for --executor ray")
    spec = load_matrix(args.matrix)
    plan = plan_matrix(spec, args.out, only=args.only)
    if args.dry_run:
        estimates, basis = estimate(plan)
        print_dry_run(plan, estimates, basis, args.retry_failed)
        return 0
    _quiet()
    outcome = run_matrix(plan, executor=args.executor, workers=args.workers, address=args.address,
                         retry_failed=args.retry_failed, progress=MatrixProgress())
    print_outcome(outcome, read_outcome_records(outcome))
    return outcome.exit_code


def estimate(plan) -> tuple[list[float | None], str]:
    """Seconds per cell from its work (6·N·tokens training + 2·N·tokens evaluation for
    transformers, every window counted at max_length, one window per document; rows for the
    classical baseline), converted with seconds-per-work measured on this model's ok records in
    the output folder when there are some, else with an assumed rate."""
    from bench.cell import Cell
    from bench.models import get_model

    sizes: dict[str, dict] = {}
    measured: dict[str, list[float]] = {}
    for rec in plan.records.values():
        secs = (rec.get("timing") or {}).get("wall_seconds")
        if rec.get("status") == "ok" and secs:
            try:
                w = _work(Cell.from_dict(rec["cell"]), sizes)
            except Exception:  # noqa: BLE001 - an estimate is best effort
                continue
            acc = measured.setdefault(rec["cell"]["model"], [0.0, 0.0])
            acc[0], acc[1] = acc[0] + secs, acc[1] + w
    out: list[float | None] = []
    for cell in plan.cells:
        try:
            w = _work(cell, sizes)
        except Exception:  # noqa: BLE001 - e.g. a Hub task offline
            out.append(None)
            continue
        if cell.model in measured:
            secs, work = measured[cell.model]
            out.append(w * secs / work)
        else:
            out.append(5.0 + w / DEFAULT_FLOPS if get_model(cell.model).kind == "hf" else 1.0 + w / 2000)
    n = sum(len(v) > 0 for v in measured.values())
    basis = (f"calibrated on this folder's records for {', '.join(sorted(measured))}; others assume "
             f"{DEFAULT_FLOPS / 1e9:.0f} GFLOP/s" if n else
             f"assuming {DEFAULT_FLOPS / 1e9:.0f} GFLOP/s effective; later dry runs calibrate on finished cells")
    return out, basis


def _work(cell, sizes: dict) -> float:
    from bench.components import build
    from bench.imbalance import IMBALANCE
    from bench.models import get_model, model_config

    mspec = get_model(cell.model)
    if cell.task not in sizes:
        from bench.data import load_task_data
        from bench.tasks import get_task

        data = load_task_data(get_task(cell.task))
        sizes[cell.task] = {k: len(v) for k, v in data.splits.items()}
    n = sizes[cell.task]
    tp = cell.train
    n_train = min(n["train"], tp.limit_train or n["train"])
    n_eval = sum(min(n[s], tp.limit_eval or n[s]) for s in ("validation", "test"))
    if mspec.kind != "hf":
        return float(n_train + n_eval)
    cfg = model_config(mspec)
    h, layers = cfg.hidden_size, cfg.num_hidden_layers
    params = layers * (4 * h * h + 2 * h * getattr(cfg, "intermediate_size", 4 * h))
    members = build(IMBALANCE, cell.imbalance, cell.imbalance_params).n_members()
    tokens_train = n_train * tp.epochs * cell.max_length
    tokens_eval = n_eval * cell.max_length * (tp.epochs + 1)  # validation every epoch + the test pass
    return members * (6 * params * tokens_train + 2 * params * tokens_eval)
