"""Strategies that change which training rows are seen: ``oversample``, ``undersample``,
``resample`` (imbalanced-learn samplers on row indices), ``balanced_sampler`` (a weighted sampler,
no copies) and ``ensemble`` (EasyEnsemble-style members on different balanced subsets).

``sampling_strategy`` follows imbalanced-learn: a string (``auto``, ``minority``, ``not minority``,
``not majority``, ``all``; ``majority`` for undersampling) or a float ratio in (0, 1]. Floats are
imbalanced-learn's binary rule applied to every class: oversampling raises each class below
``int(ratio * n_max)`` to that count; undersampling cuts each class above ``int(n_min / ratio)``
to that count. For two classes this is exactly imbalanced-learn's own float behaviour.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field, field_validator

from bench.components.imbalance.base import (
    IMBALANCE,
    ImbalanceStrategy,
    Resampling,
    imblearn_indices,
    per_class_param,
    seed_of,
)
from bench.errors import ConfigError, DataError

OVER_CHOICES = ("auto", "minority", "not minority", "not majority", "all")
UNDER_CHOICES = ("auto", "majority", "not minority", "not majority", "all")
DEFAULT_MAX_ROWS = 500_000


def _check_strategy(v, choices: tuple[str, ...]):
    if isinstance(v, str):
        if v not in choices:
            raise ValueError(f"must be a ratio in (0, 1] or one of: {', '.join(choices)}")
        return v
    if not 0 < v <= 1:
        raise ValueError("a ratio must be in (0, 1]")
    return float(v)


def _check_cap(name: str, n_rows: int, max_rows: int) -> None:
    if n_rows > max_rows:
        raise ConfigError(f"imbalance strategy {name!r}: the resampled training split would have {n_rows} rows, "
                          f"above max_rows={max_rows} (lower the target or raise max_rows)")


class _Over(ImbalanceStrategy):
    """Shared by strategies that may grow the training split."""

    max_rows: int = Field(DEFAULT_MAX_ROWS, ge=1, description="error if the resampled split would exceed this")

    def over(self, labels: np.ndarray, targets: dict[int, int], rng) -> np.ndarray:
        """Indices with every class in ``targets`` raised to its count (random, with replacement)."""
        from imblearn.over_sampling import RandomOverSampler

        counts = np.bincount(labels)
        targets = {c: t for c, t in targets.items() if t > counts[c]}
        _check_cap(self.name, len(labels) + sum(t - counts[c] for c, t in targets.items()), self.max_rows)
        if not targets:
            return np.arange(len(labels))
        return imblearn_indices(RandomOverSampler(sampling_strategy=targets, random_state=seed_of(rng)), labels)


class _Sampling(ImbalanceStrategy):
    """An imbalanced-learn ``sampling_strategy`` parameter: a ratio or one of ``choices``."""

    needs_two_classes = True
    needs = frozenset({"row_indices"})
    choices: ClassVar[tuple[str, ...]] = ()
    sampling_strategy: float | str = "auto"

    @field_validator("sampling_strategy")
    @classmethod
    def _s(cls, v):
        return _check_strategy(v, cls.choices)


@IMBALANCE.register("oversample")
class Oversample(_Over, _Sampling):
    summary = "random oversampling of minority classes (imbalanced-learn RandomOverSampler semantics)"
    choices = OVER_CHOICES

    def _fit_resample(self, labels, counts, rng) -> Resampling:
        if isinstance(self.sampling_strategy, float):
            target = int(self.sampling_strategy * counts.max())
            return Resampling(indices=self.over(labels, {int(c): target for c in np.flatnonzero(counts)}, rng))
        from imblearn.utils import check_sampling_strategy

        targets = check_sampling_strategy(self.sampling_strategy, labels, "over-sampling")  # rows to add
        return Resampling(indices=self.over(labels, {c: counts[c] + add for c, add in targets.items()}, rng))


@IMBALANCE.register("undersample")
class Undersample(_Sampling):
    summary = "random undersampling of majority classes (imbalanced-learn RandomUnderSampler semantics)"
    choices = UNDER_CHOICES

    def _fit_resample(self, labels, counts, rng) -> Resampling:
        from imblearn.under_sampling import RandomUnderSampler

        strategy: float | str | dict[int, int] = self.sampling_strategy
        if isinstance(strategy, float):
            n_min = counts[counts > 0].min()
            target = int(n_min / strategy)
            strategy = {int(c): target for c in np.flatnonzero(counts) if counts[c] > target}
        if strategy == {}:
            return Resampling(indices=np.arange(len(labels)))
        return Resampling(indices=imblearn_indices(RandomUnderSampler(sampling_strategy=strategy,
                                                                     random_state=seed_of(rng)), labels))


@IMBALANCE.register("resample")
class Resample(_Over):
    summary = "under- and oversample at once to a target class distribution (default uniform) and size"
    needs_two_classes = True
    needs = frozenset({"row_indices"})
    distribution: list[float] | str = "uniform"
    size: int | None = Field(None, ge=2, description="rows after resampling; None = as many as before")

    @field_validator("distribution")
    @classmethod
    def _d(cls, v):
        if isinstance(v, str) and v != "uniform":
            raise ValueError("must be 'uniform' or per-class proportions a/b/c")
        if isinstance(v, list) and any(p <= 0 for p in v):
            raise ValueError("per-class proportions must be > 0")
        return v

    def targets(self, counts: np.ndarray) -> np.ndarray:
        """Per-class target counts summing exactly to ``size`` (largest remainder), >= 1 each."""
        if self.distribution == "uniform":
            share = (counts > 0).astype(float)
        else:
            share = per_class_param(self.name, self.distribution, counts, "distribution")
        share = share / share.sum()
        size = int(counts.sum()) if self.size is None else self.size
        raw = share * size
        t = np.floor(raw).astype(np.int64)
        t[np.argsort(-(raw - t), kind="stable")[: size - t.sum()]] += 1
        wanted = share > 0
        if (wanted & (counts == 0)).any():
            raise DataError(f"imbalance strategy {self.name!r}: cannot resample classes with no training rows "
                            f"(class counts: {counts.tolist()})")
        return np.where(wanted, np.maximum(t, 1), 0)

    def _fit_resample(self, labels, counts, rng) -> Resampling:
        from imblearn.under_sampling import RandomUnderSampler

        targets = self.targets(counts)
        _check_cap(self.name, int(targets.sum()), self.max_rows)
        down = {c: int(targets[c]) for c in np.flatnonzero(counts) if targets[c] < counts[c]}
        idx = np.arange(len(labels))
        if down:
            idx = imblearn_indices(RandomUnderSampler(sampling_strategy=down, random_state=seed_of(rng)), labels)
        up = {int(c): int(targets[c]) for c in np.flatnonzero(counts) if targets[c] > counts[c]}
        pos = self.over(labels[idx], up, rng)
        return Resampling(indices=idx[pos], info={"target_counts": targets.tolist()})


@IMBALANCE.register("balanced_sampler")
class BalancedSampler(ImbalanceStrategy):
    summary = "class-balanced batches from a weighted sampler (row weight n_y^-power), no copies"
    needs_two_classes = True
    needs = frozenset({"sample_weights"})
    power: float = Field(1.0, ge=0, le=1, description="1 = balanced, 0.5 = square-root, 0 = natural")

    def _fit_resample(self, labels, counts, rng) -> Resampling:
        w = counts[labels].astype(np.float64) ** -self.power
        return Resampling(indices=np.arange(len(labels)), sample_weights=w * len(w) / w.sum())


@IMBALANCE.register("ensemble")
class Ensemble(ImbalanceStrategy):
    summary = "EasyEnsemble-style: k members, each on a different random balanced subset; mean probability"
    needs_two_classes = True
    needs = frozenset({"members", "row_indices"})
    k: int = Field(3, ge=2, description="number of members (each is trained: k times the cost)")

    def n_members(self) -> int:
        return self.k

    def _fit_resample(self, labels, counts, rng) -> Resampling:
        from imblearn.under_sampling import RandomUnderSampler

        sampler = RandomUnderSampler(sampling_strategy="auto", random_state=seed_of(rng))
        return Resampling(indices=imblearn_indices(sampler, labels), info={"k": self.k})
