"""Command-line overrides of a matrix file (``bench run --matrix F --task T --model M --epochs N ...``):
one dict, applied here and stored in every record's ``matrix`` section, so the report plans the
same cells the runner ran (bench.report.planned)."""

from __future__ import annotations

from typing import Any

from bench.errors import ConfigError
from bench.spec.matrix import MatrixSpec

KEYS = ("tasks", "models", "train", "budget")  # axes replaced; training parameters set everywhere


def with_overrides(spec: MatrixSpec, overrides: dict[str, Any] | None) -> MatrixSpec:
    """``tasks`` / ``models`` replace the matrix's (its includes still add theirs); ``train`` (speed
    options) and ``budget`` (epochs, limit_train, limit_eval) win over the file: set in its ``train`` /
    ``budget`` and in every override's and include's training parameters (so enter every cell id)."""
    o = overrides or {}
    unknown = sorted(set(o) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown matrix override {unknown[0]!r} (known: {', '.join(KEYS)})")
    update: dict[str, Any] = {k: list(o[k]) for k in ("tasks", "models") if o.get(k)}
    speed, budget = dict(o.get("train") or {}), dict(o.get("budget") or {})
    if speed or budget:
        both = {**speed, **budget}
        update["overrides"] = [x.model_copy(update={"train": {**x.train, **both}}) for x in spec.overrides]
        update["include"] = [{**inc, "train": {**inc.get("train", {}), **both}} if "train" in inc else inc
                             for inc in spec.include]
        update["train"] = {k: v for k, v in {**spec.train, **speed}.items() if k not in budget}
        update["budget"] = {**spec.budget, **budget}
    return spec.model_copy(update=update) if update else spec
