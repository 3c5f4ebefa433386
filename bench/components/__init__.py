"""The swappable parts, each a registry with one contract: imbalance/, context/, methods, adapt, models."""

from __future__ import annotations

from bench.spec.named import ParamTypes, param_types


def axis_types() -> dict[str, ParamTypes]:
    """Declared parameter types per matrix axis, so ``NAME:k=v`` values parse by field type."""
    from bench.components.adapt import ADAPT
    from bench.components.context import CONTEXT
    from bench.components.imbalance import IMBALANCE
    from bench.components.methods import METHODS

    return {"methods": param_types(METHODS), "adapt": param_types(ADAPT), "imbalance": param_types(IMBALANCE),
            "context": param_types(CONTEXT)}
