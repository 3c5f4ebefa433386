"""Where bench keeps files: the cache root, and the ONE atomic writer (temp file + rename).

Every file bench writes (records, baselines, caches) goes through :func:`write_atomic`, so a
reader sees the old file or the new one, never half of one. Caches pass ``best_effort=True``:
a cache that cannot be written only costs time.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.errors import OutputError


def cache_root() -> Path:
    """``$BENCH_CACHE``, default ``~/.cache/domainbench``."""
    return Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache" / "domainbench"))


def cache_dir(kind: str) -> Path:
    return cache_root() / kind


def write_atomic(path: str | Path, data: bytes, *, best_effort: bool = False, durable: bool = False) -> Path | None:
    """Write ``data`` to a temp file in the same folder, then rename it over ``path``.

    ``durable`` fsyncs before the rename (records); ``best_effort`` swallows OS errors and
    returns None (caches). Otherwise an unwritable folder is one :class:`OutputError` line.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        if best_effort:
            return None
        raise OutputError(f"cannot write to {path.parent}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, _file_mode())  # mkstemp makes 0600; give what the umask gives ordinary files
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if best_effort and isinstance(err, OSError):
            return None
        raise
    return path


def _file_mode() -> int:
    """``0o666 & ~umask``: the mode ``open()`` would give a new file. The umask is read from
    /proc (Linux); elsewhere ``os.umask`` can only be read by setting it, so it is set straight back."""
    try:
        with open("/proc/self/status") as f:
            mask = next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """``obj`` as indented JSON (numpy scalars and arrays, sets and tuples become plain JSON)."""
    text = json.dumps(obj, indent=1, sort_keys=False, default=json_default)
    return write_atomic(path, text.encode("utf-8"), durable=True)  # type: ignore[return-value]


def json_default(o: Any) -> Any:
    """``json.dumps(default=...)`` for numpy scalars and arrays, sets and tuples; anything else as str."""
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


@contextmanager
def staging_dir(target: str | Path) -> Iterator[Path]:
    """A temp folder next to ``target`` to build a whole folder in, published with
    :func:`publish_dir`; whatever is left of it on exit (a crash, a lost race) is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def publish_dir(tmp: Path, target: str | Path, replace: bool = False) -> bool:
    """Rename a staged folder into place. An existing ``target`` is kept (another process
    finished first) unless ``replace``. True if ``tmp`` was published."""
    target = Path(target)
    if target.exists():
        if not replace:
            return False
        shutil.rmtree(target)
    tmp.rename(target)
    return True
