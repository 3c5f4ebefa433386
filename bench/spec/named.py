"""Parameterised, registered components (imbalance strategies, context policies, methods...).

A component is a frozen pydantic model whose fields are its parameters, so parameters coming
from YAML or the CLI (``NAME:k=v,k2=v2``) are type-checked and range-checked in one place and
every bad value becomes one clear :class:`ConfigError` line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import UnionType
from typing import Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

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


ParamTypes = Callable[[str], Mapping[str, Any] | None]  # component name -> {param: annotation}; None = unknown


def parse_named(text: str, types: ParamTypes | None = None) -> tuple[str, dict[str, Any]]:
    """``'focal:gamma=2,alpha=0.5'`` -> ``('focal', {'gamma': 2, 'alpha': 0.5})``.

    Values are coerced by the component's declared field type (``types``, from the registry):
    list fields split on ``/`` (commas separate parameters), ``str`` fields stay verbatim (a path
    stays a path), other fields read as YAML scalars (numbers, booleans, null). Without ``types``
    (or for an unknown name, which build() rejects anyway) every value is read the untyped way:
    ``/`` splits, then YAML scalars.
    """
    name, _, rest = str(text).partition(":")
    name = name.strip()
    fields = types(name) if types is not None else None
    params: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"{text!r}: expected NAME:key=value[,key=value], got {part!r}")
        key = key.strip()
        annotation = fields.get(key, _UNTYPED) if fields is not None else _UNTYPED
        params[key] = coerce(value.strip(), annotation)
    return name, params


_UNTYPED = object()


def coerce(value: str, annotation: Any = _UNTYPED) -> Any:
    """One ``k=v`` value as its declared type wants it (see :func:`parse_named`)."""
    if annotation is _UNTYPED:
        return [coerce(v) for v in value.split("/")] if "/" in value else _yaml_scalar(value)
    members = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    lists = [m for m in members if get_origin(m) in (list, tuple)]
    if lists and "/" in value:
        item = (get_args(lists[0]) or (_UNTYPED,))[0]
        return [coerce(v, _UNTYPED if item is Ellipsis else item) for v in value.split("/")]
    if all(m is str or m is type(None) or _is_str_literal(m) for m in members) and str in members:
        return None if type(None) in members and value in ("null", "~", "None") else value
    return _yaml_scalar(value)


def _is_str_literal(annotation: Any) -> bool:
    return get_origin(annotation) is Literal and all(isinstance(a, str) for a in get_args(annotation))


def _yaml_scalar(value: str) -> Any:
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def param_types(registry: Registry) -> ParamTypes:
    """The declared parameter types of a registry's components, for :func:`parse_named`."""

    def lookup(name: str) -> Mapping[str, Any] | None:
        if name not in registry:
            return None
        return {k: f.annotation for k, f in registry.get(name).model_fields.items()}

    return lookup


def label(name: str, params: dict[str, Any] | None) -> str:
    """``name:k=v,k2=v2`` (keys sorted): how a component with parameters is written and shown."""
    if not params:
        return name
    return name + ":" + ",".join(f"{k}={v}" for k, v in sorted(params.items()))


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
