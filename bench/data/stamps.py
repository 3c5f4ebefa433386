"""Cheap stamps of what a task's prepared data depends on, without loading it: its raw source
(wheel RECORD hashes, file size + mtime, or the pinned Hub revision) and the data-preparation
code. Keys of the data fingerprints (bench.data.fingerprint) and of the prepared splits
(bench.data.prepared)."""

from __future__ import annotations

import importlib.metadata as md
from functools import lru_cache
from pathlib import Path

from bench.hashing import sha_parts
from bench.spec.task import FilesSource, HubSource, PackagedSource, TaskSpec


@lru_cache(maxsize=1)
def _code_stamp() -> str:
    return code_stamp(Path(__file__).resolve().parent)


def local_data_key(spec: TaskSpec, spec_json: str) -> str:
    """What a non-Hub task's prepared data depends on: the spec, its raw source's stamp and the
    data-preparation code (the key of its fingerprint, and, salted, of its prepared splits)."""
    return sha_parts(spec_json, source_stamp(spec), _code_stamp())


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
