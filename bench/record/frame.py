"""Records in an output folder -> one pandas DataFrame, a row per cell.

A *configuration* is a cell minus its seed: ``config_id`` hashes it, ``config`` is a short
readable label. Reports and the regression gate group by ``config_id``.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from bench.errors import BenchError
from bench.hashing import json_hash
from bench.record.io import iter_records
from bench.spec.named import label


def task_name(rec: dict) -> str:
    """The task as reports label it: its ``name`` (a task file's, not its path), else the cell's task."""
    return (rec.get("task") or {}).get("name") or rec["cell"]["task"]


def config_of(cell: dict) -> dict:
    c = dict(cell)
    c.pop("seed", None)
    return c


def config_id(cell: dict) -> str:
    return json_hash(config_of(cell), 12)


def effective_cell(rec: dict) -> dict:
    """The record's cell with precision ``auto`` replaced by ``bf16`` where it resolved to bf16
    (``rec["precision"]``): records that trained in bf16 and fp32 are different configurations
    and never share a leaderboard row. ``auto`` that resolved to fp32 stays as it is (same
    configuration ids as before precision ``auto`` could resolve to bf16 on a CPU)."""
    cell = rec["cell"]
    train = cell.get("train") or {}
    if train.get("precision", "auto") == "auto" and rec.get("precision") == "bf16":
        return {**cell, "train": {**train, "precision": "bf16"}}
    return cell


def precision_notes(frame) -> list[str]:
    """When the records trained in more than one precision: the configurations (per task) that
    exist in only one of them (their numbers are not comparable one to one with the others')."""
    ok = frame[frame["status"] == "ok"]
    if "precision" not in ok or ok["precision"].nunique() < 2:
        return []
    notes = []
    for (task, _), group in ok.groupby(["task", "config_any_precision"], sort=True):
        precisions = sorted(group["precision"].dropna().unique())
        if len(precisions) == 1:
            notes.append(f"{task} · {group['config'].iloc[0]}: only in {precisions[0]} (the records of this "
                         f"folder trained in {', '.join(sorted(ok['precision'].dropna().unique()))})")
    return notes


def config_label(cell: dict) -> str:
    parts = [cell["model"], label(cell["method"], cell.get("method_params") or {}),
             label(cell["imbalance"], cell.get("imbalance_params") or {}),
             label(cell["context"], cell.get("context_params") or {}), f"L{cell['max_length']}"]
    if cell.get("adapt", "none") != "none":
        parts.append(label(cell["adapt"], cell.get("adapt_params") or {}))
    if cell.get("framework", "hf") != "hf":  # hf is the default and stays out of labels (as out of ids)
        parts.append(cell["framework"])
    train = cell.get("train") or {}  # speed options that change results, when set: visible, not only in the id
    if train.get("precision", "auto") != "auto":
        parts.append(train["precision"])
    if train.get("group_by_length"):
        parts.append("grouped")
    return " · ".join(parts)


def load_frame(results_dir: str | Path, include_failed: bool = True):
    """All records under ``results_dir/records`` as a DataFrame (metrics.* and timing.* flattened)."""
    folder = Path(results_dir)
    df = frame_of(list(iter_records(folder)), folder / "records")
    return df if include_failed else df[df["status"] == "ok"].reset_index(drop=True)


def frame_of(records: list[dict], source: str | Path = "records"):
    """Records (already read) -> the DataFrame ``load_frame`` returns, a row per record."""
    import pandas as pd

    rows = []
    for rec in records:
        cell = effective_cell(rec)
        train = {k: v for k, v in (cell.get("train") or {}).items() if k != "precision"}
        row = {
            "cell_id": rec["cell_id"], "status": rec["status"],
            "task": task_name(rec),
            "model": cell["model"],
            "method": label(cell["method"], cell.get("method_params") or {}),
            "imbalance": label(cell["imbalance"], cell.get("imbalance_params") or {}),
            "context": label(cell["context"], cell.get("context_params") or {}),
            "adapt": label(cell.get("adapt", "none"), cell.get("adapt_params") or {}),
            "max_length": cell["max_length"], "framework": cell.get("framework", "hf"), "seed": cell["seed"],
            "config_id": config_id(cell), "config": config_label(cell), "precision": rec.get("precision"),
            "group_by_length": "true" if train.get("group_by_length") else "false",  # as a selector reads it
            "config_any_precision": config_id({**cell, "train": train}),
            "config_as_planned": config_id(rec["cell"]),  # precision as requested (auto): the id a race keys on
            # precision as it ran, written out: the id of the same cell planned with that precision explicitly
            "config_resolved": config_id({**cell, "train": {**train, "precision": rec.get("precision") or "auto"}}),
            "task_version": (rec.get("task") or {}).get("version"),
            "error": (rec.get("error") or {}).get("message"),
        }
        for key, value in (rec.get("metrics") or {}).items():
            row[f"metrics.{key}"] = value
        for key, value in (rec.get("timing") or {}).items():
            if isinstance(value, (int, float)) or value is None:
                row[f"timing.{key}"] = value
        rows.append(row)
    if not rows:
        raise BenchError(f"no records found in {source}")
    return pd.DataFrame(rows)


def mean_std(values) -> tuple[int, float | None, float | None]:
    """Over seeds: n, mean and sample standard deviation (ddof 1; 0.0 for one value) of the
    numbers among ``values`` (None and NaN skipped); (0, None, None) when there are none."""
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return 0, None, None
    return len(vals), statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0
