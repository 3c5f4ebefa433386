"""Task registry: validated task metadata loaded from ``tasks/*.yaml`` (MTEB-style).

Task files are data: no Python hooks. A task names where its rows come from (a package that
ships them, the user's own files, or a Hugging Face Hub dataset at a pinned revision), which
columns hold the text and the label, and how to split when the source has no ready splits.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bench.errors import ConfigError, UnknownNameError
from bench.metrics import check_main_score
from bench.registry import suggest
from bench.spec.yaml import load_yaml_model

SPLITS = ("train", "validation", "test")
_SHA = re.compile(r"[0-9a-f]{40}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackagedSource(_Strict):
    type: Literal["packaged"]
    package: str  # distribution name on PyPI, located through importlib.metadata
    loader: Literal["bbc_news", "drugs_com"]


class FilesSource(_Strict):
    type: Literal["files"]
    format: Literal["csv", "json", "parquet"] | None = None  # default: from the file extension
    train: str
    validation: str | None = None
    test: str | None = None


class HubSource(_Strict):
    """A Hugging Face Hub dataset at a commit (docs/HUB.md). ``config`` is a builder config the
    repo's README declares; a parquet-export branch (refs/convert/parquet) declares none, so its
    files are named with ``data_files`` (split -> path(s) in the repo) or ``data_dir`` instead."""

    type: Literal["hub"]
    dataset: str = Field(min_length=1)  # org/name (or a local folder holding a copy of the repo)
    config: str | None = None
    revision: str  # a 40-hex commit sha (checked with the task's name in TaskSpec)
    data_dir: str | None = None
    data_files: dict[str, str | list[str]] | None = None
    splits: dict[str, str] = Field(default_factory=dict)  # our split name -> the hub's


Source = Annotated[PackagedSource | FilesSource | HubSource, Field(discriminator="type")]


class SplitRule(_Strict):
    """Fractions carved (stratified, deterministically from the task version) when missing:
    ``test`` of all rows, then ``validation`` of the rows left for training."""

    validation: float = Field(0.1, gt=0, lt=0.5)
    test: float = Field(0.2, gt=0, lt=0.6)


class LongTail(_Strict):
    """Derive a long-tailed *training* split (test untouched)."""

    imbalance_ratio: float = Field(gt=1)
    profile: Literal["exponential", "step"] = "exponential"


class TaskSpec(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str
    domain: str
    version: str
    license: str
    citation: str | None = None
    source: Source
    text_column: str
    label_column: str
    label_names: list[str] | None = None  # required order for integer labels; else sorted values
    top_k_labels: int | None = Field(None, ge=2)  # keep the K most frequent labels
    domain_column: str | None = None
    split_rule: SplitRule = SplitRule()
    limit: dict[Literal["train", "validation", "test"], int] = Field(default_factory=dict)
    drop_empty: bool = False
    dedupe: bool = True
    main_score: str = "macro_f1"  # a registered metric (bench.metrics); its direction picks the best checkpoint
    long_tail: LongTail | None = None
    path: str | None = Field(None, exclude=True)  # the YAML it came from (set by the loader)

    @field_validator("main_score")
    @classmethod
    def _main_score(cls, v: str) -> str:
        return check_main_score(v)

    @model_validator(mode="after")
    def _check(self) -> TaskSpec:
        if self.label_names is not None and len(set(self.label_names)) != len(self.label_names):
            raise ValueError("label_names has duplicates")
        if self.label_names is not None and len(self.label_names) < 2:
            raise ValueError("label_names needs at least two labels")
        if isinstance(self.source, HubSource) and not _SHA.fullmatch(self.source.revision):
            raise ValueError(f"task {self.name!r}: hub revision {self.source.revision!r} is not a commit: pin the "
                             "40-hex commit sha (branches such as main or refs/convert/parquet move)")
        return self

    @property
    def base_dir(self) -> Path:
        return Path(self.path).parent if self.path else Path.cwd()


def repo_dir(name: str, env_var: str) -> Path:
    """``$env_var`` if set, else the repository's ``name/`` folder, else ``./name``."""
    env = os.environ.get(env_var)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[2] / name  # bench/spec/task.py -> the repository root
    return here if here.is_dir() else Path.cwd() / name


def tasks_dir() -> Path:
    return repo_dir("tasks", "BENCH_TASKS_DIR")


def load_task_file(path: str | Path) -> TaskSpec:
    return load_yaml_model(path, "task", TaskSpec)


@lru_cache(maxsize=8)
def _registry(directory: str) -> dict[str, TaskSpec]:
    specs: dict[str, TaskSpec] = {}
    for path in sorted(Path(directory).rglob("*.yaml")):
        spec = load_task_file(path)
        if spec.name in specs:
            raise ConfigError(f"{path}: duplicate task name {spec.name!r} (also in {specs[spec.name].path})")
        specs[spec.name] = spec
    return specs


def all_tasks(directory: str | Path | None = None) -> dict[str, TaskSpec]:
    return _registry(str(directory or tasks_dir()))


def get_task(name: str, directory: str | Path | None = None) -> TaskSpec:
    """A registered task by name, or a task file given by path."""
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return load_task_file(name)
    specs = all_tasks(directory)
    if name not in specs:  # looked up both ways: say so, with the file path it tried
        raise UnknownNameError(f"unknown task {name!r}{suggest(name, specs)}; looked up as a registered task name "
                               f"and as a task file path (no file {Path(name).resolve()})")
    return specs[name]
