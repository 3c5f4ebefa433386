"""Long-tailed training splits derived deterministically from a task (test split untouched)."""

from __future__ import annotations

import numpy as np

from bench.spec.task import LongTail


def long_tail_counts(counts: list[int], spec: LongTail) -> list[int]:
    """Target per-class counts: class 0 keeps the most, the last keeps ``max / imbalance_ratio``.

    ``exponential``: n_c = n_max * ratio^(-c/(K-1)) (Cao et al. 2019); ``step``: the first half of
    the classes keep n_max, the second half n_max / ratio. Never more than a class has.
    """
    k = len(counts)
    n_max = max(counts)
    targets = []
    for c in range(k):
        if spec.profile == "exponential":
            t = n_max * spec.imbalance_ratio ** (-c / max(k - 1, 1))
        else:
            t = n_max if c < (k + 1) // 2 else n_max / spec.imbalance_ratio
        targets.append(max(1, min(counts[c], int(round(t)))))
    return targets


def long_tail_indices(labels: np.ndarray, spec: LongTail, seed: int) -> np.ndarray:
    labels = np.asarray(labels)
    counts = np.bincount(labels).tolist()
    targets = long_tail_counts(counts, spec)
    rng = np.random.default_rng(seed)
    keep = [np.sort(rng.permutation(np.flatnonzero(labels == c))[:t]) for c, t in enumerate(targets)]
    return np.sort(np.concatenate(keep))
