"""Plan a matrix: expand, validate, compute every cell id once, scan the output folder."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import ConfigError
from bench.record.schema import SCHEMA_VERSION, upgrade
from bench.run.ids import PlannedCell, plan_cell
from bench.spec.cell import Cell
from bench.spec.matrix import MatrixSpec, only_filter, select

_HEAD = re.compile(rb'"schema_version":\s*(-?\d+)')


@dataclass
class MatrixPlan:
    name: str
    out: Path
    cells: list[Cell]
    ids: list[str]  # computed here, once; workers file their records under them
    precisions: list[str]  # what each cell's precision resolved to here (the ids hash it)
    state: dict[str, str]  # cell_id -> "ok" | "failed" | "todo"
    records: dict[str, dict] = field(default_factory=dict)  # existing records of this matrix
    path: str | None = None  # the matrix file (absolute), named in every record with the matrix name
    overrides: dict = field(default_factory=dict)  # command-line overrides (bench.spec.matrix_overrides), named too

    def todo(self, retry_failed: bool) -> list[int]:
        runnable = {"todo", "failed"} if retry_failed else {"todo"}
        return [i for i, cid in enumerate(self.ids) if self.state[cid] in runnable]


def plan_matrix(spec: MatrixSpec, out: str | Path, only: str | None = None) -> MatrixPlan:
    """Expand, validate every cell (names, parameters, limits) and scan ``out``; runs nothing."""
    from bench.components import axis_types

    planned = expand_planned(spec)
    if only:
        keep = select([p.cell for p in planned], [p.cell_id for p in planned], only_filter(only), axis_types())
        planned = [planned[i] for i in keep]
    cells, ids, precisions = [p.cell for p in planned], [p.cell_id for p in planned], [p.precision for p in planned]
    if not cells:
        where = spec.path or spec.name
        raise ConfigError(f"{where}: the matrix is empty" + (f" after --only {only!r}" if only else " after excludes"))
    out = Path(out)
    records = scan(out, set(ids))
    state = {cid: records[cid]["status"] if cid in records else "todo" for cid in ids}
    return MatrixPlan(spec.name, out, cells, ids, precisions, state, records,
                      str(Path(spec.path).resolve()) if spec.path else None)


def expand_planned(spec: MatrixSpec) -> list[PlannedCell]:
    """The matrix's cells as the runner runs them: expanded (each model's own default context where
    the matrix sets none), validated, then planned (recipe, precision, id) by ``plan_cell``. The one
    planning path: ``plan_matrix`` runs these cells and the report's planned section expects them."""
    from bench.components import axis_types
    from bench.components.capabilities import CapabilityError
    from bench.components.models import get_model
    from bench.run.worker import validate_cell

    cells = spec.expand(axis_types(), model_context=lambda name: get_model(name).context)
    seen: set[str] = set()
    refused: list[str] = []  # cells combining what their fitter cannot honour: all named, then one error
    for c in cells:  # validation does not depend on the seed: once per configuration
        key = repr(c.with_(seed=0))
        if key not in seen:
            seen.add(key)
            try:
                validate_cell(c)
            except CapabilityError as err:
                refused.append(f"[{cell_label(c)}] {err}")
    if refused:
        where = spec.path or spec.name
        raise ConfigError(f"{where}: {len(refused)} configuration(s) cannot run: " + "; ".join(refused))
    return [plan_cell(c) for c in cells]


def scan(out: Path, wanted: set[str]) -> dict[str, dict]:
    """This matrix's records in ``out`` (fully read); every other record's schema is checked from
    its first bytes, so a folder holding newer-schema records is refused before anything runs."""
    folder = out / "records"
    found: dict[str, dict] = {}
    try:
        names = os.listdir(folder)
    except OSError:
        return found
    for name in sorted(names):
        if not name.endswith(".json") or name.startswith("."):
            continue
        path = folder / name
        cid = name[:-5]
        if cid in wanted:
            try:
                rec = json.loads(path.read_bytes())
            except (OSError, ValueError):
                continue  # unreadable: treated as missing, rewritten atomically by the rerun
            rec = upgrade(rec, str(path))
            if rec.get("status") in ("ok", "failed"):
                found[cid] = rec
        else:
            with open(path, "rb") as f:
                m = _HEAD.search(f.read(256))
            if m and int(m.group(1)) > SCHEMA_VERSION:
                upgrade({"schema_version": int(m.group(1))}, str(path))  # raises the clear SchemaError
    return found


def cell_label(cell: Cell) -> str:
    """``task=.. model=.. method=.. imbalance=.. context=..`` (what --only and rules use)."""
    from bench.spec.named import label

    return (f"task={cell.task} model={cell.model} method={label(cell.method, cell.method_params)} "
            f"imbalance={label(cell.imbalance, cell.imbalance_params)} "
            f"context={label(cell.context, cell.context_params)} adapt={label(cell.adapt, cell.adapt_params)}")
