"""Extra metrics from Hugging Face ``evaluate`` modules (``bench run --extra-metric SPEC``, matrices'
``extra_metrics: [...]``), computed on a record's test predictions and stored in its ``metrics``.

SPEC is ``PATH_OR_NAME[:k=v,...]``: a local module (a folder holding ``<name>.py``, or the ``.py``
file; relative paths are resolved against the current directory, then kept absolute) or an
``evaluate`` Hub name; the optional ``k=v`` pairs are passed to ``compute``, except
``direction=higher`` or ``direction=lower``, which declares which way the module's values are
better. Offline (``HF_HUB_OFFLINE`` or ``HF_EVALUATE_OFFLINE`` set) a SPEC that is not an
existing local path is refused before anything runs: ``evaluate`` itself ignores ``HF_HUB_OFFLINE`` and would reach for
the network. Modules are loaded with ``keep_in_memory=True`` (no cache file and file lock per
compute: cells in parallel do not clash, and an error costs no 1 s lock wait).

Inputs are chosen from the module's declared features: ``references`` = true labels;
``predictions`` = predicted labels (or the probability rows when the feature is a sequence);
``prediction_scores`` = the probability rows (or, for a scalar feature on two classes, the
positive class's probability). A module that needs any other input is refused at validation.

Each scalar the module returns is stored under its own key (``mcc`` -> ``metrics["mcc"]``); a key
that is already a built-in metric gets an ``evaluate_`` prefix, so a module never overwrites
DomainBench's own value. The record's ``extra_metrics`` section keeps, per SPEC, the module name,
its resolved path or Hub name, the keys it wrote and their direction (+1 higher is better, -1
lower): the SPEC's ``direction=``, else the metric registry (:mod:`bench.metrics`) for the key or
the module's name, else the module's ``higher_is_better`` attribute. It is declared, never guessed
from the module's description: a module none of these covers is refused at load (one line). Extra metrics change no training, so they are not in the cell id: adding one
to a finished matrix fills it into the existing records on the next run, without retraining.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import ConfigError

INPUTS = {"references", "predictions", "prediction_scores"}
DIRECTIONS = {"higher": 1, "lower": -1}


def offline() -> bool:
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "HF_EVALUATE_OFFLINE"))


@dataclass
class ExtraMetric:
    """One loaded module and what to pass it."""

    spec: str  # as the user wrote it
    source: str  # absolute local path, or the Hub name
    kwargs: dict[str, Any]
    module: Any = field(repr=False)
    declared: int | None = None  # the SPEC's direction=higher|lower

    def declared_direction(self) -> int | None:
        """The direction the SPEC, the registry (module name) or the module itself declares."""
        from bench.metrics import METRICS

        if self.declared is not None:
            return self.declared
        if self.name in METRICS:
            return METRICS[self.name].direction
        attr = getattr(self.module, "higher_is_better", None)
        return (1 if attr else -1) if isinstance(attr, bool) else None

    @property
    def name(self) -> str:
        return self.module.name

    def direction(self, key: str) -> int:
        from bench.metrics import METRICS

        if self.declared is None and key in METRICS:
            return METRICS[key].direction
        declared = self.declared_direction()
        if declared is None:
            raise ConfigError(f"extra metric {self.spec!r}: direction of {key!r} unknown")
        return declared

    def inputs(self, labels: np.ndarray, pred: np.ndarray, proba: np.ndarray) -> dict[str, list]:
        """The compute() arguments for the first of the module's feature formats we can fill."""
        for fmt in _formats(self.module):
            args = {col: _column(col, fmt[col], labels, pred, proba) for col in fmt}
            if all(v is not None for v in args.values()):
                return {col: v for col, v in args.items() if v is not None}
        raise ValueError(f"extra metric {self.spec!r}: none of its input formats fits {proba.shape[1]} classes "
                         f"(features {_formats(self.module)})")


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``metrics/brier:sum_tolerance=0.01`` -> (``metrics/brier``, ``{'sum_tolerance': 0.01}``)."""
    from bench.spec.named import parse_named

    path, _, rest = str(spec).partition(":")
    if not path.strip():
        raise ConfigError(f"extra metric {spec!r}: expected PATH_OR_NAME[:k=v,...]")
    return path.strip(), (parse_named(f"x:{rest}")[1] if rest else {})


def resolve(spec: str) -> tuple[str, dict[str, Any]]:
    """The absolute path of a local module (or the Hub name) and the compute kwargs; offline, a
    SPEC that is no local path is a ConfigError naming it (before anything runs)."""
    path, kwargs = parse_spec(spec)
    local = Path(path).expanduser()
    if local.exists():
        return str(local.resolve()), kwargs
    if offline():
        raise ConfigError(f"extra metric {path!r} needs the Hub (HF_HUB_OFFLINE is set) and is no local path "
                          f"under {Path.cwd()}; pass a local path to an evaluate module")
    return path, kwargs


def load(specs: list[str] | tuple[str, ...]) -> list[ExtraMetric]:
    """Resolve and load every SPEC (fast when local); any problem is one ConfigError line."""
    resolved = [(spec, *resolve(spec)) for spec in specs]  # every offline refusal before any import
    if not resolved:
        return []
    if offline():
        os.environ["HF_EVALUATE_OFFLINE"] = "1"
    import evaluate

    if offline():
        evaluate.config.HF_EVALUATE_OFFLINE = True
    out: list[ExtraMetric] = []
    names: dict[str, str] = {}
    for spec, source, kwargs in resolved:
        kwargs = dict(kwargs)
        try:
            module = evaluate.load(source, keep_in_memory=True)
        except Exception as err:  # noqa: BLE001 - any load failure is the user's SPEC
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(f"extra metric {spec!r}: cannot load it with evaluate.load ({first})") from None
        declared = kwargs.pop("direction", None)
        if declared is not None and declared not in DIRECTIONS:
            raise ConfigError(f"extra metric {spec!r}: direction must be higher or lower (got {declared!r})")
        metric = ExtraMetric(spec, source, kwargs, module, None if declared is None else DIRECTIONS[declared])
        if metric.declared_direction() is None:
            raise ConfigError(f"extra metric {spec!r}: module {metric.name!r} is no registered metric, so which way "
                              f"is better is unknown; declare it: {spec}{',' if ':' in spec else ':'}direction=higher "
                              f"(or lower)")
        if metric.name in names:
            raise ConfigError(f"extra metrics {names[metric.name]!r} and {spec!r} are both named {metric.name!r}")
        names[metric.name] = spec
        if not any(set(fmt) <= INPUTS and "references" in fmt for fmt in _formats(module)):
            raise ConfigError(f"extra metric {spec!r}: module {metric.name!r} takes {_formats(module)}; "
                              f"bench can pass {sorted(INPUTS)} only")
        _check_kwargs(metric)
        out.append(metric)
    return out


def add_to_record(rec: dict, metrics: list[ExtraMetric]) -> bool:
    """Compute the metrics the ok record ``rec`` lacks on its test predictions, in place.
    Returns whether anything changed. A module that raises is noted in the section, not fatal."""
    if rec.get("status") != "ok" or not metrics:
        return False
    section = rec.setdefault("extra_metrics", {})
    todo = [m for m in metrics if m.spec not in section or "error" in section[m.spec]]
    if not todo:
        return False
    p = rec.get("predictions") or {}
    if not all(p.get(k) for k in ("labels", "pred", "proba")):
        for m in todo:
            section[m.spec] = {"module": m.name, "source": m.source, "error": "the record holds no test predictions"}
        return True
    labels, pred = np.asarray(p["labels"], dtype=np.int64), np.asarray(p["pred"], dtype=np.int64)
    proba = np.asarray(p["proba"], dtype=np.float64)
    proba = proba / proba.sum(axis=1, keepdims=True)  # the record rounds to 6 decimals
    builtin = set(rec["metrics"]) - {k for s in section.values() for k in s.get("keys", [])}
    for m in todo:
        entry: dict[str, Any] = {"module": m.name, "source": m.source, "kwargs": m.kwargs}
        try:
            values = m.module.compute(**m.inputs(labels, pred, proba), **m.kwargs) or {}
        except Exception as err:  # noqa: BLE001 - a metric failing leaves the cell's result intact
            section[m.spec] = {**entry, "error": f"{type(err).__name__}: {err}"[:500]}
            continue
        keys = {}
        for key, value in values.items():
            if isinstance(value, (bool, int, float, np.floating, np.integer)):
                keys[f"evaluate_{key}" if key in builtin else key] = float(value)
        rec["metrics"].update(keys)
        section[m.spec] = {**entry, "keys": sorted(keys),
                           "direction": {k: m.direction(k.removeprefix("evaluate_")) for k in keys}}
    return True


def _check_kwargs(metric: ExtraMetric) -> None:
    import inspect

    params = inspect.signature(metric.module._compute).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    bad = sorted(set(metric.kwargs) - set(params) | (set(metric.kwargs) & INPUTS))
    if bad:
        known = sorted(set(params) - INPUTS - {"self"})
        raise ConfigError(f"extra metric {metric.spec!r}: module {metric.name!r} takes no argument {bad[0]!r} "
                          f"(its compute() arguments: {', '.join(known) or 'none'})")


def _formats(module) -> list[dict]:
    feats = module.features
    return [dict(f) for f in feats] if isinstance(feats, list) else [dict(feats)]


def _column(col: str, feature, labels: np.ndarray, pred: np.ndarray, proba: np.ndarray) -> list | None:
    rows = hasattr(feature, "feature") or isinstance(feature, list)  # Sequence / List / [Value]
    if col == "references":
        return labels.tolist()
    if col == "predictions":
        return proba.tolist() if rows else pred.tolist()
    if col == "prediction_scores":
        if rows:
            return proba.tolist()
        return proba[:, 1].tolist() if proba.shape[1] == 2 else None
    return None
