"""Disk caches under ``BENCH_CACHE`` (default ``~/.cache/domainbench``).

- **data fingerprints** (for cell ids): a task's processed-data fingerprint, keyed by the task
  spec, a cheap stamp of its raw source (wheel RECORD hashes, file size + mtime, or the pinned
  Hub revision) and the data-processing code, so a cell id covers the data without loading it.
- **tokenised texts**: whole-text token ids keyed by the tokenizer identity and the texts
  themselves (content-addressed: never stale), reused across cells, context policies and runs.
- **tokenizers**: loaded once per worker process.
"""

from __future__ import annotations

import importlib.metadata as md
from functools import lru_cache
from pathlib import Path

from bench.hashing import sha_parts, short_hash
from bench.spec.task import FilesSource, HubSource, PackagedSource, TaskSpec
from bench.store import cache_dir, write_atomic


@lru_cache(maxsize=1)
def _code_stamp() -> str:
    return code_stamp(Path(__file__).resolve().parent)


def code_stamp(folder: Path) -> str:
    """Every module of the data-preparation package (``bench/data/*.py``, sorted): a change to the
    code that turns raw rows into splits changes every fingerprint. Raises if it finds none (a
    moved package must not silently drop out of the stamp)."""
    files = sorted(Path(folder).glob("*.py"))
    if not files:
        raise RuntimeError(f"data fingerprint: no data-preparation modules found in {folder}")
    return sha_parts(*(f"{f.name}\n".encode() + f.read_bytes() for f in files))


def source_stamp(spec: TaskSpec) -> str:
    """Cheap identity of a task's raw input (no parsing)."""
    src = spec.source
    if isinstance(src, PackagedSource):
        return _package_stamp(src.package)
    if isinstance(src, FilesSource):
        parts = []
        for rel in (src.train, src.validation, src.test):
            if rel is None:
                continue
            path = (spec.base_dir / rel).resolve()
            st = path.stat() if path.is_file() else None
            parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}" if st else f"{path}:missing")
        return sha_parts(*parts)
    assert isinstance(src, HubSource)
    return sha_parts(src.model_dump_json())


@lru_cache(maxsize=32)
def _package_stamp(package: str) -> str:
    """An installed wheel's version and the hashes of its files (its RECORD)."""
    try:
        dist = md.distribution(package)
    except md.PackageNotFoundError:
        return f"missing:{package}"
    return sha_parts(package, dist.version, dist.read_text("RECORD") or "")


_SPECS: dict[tuple, tuple[TaskSpec, str]] = {}


def task_identity(name: str) -> dict[str, str]:
    """What a task name stands for in a cell id: version, spec hash and data fingerprint.
    Task files are parsed once per (path, mtime, size); data stamps are re-checked every call."""
    from bench.spec.task import get_task

    path = Path(name)
    if name.endswith((".yaml", ".yml")) and path.is_file():
        st = path.stat()
        key: tuple = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    else:
        key = (name,)  # registered tasks: bench.spec.task caches the registry per process
    hit = _SPECS.get(key)
    if hit is None:
        spec = get_task(name)
        hit = _SPECS[key] = (spec, spec.model_dump_json())
    spec, spec_json = hit
    return {"version": spec.version, "spec_sha": short_hash(spec_json, 16),
            "data": data_fingerprint(spec, spec_json)}


def data_fingerprint(spec: TaskSpec, spec_json: str | None = None) -> str:
    """The task's processed-data fingerprint (what records carry as ``task.fingerprint``).

    Hub sources are pinned to an immutable revision, so their fingerprint is that pin (no
    download just to name a cell). Others load once per stamp, then come from the disk cache.
    """
    if isinstance(spec.source, HubSource):
        return "hub-" + sha_parts(spec_json or spec.model_dump_json(), _code_stamp())[:12]
    return _fingerprint(sha_parts(spec_json or spec.model_dump_json(), source_stamp(spec), _code_stamp()), spec)


_FP: dict[str, str] = {}


def _fingerprint(key: str, spec: TaskSpec) -> str:
    if key in _FP:
        return _FP[key]
    path = cache_dir("fingerprints") / key[:32]
    try:
        fp = path.read_text().strip()
    except OSError:
        fp = ""
    if not fp:
        from bench.data.prepare import _load_cached

        # bypass data.py's in-process cache: it keys on the spec alone, not on the files' state
        fp = _load_cached.__wrapped__(spec.model_dump_json(), spec.path).fingerprint()
        write_atomic(path, fp.encode(), best_effort=True)
    _FP[key] = fp
    return fp


