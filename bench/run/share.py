"""No cell trained twice: cells whose training is identical share one training.

Two cells train identically when they agree on everything the training sees: the data (task
identity and fingerprint, limits, domains), the model and its resolved precision, the method,
the adaptation, the imbalance strategy's *training* side (:meth:`ImbalanceStrategy.training_key`:
post-hoc ``logit_adjust`` trains like ``none``), the context policy, max_length, the training
parameters and the seed. :func:`training_id` hashes exactly that; evaluation-only settings
(``latency_docs``) and post-hoc strategy parameters stay out.

The first cell with a training id trains and stores what the record needs from training --
validation and test logits (members combined, and per member), timings, loss curves, member
records, context statistics, cost, the adaptation record -- under
``OUT/shared/<training_id>.npz`` + ``.json`` (logits, not weights). A later cell with that id, in
the same matrix run or a resumed one, loads them and only applies its post-training step (the
strategy's ``adjust``, metrics, record). ``BENCH_SHARE_TRAINING=0`` (``bench run
--no-share-training``) turns sharing off. Cells saving their model (``--save-model``) never
reuse. Two workers that reach the same training id at the same moment may both train; the
stores are atomic and identical, so either wins.
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import OutputError
from bench.fit.base import FitResult
from bench.hashing import json_hash, sha_parts
from bench.run.ids import PlannedCell
from bench.store import write_atomic, write_json_atomic

SHARE_ENV = "BENCH_SHARE_TRAINING"
FORMAT = 1  # bump when what is stored changes meaning: old entries are then never read


def sharing_on() -> bool:
    """``BENCH_SHARE_TRAINING=0`` turns sharing off (for back-to-back comparisons); default on."""
    return os.environ.get(SHARE_ENV, "1") != "0"


def training_identity(planned: PlannedCell, strategy) -> dict[str, Any]:
    """Everything that decides a cell's training, and nothing that acts only after it."""
    from bench.components.models import get_model
    from bench.data.fingerprint import task_identity

    cell = planned.cell.to_dict()
    cell["imbalance"], cell["imbalance_params"] = strategy.training_key()
    cell["train"].pop("latency_docs", None)  # evaluation only
    return {"cell": cell, "task": task_identity(planned.cell.task), "model": get_model(planned.cell.model).identity(),
            "precision": planned.precision, "format": FORMAT}


def training_id(planned: PlannedCell, strategy) -> str:
    return json_hash(training_identity(planned, strategy), 16)


@dataclass(frozen=True)
class Shared:
    """One training id's entry in a shared folder."""

    folder: Path
    tid: str

    @property
    def arrays(self) -> Path:
        return self.folder / f"{self.tid}.npz"

    @property
    def meta(self) -> Path:
        return self.folder / f"{self.tid}.json"

    def load(self) -> tuple[FitResult, dict, str] | None:
        """(the stored fit, the adaptation record, the id of the cell that trained), or None when
        there is no complete, readable entry (a miss only costs the training)."""
        try:
            meta = json.loads(self.meta.read_text())
            if meta.get("format") != FORMAT or meta.get("training_id") != self.tid:
                return None
            blob = self.arrays.read_bytes()
            if sha_parts(blob) != meta.get("arrays_sha256"):  # arrays of another write: a miss
                return None
            with np.load(io.BytesIO(blob)) as z:
                val, test = z["val_logits"], z["test_logits"]
                members = [z[f"member_test_{m}"] for m in range(meta["n_member_logits"])]
        except (OSError, ValueError, KeyError):
            return None
        f = meta["fit"]
        fit = FitResult(val, test, f["timing"], f["resampling"], f["context"], f["cost"], f["precision"],
                        f["members"], members)
        return fit, meta["adapt"], meta["trained_by"]

    def save(self, fit: FitResult, adapt: dict, trained_by: str) -> None:
        """Arrays first, then the JSON that makes the entry complete; both atomic, best effort."""
        buf = io.BytesIO()
        arrays: dict[str, Any] = {f"member_test_{m}": x for m, x in enumerate(fit.member_test_logits)}
        np.savez(buf, val_logits=fit.val_logits, test_logits=fit.test_logits, **arrays)
        if write_atomic(self.arrays, buf.getvalue(), best_effort=True) is None:
            return
        meta = {"format": FORMAT, "training_id": self.tid, "trained_by": trained_by,
                "arrays_sha256": sha_parts(buf.getvalue()),
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "adapt": adapt,
                "n_member_logits": len(fit.member_test_logits),
                "fit": {"timing": fit.timing, "resampling": fit.resampling, "context": fit.context, "cost": fit.cost,
                        "precision": fit.precision, "members": fit.members}}
        try:
            write_json_atomic(self.meta, meta)
        except (OSError, OutputError):
            pass


def plan_sharing(cells: list, precisions: list[str], ids: list[str]) -> tuple[int, int]:
    """(cells, distinct trainings) of a matrix plan when sharing is on (for ``--dry-run``)."""
    from bench.components.imbalance import IMBALANCE
    from bench.spec.named import build

    tids = {training_id(PlannedCell(c, cid, p), build(IMBALANCE, c.imbalance, c.imbalance_params))
            for c, p, cid in zip(cells, precisions, ids, strict=True)}
    return len(cells), len(tids)


def shared_for(planned: PlannedCell, strategy, folder: str | Path | None, save_model: str | None) -> Shared | None:
    """The cell's entry when sharing applies (a folder is given, sharing is on, no model to save)."""
    if folder is None or save_model or not sharing_on():
        return None
    return Shared(Path(folder), training_id(planned, strategy))
