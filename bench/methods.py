"""Fine-tuning methods: which parameters of the pretrained model train."""

from __future__ import annotations

from bench.components import Component
from bench.registry import Registry

METHODS: Registry[type[Method]] = Registry("method")


class Method(Component):
    def prepare(self, model):
        """Return the model to train (may wrap or freeze parts of it)."""
        return model


@METHODS.register("full")
class Full(Method):
    summary = "fine-tune every parameter"
