"""RunRecord: versioned JSON, written atomically; readers refuse newer schemas and upgrade older."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bench.errors import OutputError, SchemaError
from bench.record.schema import upgrade
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
    path = Path(path)
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SchemaError(f"{path}: unreadable record: {err}") from None
    return upgrade(rec, str(path))


def iter_records(out_dir: str | Path):
    for path in sorted((Path(out_dir) / "records").glob("*.json")):
        yield read_record(path)


def record_status(path: Path) -> str:
    try:
        return json.loads(path.read_bytes()).get("status", "todo")
    except (OSError, ValueError):
        return "todo"


def write_record(out_dir: str | Path, record: dict) -> Path:
    return write_json_atomic(record_path(out_dir, record["cell_id"]), record)
