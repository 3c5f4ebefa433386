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
    fingerprint (cached per task, see bench.data.fingerprint), model identity and precision."""
    from bench.components.models import get_model
    from bench.data.fingerprint import task_identity

    return {
        "cell": cell.to_dict(),
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


def plan_cell(cell: Cell) -> PlannedCell:
    """Fill the training parameters the user left unset from the model's recipe, resolve the
    precision and compute the id, once."""
    from bench.components.models import with_recipe

    cell = with_recipe(cell)
    precision = resolve(cell)
    return PlannedCell(cell, cell_id(cell, precision), precision)
