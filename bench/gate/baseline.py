"""Baselines for ``bench check``: per configuration, what a reference run measured.

A baseline file is versioned JSON (its own ``schema_version``, independent of the record
schema). Per configuration (a cell minus its seed, keyed by ``bench.record.frame.config_id``):
metric and timing summaries (mean, std, median, n, per-seed values), the task, its version and
data fingerprint, and the per-document test predictions of every seed (for the paired bootstrap
when seeds are few). At file level: the run's manifest, the calibration workload
(``bench.gate.calibrate``: its description, every repeat's seconds, their median and spread) on the
machine that made the baseline, and the tolerances::

    "tolerances": {"default": 0.02,                      # absolute drop allowed, metric units
                   "metrics": {"log_loss": 0.05},        # per metric
                   "configs": {"<config_id>": {"macro_f1": 0.1}}},   # per configuration
    "time_factor": 2.0, "max_spread": 0.25, "alpha": 0.05

Schema 3 adds, per configuration, ``"degenerate": {"<seed>": "<reason>"}``: the seeds whose record
was degenerate (``bench.record.quality``); ``bench check`` fails a configuration that was not
degenerate here and is now. An older file is upgraded on read from its stored predictions (the
one-class rule; it keeps no training class counts) and marked ``degenerate_upgraded``; ``bench
check`` then replays the margin rule (``bench.gate.check.baseline_degenerate``).

Readers refuse newer schemas, corrupt files and tolerances of the wrong type (BenchError, exit 2).
Schema 1 (a 6 ms MLP calibration) is upgraded on read with its calibration set aside under
``calibration_v1``: ``bench check`` then judges quality and says timings are not judged until the
baseline is regenerated.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from pathlib import Path
from typing import Any

from bench.errors import BenchError, ConfigError, SchemaError
from bench.gate.calibrate import MAX_SPREAD
from bench.metrics import DIRECTION
from bench.record.frame import mean_std
from bench.record.io import iter_records
from bench.record.quality import degenerate_reasons, judge
from bench.store import write_json_atomic

BASELINE_SCHEMA_VERSION = 3  # 2: calibration (issue 16); 3: per-configuration degenerate seeds
KIND = "domainbench-baseline"
DEFAULT_METRICS = ("accuracy", "macro_f1")
DEFAULT_TIMINGS = ("train_seconds",)
DEFAULT_TOLERANCE = 0.02
METRIC_TOLERANCES = {"log_loss": 0.05, "ece": 0.03}
DEFAULT_TIME_FACTOR = 2.0
DEFAULT_MAX_SPREAD = MAX_SPREAD
DEFAULT_ALPHA = 0.05
PROBA_DECIMALS = 4


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def value_stats(values: list[float]) -> dict[str, Any]:
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    n, mean, std = mean_std(vals)
    return {"mean": mean, "std": std, "median": statistics.median(vals) if vals else None, "n": n, "values": vals}


def read_records(results_dir: str | Path) -> list[dict]:
    """Every record of a results folder (read once: the frame and the predictions come from it)."""
    return list(iter_records(results_dir))


def config_stats(records: list[dict], metrics: list[str], timings: list[str]) -> dict[str, dict]:
    """Records -> {config_id: configuration summary}. Failed records are listed, not summarised."""
    from bench.record.frame import frame_of

    df = frame_of(records)
    by_id = {r["cell_id"]: r for r in records}
    out: dict[str, dict] = {}
    for cid, group in df.groupby("config_id", sort=True):
        ok = group[group["status"] == "ok"].sort_values("seed")
        first = by_id[(ok if len(ok) else group)["cell_id"].iloc[0]]
        entry: dict[str, Any] = {
            "label": group["config"].iloc[0], "task": group["task"].iloc[0],
            "task_version": (first.get("task") or {}).get("version"),
            "fingerprint": (first.get("task") or {}).get("fingerprint"),
            "cell": {k: v for k, v in first["cell"].items() if k != "seed"},
            "seeds": [int(s) for s in ok["seed"]],
            "failed_seeds": [int(s) for s in group[group["status"] != "ok"]["seed"]],
            "metrics": {m: value_stats(list(ok[f"metrics.{m}"])) for m in metrics if f"metrics.{m}" in ok},
            "timing": {t: value_stats(list(ok[f"timing.{t}"])) for t in timings if f"timing.{t}" in ok},
        }
        entry["degenerate"] = {str(s): why for s, why in degenerate_reasons([by_id[c] for c in ok["cell_id"]]).items()}
        entry["predictions"] = _predictions([by_id[c] for c in ok["cell_id"]])
        out[str(cid)] = entry
    return out


def _predictions(records: list[dict]) -> dict[str, Any] | None:
    """Test-document predictions per seed (what ``bench.report.stats.paired_bootstrap`` reads)."""
    preds = [r.get("predictions") for r in records]
    if not preds or any(not p or not p.get("proba") for p in preds):
        return None
    task = records[0].get("task") or {}
    return {"label_names": task.get("label_names"), "minority_class": task.get("minority_class"),
            "seeds": {str(r["cell"]["seed"]): {
                "ids": list(r["predictions"]["ids"]), "labels": list(r["predictions"]["labels"]),
                "proba": [[round(float(x), PROBA_DECIMALS) for x in row] for row in r["predictions"]["proba"]]}
                for r in records}}


def as_records(cid: str, entry: dict[str, Any]) -> list[dict]:
    """A baseline configuration's stored predictions as minimal records, one per seed."""
    preds = entry.get("predictions") or {}
    task = {"label_names": preds.get("label_names"), "minority_class": preds.get("minority_class")}
    return [{"cell_id": f"{cid}/seed{seed}", "cell": {"seed": int(seed)}, "task": task, "predictions": p}
            for seed, p in (preds.get("seeds") or {}).items()]


def build_baseline(results_dir: str | Path, metrics: list[str] | None = None, timings: list[str] | None = None,
                   tolerances: dict[str, float] | None = None, time_factor: float = DEFAULT_TIME_FACTOR,
                   alpha: float = DEFAULT_ALPHA, calibration: dict | None = None,
                   max_spread: float = DEFAULT_MAX_SPREAD) -> dict[str, Any]:
    """The baseline of a finished results folder (every configuration must have succeeded)."""
    metrics = list(metrics or DEFAULT_METRICS)
    timings = list(DEFAULT_TIMINGS if timings is None else timings)
    _known(metrics + timings, "bench baseline")
    records = read_records(results_dir)
    configs = config_stats(records, metrics, timings)
    failed = [f"{c['label']} seed {s}" for c in configs.values() for s in c["failed_seeds"]]
    if failed:
        raise BenchError(f"{results_dir}: {len(failed)} failed cell(s) ({'; '.join(failed[:3])}); "
                         "a baseline needs a clean run")
    ok = next(r for r in records if r["status"] == "ok")
    base = {
        "schema_version": BASELINE_SCHEMA_VERSION, "kind": KIND,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "source": str(results_dir), "metrics": metrics, "timings": timings,
        "tolerances": {"default": DEFAULT_TOLERANCE, "metrics": {**{m: t for m, t in METRIC_TOLERANCES.items()
                                                                     if m in metrics}, **(tolerances or {})},
                       "configs": {}},
        "time_factor": time_factor, "max_spread": max_spread, "alpha": alpha, "calibration": calibration,
        "manifest": ok.get("manifest"), "configs": configs,
    }
    validate(base, "bench baseline")
    return base


def _known(names: list[str], where: str) -> None:
    from bench.registry import suggest

    for name in names:
        if name not in DIRECTION:
            raise ConfigError(f"{where}: unknown metric {name!r}{suggest(name, list(DIRECTION))}")


def validate(base: dict[str, Any], source: str) -> None:
    """Types and ranges of everything ``bench check`` relies on; raises ConfigError/SchemaError."""
    for key in ("metrics", "timings", "configs", "tolerances"):
        if key not in base:
            raise SchemaError(f"{source}: not a DomainBench baseline (no {key!r})")
    _known(list(base["metrics"]) + list(base["timings"]), source)
    tol = base["tolerances"]
    if not isinstance(tol, dict):
        raise ConfigError(f"{source}: tolerances must be a mapping, got {type(tol).__name__}")
    _tolerance(tol.get("default", DEFAULT_TOLERANCE), f"{source}: tolerances.default")
    for metric, value in (tol.get("metrics") or {}).items():
        _known([metric], f"{source}: tolerances.metrics")
        _tolerance(value, f"{source}: tolerances.metrics.{metric}")
    for cid, over in (tol.get("configs") or {}).items():
        if cid not in base["configs"]:
            raise ConfigError(f"{source}: tolerances.configs.{cid}: no such configuration in this baseline")
        if not isinstance(over, dict):
            raise ConfigError(f"{source}: tolerances.configs.{cid} must be a mapping metric -> number")
        for metric, value in over.items():
            _known([metric], f"{source}: tolerances.configs.{cid}")
            _tolerance(value, f"{source}: tolerances.configs.{cid}.{metric}")
    factor = base.get("time_factor", DEFAULT_TIME_FACTOR)
    if not _number(factor) or factor < 1:
        raise ConfigError(f"{source}: time_factor must be a number >= 1, got {factor!r}")
    alpha = base.get("alpha", DEFAULT_ALPHA)
    if not _number(alpha) or not 0 < alpha < 1:
        raise ConfigError(f"{source}: alpha must be a number in (0, 1), got {alpha!r}")
    spread = base.get("max_spread", DEFAULT_MAX_SPREAD)
    if not _number(spread) or spread <= 0:
        raise ConfigError(f"{source}: max_spread must be a number > 0, got {spread!r}")
    _calibration(base.get("calibration"), source)


def _calibration(cal: Any, source: str) -> None:
    if cal is None:
        return
    ok = (isinstance(cal, dict) and isinstance(cal.get("workload"), dict) and isinstance(cal.get("repeats"), list)
          and cal["repeats"] and all(_number(t) and t > 0 for t in cal["repeats"])
          and _number(cal.get("seconds")) and cal["seconds"] > 0 and _number(cal.get("spread")))
    if not ok:
        raise SchemaError(f"{source}: calibration must hold workload, repeats (seconds > 0), seconds and spread "
                          "(regenerate the baseline with bench baseline)")


def _tolerance(value: Any, where: str) -> None:
    if not _number(value) or value < 0:
        raise ConfigError(f"{where}: a tolerance must be a non-negative number, got {value!r} "
                          f"({type(value).__name__})")


def tolerance(base: dict[str, Any], cid: str, metric: str) -> float:
    """Per-configuration override > per-metric > default."""
    tol = base["tolerances"]
    over = (tol.get("configs") or {}).get(cid) or {}
    if metric in over:
        return float(over[metric])
    return float((tol.get("metrics") or {}).get(metric, tol.get("default", DEFAULT_TOLERANCE)))


def write_baseline(path: str | Path, base: dict[str, Any]) -> Path:
    return write_json_atomic(path, base)


def read_baseline(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        base = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"baseline {path} does not exist (make one with bench baseline)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SchemaError(f"baseline {path} is unreadable: {err}") from None
    if not isinstance(base, dict) or base.get("kind") != KIND:
        raise SchemaError(f"baseline {path} is not a DomainBench baseline (kind != {KIND!r})")
    version = base.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SchemaError(f"baseline {path}: no integer schema_version")
    if version > BASELINE_SCHEMA_VERSION:
        raise SchemaError(f"baseline {path}: schema_version {version} is newer than this DomainBench supports "
                          f"({BASELINE_SCHEMA_VERSION}); upgrade DomainBench to read it")
    if version == 1:  # a 6 ms MLP calibration: too short to measure a machine; kept, not used
        base = {**base, "schema_version": 2, "calibration": None, "calibration_v1": base.get("calibration"),
                "time_factor": DEFAULT_TIME_FACTOR}
    if base["schema_version"] == 2:
        base = _v2_to_v3(base)
    validate(base, f"baseline {path}")
    return base


def _v2_to_v3(base: dict[str, Any]) -> dict[str, Any]:
    """Per configuration, the seeds whose stored predictions are all one class (module docstring)."""
    configs = {}
    for cid, entry in (base.get("configs") or {}).items():
        preds = (entry.get("predictions") if isinstance(entry, dict) else None) or {}
        names, bad = preds.get("label_names") or [], {}
        for seed, p in (preds.get("seeds") or {}).items():
            pred = [max(range(len(row)), key=row.__getitem__) for row in p.get("proba") or []]
            why = judge("", math.nan, math.nan, pred, p.get("labels") or [], names) if pred and names else None
            if why:
                bad[str(seed)] = why
        configs[cid] = {**entry, "degenerate": bad} if isinstance(entry, dict) else entry
    return {**base, "schema_version": 3, "configs": configs, "degenerate_upgraded": "one-class rule only"}


def parse_tolerances(items: list[str] | None) -> dict[str, float]:
    """CLI ``--tolerance METRIC=VALUE`` (repeatable)."""
    out: dict[str, float] = {}
    for item in items or []:
        metric, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not math.isfinite(number) or number < 0:
            raise ConfigError(f"--tolerance {item!r}: expected METRIC=NUMBER (a non-negative number)")
        _known([metric], "--tolerance")
        out[metric] = number
    return out
