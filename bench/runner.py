"""Run a matrix: plan (expand, validate, id, scan the output folder) -> execute -> summarise.

Resume: a cell whose ok record exists is skipped; failed ones rerun only with ``retry_failed``.
Safety: every record is written atomically, and each cell runs under a per-cell lock
(:mod:`bench.lock`) that is re-checked against the records folder once held, so a ``kill -9``
at any moment or a second runner on the same folder never loses, duplicates or corrupts a
record. A failing cell becomes a failed record (error + traceback tail) and the matrix goes on.
"""

from __future__ import annotations

import gc
import json
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.cell import Cell, cell_id
from bench.errors import ConfigError, SchemaError
from bench.matrix import MatrixSpec, only_filter, select
from bench.record import SCHEMA_VERSION, check_writable, record_path, upgrade

_EMIT: Callable[[str, str], None] | None = None  # (cell_id, phase) -> None, set per worker process
_HEAD = re.compile(rb'"schema_version":\s*(-?\d+)')


@dataclass
class Plan:
    name: str
    out: Path
    cells: list[Cell]
    ids: list[str]
    state: dict[str, str]  # cell_id -> "ok" | "failed" | "todo"
    records: dict[str, dict] = field(default_factory=dict)  # existing records of this matrix

    def todo(self, retry_failed: bool) -> list[int]:
        runnable = {"todo", "failed"} if retry_failed else {"todo"}
        return [i for i, cid in enumerate(self.ids) if self.state[cid] in runnable]


def plan_matrix(spec: MatrixSpec, out: str | Path, only: str | None = None) -> Plan:
    """Expand, validate every cell (names, parameters, limits) and scan ``out``; runs nothing."""
    from bench.pipeline import validate_cell

    cells = spec.expand()
    seen: set[str] = set()
    for c in cells:  # validation does not depend on the seed: once per configuration
        key = repr(c.with_(seed=0))
        if key not in seen:
            seen.add(key)
            validate_cell(c)
    ids = [cell_id(c) for c in cells]
    if only:
        keep = select(cells, ids, only_filter(only))
        cells, ids = [cells[i] for i in keep], [ids[i] for i in keep]
    if not cells:
        where = spec.path or spec.name
        raise ConfigError(f"{where}: the matrix is empty" + (f" after --only {only!r}" if only else " after excludes"))
    out = Path(out)
    records = scan(out, set(ids))
    state = {cid: records[cid]["status"] if cid in records else "todo" for cid in ids}
    return Plan(spec.name, out, cells, ids, state, records)


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


def _status(path: Path) -> str:
    try:
        return json.loads(path.read_bytes()).get("status", "todo")
    except (OSError, ValueError):
        return "todo"


def execute(cell_dict: dict, cid: str, out: str, expect: str) -> dict:
    """Run one cell under its lock and write its record. Never raises for a failing cell.

    ``expect`` is the record status the planner saw ("todo" or "failed"); if another runner
    changed it meanwhile, the cell is left alone ("done elsewhere").
    """
    from bench.lock import CellLock
    from bench.phase import listen
    from bench.pipeline import failed_record, run_cell, save_record

    cell = Cell.from_dict(cell_dict)
    path = record_path(out, cid)
    t0 = time.perf_counter()
    with CellLock(Path(out) / "locks", cid) as got:
        if not got:
            return {"id": cid, "status": "busy"}
        now = _status(path)
        if now != expect:
            return {"id": cid, "status": "elsewhere", "record_status": now}
        if _EMIT is not None:
            _EMIT(cid, "start")
            listen(lambda p: _EMIT(cid, p))
        try:
            rec = run_cell(cell)
        except Exception as err:  # noqa: BLE001 - a failing cell becomes a failed record
            rec = failed_record(cell, err)
            _free_memory()
        finally:
            listen(None)
        rec["cell_id"] = cid
        rec["worker"] = {"host": socket.gethostname(), "pid": os.getpid()}  # where the cell ran
        save_record(out, rec)
    result = {"id": cid, "status": rec["status"], "seconds": time.perf_counter() - t0}
    if rec["status"] == "ok":
        result["main_score"] = rec.get("main_score")
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


@dataclass
class Outcome:
    plan: Plan
    ran: dict[str, dict] = field(default_factory=dict)  # cell_id -> execute() result
    wall_seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if any(self.final_state(cid) == "failed" for cid in self.plan.ids) else 0

    def final_state(self, cid: str) -> str:
        r = self.ran.get(cid)
        if r and r["status"] in ("ok", "failed"):
            return r["status"]
        if r and r["status"] == "elsewhere":
            return r.get("record_status", "todo")
        return self.plan.state[cid]


def run_matrix(plan: Plan, executor: str = "sequential", workers: int = 1, address: str | None = None,
               retry_failed: bool = False, progress=None) -> Outcome:
    """Run every runnable cell of ``plan``; cells locked by a live runner are retried until that
    runner lets go (then usually found done)."""
    from bench.executors import EXECUTORS, Job

    check_writable(plan.out)
    _clean_temp(plan.out / "records")
    outcome = Outcome(plan)
    ex = EXECUTORS.get(executor)(workers=workers, address=address)
    t0 = time.perf_counter()
    index = {cid: i for i, cid in enumerate(plan.ids)}
    pending = [Job(plan.cells[i].to_dict(), plan.ids[i], str(plan.out), plan.state[plan.ids[i]])
               for i in plan.todo(retry_failed)]
    if progress is not None:
        progress.begin(plan, [j.cid for j in pending])
    try:
        busy: list[str] = []

        def done(res: dict) -> None:
            if res["status"] == "busy":
                busy.append(res["id"])
                return
            outcome.ran[res["id"]] = res
            if progress is not None:
                progress.done(index[res["id"]], res)

        while pending:
            busy.clear()
            ex.run(pending, on_done=done, on_phase=progress.phase if progress is not None else None)
            pending = _after_busy([j for j in pending if j.cid in set(busy)], done)
    finally:
        ex.close()
        outcome.wall_seconds = time.perf_counter() - t0
        if progress is not None:
            progress.end()
    return outcome


def _after_busy(busy: list, done: Callable[[dict], None], poll_s: float = 1.0) -> list:
    """Cells another live runner holds: wait here (not in a worker) until some lock is released
    or goes stale; cells whose record changed meanwhile are reported done elsewhere, not rerun."""
    from bench.lock import lock_free

    while busy:
        free = [j for j in busy if lock_free(Path(j.out) / "locks", j.cid)]
        if not free:
            time.sleep(poll_s)
            continue
        again = []
        for job in free:
            now = _status(record_path(job.out, job.cid))
            if now != job.expect:
                done({"id": job.cid, "status": "elsewhere", "record_status": now})
            else:
                again.append(job)
        if again:
            return again + [j for j in busy if j not in free]
        busy = [j for j in busy if j not in free]
    return []


def _clean_temp(folder: Path, older_than_s: float = 3600) -> None:
    """Temp files of writes a kill interrupted (``.<id>.json.*.tmp``); recent ones may be live."""
    if not folder.is_dir():
        return
    now = time.time()
    for p in folder.glob(".*.tmp"):
        try:
            if now - p.stat().st_mtime > older_than_s:
                p.unlink()
        except OSError:
            pass


def read_outcome_records(outcome: Outcome) -> list[dict]:
    """The matrix's records after the run (ok and failed), in matrix order."""
    recs = []
    for cid in outcome.plan.ids:
        if cid not in outcome.ran and cid in outcome.plan.records:  # unchanged since the scan
            recs.append(outcome.plan.records[cid])
            continue
        path = record_path(outcome.plan.out, cid)
        if path.exists():
            try:
                recs.append(upgrade(json.loads(path.read_bytes()), str(path)))
            except (ValueError, SchemaError):
                continue
    return recs
