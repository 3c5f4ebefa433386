"""Executors decide *where* a cell runs; the cell function (:func:`bench.run.worker.execute`) is the
same everywhere and writes its own record into the output folder.

- ``sequential``: in this process, one cell after another.
- ``process``: N local worker processes (spawned). With GPUs, one worker per GPU through
  ``CUDA_VISIBLE_DEVICES``; on CPU, the cores are split between workers (torch threads).
  A worker that dies (e.g. killed for memory) fails its cell and the pool is rebuilt.
- ``ray``: each cell a Ray task (``num_gpus=1`` when the cluster has GPUs), on the cluster at
  ``--address`` or on a local instance started for the run. Workers write records straight
  into the output folder, so on several nodes it must be shared storage (NFS, a mounted bucket
  with atomic rename, ...) mounted at the same path everywhere.

SIGINT/SIGTERM (bench.run.interrupt): workers are stopped (process: SIGTERM, later a kill; Ray:
cancel), then ``Interrupted`` goes on; a stopped cell leaves no record and no lock.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable
from typing import NamedTuple

from bench.errors import ConfigError
from bench.registry import Registry
from bench.run import interrupt
from bench.run.interrupt import Interrupted


class Job(NamedTuple):
    cell: dict
    cid: str
    out: str
    expect: str  # record status the planner saw
    precision: str  # what the planner resolved the cell's precision to (the id hashes it)
    matrix: dict | None = None  # {name, path} of the matrix it was planned from, written into the record


OnDone = Callable[[dict], None]
OnPhase = Callable[[str, str], None] | None


class Executor:
    def __init__(self, workers: int = 1, address: str | None = None) -> None:
        if workers < 1:
            raise ConfigError(f"--workers must be >= 1 (got {workers})")
        self.workers = workers
        self.address = address

    def run(self, jobs: list[Job], on_done: OnDone, on_phase: OnPhase = None) -> None:
        raise NotImplementedError  # abstract: every registered executor overrides it

    def close(self) -> None:
        pass


EXECUTORS: Registry[type[Executor]] = Registry("executor")


def _failed(job: Job, err: BaseException) -> dict:
    """A failed record written by the driver when a worker died before writing one."""
    from bench.record.io import write_record
    from bench.record.schema import failed_record
    from bench.spec.cell import Cell

    write_record(job.out, failed_record(Cell.from_dict(job.cell), job.cid, err))
    return {"id": job.cid, "status": "failed", "error": f"{type(err).__name__}: {err}"}


class WorkerDied(RuntimeError):
    pass


@EXECUTORS.register("sequential")
class Sequential(Executor):
    def run(self, jobs, on_done, on_phase=None):
        from bench.run.worker import execute, set_emitter

        set_emitter(on_phase)
        try:
            for job in jobs:
                on_done(execute(*job))
        finally:
            set_emitter(None)


def gpu_count() -> int:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return 0
    try:
        import torch

        return torch.cuda.device_count()
    except ImportError:  # pragma: no cover
        return 0


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _init_worker(events, slots, threads: int) -> None:
    """In each spawned worker: signals (the driver stops it), a GPU slot (if any), the thread
    count, quiet logs."""
    from bench.run.interrupt import worker_mode

    worker_mode()
    slot = slots.get() if slots is not None else None
    if slot is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(slot)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)
    from bench.run.quiet import quiet
    from bench.run.worker import set_emitter

    quiet()
    set_emitter(lambda cid, phase: events.put((cid, phase, os.getpid())))


@EXECUTORS.register("process")
class Processes(Executor):
    def run(self, jobs, on_done, on_phase=None):
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        from bench.run.worker import execute

        ctx = mp.get_context("spawn")
        gpus = gpu_count()
        n = min(self.workers, gpus) if gpus else self.workers
        threads = max(1, cpu_count() // n)  # CPU threads split between workers (GPU or not)
        crashes: dict[str, int] = {}
        todo = list(jobs)
        while todo:
            events = ctx.Queue()
            slots = None
            if gpus:
                slots = ctx.Queue()
                for g in range(n):
                    slots.put(g)
            started: dict[str, int] = {}
            finished: set[str] = set()
            broken = stopped = False
            pool = ProcessPoolExecutor(n, mp_context=ctx, initializer=_init_worker, initargs=(events, slots, threads))
            try:
                with interrupt.sigint_blocked():  # workers spawn here: a terminal's Ctrl-C is for the driver only
                    futures = {pool.submit(execute, *job): job for job in todo}
                procs = dict(getattr(pool, "_processes", None) or {})  # every worker is spawned by now
                while futures and not broken:
                    done, _ = wait(list(futures), timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(events, started, on_phase)
                    for fut in done:
                        job = futures.pop(fut)
                        try:
                            res = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            futures[fut] = job
                            continue
                        finished.add(job.cid)
                        on_done(res)
                    if broken:  # a worker SIGTERM/SIGINT stopped on its own (a scheduler): the run stops
                        interrupt.raise_if_signalled(procs)
            except Interrupted:
                stopped = True
                interrupt.stop_pool(pool, [j for j in todo if j.cid not in finished])
                raise
            finally:
                pool.shutdown(wait=not (broken or stopped), cancel_futures=True)
            todo = [j for j in todo if j.cid not in finished]
            if broken:
                _drain(events, started, on_phase)
                todo = self._after_crash(todo, started, crashes, on_done)

    @staticmethod
    def _after_crash(todo: list[Job], started: dict, crashes: dict, on_done: OnDone) -> list[Job]:
        """The pool broke: a worker died. The cell it ran is failed; if several were in flight
        (the pool takes all workers down), each is retried once and fails on a second crash."""
        in_flight = [j for j in todo if j.cid in started]
        for job in in_flight:
            crashes[job.cid] = crashes.get(job.cid, 0) + 1
            if len(in_flight) == 1 or crashes[job.cid] >= 2:
                on_done(_failed(job, WorkerDied("the worker process running this cell died (killed, e.g. out of "
                                                "memory, or crashed)")))
        failed = {j.cid for j in in_flight if len(in_flight) == 1 or crashes[j.cid] >= 2}
        interrupt.clear_dead_locks(in_flight)  # a killed worker could not release its lock
        return [j for j in todo if j.cid not in failed]


def _drain(events, started: dict, on_phase: OnPhase) -> None:
    while True:
        try:
            cid, phase, pid = events.get_nowait()
        except queue.Empty:
            return
        if phase == "start":
            started[cid] = pid
        if on_phase is not None:
            on_phase(cid, phase)


@EXECUTORS.register("ray")
class RayCluster(Executor):
    def __init__(self, workers: int = 1, address: str | None = None) -> None:
        super().__init__(workers, address)
        self._started = False

    def _connect(self):
        try:
            import ray
        except ImportError:
            raise ConfigError("--executor ray needs Ray: pip install 'domainbench[ray]'") from None
        if ray.is_initialized():
            return ray
        if self.address and self.address != "auto":
            _check_reachable(self.address)
        kwargs = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                self._started = True  # first: an interrupt during init still shuts it down (close)
                ray.init(num_cpus=max(self.workers, 1), **kwargs)
        except (ConnectionError, RuntimeError) as err:
            raise ConfigError(f"cannot connect to Ray at {self.address or 'a new local instance'}: "
                              f"{str(err).splitlines()[0]}") from None
        finally:
            interrupt.reclaim()  # ray.init replaces the SIGTERM handler
        return ray

    def run(self, jobs, on_done, on_phase=None):
        from bench.run.worker import execute

        ray = self._connect()
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        cpus = 1 if gpus or not self._started else max(1, cpu_count() // self.workers)
        cpus = min(cpus, int(ray.cluster_resources().get("CPU", 1)) or 1)
        remote = ray.remote(execute).options(num_cpus=cpus, num_gpus=gpus, max_retries=1)
        refs = {remote.remote(*job): job for job in jobs}
        for job in jobs:
            if on_phase is not None:
                on_phase(job.cid, "queued on ray")
        try:
            while refs:
                try:
                    done, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
                except Exception:  # a signal inside Ray's compiled code surfaces as a SystemError
                    _raise_if_stopping()
                    raise
                for ref in done:
                    job = refs.pop(ref)
                    try:
                        res = ray.get(ref)
                    except Exception as err:  # noqa: BLE001 - the worker died; the driver writes the record
                        _raise_if_stopping()
                        res = _failed(job, WorkerDied(f"Ray task failed: {type(err).__name__}: {str(err)[:500]}"))
                    on_done(res)
        except Interrupted:
            interrupt.cancel_ray(ray, refs)
            raise

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


def _raise_if_stopping() -> None:
    if interrupt.requested():
        raise Interrupted(interrupt.requested()) from None


def _check_reachable(address: str, timeout: float = 3.0) -> None:
    """Fail in seconds (not after Ray's long retry loop) when nothing listens at host:port."""
    import socket

    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--address {address!r}: expected HOST:PORT (or 'auto', or ray://HOST:PORT)")
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, int(port)), timeout=max(0.1, deadline - time.monotonic())):
            return
    except OSError as err:
        raise ConfigError(f"cannot reach a Ray cluster at {address}: {err.strerror or err}") from None
