"""Deterministic stratified cuts (splits carved from a pool, limits) that keep rare classes."""

from __future__ import annotations

import numpy as np

from bench.errors import DataError


def stratified_subset(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of a stratified, deterministic subset of size ``min(n, len)``, in original order."""
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    keep, _ = _stratified_cut(labels, n, seed)
    return np.sort(keep)


def _stratified_cut(labels: np.ndarray, n_first: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified cut into ``n_first`` rows and the rest (each sorted). When every
    class has >= 2 rows and both parts can hold one of each, scikit-learn's stratified split (as
    always); otherwise :func:`_allocate` keeps a row of every class in the first part where room
    allows (singletons go there), then one of every class with >= 2 rows in the second, and shares
    the rest in proportion, so a rare class is never lost and stratification never silently stops."""
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    n = len(labels)
    if not 0 < n_first < n:
        raise DataError(f"cannot cut {n} rows into {n_first} and {n - n_first}: each part needs a row")
    classes, counts = np.unique(labels, return_counts=True)
    if (counts >= 2).all() and min(n_first, n - n_first) >= len(classes):
        first, second = train_test_split(np.arange(n), train_size=n_first, random_state=seed, stratify=labels)
        return np.sort(first), np.sort(second)
    rng = np.random.default_rng(seed)
    take = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, _allocate(counts, n_first),
                                                                                  strict=True)]
    first = np.sort(np.concatenate(take))
    return first, np.setdiff1d(np.arange(n), first)


def _allocate(counts: np.ndarray, n_first: int) -> np.ndarray:
    """Rows per class for the first part: >= 1 for every class (largest first, while room), <= count - 1
    for classes with >= 2 rows (largest first, while the second part has room), else proportional."""
    n = int(counts.sum())
    order = np.argsort(-counts, kind="stable")
    lo, hi = np.zeros_like(counts), counts.copy()
    lo[order[:n_first]] = 1
    multi = [c for c in order if counts[c] >= 2][: n - n_first]
    hi[multi] = counts[multi] - 1
    target = counts * n_first / n
    alloc = np.clip(np.floor(target).astype(counts.dtype), lo, hi)
    while alloc.sum() < n_first:  # largest shortfall first (ties: the lower class index)
        room = np.where(alloc < hi, target - alloc, -np.inf)
        alloc[int(np.argmax(room))] += 1
    while alloc.sum() > n_first:
        spare = np.where(alloc > lo, alloc - target, -np.inf)
        alloc[int(np.argmax(spare))] -= 1
    return alloc
