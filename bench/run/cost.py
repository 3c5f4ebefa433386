"""Dry-run cost estimate of a matrix plan: seconds per cell from FLOPs and the throughput records show."""

from __future__ import annotations

DEFAULT_FLOPS = 60e9  # effective training FLOP/s assumed before any record calibrates it (2 CPU cores)


def estimate(plan) -> tuple[list[float | None], str]:
    """Seconds per cell from its work (6·N·tokens training + 2·N·tokens evaluation for
    transformers, every window counted at max_length, one window per document; rows for the
    classical baseline), converted with seconds-per-work measured on this model's ok records in
    the output folder when there are some, else on this machine's earlier cells of the model on the
    plan's tasks (bench.run.throughput), else with an assumed rate. Measured rates are kept per
    resolved precision (bf16 and fp32 train at different speeds) with the model's overall rate as
    the fallback."""
    from bench.components.models import get_model
    from bench.run.throughput import machine_records

    sizes: dict[str, dict] = {}
    measured = _rates(plan.records.values(), sizes)
    unmeasured = {c.model for c in plan.cells} - {m for m, _ in measured}
    machine = _rates(machine_records(unmeasured, {c.task for c in plan.cells}), sizes) if unmeasured else {}
    rates = {**machine, **measured}
    out: list[float | None] = []
    for cell, precision in zip(plan.cells, plan.precisions, strict=True):  # precision: resolved at planning
        try:
            w = _work(cell, sizes)
        except Exception:  # noqa: BLE001 - e.g. a Hub task offline
            out.append(None)
            continue
        rate = rates.get((cell.model, precision)) or rates.get((cell.model, None))
        if rate is not None:
            out.append(w * rate[0] / rate[1])
        else:
            out.append(5.0 + w / DEFAULT_FLOPS if get_model(cell.model).kind == "hf" else 1.0 + w / 2000)
    folder = sorted({m for m, _ in measured})
    mine = sorted({m for m, _ in machine} - set(folder))
    parts = ([f"calibrated on this folder's records for {', '.join(folder)}"] if folder else []) + (
        [f"on this machine's earlier cells for {', '.join(mine)}"] if mine else [])
    basis = ("; ".join(parts) + f"; others assume {DEFAULT_FLOPS / 1e9:.0f} GFLOP/s" if parts else
             f"assuming {DEFAULT_FLOPS / 1e9:.0f} GFLOP/s effective; later dry runs calibrate on finished cells")
    return out, basis


def _rates(records, sizes: dict) -> dict[tuple[str, str | None], list[float]]:
    """(model, resolved precision) and (model, None) -> [wall seconds, work] summed over ok records."""
    from bench.spec.cell import Cell

    rates: dict[tuple[str, str | None], list[float]] = {}
    for rec in records:
        secs = (rec.get("timing") or {}).get("wall_seconds")
        if rec.get("status") != "ok" or not secs:
            continue
        try:
            w = _work(Cell.from_dict(rec["cell"]), sizes)
        except Exception:  # noqa: BLE001 - an estimate is best effort
            continue
        model = rec["cell"]["model"]
        for key in {(model, rec.get("precision")), (model, None)}:
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
