"""Run a matrix: plan (expand, validate, id, scan the output folder) -> execute -> report the outcome.

Resume: a cell whose ok record exists is skipped; failed ones rerun only with ``retry_failed``.
Safety: every record is written atomically, and each cell runs under a per-cell lock
(:mod:`bench.run.lock`) that is re-checked against the records folder once held, so a ``kill -9``
at any moment or a second runner on the same folder never loses, duplicates or corrupts a
record. A failing cell becomes a failed record (error + traceback tail) and the matrix goes on.
SIGINT/SIGTERM (:mod:`bench.run.interrupt`) stop the run: the running cells unwind (locks
released, no record), finished records stay, and ``run_matrix`` raises Interrupted saying how far it got.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import SchemaError
from bench.record.io import check_writable, read_record, record_path, record_status
from bench.run.interrupt import Interrupted, requested
from bench.run.plan import MatrixPlan


@dataclass
class Outcome:
    plan: MatrixPlan
    ran: dict[str, dict] = field(default_factory=dict)  # cell_id -> execute() result
    wall_seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if any(self.final_state(cid) == "failed" for cid in self.plan.ids) else 0

    def finished(self) -> int:
        """Cells of the plan that have a record now (this run's and earlier ones)."""
        return sum(self.final_state(cid) in ("ok", "failed") for cid in self.plan.ids)

    def final_state(self, cid: str) -> str:
        r = self.ran.get(cid)
        if r and r["status"] in ("ok", "failed"):
            return r["status"]
        if r and r["status"] == "elsewhere":
            return r.get("record_status", "todo")
        return self.plan.state[cid]


def run_matrix(plan: MatrixPlan, executor: str = "sequential", workers: int = 1, address: str | None = None,
               retry_failed: bool = False, progress=None, on_record: Callable[[str, str], None] | None = None
               ) -> Outcome:
    """Run every runnable cell of ``plan``; cells locked by a live runner are retried until that
    runner lets go (then usually found done). ``on_record(out, cell_id)`` runs in this process after
    each ok record is written (bench.run.finish: extra metrics, tracking). SIGINT/SIGTERM: Interrupted
    ("interrupted after N of M cells; ..."), raised once the workers are stopped."""
    from bench.run.executors import EXECUTORS, Job

    check_writable(plan.out)
    _clean_temp(plan.out / "records")
    _clean_temp(plan.out / "locks")  # a lock's temp file left by a runner killed while it took the lock
    outcome = Outcome(plan)
    ex = EXECUTORS.get(executor)(workers=workers, address=address)
    t0 = time.perf_counter()
    index = {cid: i for i, cid in enumerate(plan.ids)}
    named = {"name": plan.name, "path": plan.path, **({"overrides": plan.overrides} if plan.overrides else {})}
    pending = [Job(plan.cells[i].to_dict(), plan.ids[i], str(plan.out), plan.state[plan.ids[i]], plan.precisions[i],
                   named) for i in plan.todo(retry_failed)]
    try:
        if progress is not None:
            progress.begin(plan, [j.cid for j in pending])
        busy: list[str] = []

        def done(res: dict) -> None:
            if res["status"] == "busy":
                busy.append(res["id"])
                return
            outcome.ran[res["id"]] = res
            if on_record is not None and res["status"] == "ok":
                on_record(str(plan.out), res["id"])
            if progress is not None:
                progress.done(index[res["id"]], res)

        while pending:
            busy.clear()
            ex.run(pending, on_done=done, on_phase=progress.phase if progress is not None else None)
            pending = _after_busy([j for j in pending if j.cid in set(busy)], done)
    except Interrupted as sig:
        stopped: Interrupted | None = sig
    else:  # a signal whose Interrupted some library swallowed still stops the run (the cells after it did not start)
        stopped = Interrupted(requested()) if requested() else None
    finally:
        ex.close()
        outcome.wall_seconds = time.perf_counter() - t0
        if progress is not None:
            progress.end()
    if stopped is not None:
        raise Interrupted(stopped.signum, f"interrupted after {outcome.finished()} of {len(plan.ids)} cells; "
                          "rerun the same command to resume")
    return outcome


def _after_busy(busy: list, done: Callable[[dict], None], poll_s: float = 1.0) -> list:
    """Cells another live runner holds: wait here (not in a worker) until some lock is released
    or goes stale; cells whose record changed meanwhile are reported done elsewhere, not rerun."""
    from bench.run.lock import lock_free

    while busy:
        free = [j for j in busy if lock_free(Path(j.out) / "locks", j.cid)]
        if not free:
            time.sleep(poll_s)
            continue
        again = []
        for job in free:
            now = record_status(record_path(job.out, job.cid))
            if now != job.expect:
                done({"id": job.cid, "status": "elsewhere", "record_status": now})
            else:
                again.append(job)
        if again:
            return again + [j for j in busy if j not in free]
        busy = [j for j in busy if j not in free]
    return []


def _clean_temp(folder: Path, older_than_s: float = 3600) -> None:
    """Temp files of writes a kill interrupted (``.<id>.json.*.tmp``, ``.<id>.lock.*.tmp``); recent ones may be live."""
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
                recs.append(read_record(path))
            except SchemaError:
                continue
    return recs
