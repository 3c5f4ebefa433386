"""Dry-run cost estimate of a matrix plan: seconds per cell from FLOPs and the throughput records show."""

from __future__ import annotations

DEFAULT_FLOPS = 60e9  # effective training FLOP/s assumed before any record calibrates it (2 CPU cores)


def estimate(plan) -> tuple[list[float | None], str]:
    """Seconds per cell from its work (6·N·tokens training + 2·N·tokens evaluation for
    transformers, every window its context policy reads counted at max_length, the rows its
    imbalance strategy trains on; rows for the classical baseline), converted with seconds-per-work
    measured on the output folder's ok records, else on this machine's earlier finished cells
    (bench.run.throughput), else an assumed rate. Rates are kept per model and kind of training (method
    and adaptation: a probe on cached features or a TAPT cell that adapts first cost nothing like their
    FLOPs say, so they never calibrate full fine-tuning) and per resolved precision (bf16 and fp32
    train at different speeds), each falling back to the coarser one."""
    from bench.components.models import get_model
    from bench.run.throughput import machine_records

    sizes: dict[str, dict] = {}
    measured = _rates(plan.records.values(), sizes)
    machine = _rates(machine_records({c.model for c in plan.cells}, {c.task for c in plan.cells}), sizes)
    out: list[float | None] = []
    for cell, precision in zip(plan.cells, plan.precisions, strict=True):  # precision: resolved at planning
        try:
            w = _work(cell, sizes)
        except Exception:  # noqa: BLE001 - e.g. a Hub task offline
            out.append(None)
            continue
        rate = _lookup((measured, machine), cell.model, _kind(cell.to_dict()), precision)
        if rate is not None:
            out.append(w * rate[0] / rate[1])
        else:
            out.append(5.0 + w / DEFAULT_FLOPS if get_model(cell.model).kind == "hf" else 1.0 + w / 2000)
    folder = sorted({k[0] for k in measured})
    mine = sorted({k[0] for k in machine} - set(folder))
    parts = ([f"calibrated on this folder's records for {', '.join(folder)}"] if folder else []) + (
        [f"on this machine's earlier cells for {', '.join(mine)}"] if mine else [])
    basis = ("; ".join(parts) + f"; others assume {DEFAULT_FLOPS / 1e9:.0f} GFLOP/s" if parts else
             f"assuming {DEFAULT_FLOPS / 1e9:.0f} GFLOP/s effective; later dry runs calibrate on finished cells")
    return out, basis


Rates = dict[tuple[str, str | None, str | None], list[float]]


def _kind(cell: dict) -> str:
    """The kind of training a cell does, as far as its cost goes: its method, and its adaptation stage."""
    adapt = cell.get("adapt") or "none"
    return cell["method"] + ("" if adapt == "none" else f"+{adapt}")


def _lookup(sources: tuple[Rates, ...], model: str, kind: str, precision: str | None) -> list[float] | None:
    """The finest measured rate: this kind of training before the model's overall rate; within each, the
    folder's own records before this machine's, the cell's precision before any precision."""
    for keys in (((model, kind, precision), (model, kind, None)), ((model, None, precision), (model, None, None))):
        for src in sources:
            for key in keys:
                if key in src:
                    return src[key]
    return None


def _rates(records, sizes: dict) -> Rates:
    """(model, kind, precision) and its coarser keys (None for any) -> [wall seconds, work] over ok records."""
    from bench.spec.cell import Cell

    rates: Rates = {}
    for rec in records:
        secs = (rec.get("timing") or {}).get("wall_seconds")
        if rec.get("status") != "ok" or not secs:
            continue
        try:
            w = _work(Cell.from_dict(rec["cell"]), sizes)
        except Exception:  # noqa: BLE001 - an estimate is best effort
            continue
        model, kind, precision = rec["cell"]["model"], _kind(rec["cell"]), rec.get("precision")
        for key in {(model, kind, precision), (model, kind, None), (model, None, precision), (model, None, None)}:
            acc = rates.setdefault(key, [0.0, 0.0])
            acc[0], acc[1] = acc[0] + secs, acc[1] + w
    return rates


def _work(cell, sizes: dict) -> float:
    from bench.components.imbalance import IMBALANCE
    from bench.components.models import get_model
    from bench.fit.loading import model_config
    from bench.spec.named import build

    mspec = get_model(cell.model)
    if cell.task not in sizes:
        from bench.data.prepare import load_task_data
        from bench.spec.task import get_task

        data = load_task_data(get_task(cell.task))
        sizes[cell.task] = {k: len(v) for k, v in data.splits.items()}
        sizes[cell.task]["labels"] = (data.splits["train"].labels, data.num_labels)
    n = sizes[cell.task]
    tp = cell.train
    n_train = min(n["train"], tp.limit_train or n["train"]) * _rows_share(cell, n)
    n_eval = sum(min(n[s], tp.limit_eval or n[s]) for s in ("validation", "test"))
    if mspec.kind != "hf":
        return float(n_train + n_eval)
    cfg = model_config(mspec)
    h, layers = cfg.hidden_size, cfg.num_hidden_layers
    params = layers * (4 * h * h + 2 * h * getattr(cfg, "intermediate_size", 4 * h))
    members = build(IMBALANCE, cell.imbalance, cell.imbalance_params).n_members()
    train_windows, eval_windows = _windows(cell)
    # every window counted full: random batches are padded to their longest window, often max_length
    tokens_train = n_train * tp.epochs * cell.max_length * train_windows
    tokens_eval = n_eval * cell.max_length * (tp.epochs + 1) * eval_windows  # validation every epoch + test
    return members * (6 * params * tokens_train + 2 * params * tokens_eval)


UNBOUNDED_WINDOWS = 4  # windows per document assumed for a policy without a cap (an estimate, from above)


def _windows(cell) -> tuple[int, int]:
    """Windows per document (training, evaluation) a context policy may read, at most: chunk and
    hierarchical read up to their cap of windows / segments; random_window trains on one, infers by chunk."""
    params = cell.context_params or {}
    if cell.context == "hierarchical":
        k = int(params.get("segments", 4))
        return k, k
    if cell.context in ("chunk", "random_window"):
        k = int(params.get("max_windows") or UNBOUNDED_WINDOWS)
        inference = 1 if params.get("inference") == "head" else k
        return (1 if cell.context == "random_window" else k), inference
    return 1, 1


def _rows_share(cell, n: dict) -> float:
    """Training rows per split row under the cell's strategy (undersampling trains on fewer rows,
    oversampling on more): its resampling of the task's training labels, once per task and strategy."""
    from bench.components.imbalance import IMBALANCE
    from bench.spec.named import build

    key = ("rows", cell.imbalance, repr(sorted((cell.imbalance_params or {}).items())))
    if key not in n:
        labels, k = n["labels"]
        try:
            rows = len(build(IMBALANCE, cell.imbalance, cell.imbalance_params).fit_resample(labels, k, 0).indices)
            n[key] = rows / max(1, len(labels))
        except Exception:  # noqa: BLE001 - an estimate is best effort: the strategy refuses at run time
            n[key] = 1.0
    return n[key]
