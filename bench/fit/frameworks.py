"""Which framework trains a transformer cell (``Cell.framework``), checked at planning.

``hf`` (the default): the transformers Trainer (bench.fit.transformer, bench.fit.probe). ``keras``:
Keras 3 on the TensorFlow backend with keras-hub's converted checkpoint (bench.fit.keras), from the
optional extra ``[keras]``. :func:`check_framework` refuses, in one line each, an unknown framework,
a Keras cell on a model that is not a transformer, a method other than full fine-tuning, and a Keras
cell when the extra is not installed; it returns the fitter's key in ``bench.fit.base.FITTERS``.
"""

from __future__ import annotations

import importlib.util

from bench.components.capabilities import CapabilityError
from bench.errors import ConfigError
from bench.registry import suggest
from bench.spec.cell import DEFAULT_FRAMEWORK, FRAMEWORKS, Cell

# framework -> what `bench ls frameworks` says about it
DESCRIPTIONS = {
    "hf": "transformers Trainer (every method; the default)",
    "keras": "Keras 3 compile/fit/predict on the TensorFlow backend, the checkpoint converted by keras-hub; "
             "method full only; needs the extra: pip install 'domainbench[keras]'",
}
KERAS_PACKAGES = ("keras", "keras_hub", "tensorflow")  # import names the Keras fit needs
KERAS_EXTRA = "pip install 'domainbench[keras]'"
# Hugging Face encoder types keras-hub converts (keras_hub/src/utils/transformers/preset_loader.py)
KERAS_ENCODERS = ("bert", "distilbert", "roberta", "xlm-roberta", "albert")


def missing_keras() -> str | None:
    """The first package of the ``[keras]`` extra that cannot be imported here (None: all present)."""
    for name in KERAS_PACKAGES:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


def check_framework(cell: Cell, model_kind: str, method: str, model_type: str | None = None) -> str:
    """The fitter key for this cell, or one refusal line (ConfigError / CapabilityError).
    ``model_type``: the checkpoint's config ``model_type`` (None: not known here, not checked)."""
    from bench.fit.base import FITTERS, fitter_key

    framework, model_name = cell.framework, cell.model
    if framework not in FRAMEWORKS:
        raise ConfigError(f"unknown framework {framework!r}{suggest(framework, list(FRAMEWORKS))} "
                          f"(one of {', '.join(FRAMEWORKS)})")
    key = fitter_key(model_kind, method, framework)
    if framework == DEFAULT_FRAMEWORK:
        return key
    if model_kind != "hf":
        raise ConfigError(f"framework {framework!r} trains transformers: model {model_name!r} is not one "
                          f"(use framework hf)")
    if key not in FITTERS:
        raise CapabilityError(f"method {method!r} cannot be honoured by the Keras fit ({key}): it fine-tunes the "
                              f"whole converted encoder only (method full; LoRA and the probe run with framework hf)")
    if float(cell.train.epochs) != int(cell.train.epochs):
        raise ConfigError(f"framework {framework!r} trains whole epochs (Keras fit): epochs {cell.train.epochs} "
                          f"is not a whole number")
    if model_type is not None and model_type not in KERAS_ENCODERS:
        raise ConfigError(f"framework {framework!r}: keras-hub cannot convert model {model_name!r} (a {model_type!r} "
                          f"checkpoint; it converts {', '.join(KERAS_ENCODERS)}): use framework hf")
    gone = missing_keras()
    if gone is not None:
        raise ConfigError(f"framework {framework!r} needs the optional extra [keras] (package {gone!r} is not "
                          f"installed): {KERAS_EXTRA}")
    return key
