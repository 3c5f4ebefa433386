"""Experiment tracking from records: ``bench run --track mlflow`` (matrices: ``track: mlflow``) and
``bench export --results DIR --to mlflow`` share this one code path, which reads a *written* record.

Each ok record becomes one MLflow run in the named experiment (the matrix's name; ``bench-run``
for single cells; ``bench export --experiment``): the flattened cell as params, the final metrics
and the numeric timings (``timing.<name>``) as metrics, the Trainer's per-epoch training losses as
the history of metric ``train_loss`` (step = epoch index; ensembles also ``member<m>.train_loss``),
the cell id, task, task fingerprint and model as tags, and the record JSON as the artifact
``record.json``. ``MLFLOW_TRACKING_URI`` decides where (MLflow's own default otherwise).

No duplicates: before logging, runs are looked up by the tags ``bench.cell_id`` and
``bench.record`` (the record's finish time) in every experiment of the store; a record already
there is skipped, so a resumed matrix or a second export adds nothing, while a cell retrained
from scratch (a new record) is a new run. Failed records are not tracked.

mlflow is an optional extra (``pip install -e ".[track]"``) imported only here and only when asked.
"""

from __future__ import annotations

import json
import math
from typing import Any

from bench.errors import ConfigError

TRACKERS = ("mlflow",)
INSTALL = 'pip install "domainbench[track]" (or: pip install mlflow-skinny sqlalchemy alembic)'
_MAX_PARAM = 6000  # MLflow's limit on a param value


def check_tracker(name: str | None) -> None:
    """A ConfigError line unless ``name`` is a known tracker whose package imports."""
    if name is None:
        return
    if name not in TRACKERS:
        raise ConfigError(f"--track {name!r}: expected one of {', '.join(TRACKERS)}")
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise ConfigError(f"--track mlflow needs the mlflow package: {INSTALL}") from None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"train": {"epochs": 2}}`` -> ``{"train.epochs": 2}`` (lists stay leaves)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: value}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class MlflowTracker:
    """Logs records into one MLflow experiment (created when missing)."""

    def __init__(self, experiment: str) -> None:
        check_tracker("mlflow")
        import logging

        for name in ("mlflow", "alembic"):  # store set-up chatter would break into the matrix console
            logging.getLogger(name).setLevel(logging.WARNING)
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient()
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
        self.experiment = experiment

    def find(self, rec: dict) -> str | None:
        """The run id already holding this record, in any experiment of the store."""
        from mlflow.entities import ViewType

        ids = [e.experiment_id for e in self.client.search_experiments(view_type=ViewType.ALL)]
        stamp = rec.get("finished_at", "")
        runs = self.client.search_runs(
            ids, filter_string=f"tags.`bench.cell_id` = '{rec['cell_id']}' and tags.`bench.record` = '{stamp}'",
            run_view_type=ViewType.ALL, max_results=1)
        return runs[0].info.run_id if runs else None

    def log(self, rec: dict) -> str | None:
        """One run for an ok record; None when it is failed or already tracked."""
        if rec.get("status") != "ok" or self.find(rec) is not None:
            return None
        from mlflow.entities import Metric, Param

        task, model = rec.get("task") or {}, rec.get("model") or {}
        tags = {"bench.cell_id": rec["cell_id"], "bench.record": rec.get("finished_at", ""),
                "bench.task": task.get("name", ""), "bench.task_fingerprint": str(task.get("fingerprint", "")),
                "bench.model": model.get("label", ""), "mlflow.runName": _run_name(rec)}
        run = self.client.create_run(self.experiment_id, tags=tags)
        rid = run.info.run_id
        params = [Param(k, str(v)[:_MAX_PARAM]) for k, v in sorted(flatten(rec["cell"]).items())]
        params.append(Param("precision", str(rec.get("precision"))))
        metrics = _metrics(rec, Metric)
        for i in range(0, max(len(params), len(metrics)), 100):  # MLflow's per-request limits
            self.client.log_batch(rid, params=params[i : i + 100], metrics=metrics[i : i + 100])
        self.client.log_text(rid, json.dumps(rec, indent=1), "record.json")
        self.client.set_terminated(rid, "FINISHED")
        return rid


def _metrics(rec: dict, metric_cls) -> list:
    """Final metrics, main score, numeric timings, and the per-epoch loss histories."""
    import time

    now = int(time.time() * 1000)
    out = [metric_cls(k, float(v), now, 0) for k, v in (rec.get("metrics") or {}).items() if _number(v)]
    if _number(rec.get("main_score")):
        out.append(metric_cls("main_score", float(rec["main_score"]), now, 0))
    timing = rec.get("timing") or {}
    out += [metric_cls(f"timing.{k}", float(v), now, 0) for k, v in flatten(timing).items()
            if _number(v) and k != "loss_curve"]
    curves = [("train_loss", timing.get("loss_curve") or [])]
    curves += [(f"member{m.get('member', i)}.train_loss", m.get("loss_curve") or [])
               for i, m in enumerate(rec.get("members") or [])]
    for key, curve in curves:
        out += [metric_cls(key, float(v), now, step) for step, v in enumerate(curve) if _number(v)]
    return out


def _run_name(rec: dict) -> str:
    c = rec["cell"]
    return f"{c['task']}·{c['model']}·{c['method']}·{c['imbalance']}·{c['context']}·L{c['max_length']}·s{c['seed']}"


def make_tracker(name: str | None, experiment: str) -> MlflowTracker | None:
    if name is None:
        return None
    check_tracker(name)
    return MlflowTracker(experiment)


def track_records(tracker: MlflowTracker, records: list[dict]) -> tuple[int, int]:
    """Log ``records``: (runs added, records skipped: failed or already tracked)."""
    added = sum(1 for rec in records if tracker.log(rec))
    return added, len(records) - added
