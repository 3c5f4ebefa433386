"""Cell ids, computed ONCE, at planning (the CLI for one cell, ``plan_matrix`` for a matrix).

``cell_id`` hashes the cell plus what its names stand for: the task's version, spec hash and
data fingerprint, the model's identity and the precision ``auto`` resolved to on the planning
machine. The planner hands a :class:`PlannedCell` (cell, id, precision) to the worker, which
trains in that precision and files the record under that id; it never recomputes either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.hashing import json_hash
from bench.spec.cell import Cell


@dataclass(frozen=True)
class PlannedCell:
    cell: Cell
    cell_id: str
    precision: str  # "fp32" or "bf16": what "auto" resolved to at planning


def resolved(cell: Cell, precision: str | None = None) -> dict[str, Any]:
    """The cell plus what its names stand for: task spec (version, source), the task's data
    fingerprint (cached per task, see bench.data.fingerprint), model identity and the precision that
    runs (the requested one, ``auto`` or explicit, is not part of the identity)."""
    from bench.components.models import get_model
    from bench.data.fingerprint import task_identity

    data = cell.to_dict()
    # the precision that runs is the identity, not how it was asked for: an explicit bf16 and an "auto"
    # that resolved to bf16 are one computation, one id (a rerun with --precision bf16 skips them)
    data["train"] = {**data["train"], "precision": "auto"}
    return {
        "cell": data,
        "task": task_identity(cell.task),
        "model": get_model(cell.model).identity(),
        "precision": precision or resolve(cell),
    }


def resolve(cell: Cell) -> str:
    """The precision ``cell.train.precision`` means on this machine ("auto" resolves per machine)."""
    from bench.fit.device import resolve_precision

    return resolve_precision(cell.train.precision)


def cell_id(cell: Cell, precision: str | None = None) -> str:
    return json_hash(resolved(cell, precision), 16)


def grouping_conflict(cell: Cell) -> str | None:
    """Why the cell would silently ignore ``group_by_length`` (its fitter has no length-grouped
    sampler, or its imbalance strategy / context policy draws the batches); None if honoured."""
    from bench.components.adapt import ADAPT
    from bench.components.capabilities import length_grouping_conflict
    from bench.components.context import CONTEXT
    from bench.components.imbalance import IMBALANCE
    from bench.components.methods import METHODS
    from bench.components.models import get_model
    from bench.fit.base import FITTERS, fitter_key
    from bench.spec.named import build

    method = build(METHODS, cell.method, cell.method_params)
    built = [("imbalance", build(IMBALANCE, cell.imbalance, cell.imbalance_params)),
             ("context", build(CONTEXT, cell.context, cell.context_params)), ("method", method),
             ("adaptation", build(ADAPT, cell.adapt, cell.adapt_params))]
    key = fitter_key(get_model(cell.model).kind, method.name, cell.framework)
    if key not in FITTERS:  # e.g. keras/lora: refused by validation (bench.fit.frameworks), no grouping to resolve
        return None
    return length_grouping_conflict(key, FITTERS.get(key).label, FITTERS.get(key).supports, built)


def check_grouping(cell: Cell) -> None:
    """Refuse (one line) a ``group_by_length`` the user set that the cell would silently ignore."""
    from bench.components.capabilities import CapabilityError

    if cell.train.group_by_length and "group_by_length" in cell.train.model_fields_set:
        why = grouping_conflict(cell)
        if why:
            raise CapabilityError(f"group_by_length cannot be honoured: {why} (drop --group-by-length)")


def plan_cell(cell: Cell) -> PlannedCell:
    """Fill the training parameters the user left unset from the model's recipe, resolve the
    precision and compute the id, once. ``group_by_length`` the user did not set (the default, or
    the recipe's) resolves to off where the cell could not honour it (validation refuses an
    explicit one)."""
    from bench.components.models import with_recipe

    explicit = "group_by_length" in cell.train.model_fields_set
    cell = with_recipe(cell)
    if cell.train.group_by_length and not explicit and grouping_conflict(cell):
        tp = cell.train
        cell = cell.with_(train=type(tp)(**{**tp.model_dump(exclude_unset=True), "group_by_length": False}))
    precision = resolve(cell)
    return PlannedCell(cell, cell_id(cell, precision), precision)
