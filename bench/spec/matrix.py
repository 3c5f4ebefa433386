"""Matrix files: axes declared once, expanded into Cells (a plain cartesian product, Hydra-style).

```yaml
name: default
tasks: [bbc-news, drugs-sentiment]
models: [minilm-l6]
methods: [full]                       # names, 'name:k=v,...' or {name, params}
imbalance: [none, {name: focal, params: {gamma: 2}}]
context: [head, head_tail]             # unset: each model's own (transformers head, TF-IDF full)
seeds: [0, 1]
framework: [hf, keras]                # what trains it (default hf; keras: the Keras 3 fit, extra [keras])
train: {learning_rate: 1e-4}          # shared training parameters
budget: {limit_train: 320, limit_eval: 200, epochs: 2}
overrides:                             # later entries win
  - {match: {task: drugs-sentiment}, train: {learning_rate: 3e-4, epochs: 3}}
exclude:                               # a cell matching every key of a rule is dropped
  - {task: bbc-news, imbalance: [focal]}
include:                               # extra cells; unspecified axes take the matrix's axis
  - {task: bbc-news, model: tfidf-logreg, context: full, max_length: 512}
  - {method: probe, train_domains: [Acne]}                  # an include may set its own domains
```

Order is deterministic: tasks, models, methods, adapt, imbalance, context, max_length, framework, seeds
(seeds vary fastest), then includes; duplicates are dropped keeping the first.
"""

from __future__ import annotations

import itertools
import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from bench.errors import ConfigError
from bench.spec.cell import TRAIN_FIELDS, Cell, TrainParams
from bench.spec.named import ParamTypes, parse_named

AXES = ("tasks", "models", "methods", "adapt", "imbalance", "context", "max_length", "framework", "seeds")
# matrix axis (plural) -> Cell field (singular); the keys rules and --only use
FIELD = {"tasks": "task", "models": "model", "methods": "method", "adapt": "adapt", "imbalance": "imbalance",
         "context": "context", "max_length": "max_length", "framework": "framework", "seeds": "seed"}
COMPONENT_AXES = {"methods", "adapt", "imbalance", "context"}
BUDGET_FIELDS = {"limit_train", "limit_eval", "epochs"}
Named = tuple[str, tuple[tuple[str, Any], ...]]  # hashable (name, sorted params)
_MODEL_CONTEXT = "<the model's default>"  # the context axis of a matrix that sets none


AxisTypes = dict[str, ParamTypes]  # component axis -> declared parameter types (bench.components.axis_types)


def _named(value: Any, types: ParamTypes | None = None) -> Named:
    if isinstance(value, dict):
        if set(value) - {"name", "params"} or "name" not in value:
            raise ValueError(f"expected a name or {{name, params}}, got {value!r}")
        name, params = str(value["name"]), dict(value.get("params") or {})
    else:
        name, params = parse_named(str(value), types)
    return name, tuple(sorted(params.items(), key=lambda kv: kv[0]))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Override(_Strict):
    match: dict[str, Any]
    train: dict[str, Any] = Field(default_factory=dict)
    train_domains: list[str] | None = None
    eval_domains: list[str] | None = None


class MatrixSpec(_Strict):
    name: str = "matrix"
    description: str = ""
    tasks: list[str] = Field(min_length=1)
    models: list[str] = Field(min_length=1)
    methods: list[Any] = Field(default_factory=lambda: ["full"], min_length=1)
    adapt: list[Any] = Field(default_factory=lambda: ["none"], min_length=1)
    imbalance: list[Any] = Field(default_factory=lambda: ["none"], min_length=1)
    context: list[Any] = Field(default_factory=lambda: ["head"], min_length=1)
    max_length: list[int] = Field(default_factory=lambda: [128], min_length=1)
    framework: list[str] = Field(default_factory=lambda: ["hf"], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    train: dict[str, Any] = Field(default_factory=dict)
    budget: dict[str, Any] = Field(default_factory=dict)
    train_domains: list[str] | None = None
    eval_domains: list[str] | None = None
    overrides: list[Override] = Field(default_factory=list)
    exclude: list[dict[str, Any]] = Field(default_factory=list)
    include: list[dict[str, Any]] = Field(default_factory=list)
    # runtime, not in any cell id (they change no training): evaluate modules computed on every
    # cell's test predictions (bench.record.evaluate_metrics), the tracker every record is logged to
    # (bench.run.track), the Trainer's own integrations (TrainingArguments.report_to)
    extra_metrics: list[str] = Field(default_factory=list)
    track: Literal["mlflow"] | None = None
    report_to: list[str] = Field(default_factory=list)
    path: str | None = Field(None, exclude=True)
    _model_context: Callable[[str], str] | None = PrivateAttr(None)

    @field_validator("tasks", "models", "methods", "adapt", "imbalance", "context", "max_length", "seeds",
                     "framework", "extra_metrics", "report_to", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return v if isinstance(v, list) else [v]

    def axis(self, name: str, types: AxisTypes | None = None) -> list:
        values = getattr(self, name)
        return [_named(v, (types or {}).get(name)) for v in values] if name in COMPONENT_AXES else list(values)

    def expand(self, types: AxisTypes | None = None, model_context: Callable[[str], str] | None = None) -> list[Cell]:
        """Every cell of the matrix, in a deterministic order, duplicates dropped. ``types``
        (bench.components.axis_types()) coerces ``NAME:k=v`` values by declared field type. A matrix
        without ``context`` gives each model ``model_context(model)`` (as ``bench run``), else head."""
        self._check_keys()
        axes = {a: self.axis(a, types) for a in AXES}
        if model_context is not None and "context" not in self.model_fields_set:
            axes["context"] = [(_MODEL_CONTEXT, ())]  # filled per model in _point
            self._model_context = model_context
        rules = [_rule(r, f"exclude[{i}]", types) for i, r in enumerate(self.exclude)]
        overrides = [(_rule(o.match, f"overrides[{i}].match", types), o) for i, o in enumerate(self.overrides)]
        base_train = {**self.train, **self.budget}
        cells: dict[tuple, Cell] = {}
        for combo in itertools.product(*(axes[a] for a in AXES)):
            combo, point = self._point(combo)
            if not any(_matches(r, point) for r in rules):
                self._add(cells, combo, point, base_train, overrides)
        for i, inc in enumerate(self.include):
            extra = _rule(inc, f"include[{i}]", types, allow_train=True)
            train = {**base_train, **inc.get("train", {})}
            domains = (inc.get("train_domains"), inc.get("eval_domains"))
            sub = {a: extra.get(a, axes[a]) for a in AXES}
            for combo in itertools.product(*(sub[a] for a in AXES)):
                self._add(cells, *self._point(combo), train, overrides, domains)
        return list(cells.values())

    def _point(self, combo: tuple) -> tuple[tuple, dict]:
        if (point := dict(zip(AXES, combo, strict=True)))["context"][0] == _MODEL_CONTEXT and self._model_context:
            point["context"] = (self._model_context(point["models"]), ())  # the model's own
        return tuple(point[a] for a in AXES), point

    def _add(self, cells: dict[tuple, Cell], combo: tuple, point: dict, train: dict, overrides: list,
             domains: tuple = (None, None)) -> None:
        train_domains = domains[0] if domains[0] is not None else self.train_domains
        eval_domains = domains[1] if domains[1] is not None else self.eval_domains
        for rule, o in overrides:
            if _matches(rule, point):
                train = {**train, **o.train}
                train_domains = o.train_domains if o.train_domains is not None else train_domains
                eval_domains = o.eval_domains if o.eval_domains is not None else eval_domains
        tp = _train_params(train)
        key = (repr(combo), tp, str(train_domains), str(eval_domains))
        if key not in cells:
            cells[key] = _make_cell(point, tp, train_domains, eval_domains)

    def _check_keys(self) -> None:
        for where, keys in [("train", self.train), ("budget", self.budget),
                            *((f"overrides[{i}].train", o.train) for i, o in enumerate(self.overrides))]:
            allowed = BUDGET_FIELDS if where == "budget" else TRAIN_FIELDS
            bad = sorted(set(keys) - allowed)
            if bad:
                from bench.registry import suggest
                raise ConfigError(f"{self._where()}: {where}: unknown training parameter {bad[0]!r}"
                                  f"{suggest(bad[0], sorted(allowed))}")
        if both := sorted(set(self.train) & set(self.budget)):
            raise ConfigError(f"{self._where()}: {both[0]!r} is set in both train and budget")

    def _where(self) -> str:
        return self.path or f"matrix {self.name!r}"


_TRAIN_CACHE: dict[str, TrainParams] = {}


def _train_params(train: dict) -> TrainParams:
    key = repr(sorted(train.items()))
    tp = _TRAIN_CACHE.get(key)
    if tp is None:
        try:
            tp = _TRAIN_CACHE[key] = TrainParams(**train)
        except TypeError as err:
            raise ConfigError(f"training parameters: {err}") from None
    return tp


def _make_cell(point: dict, train: TrainParams, train_domains, eval_domains) -> Cell:
    (method, mp), (adapt, ap), (imb, ip), (ctx, cp) = (point[a] for a in ("methods", "adapt", "imbalance", "context"))
    return Cell(task=point["tasks"], model=point["models"], method=method, method_params=dict(mp),
                adapt=adapt, adapt_params=dict(ap), imbalance=imb, imbalance_params=dict(ip), context=ctx,
                context_params=dict(cp), max_length=int(point["max_length"]), seed=int(point["seeds"]),
                train=train, train_domains=None if train_domains is None else tuple(train_domains),
                eval_domains=None if eval_domains is None else tuple(eval_domains), framework=str(point["framework"]))


SINGULAR = {v: k for k, v in FIELD.items()}


def _rule(rule: dict, where: str, types: AxisTypes | None = None, allow_train: bool = False) -> dict[str, list]:
    """``{task: x, imbalance: [a, b]}`` -> ``{'tasks': [...], 'imbalance': [...]}`` (axis -> accepted values)."""
    if not isinstance(rule, dict) or not rule:
        raise ConfigError(f"{where}: expected a non-empty mapping of axis: value(s)")
    out: dict[str, list] = {}
    for key, values in rule.items():
        if allow_train and key in ("train", "train_domains", "eval_domains"):
            if key != "train" and not (isinstance(values, list) and values and all(isinstance(v, str) for v in values)):
                raise ConfigError(f"{where}: {key} must be a non-empty list of domain names (got {values!r})")
            continue
        axis = key if key in AXES else SINGULAR.get(key)
        if axis is None:
            from bench.registry import suggest

            raise ConfigError(f"{where}: unknown axis {key!r}{suggest(key, list(SINGULAR))}")
        values = values if isinstance(values, list) else [values]
        out[axis] = [_named(v, (types or {}).get(axis)) if axis in COMPONENT_AXES else v for v in values]
    return out


def _matches(rule: dict[str, list], point: dict) -> bool:
    """Component values match by name alone (any params) unless the rule gives params."""
    for axis, accepted in rule.items():
        value = point[axis]
        if axis in COMPONENT_AXES:
            if not any(a == value or (not a[1] and a[0] == value[0]) for a in accepted):
                return False
        elif value not in accepted:
            return False
    return True


def load_matrix(path: str | Path) -> MatrixSpec:
    """A matrix file; its task files (axis and rules) resolve from the working directory, else next to it."""
    from bench.spec.yaml import load_yaml_model

    spec, base = load_yaml_model(path, "matrix", MatrixSpec), Path(path).parent
    fix = lambda r: {k: ([task_path(t, base) for t in v] if isinstance(v, list) else task_path(v, base))  # noqa: E731
                     if k in ("task", "tasks") else v for k, v in r.items()}
    return spec.model_copy(update={"tasks": [task_path(t, base) for t in spec.tasks], "include": list(map(fix, spec.include)),
                                   "exclude": list(map(fix, spec.exclude)),
                                   "overrides": [o.model_copy(update={"match": fix(o.match)}) for o in spec.overrides]})


def task_path(task: Any, base: Path) -> Any:
    """A task file missing from the working directory but next to the matrix (``base``): its path."""
    if not str(task).endswith((".yaml", ".yml")) or Path(task).is_file() or not (base / task).is_file():
        return task
    return os.path.relpath(base / task)


def only_filter(expr: str) -> list[tuple[str, bool, list]]:
    """``--only "task=bbc-news seed=0|1 imbalance!=none id=3fa2"`` -> clauses (AND of OR-lists)."""
    clauses = []
    for part in shlex.split(expr.replace(";", " ")):
        key, neg, values = _split_clause(part)
        if key != "id":
            axis = key if key in AXES else SINGULAR.get(key)
            if axis is None:
                from bench.registry import suggest

                raise ConfigError(f"--only {expr!r}: unknown key {key!r}{suggest(key, [*SINGULAR, 'id'])}")
            key = axis
        clauses.append((key, neg, values.split("|")))
    if not clauses:
        raise ConfigError(f"--only {expr!r}: expected KEY=VALUE[|VALUE] clauses, e.g. task=bbc-news seed=0")
    return clauses


def _split_clause(part: str) -> tuple[str, bool, str]:
    key, eq, values = part.partition("=")
    if not eq or not key.strip("!") or not values:
        raise ConfigError(f"--only: expected KEY=VALUE or KEY!=VALUE, got {part!r}")
    neg = key.endswith("!")
    return key.rstrip("!").strip(), neg, values


def select(cells: list[Cell], ids: list[str], clauses: list[tuple[str, bool, list]],
           types: AxisTypes | None = None) -> list[int]:
    """Indices of the cells every clause accepts."""
    keep = []
    for i, (cell, cid) in enumerate(zip(cells, ids, strict=True)):
        ok = True
        for key, neg, values in clauses:
            if key == "id":
                hit = any(cid.startswith(v) for v in values)
            else:
                field = FIELD[key]
                if key in COMPONENT_AXES:
                    point = (getattr(cell, field), tuple(sorted(getattr(cell, f"{field}_params").items())))
                    hit = _matches({key: [_named(v, (types or {}).get(key)) for v in values]}, {key: point})
                else:
                    hit = str(getattr(cell, field)) in values
            ok = ok and (hit != neg)
        if ok:
            keep.append(i)
    return keep
