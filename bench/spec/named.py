"""Parameterised, registered components (imbalance strategies, context policies, methods...).

A component is a frozen pydantic model whose fields are its parameters, so parameters coming
from YAML or the CLI (``NAME:k=v,k2=v2``) are type-checked and range-checked in one place and
every bad value becomes one clear :class:`ConfigError` line.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from bench.errors import ConfigError
from bench.registry import Registry


class Component(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def params(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


C = TypeVar("C", bound=Component)


def parse_named(text: str) -> tuple[str, dict[str, Any]]:
    """``'focal:gamma=2,alpha=0.5'`` -> ``('focal', {'gamma': 2, 'alpha': 0.5})``."""
    name, _, rest = str(text).partition(":")
    params: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"{text!r}: expected NAME:key=value[,key=value], got {part!r}")
        params[key.strip()] = _scalar(value.strip())
    return name.strip(), params


def _scalar(value: str) -> Any:
    if "/" in value:  # lists written a/b/c (commas separate parameters)
        return [_scalar(v) for v in value.split("/")]
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def build(registry: Registry[type[C]], name: str, params: dict[str, Any] | None = None) -> C:
    cls = registry.get(name)
    try:
        return cls(**(params or {}))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "?"
        raise ConfigError(
            f"{registry.kind} {name!r}: parameter {where}: {first['msg']} (got {first.get('input')!r})"
        ) from None
    except TypeError as err:
        raise ConfigError(f"{registry.kind} {name!r}: {err}") from None


def describe(registry: Registry[type[Component]]) -> list[dict[str, str]]:
    rows = []
    for name, cls in registry.items():
        fields = ", ".join(
            f"{k}=(required)" if v.is_required() else f"{k}={v.default!r}" for k, v in cls.model_fields.items()
        )
        rows.append({"name": name, "params": fields, "summary": cls.summary})
    return rows
