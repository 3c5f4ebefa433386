"""Disk caches under ``BENCH_CACHE`` (default ``~/.cache/domainbench``).

- **data fingerprints** (for cell ids): a task's processed-data fingerprint, keyed by the task
  spec, a cheap stamp of its raw source (wheel RECORD hashes, file size + mtime, or the pinned
  Hub revision) and the data-processing code, so a cell id covers the data without loading it.
- **tokenised texts**: whole-text token ids keyed by the tokenizer identity and the texts
  themselves (content-addressed: never stale), reused across cells, context policies and runs.
- **tokenizers**: loaded once per worker process.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench.tasks import FilesSource, HubSource, PackagedSource, TaskSpec


def cache_dir(kind: str) -> Path:
    from bench.models import cache_root

    return cache_root() / kind


def _sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\x1e")
    return h.hexdigest()


@lru_cache(maxsize=1)
def _code_stamp() -> str:
    """The modules that turn raw rows into splits: a change there changes every fingerprint."""
    here = Path(__file__).resolve().parent
    return _sha(*((here / f).read_bytes() for f in ("data.py", "sources.py", "longtail.py") if (here / f).exists()))


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
        return _sha(*parts)
    assert isinstance(src, HubSource)
    return _sha(src.model_dump_json())


@lru_cache(maxsize=32)
def _package_stamp(package: str) -> str:
    """An installed wheel's version and the hashes of its files (its RECORD)."""
    try:
        dist = md.distribution(package)
    except md.PackageNotFoundError:
        return f"missing:{package}"
    return _sha(package, dist.version, dist.read_text("RECORD") or "")


_SPECS: dict[tuple, tuple[TaskSpec, str]] = {}


def task_identity(name: str) -> dict[str, str]:
    """What a task name stands for in a cell id: version, spec hash and data fingerprint.
    Task files are parsed once per (path, mtime, size); data stamps are re-checked every call."""
    from bench.tasks import get_task

    path = Path(name)
    if name.endswith((".yaml", ".yml")) and path.is_file():
        st = path.stat()
        key: tuple = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    else:
        key = (name,)  # registered tasks: bench.tasks caches the registry per process
    hit = _SPECS.get(key)
    if hit is None:
        spec = get_task(name)
        hit = _SPECS[key] = (spec, spec.model_dump_json())
    spec, spec_json = hit
    return {"version": spec.version, "spec_sha": hashlib.sha256(spec_json.encode()).hexdigest()[:16],
            "data": data_fingerprint(spec, spec_json)}


def data_fingerprint(spec: TaskSpec, spec_json: str | None = None) -> str:
    """The task's processed-data fingerprint (what records carry as ``task.fingerprint``).

    Hub sources are pinned to an immutable revision, so their fingerprint is that pin (no
    download just to name a cell). Others load once per stamp, then come from the disk cache.
    """
    if isinstance(spec.source, HubSource):
        return "hub-" + _sha(spec_json or spec.model_dump_json(), _code_stamp())[:12]
    return _fingerprint(_sha(spec_json or spec.model_dump_json(), source_stamp(spec), _code_stamp()), spec)


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
        from bench.data import _load_cached

        # bypass data.py's in-process cache: it keys on the spec alone, not on the files' state
        fp = _load_cached.__wrapped__(spec.model_dump_json(), spec.path).fingerprint()
        _write_atomic(path, fp.encode())
    _FP[key] = fp
    return fp


def _write_atomic(path: Path, data: bytes) -> None:
    """Best effort: a cache that cannot be written only costs time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        pass


@lru_cache(maxsize=4)
def tokenizer_for(mspec):
    """One tokenizer per model (a frozen ModelSpec) per worker process."""
    from bench.models import load_tokenizer

    return load_tokenizer(mspec)


def tokenize_cached(tokenizer, ident: str, texts: list[str]) -> list[list[int]]:
    """Whole-text token ids (bench.train.tokenize), cached on disk by tokenizer + texts."""
    from bench.train import tokenize

    key = _sha(ident, type(tokenizer).__name__, str(len(tokenizer)), "\x1f".join(texts))[:40]
    path = cache_dir("tokens") / f"{key}.npz"
    try:
        with np.load(path) as z:
            flat, offsets = z["ids"], z["offsets"]
        if len(offsets) == len(texts) + 1:
            return [flat[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    except (OSError, KeyError, ValueError):
        pass
    ids = tokenize(tokenizer, texts)
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in ids])]).astype(np.int64)
    flat = np.fromiter((t for x in ids for t in x), dtype=np.int64, count=int(offsets[-1]))
    import io

    buf = io.BytesIO()
    np.savez(buf, ids=flat, offsets=offsets)
    _write_atomic(path, buf.getvalue())
    return ids
