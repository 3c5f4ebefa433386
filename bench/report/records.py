"""A results folder read once for reporting: ``RecordSet`` (a frame row per record, the full ok
records by cell id) and what the records say about trust: the degenerate flag and the
majority-class baseline of the ``quality`` section (bench.record.quality), read with ``.get`` so
records without it still work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import SchemaError
from bench.record.frame import frame_of
from bench.record.io import iter_records

MAJORITY_LABEL = "majority class (no training)"


@dataclass
class RecordSet:
    """Every record of a results folder: ``frame`` (a row per record, failed ones too) and the
    full ok records by cell id (predictions, per-class scores, ROC points, manifest)."""

    folder: Path
    frame: pd.DataFrame
    records: dict[str, dict]

    @property
    def ok(self) -> pd.DataFrame:
        return self.frame[self.frame["status"] == "ok"]

    def config_records(self, cid: str) -> list[dict]:
        ids = self.ok.loc[self.ok["config_id"] == cid, "cell_id"]
        return sorted((self.records[i] for i in ids), key=lambda r: r["cell"]["seed"])

    def metrics(self) -> list[str]:
        return sorted(c[len("metrics."):] for c in self.ok.columns
                      if c.startswith("metrics.") and self.ok[c].notna().any())

    def main_metric(self) -> str:
        names = [n for r in self.records.values() if (n := (r.get("task") or {}).get("main_score"))]
        return max(set(names), key=names.count) if names else "macro_f1"

    def degenerate(self, cid: str) -> tuple[int, int, str | None]:
        """(seeds flagged degenerate, seeds, the first flagged seed's reason) of a configuration."""
        recs = self.config_records(cid)
        bad = [r for r in recs if (r.get("quality") or {}).get("degenerate")]
        return len(bad), len(recs), ((bad[0].get("quality") or {}).get("reason") if bad else None)

    def majority(self, task: str, metric: str, configs=None) -> float:
        """The majority-class baseline's ``metric`` on ``task`` (mean over the task's ok records that
        carry ``quality.majority``; NaN when none does). ``configs`` (configuration labels, the ``config``
        column, unique within a task) restricts it to those configurations' records: a cross-domain
        record's baseline is scored on its own (filtered) test documents, so the baseline shown beside
        a reference is read off that reference's records."""
        rows = self.ok[self.ok["task"] == task]
        ids = rows.loc[rows["config"].isin(list(configs)), "cell_id"] if configs is not None else rows["cell_id"]
        vals = [v for i in ids if isinstance(v := ((self.records[i].get("quality") or {}).get("majority")
                                                   or {}).get(metric), (int, float))]
        return float(np.mean(vals)) if vals else float("nan")

    def matrices(self) -> list[dict]:
        """The distinct ``matrix`` sections ({name, path[, overrides]}) the runner wrote into the records."""
        import json

        seen = {json.dumps(m, sort_keys=True) for r in self.records.values() if isinstance(m := r.get("matrix"), dict)}
        return [json.loads(t) for t in sorted(seen)]


def class_scores(rec: dict) -> dict[str, dict]:
    """A record's ``per_class`` with absent classes not applicable (None; bench.metrics.per_class):
    records written before that rule stored 0 for a class with no test document that was never
    predicted, which the confusion matrix tells."""
    per, cm = rec.get("per_class") or {}, rec.get("confusion_matrix")
    out = {}
    for i, (name, row) in enumerate(per.items()):
        predicted = sum(r[i] for r in cm) if cm and i < len(cm[0]) else None
        absent = row.get("support") == 0 and predicted == 0
        out[name] = {**row, **dict.fromkeys(("precision", "recall", "f1"))} if absent else dict(row)
    return out


def load_record_set(folder: str | Path) -> RecordSet:
    """Read every record under ``folder/records``; refuse empty folders and unreadable schemas."""
    folder = Path(folder)
    recs = list(iter_records(folder, "records to report"))
    frame = frame_of(recs, folder / "records")
    random_init = {r["cell_id"] for r in recs if (r.get("model") or {}).get("random_init")}
    m = frame["config_id"].isin(frame.loc[frame["cell_id"].isin(random_init), "config_id"])
    frame.loc[m, "config"] = frame.loc[m, "config"] + " [random-init]"
    cells = {r["cell_id"]: r["cell"] for r in recs if "cell" in r}
    _disambiguate_labels(frame, {cfg: cells.get(cid, {}) for cid, cfg in zip(frame["cell_id"], frame["config_id"],
                                                                            strict=True)})
    _check_task_versions(frame)
    return RecordSet(folder, frame, {r["cell_id"]: r for r in recs if r.get("status") == "ok"})


SHORT = {"learning_rate": "lr", "batch_size": "batch", "eval_batch_size": "eval batch", "warmup_ratio": "warm-up",
         "weight_decay": "wd", "grad_accum": "accum", "early_stopping_patience": "patience"}


def _disambiguate_labels(frame: pd.DataFrame, cells: dict[str, dict] | None = None) -> None:
    """Configurations differing only in training parameters share a label: add, in words, the
    parameters that differ among them (``lr=2e-3 · epochs=7``); their id only when none is found."""
    labels = frame.drop_duplicates("config_id").groupby(["task", "config"])["config_id"].unique()
    for (task, lab), cids in labels.items():
        if len(cids) < 2:
            continue
        flat = {cid: _flat((cells or {}).get(cid, {})) for cid in cids}
        keys = sorted({k for f in flat.values() for k in f})
        differ = [k for k in keys if len({repr(f.get(k)) for f in flat.values()}) > 1]
        words = {cid: " · ".join(f"{SHORT.get(k, k)}={_value(flat[cid].get(k))}" for k in differ) for cid in cids}
        unique = len(set(words.values())) == len(cids) and all(words.values())
        for cid in cids:
            m = (frame["config_id"] == cid) & (frame["task"] == task)
            frame.loc[m, "config"] = f"{lab} · {words[cid]}" if unique else f"{lab} #{cid[:6]}"


def _flat(cell: dict) -> dict:
    out = {k: v for k, v in cell.items() if k not in ("seed", "train")}
    out.update({k: v for k, v in (cell.get("train") or {}).items()})
    return out


def _value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else "—" if v is None else str(v)


def _check_task_versions(frame: pd.DataFrame) -> None:
    versions = frame.dropna(subset=["task_version"]).groupby("config_id")["task_version"].unique()
    for cid, vs in versions.items():
        if len(vs) > 1:
            task = frame.loc[frame["config_id"] == cid, "task"].iloc[0]
            raise SchemaError(f"records of task {task!r} with different task versions {sorted(vs)} in one "
                              f"results folder (configuration {cid}); keep each version in its own folder")


