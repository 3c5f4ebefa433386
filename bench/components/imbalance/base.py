"""The imbalance-strategy contract, the training resampling it returns, and the class-weight formulas.

Contract (imbalanced-learn's ``fit_resample`` / ``_fit_resample`` split): the public
:meth:`ImbalanceStrategy.fit_resample` validates the labels and the resampling and logs class counts;
subclasses implement the private ``_fit_resample`` hook. Strategies act on the training split only
(indices, loss weights, sampler weights) or post hoc on logits; validation and test are never
touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from bench.errors import ConfigError, DataError
from bench.registry import Registry
from bench.spec.named import Component

log = logging.getLogger(__name__)

IMBALANCE: Registry[type[ImbalanceStrategy]] = Registry("imbalance strategy")

WeightScheme = Literal["inverse", "sqrt", "effective"]
WEIGHT_SCHEMES: tuple[str, ...] = ("inverse", "sqrt", "effective")


def class_weights(counts, scheme: str, beta: float = 0.999) -> np.ndarray:
    """Per-class loss weights from training counts, scaled so the mean weight over the training
    rows is 1 (``sum_c n_c w_c = N``); classes without rows get 0.

    ``inverse``: w_c ∝ 1/n_c (equals scikit-learn's ``class_weight="balanced"``); ``sqrt``:
    w_c ∝ 1/sqrt(n_c); ``effective``: w_c ∝ (1-beta)/(1-beta^n_c), the inverse effective number
    of samples (Cui et al. 2019; beta=0 gives uniform weights, beta→1 gives ``inverse``).
    """
    n = np.asarray(counts, dtype=np.float64)
    present = n > 0
    raw = np.zeros_like(n)
    if scheme == "inverse":
        raw[present] = 1.0 / n[present]
    elif scheme == "sqrt":
        raw[present] = 1.0 / np.sqrt(n[present])
    elif scheme == "effective":
        raw[present] = (1.0 - beta) / (1.0 - beta ** n[present])
    else:
        raise ConfigError(f"unknown class-weight scheme {scheme!r} (choices: {', '.join(WEIGHT_SCHEMES)})")
    return raw * n.sum() / (n * raw).sum()


@dataclass
class Resampling:
    """What a strategy decided for one training run (one ensemble member)."""

    indices: np.ndarray  # rows of the training split to train on (may repeat)
    class_weights: np.ndarray | None = None  # loss weights per class (None = unweighted)
    sample_weights: np.ndarray | None = None  # per resampled row, for a weighted sampler (mean 1)
    counts_before: list[int] = field(default_factory=list)
    counts_after: list[int] = field(default_factory=list)  # rows per class in ``indices``
    expected_counts: list[float] = field(default_factory=list)  # per epoch, sampler included
    info: dict = field(default_factory=dict)

    def effective_class_weights(self) -> list[float]:
        """Each class's per-example influence on the training objective relative to plain
        training on the original split (rows seen per epoch x loss weight / original rows),
        scaled so the mean over the original rows is 1. ``none`` gives all ones; oversampling to
        balance, the balanced sampler and ``class_weight:scheme=inverse`` all give inverse
        frequency."""
        before = np.asarray(self.counts_before, dtype=np.float64)
        seen = np.asarray(self.expected_counts or self.counts_after, dtype=np.float64)
        loss_w = np.ones_like(before) if self.class_weights is None else np.asarray(self.class_weights, float)
        eff = np.zeros_like(before)
        present = before > 0
        eff[present] = seen[present] * loss_w[present] / before[present]
        total = (before * eff).sum()
        if total > 0:
            eff *= before.sum() / total
        return [round(float(w), 6) for w in eff]

    # -- what consumers ask of a resampling (the trainer, the probe, the classical fit, streams) --

    def draw_probabilities(self) -> np.ndarray | None:
        """Probability of drawing each resampled row in a weighted sampler (sums to 1); None = no sampler."""
        if self.sample_weights is None:
            return None
        w = np.asarray(self.sample_weights, dtype=np.float64)
        return w / w.sum()

    def window_weights(self, doc_index: np.ndarray) -> np.ndarray | None:
        """Sampler weight of each training window (the weight of the resampled row it comes from)."""
        if self.sample_weights is None:
            return None
        return np.asarray(self.sample_weights, dtype=np.float64)[doc_index]

    def epoch_rows(self, seed: int) -> np.ndarray:
        """Training-split rows of one epoch: ``indices`` as they are, or what the weighted sampler
        draws (with replacement, as many as ``indices``) when there is one."""
        docs = np.asarray(self.indices)
        p = self.draw_probabilities()
        if p is None:
            return docs
        return docs[np.random.default_rng(seed).choice(len(docs), size=len(docs), p=p)]

    def fit_weights(self, labels: np.ndarray) -> np.ndarray | None:
        """Per resampled row weights for estimators that take ``sample_weight``: the class loss weight
        of its label times its sampler weight (a weighted sampler's expectation)."""
        weights = None if self.class_weights is None else np.asarray(self.class_weights)[labels]
        if self.sample_weights is not None:
            weights = np.asarray(self.sample_weights) * (1 if weights is None else weights)
        return weights

    def record_section(self) -> dict:
        """What the record says about this resampling (``imbalance`` section, members' ``resampling``)."""
        return {
            "counts_before": self.counts_before,
            "counts_after": self.counts_after,
            "expected_counts_per_epoch": [round(float(c), 3) for c in self.expected_counts],
            "class_weights": None if self.class_weights is None else [round(float(w), 6) for w in self.class_weights],
            "effective_class_weights": self.effective_class_weights(),
            "weighted_sampler": self.sample_weights is not None,
            **self.info,
        }


class ImbalanceStrategy(Component):
    members: ClassVar[int] = 1  # > 1: an ensemble, one resampling per member
    needs_two_classes: ClassVar[bool] = False
    needs: ClassVar[frozenset[str]] = frozenset()  # capabilities the fitter must have (components/capabilities.py)
    changes_training: ClassVar[bool] = True  # False: acts only after training (post hoc, on logits)

    def n_members(self) -> int:
        return self.members

    def training_key(self) -> tuple[str, dict]:
        """What of this strategy the training sees (bench.run.share hashes it): a post-hoc-only
        strategy trains exactly like ``none``, so cells differing only in it can share one training."""
        return (self.name, self.params()) if self.changes_training else ("none", {})

    def fit_resample(self, labels: np.ndarray, num_classes: int, seed: int) -> Resampling:
        """Validate, resampling, check the resampling and log class counts before -> after."""
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) == 0:
            raise DataError(f"imbalance strategy {self.name!r}: the training split is empty")
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= num_classes:
            raise DataError(f"imbalance strategy {self.name!r}: labels must be class indices 0..{num_classes - 1}")
        labels = labels.astype(np.int64)
        counts = np.bincount(labels, minlength=num_classes)
        if self.needs_two_classes and (counts > 0).sum() < 2:
            raise DataError(f"imbalance strategy {self.name!r} needs at least two classes in the training split "
                            f"(class counts: {counts.tolist()})")
        resampling = self._fit_resample(labels, counts, np.random.default_rng(seed))
        resampling.indices = np.asarray(resampling.indices, dtype=np.int64)
        _check_resampling(self.name, resampling, len(labels), num_classes)
        resampling.counts_before = counts.tolist()
        after = np.bincount(labels[resampling.indices], minlength=num_classes)
        resampling.counts_after = after.tolist()
        if resampling.sample_weights is None:
            resampling.expected_counts = after.astype(float).tolist()
        else:
            mass = np.bincount(labels[resampling.indices], weights=resampling.sample_weights, minlength=num_classes)
            resampling.expected_counts = (mass / mass.sum() * len(resampling.indices)).tolist()
        log.info("imbalance %s: class counts %s -> %s", self.name, resampling.counts_before, resampling.counts_after)
        return resampling

    def _fit_resample(self, labels: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> Resampling:
        return Resampling(indices=np.arange(len(labels)))

    def loss(self, logits, labels, resampling: Resampling):
        """Training loss; the default is (class-weighted) cross-entropy."""
        import torch
        import torch.nn.functional as F

        weight = None
        if resampling.class_weights is not None:
            weight = torch.as_tensor(resampling.class_weights, dtype=logits.dtype, device=logits.device)
        return F.cross_entropy(logits, labels, weight=weight)

    def combine(self, member_logits: list[np.ndarray]) -> np.ndarray:
        """One member: its logits. Several: log of the mean member probability, so the softmax
        the pipeline applies afterwards gives exactly the mean of the member probabilities."""
        if len(member_logits) == 1:
            return member_logits[0]
        from bench.metrics import softmax

        mean = np.mean([softmax(lg) for lg in member_logits], axis=0)
        return np.log(np.clip(mean, 1e-300, None))

    def adjust(self, val_logits: np.ndarray, val_labels: np.ndarray, test_logits: np.ndarray,
               train_counts: list[int]) -> tuple[np.ndarray, dict]:
        """Post-hoc correction of test logits, and what was chosen (identity by default)."""
        return test_logits, {}


def _check_resampling(name: str, resampling: Resampling, n: int, k: int) -> None:
    """A strategy's own bug, not the user's: plain assertions with a clear message."""
    idx = resampling.indices
    if idx.ndim != 1 or len(idx) == 0 or idx.min() < 0 or idx.max() >= n:
        raise AssertionError(f"imbalance strategy {name!r} planned invalid training indices")
    if resampling.class_weights is not None and np.shape(resampling.class_weights) != (k,):
        raise AssertionError(f"imbalance strategy {name!r}: class_weights must have {k} entries")
    if resampling.sample_weights is not None:
        sw = np.asarray(resampling.sample_weights, dtype=np.float64)
        if sw.shape != idx.shape or (sw < 0).any() or sw.sum() <= 0:
            raise AssertionError(f"imbalance strategy {name!r}: bad sample_weights")
        resampling.sample_weights = sw


def per_class_param(name: str, values, counts: np.ndarray, what: str) -> np.ndarray:
    """A user-given per-class list (``a/b/c`` on the CLI) checked against the number of classes."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != counts.shape:
        raise ConfigError(f"imbalance strategy {name!r}: {what} has {arr.size} entries but the task has "
                          f"{counts.size} classes")
    return arr


def imblearn_indices(sampler, labels: np.ndarray) -> np.ndarray:
    """Run an imbalanced-learn sampler on row indices (so texts are never copied)."""
    rows = np.arange(len(labels)).reshape(-1, 1)
    res, _ = sampler.fit_resample(rows, labels)
    return np.asarray(res[:, 0], dtype=np.int64)


def seed_of(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))
