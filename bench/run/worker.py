"""The worker: one planned cell -> its RunRecord (``run_cell``), and ``execute``, which runs a
cell under its lock and writes the record (what every executor calls).

load task -> build splits -> resampling -> context windows -> fit (HF Trainer, probe head or
TF-IDF) -> predict -> metrics -> record.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.components.adapt import ADAPT
from bench.components.context import CONTEXT
from bench.components.imbalance import IMBALANCE
from bench.components.methods import METHODS
from bench.components.models import get_model
from bench.data.prepare import TaskData, stratified_subset, task_seed
from bench.fit.base import FitResult
from bench.fit.device import precision_choice
from bench.metrics import classification_metrics, softmax
from bench.record.io import record_path, record_status, write_record
from bench.record.schema import RunRecord, Scored, ok_record, timing_section
from bench.run import throughput
from bench.run.ids import PlannedCell, check_grouping
from bench.run.phase import phase
from bench.spec.cell import Cell
from bench.spec.named import build
from bench.spec.task import get_task

log = logging.getLogger(__name__)


def cell_data(cell: Cell) -> TaskData:
    """The task's data with the cell's (seed-independent) limits applied."""
    from bench.data.domains import apply_domains
    from bench.data.prepare import load_task_data

    data, domain_selection = apply_domains(load_task_data(get_task(cell.task)), cell.train_domains, cell.eval_domains)
    if domain_selection is not None:  # source/target domains first, then the limits within them
        data = replace(data, stats={**data.stats, "domains": domain_selection})
    splits = dict(data.splits)
    tp = cell.train
    for name, limit in (("train", tp.limit_train), ("validation", tp.limit_eval), ("test", tp.limit_eval)):
        if limit is not None:
            idx = stratified_subset(splits[name].labels, limit, task_seed(data.spec, f"limit/{name}"))
            splits[name] = splits[name].take(idx)
    return replace(data, splits=splits)


def validate_cell(cell: Cell) -> None:
    """Resolve every name and parameter of a cell (fast; no data or model loading)."""
    from bench.data.sources import check_hub_reachable

    check_hub_reachable(get_task(cell.task))  # offline: a hub task is refused here, not per cell
    mspec = get_model(cell.model)
    config = None
    if mspec.kind == "hf":
        from bench.components.models import max_positions
        from bench.errors import ConfigError
        from bench.fit.loading import loadable_config

        config = loadable_config(mspec)
        limit = max_positions(config)
        if cell.max_length > limit:
            raise ConfigError(f"max_length {cell.max_length} is above model {mspec.name!r}'s limit of {limit} tokens")
    strategy = build(IMBALANCE, cell.imbalance, cell.imbalance_params)
    policy = build(CONTEXT, cell.context, cell.context_params)
    if mspec.kind == "hf":  # window-size checks need the tokenizer's special tokens
        from bench.fit.tokens import tokenizer_for

        if policy.window_length(cell.max_length) > limit:  # e.g. hierarchical's segment_length
            raise ConfigError(f"context {policy.name!r}: windows of {policy.window_length(cell.max_length)} tokens "
                              f"are above model {mspec.name!r}'s limit of {limit} tokens")

        policy.check(cell.max_length, tokenizer_for(mspec))  # loaded once per process, reused by the fit
    method = build(METHODS, cell.method, cell.method_params)
    adaptation = build(ADAPT, cell.adapt, cell.adapt_params)
    if mspec.kind != "hf" and (cell.method != "full" or cell.adapt != "none"):
        from bench.errors import ConfigError

        raise ConfigError(f"model {mspec.name!r} is not a transformer: method {method.name!r} and "
                          f"adaptation {adaptation.name!r} need one (use method full, adapt none)")
    from bench.components.capabilities import check_capabilities
    from bench.fit.base import FITTERS
    from bench.fit.frameworks import check_framework

    key = check_framework(cell, mspec.kind, method.name, getattr(config, "model_type", None))  # hf or keras
    fitter = FITTERS.get(key)  # refuse what the fitter cannot honour (one line)
    check_capabilities(key, fitter.label, fitter.supports,
                       [("imbalance", strategy), ("context", policy), ("method", method), ("adaptation", adaptation)])
    check_grouping(cell)  # an explicit group_by_length it would ignore (an unset one resolves at planning)
    if cell.train_domains is not None or cell.eval_domains is not None:
        cell_data(cell)  # unknown domain names fail here, before anything is written


def run_cell(planned: PlannedCell, save_model: str | None = None, share: str | Path | None = None) -> RunRecord:
    """Run one planned cell and return its record (status ok). Raises on failure.

    The path: validate -> data (bench.data) -> components (bench.components) -> adapt (TAPT/DAPT)
    -> fit (bench.fit, chosen by model kind and method) -> scores -> record (bench.record).
    ``share``: the folder of shared trainings (bench.run.share): a cell whose training identity is
    stored there reuses its logits instead of training. ``timing.phases`` says where the time went.
    """
    from bench.run.share import shared_for

    cell = planned.cell
    started = dt.datetime.now(dt.timezone.utc)
    t0 = clock = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = phases.get(name, 0.0) + now - clock
        clock = now

    validate_cell(cell)
    mspec = get_model(cell.model)
    strategy = build(IMBALANCE, cell.imbalance, cell.imbalance_params)
    policy = build(CONTEXT, cell.context, cell.context_params)
    method = build(METHODS, cell.method, cell.method_params)
    lap("validate")
    phase("data")
    data = cell_data(cell)
    lap("data")
    shared = shared_for(planned, strategy, share, save_model)
    cached = shared.load() if shared is not None else None
    trained_by = None
    lap("shared_lookup")
    if cached is None:
        fit, adapt_record = _train(planned, data, mspec, strategy, policy, method, save_model, lap)
        _split_fit_phase(phases, fit.timing.get("phases") or {})
        if shared is not None:
            shared.save(fit, adapt_record, planned.cell_id)
            lap("shared_store")
    else:
        fit, adapt_record, trained_by = cached
    phase("metrics")
    scored = score(data, strategy, fit)
    lap("metrics")
    timing = timing_section({k: v for k, v in fit.timing.items() if k != "phases"}, len(data.splits["test"]),
                            fit.timing.get("peak_memory_mb"), time.perf_counter() - t0)
    timing["training_reused"] = cached is not None
    timing["phases"] = phases
    components = {"strategy": strategy, "policy": policy, "method": method, "adapt": adapt_record}
    model = {**mspec.identity(), "label": mspec.label, "random_init": mspec.random_init}
    rec = ok_record(planned.cell_id, cell, data, model, components, fit, scored, timing, started)
    rec["precision_choice"] = {**precision_choice(cell.train.precision), "precision": planned.precision}
    lap("record")
    timing["wall_seconds"] = time.perf_counter() - t0
    rec["training"] = {"training_id": shared.tid if shared is not None else None,
                       "shared_with": trained_by if cached is not None else None,
                       "sharing": "off" if shared is None else ("reused" if cached is not None else "trained")}
    return rec


def _train(planned: PlannedCell, data: TaskData, mspec, strategy, policy, method, save_model, lap):
    """Adapt (TAPT/DAPT) if asked, then fit: (FitResult with the peak RSS in its timing, adaptation record)."""
    from bench.fit.base import FitJob, fitter_for
    from bench.fit.device import PeakRSS

    cell = planned.cell
    fitter = fitter_for(mspec, method, cell.framework)
    adapted = None
    phase("train")
    # What is alive before training is kept out of the cyclic GC while the cell trains: the Trainer's
    # full collections (accelerate's free_memory) then skip the whole heap (seconds per cell); unfrozen after.
    gc.freeze()
    try:
        with PeakRSS() as mem:
            if cell.adapt != "none":  # TAPT/DAPT: an adapted encoder replaces the model
                from bench.fit.mlm import adapt_encoder

                adapted = adapt_encoder(cell, data, mspec, build(ADAPT, cell.adapt, cell.adapt_params))
                lap("adapt")
            encoder = adapted.spec if adapted else mspec
            fit = fitter(FitJob(cell, data, encoder, strategy, policy, method, planned.precision, save_model))
            lap("fit")
    finally:
        gc.unfreeze()
    fit.timing["peak_memory_mb"] = mem.peak_mb  # the training's peak (stored with a shared training)
    return fit, (adapted.record if adapted else {"name": "none"})


def _split_fit_phase(phases: dict[str, float], inner: dict[str, float]) -> None:
    """Replace the fitter's total by the phases it reports (model load, tokenise, train, predict,
    latency probe) plus ``fit_other`` for the rest of it."""
    if not inner:
        return
    total = phases.pop("fit")
    phases.update(inner)
    phases["fit_other"] = max(0.0, total - sum(inner.values()))


def score(data: TaskData, strategy, fit: FitResult) -> Scored:
    """The strategy's post-hoc adjustment of the test logits, then the test metrics; validation's
    predictions under the same adjustment (the quality flag is judged on them)."""
    val, test = data.splits["validation"], data.splits["test"]
    train_counts = data.splits["train"].counts(data.num_labels)
    test_logits, adjustment = strategy.adjust(fit.val_logits, val.labels, fit.test_logits, train_counts)
    proba = softmax(test_logits)
    minority = int(np.argmin([c if c > 0 else np.inf for c in train_counts]))
    metrics = classification_metrics(test.labels, proba, data.label_names, minority=minority)
    domains = None
    if data.stats.get("domains") is not None:
        from bench.data.domains import domain_metrics

        domains = domain_metrics(test, proba, data.label_names, data.spec.main_score, data.stats["domains"])
    val_proba = softmax(strategy.adjust(fit.val_logits, val.labels, fit.val_logits, train_counts)[0])
    val_score = classification_metrics(val.labels, val_proba, data.label_names)[data.spec.main_score]
    return Scored(proba, metrics, minority, adjustment, domains,
                  validation=(val.labels, val_proba.argmax(axis=1), val_score))


_EMIT: Callable[[str, str], None] | None = None  # (cell_id, phase) -> None, set per worker process


def _ray_node() -> dict:
    """{"ray_node": id} inside a Ray task (a cluster has several nodes per host), else {}."""
    import sys

    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return {}
    try:
        return {"ray_node": ray.get_runtime_context().get_node_id()}
    except Exception:  # noqa: BLE001 - where it ran is provenance, never a reason to fail the cell
        return {}


def execute(cell_dict: dict, cid: str, out: str, expect: str, precision: str, matrix: dict | None = None) -> dict:
    """Run one cell under its lock and write its record. Never raises for a failing cell.

    ``expect`` is the record status the planner saw ("todo" or "failed"); if another runner
    changed it meanwhile, the cell is left alone ("done elsewhere").
    """
    from bench.record.schema import failed_record
    from bench.run.interrupt import cell_scope, requested
    from bench.run.lock import CellLock
    from bench.run.phase import listen

    if requested():  # stopping: a cell queued before the signal does not start
        return {"id": cid, "status": "interrupted"}
    planned = PlannedCell(Cell.from_dict(cell_dict), cid, precision)
    path = record_path(out, cid)
    t0 = time.perf_counter()
    with cell_scope(), CellLock(Path(out) / "locks", cid) as got:  # Interrupted: lock released, no record
        if not got:
            return {"id": cid, "status": "busy"}
        now = record_status(path)
        if now != expect:
            return {"id": cid, "status": "elsewhere", "record_status": now}
        if _EMIT is not None:
            _EMIT(cid, "start")
            listen(lambda p: _EMIT(cid, p))
        try:
            rec = run_cell(planned, share=Path(out) / "shared")
        except Exception as err:  # noqa: BLE001 - a failing cell becomes a failed record
            rec = failed_record(planned.cell, cid, err)
            _free_memory()
        finally:
            listen(None)
        rec["worker"] = {"host": socket.gethostname(), "pid": os.getpid(), **_ray_node()}  # where the cell ran
        if matrix:
            rec["matrix"] = matrix  # the report tells planned-but-missing cells from excluded ones by it
        write_record(out, rec)
        throughput.log_finished(rec)  # this machine's measured seconds, for later estimates
    result = {"id": cid, "status": rec["status"], "seconds": time.perf_counter() - t0}
    if rec["status"] == "ok":
        result["main_score"] = rec.get("main_score")
        result["degenerate"] = (rec.get("quality") or {}).get("reason")  # None, or why (bench.record.quality)
        result["reused_from"] = (rec.get("training") or {}).get("shared_with")  # bench.run.share
    else:
        result["error"] = f"{rec['error']['type']}: {rec['error']['message']}"
    return result


def _free_memory() -> None:
    gc.collect()
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def set_emitter(fn: Callable[[str, str], None] | None) -> None:
    global _EMIT
    _EMIT = fn
