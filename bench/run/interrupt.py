"""Graceful interrupts: SIGINT (Ctrl-C) and SIGTERM (``kill``, schedulers) stop a run cleanly.

In the driver (the ``bench`` process, :func:`graceful`), the first signal raises
:class:`Interrupted` in the main thread. It derives from BaseException, so a cell's
``except Exception`` never turns it into a failed record: it unwinds through the cell's
``with CellLock`` (the lock is released) and any atomic write in progress (its temp file is
removed), and the command exits 128 + the signal number (130 SIGINT, 143 SIGTERM). Further
signals while the driver stops its workers are noted, not raised, so the clean-up completes.

Worker processes (:func:`worker_mode`) are born with SIGINT blocked (:func:`sigint_blocked`
around their spawn): a terminal's Ctrl-C reaches the whole process group, but only the driver
decides. The driver stops them with SIGTERM: a worker inside a cell raises Interrupted, lets
go of the cell's lock and exits at once (:func:`cell_scope`); an idle one exits at once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE_S = float(os.environ.get("BENCH_STOP_GRACE_S", 30))  # then workers still running are killed


class Interrupted(BaseException):
    """The run was stopped by a signal; nothing about the unfinished cell is recorded.
    ``message``: the one line the command prints (default: what was stopped, and how to resume)."""

    def __init__(self, signum: int, message: str | None = None) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)
        self.message = message or "interrupted; nothing was recorded for unfinished work: rerun the same command"


    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_STATE = {"signum": 0, "worker": False, "in_cell": False, "driver": False}


def requested() -> int:
    """The signal that stopped this process (0: none): cells queued after it do not start."""
    return _STATE["signum"]


def _driver_handler(signum, frame) -> None:
    first = not _STATE["signum"]
    _STATE["signum"] = _STATE["signum"] or signum
    if first:
        raise Interrupted(signum)


@contextmanager
def graceful() -> Iterator[None]:
    """Within: SIGINT/SIGTERM raise Interrupted (once). Main thread only; a no-op elsewhere."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _STATE["signum"] = 0
    old = {s: signal.signal(s, _driver_handler) for s in SIGNALS}
    _STATE["driver"] = True
    try:
        yield
    finally:
        _STATE["driver"] = False
        for s, handler in old.items():
            signal.signal(s, handler)


def reclaim() -> None:
    """Re-install the driver's handlers after a library replaced them (``ray.init`` sets SIGTERM
    to ``sys.exit``, which would skip the clean stop)."""
    if _STATE["driver"] and threading.current_thread() is threading.main_thread():
        for s in SIGNALS:
            signal.signal(s, _driver_handler)


@contextmanager
def sigint_blocked() -> Iterator[None]:
    """Processes spawned within start with SIGINT blocked (the mask survives fork + exec); a
    Ctrl-C meanwhile is held, then delivered to this process on exit."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _worker_handler(signum, frame) -> None:
    _STATE["signum"] = _STATE["signum"] or signum
    if _STATE["in_cell"]:
        raise Interrupted(signum)  # unwinds the cell: lock released, temp files removed
    os._exit(128 + signum)  # idle: nothing to clean up


def worker_mode() -> None:
    """In a worker process the driver manages: Ctrl-C is the driver's, SIGTERM stops the worker."""
    _STATE["worker"] = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_handler)


@contextmanager
def cell_scope() -> Iterator[None]:
    """Around one cell (outside its lock). In a worker, an interrupted cell ends the process
    right after its lock is released, so it never picks up the next queued cell."""
    _STATE["in_cell"] = True
    try:
        yield
    except Interrupted as sig:
        if _STATE["worker"]:
            os._exit(sig.exit_code)
        raise
    finally:
        _STATE["in_cell"] = False


# The driver stopping its executors' workers (bench.run.executors).


def raise_if_signalled(procs: dict) -> None:
    """The pool broke (pid -> Process of its workers). When one worker died, the pool SIGTERMs the
    others; so if EVERY worker ended by SIGINT/SIGTERM (its handler exits 128 + signal; before it
    was installed, -signal), someone stopped a worker (a scheduler signalling every process): the
    run stops as if the driver had been signalled. One that died otherwise (SIGKILL for memory, a
    crash) is a crash: its cell fails and the run goes on."""
    deadline = time.monotonic() + 5.0
    codes = []
    for p in procs.values():
        p.join(max(0.0, deadline - time.monotonic()))
        while p.exitcode is None and time.monotonic() < deadline:  # the pool's own thread may be reaping it
            time.sleep(0.05)
        codes.append(p.exitcode)
    by = [s for c in codes for s in SIGNALS if c in (-s, 128 + s)]
    if codes and len(by) == len(codes):
        s = signal.SIGINT if signal.SIGINT in by else signal.SIGTERM
        _STATE["signum"] = _STATE["signum"] or s
        raise Interrupted(s)


def stop_pool(pool, unfinished: list) -> None:
    """SIGTERM every worker (a cell in progress unwinds: lock released, no record), wait up to
    GRACE_S, kill what is left, and remove the locks a killed worker could not release."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + GRACE_S
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join(5)
    clear_dead_locks(unfinished)


def clear_dead_locks(jobs: list) -> None:
    """Jobs (``.out``, ``.cid``) whose worker was killed: their locks' owners are gone."""
    from pathlib import Path

    from bench.run.lock import clear_dead

    for job in jobs:
        clear_dead(Path(job.out) / "locks", job.cid)


def cancel_ray(ray, refs: dict) -> None:
    """Cancel the matrix's tasks: a running one gets KeyboardInterrupt (its lock is released, no
    record: it is not an Exception), queued ones never start; force-cancel what is left after GRACE_S."""
    for ref in refs:
        ray.cancel(ref, force=False)
    _, left = ray.wait(list(refs), num_returns=len(refs), timeout=GRACE_S) if refs else ([], [])
    for ref in left:
        ray.cancel(ref, force=True)
    clear_dead_locks(list(refs.values()))
