"""Fine-tuning methods: which parameters of the pretrained model train.

- ``full``  every parameter trains (the Trainer path in :mod:`bench.fit.transformer`);
- ``lora``  low-rank adapters through peft; the base weights stay frozen;
- ``probe`` a frozen encoder: pooled features computed once and cached on disk, then a linear
  (multinomial logistic) head per cell (:mod:`bench.fit.probe`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from bench.errors import ConfigError
from bench.registry import Registry
from bench.spec.named import Component

METHODS: Registry[type[Method]] = Registry("method")


class Method(Component):
    trains_encoder: ClassVar[bool] = True  # False: the pipeline takes the frozen-feature path
    needs: ClassVar[frozenset[str]] = frozenset()  # capabilities the fitter must have (components/capabilities.py)

    def prepare(self, model):
        """Return the model to train (may wrap or freeze parts of it)."""
        return model

    def export(self, model):
        """The model to save for deployment (a plain transformers model)."""
        return model


@METHODS.register("full")
class Full(Method):
    summary = "fine-tune every parameter"


# peft has no default LoRA targets for some architectures; the attention query/value projections
FALLBACK_TARGETS = {"mpnet": ["q", "v"]}


@METHODS.register("lora")
class Lora(Method):
    summary = "low-rank adapters (peft) on the attention projections; base weights frozen, head trains"
    needs = frozenset({"encoder"})
    rank: int = Field(8, ge=1)
    alpha: float = Field(16.0, gt=0)
    dropout: float = Field(0.1, ge=0, lt=1)
    target_modules: list[str] | None = None  # default: peft's choice for the architecture (query/value)

    def targets(self, model) -> list[str]:
        """The target module names, checked against the model's Linear layers."""
        import torch

        linear = sorted({name.rsplit(".", 1)[-1] for name, mod in model.named_modules()
                         if isinstance(mod, torch.nn.Linear) and not _in_head(name)})
        if self.target_modules is None:
            from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as peft_defaults

            # a pooled classifier (bench.fit.pooled) wraps an encoder: its targets are the encoder's
            mtype = str(getattr(model.config, "encoder_model_type", None) or getattr(model.config, "model_type", ""))
            wanted = peft_defaults.get(mtype) or FALLBACK_TARGETS.get(mtype)
            if not wanted:
                raise ConfigError(f"method 'lora': no default target modules for model type {mtype!r}; "
                                  f"give target_modules=a/b (valid: {', '.join(linear)})")
            return list(wanted)
        bad = [t for t in self.target_modules if t not in linear]
        if bad:
            raise ConfigError(f"method 'lora': target module(s) {', '.join(bad)} not in the model "
                              f"(valid Linear modules: {', '.join(linear)})")
        return list(self.target_modules)

    def prepare(self, model):
        from peft import LoraConfig, TaskType, get_peft_model

        config = LoraConfig(task_type=TaskType.SEQ_CLS, r=self.rank, lora_alpha=self.alpha,
                            lora_dropout=self.dropout, target_modules=self.targets(model))
        return get_peft_model(model, config)

    def export(self, model):
        import copy

        return copy.deepcopy(model).merge_and_unload()  # the trained wrapper stays intact


def _in_head(name: str) -> bool:
    return name.split(".", 1)[0] in {"classifier", "score", "pre_classifier"}


@METHODS.register("probe")
class Probe(Method):
    summary = "frozen encoder: pooled features cached on disk, a linear (logistic) head per cell"
    needs = frozenset({"encoder"})
    trains_encoder: ClassVar[bool] = False
    # None = the model's declared pooling (sentence-transformers checkpoints), else mean
    pooling: Literal["mean", "cls", "max", "mean_sqrt_len", "pooler"] | None = None
    l2: float = Field(1e-3, ge=0)  # weight decay on the head
    steps: int = Field(300, ge=1)  # full-batch optimiser steps for the head
    lr: float = Field(0.05, gt=0)

    def pooling_for(self, model) -> str:
        """The pooling in use: the one given, else the model's declared pooling, else mean."""
        return self.pooling or getattr(model, "pooling", None) or "mean"
