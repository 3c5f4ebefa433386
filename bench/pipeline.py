"""``run_cell``: one readable path from a Cell to a RunRecord.

load task -> build splits -> imbalance plan -> context windows -> train (HF Trainer) ->
predict -> metrics -> record.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.adapt import ADAPT
from bench.cell import Cell, cell_id
from bench.components import build
from bench.context import CONTEXT
from bench.data import TaskData, stratified_subset, task_seed
from bench.imbalance import IMBALANCE
from bench.methods import METHODS
from bench.metrics import classification_metrics, confusion, per_class, roc_curves, softmax
from bench.models import get_model
from bench.phase import phase
from bench.record import SCHEMA_VERSION, record_path, write_json_atomic
from bench.tasks import get_task

log = logging.getLogger(__name__)


def cell_data(cell: Cell) -> TaskData:
    """The task's data with the cell's (seed-independent) limits applied."""
    from bench.data import load_task_data
    from bench.domains import apply_domains

    data, domain_plan = apply_domains(load_task_data(get_task(cell.task)), cell.train_domains, cell.eval_domains)
    if domain_plan is not None:  # source/target domains first, then the limits within them
        data = replace(data, stats={**data.stats, "domains": domain_plan})
    splits = dict(data.splits)
    tp = cell.train
    for name, limit in (("train", tp.limit_train), ("validation", tp.limit_eval), ("test", tp.limit_eval)):
        if limit is not None:
            idx = stratified_subset(splits[name].labels, limit, task_seed(data.spec, f"limit/{name}"))
            splits[name] = splits[name].take(idx)
    return replace(data, splits=splits)


def validate_cell(cell: Cell) -> None:
    """Resolve every name and parameter of a cell (fast; no data or model loading)."""
    get_task(cell.task)
    mspec = get_model(cell.model)
    if mspec.kind == "hf":
        from bench.errors import ConfigError
        from bench.models import max_positions, model_config

        limit = max_positions(model_config(mspec))
        if cell.max_length > limit:
            raise ConfigError(f"max_length {cell.max_length} is above model {mspec.name!r}'s limit of {limit} tokens")
    build(IMBALANCE, cell.imbalance, cell.imbalance_params)
    policy = build(CONTEXT, cell.context, cell.context_params)
    if mspec.kind == "hf":  # window-size checks need the tokenizer's special tokens
        from bench.models import load_tokenizer

        policy.check(cell.max_length, load_tokenizer(mspec))
    method = build(METHODS, cell.method, cell.method_params)
    adaptation = build(ADAPT, cell.adapt, cell.adapt_params)
    if mspec.kind != "hf" and (cell.method != "full" or cell.adapt != "none"):
        from bench.errors import ConfigError

        raise ConfigError(f"model {mspec.name!r} is not a transformer: method {method.name!r} and "
                          f"adaptation {adaptation.name!r} need one (use method full, adapt none)")
    if cell.train_domains is not None or cell.eval_domains is not None:
        cell_data(cell)  # unknown domain names fail here, before anything is written


def run_cell(cell: Cell, save_model: str | None = None) -> dict:
    """Run one cell and return its record (status ok). Raises on failure."""
    from bench.classical import fit_predict_classical
    from bench.manifest import manifest
    from bench.resources import PeakRSS
    from bench.train import fit_predict

    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    validate_cell(cell)
    mspec = get_model(cell.model)
    strategy = build(IMBALANCE, cell.imbalance, cell.imbalance_params)
    policy = build(CONTEXT, cell.context, cell.context_params)
    method = build(METHODS, cell.method, cell.method_params)
    phase("data")
    data = cell_data(cell)
    adapted = None
    phase("train")
    with PeakRSS() as mem:
        if mspec.kind == "classical":
            fit = fit_predict_classical(cell, data, strategy)
        else:
            from bench.adapt import adapt_encoder

            adapted = adapt_encoder(cell, data, mspec, build(ADAPT, cell.adapt, cell.adapt_params))
            encoder = adapted.spec if adapted else mspec
            if method.trains_encoder:
                fit = fit_predict(cell, data, encoder, strategy, policy, method, save_model=save_model)
            else:
                from bench.probe import fit_predict_probe

                fit = fit_predict_probe(cell, data, encoder, strategy, policy, method, save_model=save_model)
    phase("metrics")
    train_split, val, test = (data.splits[s] for s in ("train", "validation", "test"))
    train_counts = train_split.counts(data.num_labels)
    test_logits, adjustment = strategy.adjust(fit.val_logits, val.labels, fit.test_logits, train_counts)
    proba = softmax(test_logits)
    minority = int(np.argmin([c if c > 0 else np.inf for c in train_counts]))
    metrics = classification_metrics(test.labels, proba, data.label_names, minority=minority)
    timing = _timing(fit.timing, len(test), mem.peak_mb, time.perf_counter() - t0)
    return {
        "schema_version": SCHEMA_VERSION,
        "cell_id": cell_id(cell),
        "status": "ok",
        "cell": cell.to_dict(),
        "task": {
            "name": data.spec.name, "version": data.spec.version, "domain": data.spec.domain,
            "fingerprint": data.fingerprint(), "label_names": data.label_names,
            "main_score": data.spec.main_score, "license": data.spec.license,
            "sizes": {s: len(data.splits[s]) for s in data.splits},
            "class_counts": {s: data.splits[s].counts(data.num_labels) for s in data.splits},
            "minority_class": data.label_names[minority], "prep": data.stats,
        },
        "model": {**mspec.identity(), "label": mspec.label, "random_init": mspec.random_init},
        "metrics": metrics,
        "main_score": metrics[data.spec.main_score],
        "per_class": per_class(test.labels, proba, data.label_names),
        "confusion_matrix": confusion(test.labels, proba, data.num_labels),
        "roc_curves": roc_curves(test.labels, proba, data.label_names),
        "imbalance": {"strategy": strategy.name, "params": strategy.params(), **fit.info.pop("plan"),
                      "adjustment": adjustment},
        "context": {"policy": policy.name, "params": policy.params(), **fit.info.pop("context")},
        "method": {"name": method.name, "params": method.params()},
        "adapt": adapted.record if adapted else {"name": "none"},
        "domains": _domain_section(data, proba),
        "members": fit.members,
        "timing": timing,
        "cost": fit.info,
        "predictions": {
            "ids": test.ids, "labels": test.labels.tolist(), "pred": proba.argmax(axis=1).tolist(),
            "proba": np.round(proba, 6).tolist(),
        },
        "manifest": manifest(),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _domain_section(data: TaskData, proba: np.ndarray) -> dict | None:
    plan = data.stats.get("domains")
    if plan is None:
        return None
    from bench.domains import domain_metrics

    return domain_metrics(data.splits["test"], proba, data.label_names, data.spec.main_score, plan)


def _timing(t: dict, n_test: int, peak_rss_mb: float, wall: float) -> dict:
    out = dict(t)
    secs = t.get("train_seconds") or 0.0
    out["wall_seconds"] = wall
    out["peak_memory_mb"] = peak_rss_mb
    if secs > 0:
        out["train_samples_per_s"] = t["train_samples"] / secs
        if t.get("train_real_tokens"):
            out["train_tokens_per_s"] = t["train_real_tokens"] / secs
    if t.get("train_tokens"):
        out["padding_share"] = 1 - t["train_real_tokens"] / t["train_tokens"]
    if t.get("eval_seconds"):
        out["eval_samples_per_s"] = n_test / t["eval_seconds"]
    return out


def failed_record(cell: Cell, err: BaseException) -> dict:
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    return {
        "schema_version": SCHEMA_VERSION,
        "cell_id": cell_id(cell),
        "status": "failed",
        "cell": cell.to_dict(),
        "error": {"type": type(err).__name__, "message": str(err), "traceback_tail": tb[-4000:]},
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def save_record(out_dir: str | Path, record: dict) -> Path:
    return write_json_atomic(record_path(out_dir, record["cell_id"]), record)
