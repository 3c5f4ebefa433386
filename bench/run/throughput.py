"""What this machine really took: every finished cell's wall time, kept per machine so that a dry run,
a new results folder and ``bench advise`` estimate cells from measured seconds (bench.run.cost)
instead of an assumed FLOP rate, which can be 3x off between the CPUs these benchmarks run on.

One JSON line per finished ok cell — its cell, resolved precision and wall seconds — appended to
``<cache root>/machine/throughput-<key>.jsonl``; the key is the precision calibration's (CPU model, torch
version, threads) plus the device (a GPU's name), so a machine never estimates from another's
times. ``BENCH_MACHINE_COST=0`` turns it off (neither written nor read; the test suite sets it so
estimates never depend on what ran before).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.store import cache_dir

KEEP = 200  # most recent cells per model that an estimate reads


def enabled() -> bool:
    return os.environ.get("BENCH_MACHINE_COST", "1") != "0"


def log_path() -> Path:
    from bench.fit.calibrate import machine, machine_key

    info = machine()
    try:
        import torch

        info["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except Exception:  # noqa: BLE001 - a broken CUDA setup estimates as a CPU
        info["device"] = "cpu"
    return cache_dir("machine") / f"throughput-{machine_key(info)}.jsonl"


def log_finished(rec: Mapping[str, Any]) -> None:
    """Append a finished ok cell (best effort: an unwritable cache never fails a cell)."""
    secs = (rec.get("timing") or {}).get("wall_seconds")
    if not enabled() or rec.get("status") != "ok" or not secs:
        return
    line = json.dumps({"cell": rec["cell"], "precision": rec.get("precision"), "wall_seconds": float(secs),
                       "finished_at": rec.get("finished_at")}, sort_keys=True)
    with contextlib.suppress(OSError):
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            try:
                import fcntl

                fcntl.flock(f, fcntl.LOCK_EX)  # cells finishing together (process / Ray executors) append whole lines
            except (ImportError, OSError):
                pass
            f.write(line + "\n")


def machine_records(models: set[str], tasks: set[str]) -> list[dict]:
    """This machine's finished cells of these models on these tasks (the most recent KEEP per model),
    shaped like records for bench.run.cost: ``{"status", "cell", "precision", "timing"}``. A model
    with no cell on these tasks is estimated from its cells on other tasks (the cost model counts each
    cell's work, so seconds per unit of work carry over between tasks)."""
    if not enabled():
        return []
    try:
        lines = log_path().read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    same: dict[str, list[dict]] = {}
    other: dict[str, list[dict]] = {}
    for line in reversed(lines):
        try:
            entry = json.loads(line)
            cell = entry["cell"]
            model, task = cell["model"], cell["task"]
        except (ValueError, KeyError, TypeError):
            continue
        found = same if task in tasks else other
        if model in models and len(found.setdefault(model, [])) < KEEP:
            found[model].append({"status": "ok", "cell": cell, "precision": entry.get("precision"),
                                 "timing": {"wall_seconds": entry.get("wall_seconds")}})
    return [r for m in models for r in (same.get(m) or other.get(m) or [])]
