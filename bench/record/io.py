"""Reading and writing RunRecords: one writer (atomic, via bench.store), one folder reader; readers
refuse newer schemas and upgrade older ones."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bench.errors import BenchError, OutputError, SchemaError
from bench.record.schema import SCHEMA_VERSION, UPGRADES, upgrade
from bench.store import write_json_atomic


def check_writable(out_dir: str | Path) -> Path:
    """Fail early (before any work) if the output folder cannot be created or written."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(f"output folder {out} cannot be written: {err.strerror}") from None
    return out


def record_path(out_dir: str | Path, cid: str) -> Path:
    return Path(out_dir) / "records" / f"{cid}.json"


def read_record(path: str | Path) -> dict[str, Any]:
    """One record file, upgraded to the current schema."""
    return upgrade(_read_json(Path(path)), str(path))


def iter_records(out_dir: str | Path, purpose: str = "records found") -> Iterator[dict[str, Any]]:
    """THE reader of a records folder (every consumer uses it): ``out_dir/records/*.json`` in name
    order, each upgraded to the current schema. An empty or missing folder is one BenchError line
    (``no <purpose>: ... holds no records``); an unreadable record or one of an older schema
    without an upgrade path is a SchemaError naming the file."""
    folder = Path(out_dir) / "records"
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not paths:
        why = "does not exist" if not folder.is_dir() else "holds no records"
        raise BenchError(f"no {purpose}: {folder} {why} (run bench run --out {out_dir})")
    versions: dict[Any, Path] = {}
    for path in paths:
        rec = _read_json(path)
        v = rec.get("schema_version")
        versions.setdefault(v, path)
        if isinstance(v, int) and v < SCHEMA_VERSION and v not in UPGRADES:
            raise SchemaError(f"{path}: schema_version {v} cannot be upgraded to {SCHEMA_VERSION} "
                              f"(records of mixed schema versions {sorted(map(str, versions))} in {folder})")
        yield upgrade(rec, str(path))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SchemaError(f"{path}: unreadable record: {err}") from None
    return rec if isinstance(rec, dict) else {}


def record_status(path: Path) -> str:
    try:
        return json.loads(path.read_bytes()).get("status", "todo")
    except (OSError, ValueError):
        return "todo"


def write_record(out_dir: str | Path, record: Mapping[str, Any]) -> Path:
    """``OUT/records/<cell_id>.json``, atomically (temp file + fsync + rename)."""
    return write_json_atomic(record_path(out_dir, record["cell_id"]), record)
