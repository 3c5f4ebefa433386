"""Per-cell lock files that a dead process cannot hold forever.

``OUT/locks/<cell_id>.lock`` is created as a hard link to a temp file already holding its content
(atomic like ``O_CREAT | O_EXCL``, NFS-safe, never seen empty) and holds the owner's host, pid and
process start time. A lock is *stale* when its owner is gone: on the same host, the pid is dead or belongs to a newer process; from another
host (Ray over shared storage), its heartbeat (the file's mtime, touched every
``HEARTBEAT_S``) is older than ``STALE_AFTER_S``. Stale locks are broken under a second
``O_EXCL`` guard file so two runners never both break and re-take the same lock.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

HEARTBEAT_S = 20.0
STALE_AFTER_S = float(os.environ.get("BENCH_LOCK_STALE_S", 180))


def _me() -> dict:
    import psutil

    return {"host": socket.gethostname(), "pid": os.getpid(), "start": psutil.Process().create_time()}


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def owner_alive(info: dict | None, path: Path) -> bool:
    """Whether the process that wrote a lock still runs (an unreadable lock counts by its age)."""
    if info is None or info.get("host") != socket.gethostname():
        try:
            return time.time() - path.stat().st_mtime < STALE_AFTER_S
        except OSError:
            return False
    import psutil

    try:
        proc = psutil.Process(int(info["pid"]))
        return abs(proc.create_time() - float(info["start"])) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, KeyError, ValueError, TypeError):
        return False


def lock_free(lock_dir: str | Path, cid: str) -> bool:
    """No lock, or one whose owner is gone (the next acquire breaks it)."""
    path = Path(lock_dir) / f"{cid}.lock"
    return not path.exists() or not owner_alive(_read(path), path)


def clear_dead(lock_dir: str | Path, cid: str) -> None:
    """Remove a cell's lock whose owner is gone (a worker killed while it held it)."""
    path = Path(lock_dir) / f"{cid}.lock"
    if path.exists() and not owner_alive(_read(path), path):
        path.unlink(missing_ok=True)


def _create(path: Path, info: dict) -> bool:
    """Create ``path`` holding ``info`` if it does not exist, atomically *with* its content: the info
    is written to a private temp file that is then hard-linked to ``path`` (``link`` fails if
    ``path`` exists, like ``O_EXCL``, NFS-safe). A process killed at any point (SIGKILL) leaves no
    empty lock, which would otherwise count as alive until ``STALE_AFTER_S`` (an orphan temp file at
    worst). File systems without hard links fall back to ``O_EXCL`` + write."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(json.dumps(info))
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # no hard links here (some FUSE / SMB mounts)
        return _create_excl(path, info)
    finally:
        tmp.unlink(missing_ok=True)


def _create_excl(path: Path, info: dict) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
    except BaseException:  # interrupted (a signal) between create and write: leave no empty lock
        path.unlink(missing_ok=True)
        raise
    return True


class CellLock:
    """``with CellLock(dir, cell_id) as got:`` -- ``got`` is False when a live owner holds it."""

    def __init__(self, lock_dir: str | Path, cid: str) -> None:
        self.path = Path(lock_dir) / f"{cid}.lock"
        self.held = False
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = _me()
        for _ in range(3):
            if _create(self.path, me):
                self.held = True
                try:
                    self._beat = threading.Thread(target=self._heartbeat, daemon=True)
                    self._beat.start()
                except BaseException:  # __exit__ does not run when __enter__ raises
                    self.release()
                    raise
                return True
            info = _read(self.path)
            if owner_alive(info, self.path) or not self._break(info):
                return False
        return False

    def _break(self, seen: dict | None) -> bool:
        guard = self.path.with_suffix(".break")
        if not _create(guard, _me()):
            if owner_alive(_read(guard), guard):
                return False
            guard.unlink(missing_ok=True)  # a breaker that died mid-break
            return False
        try:
            if _read(self.path) == seen:  # still the stale lock we judged, not a fresh one
                self.path.unlink(missing_ok=True)
            return True
        finally:
            guard.unlink(missing_ok=True)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:
                return

    def release(self) -> None:
        if self.held:
            self._stop.set()
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
