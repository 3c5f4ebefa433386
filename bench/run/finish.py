"""After a cell's record is written: fill in the extra ``evaluate`` metrics it lacks (then rewrite
it atomically), then track it (MLflow). The driver runs this for every cell of a matrix, whichever
executor ran it, and for the ok records a resumed matrix skips, so extra metrics added to a
finished matrix fill in without retraining and tracking catches up; both are idempotent.

A failing extra metric or tracker never fails the cell: it is noted (the record's
``extra_metrics`` section; a warning line) and the matrix goes on.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.record.evaluate_metrics import ExtraMetric, add_to_record


@dataclass
class Finish:
    extras: list[ExtraMetric] = field(default_factory=list)
    tracker: Any = None  # bench.run.track.MlflowTracker
    tracked: int = 0
    problems: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.extras) or self.tracker is not None

    def record(self, rec: dict) -> bool:
        """Extra metrics into ``rec`` (in place; before it is written). Returns whether it changed."""
        changed = add_to_record(rec, self.extras)
        for spec, entry in (rec.get("extra_metrics") or {}).items():
            if changed and "error" in entry:
                self._warn(f"extra metric {spec!r} on cell {rec['cell_id']}: {entry['error']}")
        return changed

    def track(self, rec: dict) -> None:
        if self.tracker is None:
            return
        try:
            if self.tracker.log(rec):
                self.tracked += 1
        except Exception as err:  # noqa: BLE001 - the record stands; `bench export` catches up later
            self._warn(f"tracking cell {rec.get('cell_id')} failed: {type(err).__name__}: {err} "
                       "(rerun, or bench export --to mlflow, to catch up)")

    def written(self, out: str | Path, cid: str) -> None:
        """The record of ``cid`` under ``out`` was written: complete and track it."""
        from bench.record.io import read_record, record_path, write_record

        if not self:
            return
        rec = read_record(record_path(out, cid))
        if rec.get("status") != "ok":
            return
        if self.record(rec):
            write_record(out, rec)
        self.track(rec)

    def _warn(self, line: str) -> None:
        self.problems.append(line)
        print(f"warning: {line}", file=sys.stderr)


def make_finish(extra_specs: list[str], track: str | None, experiment: str, open_tracker: bool = True) -> Finish:
    """Load the extra metrics and open the tracker: every problem is a ConfigError before anything runs."""
    from bench.record.evaluate_metrics import load
    from bench.run.track import check_tracker, make_tracker

    check_tracker(track)
    extras = load(extra_specs)
    return Finish(extras, make_tracker(track, experiment) if open_tracker else None)
