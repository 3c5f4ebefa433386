"""Class-imbalance strategies. They act on the training split only (indices, weights, loss,
sampler, or post-hoc logits); validation and test are never touched.

Contract (imbalanced-learn's ``fit_resample`` / ``_fit_resample`` split): the public
:meth:`ImbalanceStrategy.fit_resample` validates and logs class counts; subclasses implement the
private ``_fit_resample`` hook.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from bench.components import Component
from bench.errors import DataError
from bench.registry import Registry

log = logging.getLogger(__name__)

IMBALANCE: Registry[type[ImbalanceStrategy]] = Registry("imbalance strategy")


@dataclass
class TrainPlan:
    indices: np.ndarray  # rows of the training split to train on (may repeat)
    class_weights: np.ndarray | None = None  # for the loss
    sample_weights: np.ndarray | None = None  # per planned row, for a weighted sampler
    counts_before: list[int] = field(default_factory=list)
    counts_after: list[int] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "counts_before": self.counts_before,
            "counts_after": self.counts_after,
            "class_weights": None if self.class_weights is None else [round(float(w), 6) for w in self.class_weights],
            "weighted_sampler": self.sample_weights is not None,
            **self.info,
        }


class ImbalanceStrategy(Component):
    members: ClassVar[int] = 1  # > 1: an ensemble, one plan per member
    needs_two_classes: ClassVar[bool] = False

    def n_members(self) -> int:
        return self.members

    def fit_resample(self, labels: np.ndarray, num_classes: int, seed: int) -> TrainPlan:
        labels = np.asarray(labels, dtype=np.int64)
        counts = np.bincount(labels, minlength=num_classes)
        if self.needs_two_classes and (counts > 0).sum() < 2:
            raise DataError(f"imbalance strategy {self.name!r} needs at least two classes in the training split")
        plan = self._fit_resample(labels, num_classes, np.random.default_rng(seed))
        plan.counts_before = counts.tolist()
        plan.counts_after = np.bincount(labels[plan.indices], minlength=num_classes).tolist()
        log.info("imbalance %s: class counts %s -> %s", self.name, plan.counts_before, plan.counts_after)
        return plan

    def _fit_resample(self, labels: np.ndarray, num_classes: int, rng: np.random.Generator) -> TrainPlan:
        return TrainPlan(indices=np.arange(len(labels)))

    def loss(self, logits, labels, plan: TrainPlan):
        """Training loss; the default is (class-weighted) cross-entropy."""
        import torch
        import torch.nn.functional as F

        weight = None
        if plan.class_weights is not None:
            weight = torch.as_tensor(plan.class_weights, dtype=logits.dtype, device=logits.device)
        return F.cross_entropy(logits, labels, weight=weight)

    def adjust(self, val_logits: np.ndarray, val_labels: np.ndarray, test_logits: np.ndarray,
               train_counts: list[int]) -> np.ndarray:
        """Post-hoc correction of test logits (identity unless the strategy says otherwise)."""
        return test_logits


@IMBALANCE.register("none")
class NoStrategy(ImbalanceStrategy):
    summary = "train on the split as it is, plain cross-entropy"
