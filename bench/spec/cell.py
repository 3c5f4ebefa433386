"""A Cell is one fully resolved experiment; its id hashes everything that changes the result."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, replace
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bench.errors import ConfigError

Number = Union[int, float]  # noqa: UP007 - an int stays an int (the id hashes the value as written)
PRECISIONS = ("auto", "fp32", "bf16")
FRAMEWORKS = ("hf", "keras")  # what trains a transformer cell (bench ls frameworks)
DEFAULT_FRAMEWORK = "hf"
# The fast-path defaults (issue 18), each a one-line flip once paired runs on an idle machine show
# no quality loss (docs/PERFORMANCE.md). Flipping this one changes the ids of cells that do not set
# group_by_length (it changes their results); CPU bf16 for precision "auto": measured per machine, bench.fit.calibrate.
GROUP_BY_LENGTH_DEFAULT = False


class TrainParams(BaseModel):
    """Training parameters of a cell (frozen; unknown keys rejected). Numbers keep the type they
    were written with, so ids do not change; strings such as ``1e-4`` (PyYAML reads them as
    strings) are parsed as numbers. A bad value is one :class:`ConfigError` line."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: Annotated[Number, Field(gt=0)] = 2.0
    learning_rate: Annotated[Number, Field(ge=0)] = 1e-4
    batch_size: int = Field(16, ge=1)
    eval_batch_size: int = Field(64, ge=1)
    warmup_ratio: Annotated[Number, Field(ge=0, lt=1)] = 0.1  # a share of the optimiser steps
    weight_decay: Number = 0.01
    grad_accum: int = Field(1, ge=1)
    early_stopping_patience: int | None = 2  # epochs without improvement; None = never stop early
    limit_train: int | None = Field(None, ge=2)  # stratified, deterministic per task (not per seed)
    limit_eval: int | None = Field(None, ge=2)  # applies to validation and test
    latency_docs: int = 32  # documents timed one at a time for latency p50/p95
    # speed options that change the numbers (runtime-only ones live in bench.fit.options):
    precision: str = "auto"  # auto = bf16 on CUDA with bf16, else fp32 (CPU bf16: opt in, docs/PERFORMANCE.md)
    group_by_length: bool = GROUP_BY_LENGTH_DEFAULT  # True = batches of similar lengths (less padding on varied texts)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as err:
            raise ConfigError(_train_error(err)) from None

    @field_validator("epochs", "learning_rate", "warmup_ratio", "weight_decay", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                raise ValueError("must be a number") from None
        return v

    @model_validator(mode="after")
    def _check(self) -> TrainParams:
        validate_precision(self.precision)
        return self

    def with_(self, **changes: Any) -> TrainParams:
        return TrainParams(**{**self.model_dump(), **changes})


TRAIN_FIELDS = set(TrainParams.model_fields)


_BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="),
           "less_than": ("lt", "<"), "less_than_equal": ("le", "<=")}


def _train_error(err: ValidationError) -> str:
    e = err.errors()[0]
    if not e["loc"]:  # a cross-field check: its message is complete
        return str(e.get("ctx", {}).get("error", e["msg"]))
    name = str(e["loc"][0])
    if e["type"] == "extra_forbidden":
        return f"unknown training parameter {name!r}"
    bound = _BOUNDS.get(e["type"])
    if bound is not None:
        return f"training parameter {name} must be {bound[1]} {e['ctx'][bound[0]]} (got {e.get('input')!r})"
    msg = str(e.get("ctx", {}).get("error", "")) or e["msg"]
    return f"training parameter {name}: {msg} (got {e.get('input')!r})"


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
    framework: str = "hf"  # what trains it: "hf" (transformers Trainer) or "keras" (Keras 3 fit, bench.fit.keras)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (what ids hash and records carry): ``dataclasses.asdict`` with the
        training parameters as a dict; ``framework`` only when not ``hf`` (ids of existing cells stay)."""
        d = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)}
        d["train"] = self.train.model_dump()
        if d["framework"] == DEFAULT_FRAMEWORK:
            del d["framework"]
        return d

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


def validate_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"training parameter precision must be one of {', '.join(PRECISIONS)} (got {precision!r})")
