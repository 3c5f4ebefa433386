"""RunRecord: versioned JSON, written atomically; readers refuse newer schemas and upgrade older."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bench.errors import OutputError, SchemaError

SCHEMA_VERSION = 1


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Temp file in the same folder + fsync + rename: readers see the old file or the new one."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise OutputError(f"cannot write to {path.parent}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, sort_keys=False, default=_default)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _default(o: Any) -> Any:
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


UPGRADES: dict[int, Any] = {}  # from_version -> function(record) -> record of from_version + 1


def upgrade(rec: dict[str, Any], source: str = "record") -> dict[str, Any]:
    version = rec.get("schema_version")
    if not isinstance(version, int):
        raise SchemaError(f"{source}: not a DomainBench record (no integer schema_version)")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{source}: schema_version {version} is newer than this DomainBench supports "
            f"({SCHEMA_VERSION}); upgrade DomainBench to read it"
        )
    while version < SCHEMA_VERSION:
        if version not in UPGRADES:
            raise SchemaError(f"{source}: schema_version {version} is too old and has no upgrade path")
        rec = UPGRADES[version](rec)
        version = rec["schema_version"]
    return rec


def read_record(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SchemaError(f"{path}: unreadable record: {err}") from None
    return upgrade(rec, str(path))


def iter_records(out_dir: str | Path):
    for path in sorted((Path(out_dir) / "records").glob("*.json")):
        yield read_record(path)
