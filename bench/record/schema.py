"""The RunRecord: its sections, schema version, upgrades of older records, and its builders.

A RunRecord is one JSON object per cell (``OUT/records/<cell_id>.json``, written by
:mod:`bench.record.io`). Its sections are described by :class:`RunRecord`; a failed cell's
record has ``status: failed`` and ``error`` instead of the result sections.
"""

from __future__ import annotations

import datetime as dt
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from bench.errors import SchemaError
from bench.spec.cell import Cell

if TYPE_CHECKING:  # annotations only: reading records needs neither pandas nor the fitters
    from bench.data.prepare import TaskData
    from bench.fit.base import FitResult

SCHEMA_VERSION = 3  # 2: the quality section (bench.record.quality); 3: its flag judged on validation


class RunRecord(TypedDict, total=False):
    """The sections of a record (schema version 3). ``ok`` records have all but ``error``."""

    schema_version: int
    cell_id: str  # computed once at planning (bench.run.ids)
    status: str  # "ok" | "failed"
    cell: dict[str, Any]  # Cell.to_dict(), verbatim
    precision: str  # the precision the cell actually trained in: "fp32" | "bf16"
    precision_choice: dict[str, Any]  # requested, resolved (the id's) and why (bench.fit.device.precision_choice)
    task: dict[str, Any]  # name, version, fingerprint, label names, sizes, class counts, prep stats
    model: dict[str, Any]  # ModelSpec.identity() + label + random_init
    metrics: dict[str, float]  # bench.metrics.classification_metrics on the test split
    main_score: float
    quality: dict[str, Any]  # majority baseline, predicted classes, degenerate + reason (record.quality)
    per_class: dict[str, Any]
    confusion_matrix: list[list[int]]
    roc_curves: dict[str, Any]
    imbalance: dict[str, Any]  # strategy, params, the first member's resampling summary, adjustment
    context: dict[str, Any]  # policy, params, window statistics per split
    method: dict[str, Any]
    adapt: dict[str, Any]
    domains: dict[str, Any] | None
    members: list[dict]  # per ensemble member (empty for one model)
    timing: dict[str, Any]
    cost: dict[str, Any]
    predictions: dict[str, list]  # ids, labels, pred, proba per test document
    manifest: dict[str, Any]  # package versions, git state, hardware
    error: dict[str, str]  # failed records: type, message, traceback_tail
    worker: dict[str, Any]  # host and pid of the process that ran the cell (matrix runs)
    matrix: dict[str, Any]  # matrix runs: {name, path} of the matrix file the cell was planned from
    training: dict[str, Any]  # training_id, shared_with (the cell whose training was reused), sharing (bench.run.share)
    started_at: str
    finished_at: str


def _v1_to_v2(rec: dict[str, Any]) -> dict[str, Any]:
    """v2 adds ``quality``, computed from what v1 stored (predictions, training class counts, labels,
    main score); an ok record lacking those fields stays without it."""
    from bench.record.quality import quality_of_record

    rec = {**rec, "schema_version": 2}
    if rec.get("status") == "ok" and (q := quality_of_record(rec)) is not None:
        rec["quality"] = q
    return rec


def _v2_to_v3(rec: dict[str, Any]) -> dict[str, Any]:
    """v3 judges the degenerate flag on validation; v2 stored no validation predictions, so its
    test judgement stays, marked ``basis: "test"`` (and copied under ``quality.test``)."""
    rec = {**rec, "schema_version": 3}
    q = rec.get("quality")
    if q is not None and "basis" not in q:
        rec["quality"] = {**q, "basis": "test", "test": {"degenerate": q.get("degenerate"), "reason": q.get("reason")}}
    return rec


UPGRADES: dict[int, Any] = {1: _v1_to_v2, 2: _v2_to_v3}  # from_version -> function(record) -> record of from_version + 1


def upgrade(rec: dict[str, Any], source: str = "record") -> dict[str, Any]:
    version = rec.get("schema_version")
    if not isinstance(version, int):
        raise SchemaError(f"{source}: not a DomainBench record (no integer schema_version)")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{source}: schema_version {version} is newer than this DomainBench supports "
            f"({SCHEMA_VERSION}); upgrade DomainBench to read it"
        )
    while version < SCHEMA_VERSION:
        if version not in UPGRADES:
            raise SchemaError(f"{source}: schema_version {version} is too old and has no upgrade path")
        rec = UPGRADES[version](rec)
        version = rec["schema_version"]
    return rec


def timing_section(t: dict, n_test: int, peak_rss_mb: float, wall: float) -> dict:
    """A fitter's timings plus wall time, peak memory and the derived throughputs."""
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


def failed_record(cell: Cell, cid: str, err: BaseException) -> RunRecord:
    """The record of a cell that raised: the error and the tail of its traceback."""
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    return {
        "schema_version": SCHEMA_VERSION,
        "cell_id": cid,
        "status": "failed",
        "cell": cell.to_dict(),
        "error": {"type": type(err).__name__, "message": str(err), "traceback_tail": tb[-4000:]},
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def ok_record(cid: str, cell: Cell, data: TaskData, model: dict[str, Any], components: dict[str, Any],
              fit: FitResult, scored: Scored, timing: dict[str, Any], started: dt.datetime) -> RunRecord:
    """The record of a cell that ran. ``components`` holds the built ``strategy``, ``policy``,
    ``method`` and the ``adapt`` section; ``scored`` the test predictions and their metrics."""
    from bench.metrics import confusion, per_class, roc_curves
    from bench.record.manifest import manifest
    from bench.record.quality import quality_section

    strategy, policy, method = components["strategy"], components["policy"], components["method"]
    test, proba, k = data.splits["test"], scored.proba, data.num_labels
    return {
        "schema_version": SCHEMA_VERSION, "cell_id": cid, "status": "ok", "cell": cell.to_dict(),
        "precision": fit.precision,
        "task": {
            "name": data.spec.name, "version": data.spec.version, "domain": data.spec.domain,
            "fingerprint": data.fingerprint(), "label_names": data.label_names,
            "main_score": data.spec.main_score, "license": data.spec.license,
            "sizes": {s: len(data.splits[s]) for s in data.splits},
            "class_counts": {s: data.splits[s].counts(k) for s in data.splits},
            "minority_class": data.label_names[scored.minority], "prep": data.stats,
        },
        "model": model, "metrics": scored.metrics, "main_score": scored.metrics[data.spec.main_score],
        "quality": quality_section(test.labels.tolist(), proba.argmax(axis=1).tolist(), data.label_names,
                                   data.splits["train"].counts(k), data.spec.main_score, scored.metrics,
                                   scored.minority, validation=scored.validation),
        "per_class": per_class(test.labels, proba, data.label_names),
        "confusion_matrix": confusion(test.labels, proba, k),
        "roc_curves": roc_curves(test.labels, proba, data.label_names),
        "imbalance": {"strategy": strategy.name, "params": strategy.params(), **fit.resampling,
                      "adjustment": scored.adjustment},
        "context": {"policy": policy.name, "params": policy.params(), **fit.context},
        "method": {"name": method.name, "params": method.params()},
        "adapt": components["adapt"], "domains": scored.domains, "members": fit.members,
        "timing": timing, "cost": fit.cost,
        "predictions": {"ids": test.ids, "labels": test.labels.tolist(), "pred": proba.argmax(axis=1).tolist(),
                        "proba": np.round(proba, 6).tolist()},
        "manifest": manifest(),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


@dataclass(frozen=True)
class Scored:
    """Test-split predictions after the strategy's post-hoc adjustment, and their metrics."""

    proba: np.ndarray
    metrics: dict[str, float]
    minority: int  # index of the smallest non-empty training class
    adjustment: dict[str, Any] | None
    domains: dict[str, Any] | None  # per target domain, for cross-domain cells
    # (labels, predictions, main score) on validation, the same adjustment applied: the quality flag
    validation: tuple | None = None
