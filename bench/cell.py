"""A Cell is one fully resolved experiment; its id hashes everything that changes the result."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class TrainParams:
    epochs: float = 2.0
    learning_rate: float = 1e-4
    batch_size: int = 16
    eval_batch_size: int = 64
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    grad_accum: int = 1
    early_stopping_patience: int | None = 2  # epochs without improvement; None = never stop early
    limit_train: int | None = None  # stratified, deterministic per task (not per seed)
    limit_eval: int | None = None  # applies to validation and test
    latency_docs: int = 32  # documents timed one at a time for latency p50/p95
    # speed options that change the numbers (runtime-only ones live in bench.speed):
    precision: str = "auto"  # auto = bf16 on CUDA with bf16, else fp32 (CPU bf16: opt in, docs/PERFORMANCE.md)
    group_by_length: bool = False  # True = batches of similar lengths (less padding on short, varied texts)

    def __post_init__(self) -> None:
        from bench.errors import ConfigError
        from bench.speed import validate_precision

        validate_precision(self.precision)
        for name in ("batch_size", "eval_batch_size", "grad_accum"):
            if getattr(self, name) < 1:
                raise ConfigError(f"training parameter {name} must be >= 1 (got {getattr(self, name)})")
        if self.epochs <= 0:
            raise ConfigError(f"training parameter epochs must be > 0 (got {self.epochs})")
        if self.learning_rate < 0:
            raise ConfigError(f"training parameter learning_rate must be >= 0 (got {self.learning_rate})")
        for name in ("limit_train", "limit_eval"):
            v = getattr(self, name)
            if v is not None and v < 2:
                raise ConfigError(f"training parameter {name} must be >= 2 (got {v})")


TRAIN_FIELDS = {f.name for f in fields(TrainParams)}


@dataclass(frozen=True)
class Cell:
    task: str
    model: str
    method: str = "full"
    method_params: dict[str, Any] = field(default_factory=dict)
    imbalance: str = "none"
    imbalance_params: dict[str, Any] = field(default_factory=dict)
    context: str = "head"
    context_params: dict[str, Any] = field(default_factory=dict)
    max_length: int = 128
    seed: int = 0
    train: TrainParams = field(default_factory=TrainParams)
    adapt: str = "none"
    adapt_params: dict[str, Any] = field(default_factory=dict)
    train_domains: tuple[str, ...] | None = None
    eval_domains: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Cell:
        d = dict(d)
        d["train"] = TrainParams(**d.get("train", {}))
        for key in ("train_domains", "eval_domains"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)

    def with_(self, **changes: Any) -> Cell:
        return replace(self, **changes)

    @property
    def config_key(self) -> dict[str, Any]:
        """The configuration without its seed: what a leaderboard row aggregates over."""
        d = self.to_dict()
        d.pop("seed")
        return d


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def resolved(cell: Cell) -> dict[str, Any]:
    """The cell plus what its names stand for: task spec (version, source), the task's data
    fingerprint (cached per task, see bench.cache) and model identity."""
    from bench.cache import task_identity
    from bench.models import get_model
    from bench.speed import resolve_precision

    return {
        "cell": cell.to_dict(),
        "task": task_identity(cell.task),
        "model": get_model(cell.model).identity(),
        "precision": resolve_precision(cell.train.precision),  # "auto" resolves per machine
    }


def cell_id(cell: Cell) -> str:
    return hashlib.sha256(canonical_json(resolved(cell)).encode()).hexdigest()[:16]
