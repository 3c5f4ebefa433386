"""The one YAML -> pydantic loader: a mapping file, errors as ``file:line:col`` or ``file: field``."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bench.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def read_yaml_mapping(path: Path, kind: str) -> dict:
    """A YAML file that must hold a mapping (task and matrix files); errors say file:line:col."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: YAML syntax error: {getattr(err, 'problem', err)}") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read {kind} file: {err.strerror}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a {kind} file must be a mapping of fields")
    return raw


def load_yaml_model(path: str | Path, kind: str, model: type[M]) -> M:
    """A pydantic model (with a ``path`` field) from a YAML mapping; errors name the file."""
    path = Path(path)
    raw = read_yaml_mapping(path, kind)
    try:
        return model(**raw, path=str(path))
    except ValidationError as err:
        raise ConfigError(f"{path}: {_first_error(err, model)}") from None


def _first_error(err: ValidationError, model: type[BaseModel] | None = None) -> str:
    e = next((e for e in err.errors() if e["type"] == "extra_forbidden"), err.errors()[0])  # a misspelt key first
    loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-")) or "<root>"
    if e["type"] == "extra_forbidden":
        if model is not None and len(e["loc"]) == 1:  # a misspelt top-level key: did you mean ...?
            from bench.registry import suggest

            return f"unknown field {loc!r}{suggest(loc, [f for f in model.model_fields if f != 'path'])}"
        return f"unknown field {loc!r}"
    if e["type"] == "missing":
        return f"missing field {loc!r}"
    return f"field {loc!r}: {e['msg']}"
