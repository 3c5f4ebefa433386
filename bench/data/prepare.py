"""From a TaskSpec to clean, deduplicated, deterministically split data.

Splits and limits depend on the task (name + version) only, never on a cell's seed, so every
seed of a configuration sees the same rows and differences between cells are the method's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from bench.data.cuts import _stratified_cut, stratified_subset  # noqa: F401 - re-exported
from bench.errors import DataError
from bench.hashing import short_hash
from bench.registry import suggest
from bench.spec.task import SPLITS, TaskSpec


@dataclass(frozen=True)
class Split:
    texts: list[str]
    labels: np.ndarray  # int64 class indices into TaskData.label_names
    ids: list[str]
    domains: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, idx) -> Split:
        idx = np.asarray(idx, dtype=np.int64)
        return Split(
            texts=[self.texts[i] for i in idx],
            labels=self.labels[idx],
            ids=[self.ids[i] for i in idx],
            domains=None if self.domains is None else [self.domains[i] for i in idx],
        )

    def counts(self, k: int) -> list[int]:
        return np.bincount(self.labels, minlength=k).tolist()


@dataclass(frozen=True)
class TaskData:
    spec: TaskSpec
    label_names: list[str]
    splits: dict[str, Split]
    stats: dict = field(default_factory=dict)  # dedup / drop counts, for the data card and record

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for name in SPLITS:
            s = self.splits[name]
            h.update(name.encode())
            for i, t, y in zip(s.ids, s.texts, s.labels.tolist(), strict=True):
                h.update(f"{i}\x1f{y}\x1f{t}\x1e".encode())
        return h.hexdigest()[:16]


def normalise_text(text: str) -> str:
    """The key under which two texts are the same document: whitespace runs collapsed, lower case.
    Deduplication (:func:`_dedupe`) and DAPT's held-out filter (bench.components.adapt) both use it,
    so that a text removed as an evaluation duplicate is exactly one the adaptation corpus drops."""
    return " ".join(text.split()).lower()


def task_seed(spec: TaskSpec, purpose: str = "split") -> int:
    """Seed for splits and limits: from the task's source and version (not its name), so a
    long-tailed variant shares its parent's validation and test rows."""
    key = f"{spec.source.model_dump_json()}@{spec.version}/{purpose}"
    return int(short_hash(key, 8), 16)


def load_task_data(spec: TaskSpec) -> TaskData:
    return _load_cached(spec.model_dump_json(), spec.path)


@lru_cache(maxsize=8)
def _load_cached(spec_json: str, path: str | None) -> TaskData:
    """The prepared splits, from the disk cache (bench.data.prepared) when it holds them for this
    spec, raw source and code; else prepared here and stored there."""
    from bench.data.prepared import prepared_key, read_prepared, write_prepared

    spec = TaskSpec.model_validate_json(spec_json)
    spec = spec.model_copy(update={"path": path})
    key = prepared_key(spec, spec_json)
    doc = read_prepared(key)
    if doc is not None:
        splits = {name: Split(**s) for name, s in doc["splits"].items()}
        return TaskData(spec=spec, label_names=doc["label_names"], splits=splits, stats=doc["stats"])
    data = _prepare(spec)
    write_prepared(key, data)
    return data


def _prepare(spec: TaskSpec) -> TaskData:
    from bench.data.sources import load_source

    raw = load_source(spec)
    stats: dict = {"dropped_empty": 0, "duplicates_removed": 0}
    frames = {name: _clean(spec, name, df, stats) for name, df in raw.items()}
    if spec.top_k_labels and "test" not in frames:  # carve test first: label choice never sees it
        frames = _carve_test(spec, frames)
    label_names = _label_names(spec, frames)
    frames = {name: _encode_labels(spec, name, df, label_names) for name, df in frames.items()}
    frames = _dedupe(spec, frames, stats)
    frames = _make_splits(spec, frames)
    splits = {}
    for name in SPLITS:
        df = frames[name]
        if name in spec.limit:
            df = df.iloc[stratified_subset(df["y"].to_numpy(), spec.limit[name], task_seed(spec, name))]
        if len(df) == 0:
            raise DataError(f"task {spec.name!r}: split {name!r} is empty")
        splits[name] = Split(
            texts=df["text"].tolist(),
            labels=df["y"].to_numpy(dtype=np.int64),
            ids=df["id"].astype(str).tolist(),
            domains=df["domain"].astype(str).tolist() if "domain" in df else None,
        )
    if spec.long_tail is not None:
        from bench.data.longtail import long_tail_indices

        idx = long_tail_indices(splits["train"].labels, spec.long_tail, task_seed(spec, "long_tail"))
        splits["train"] = splits["train"].take(idx)
    if len(set(splits["train"].labels.tolist())) < 2:
        raise DataError(f"task {spec.name!r}: the training split has only one class")
    return TaskData(spec=spec, label_names=label_names, splits=splits, stats=stats)


def _clean(spec: TaskSpec, split: str, df: pd.DataFrame, stats: dict) -> pd.DataFrame:
    from bench.data.sources import ROW

    for col in (spec.text_column, spec.label_column, spec.domain_column):
        if col is not None and col not in df.columns:
            raise DataError(f"task {spec.name!r}: column {col!r} not found in {_where(spec, split)}"
                            f"{suggest(col, [c for c in df.columns if c != ROW and (c != 'id' or not df.attrs.get('bench_ids'))])}".replace("choices:", "columns:"))
    out = pd.DataFrame({"id": df["id"].astype(str), "text": df[spec.text_column], "label": df[spec.label_column]})
    if ROW in df.columns:
        out[ROW] = df[ROW]
    if spec.domain_column:
        out["domain"] = df[spec.domain_column].astype(str)
    empty = out["text"].isna() | (out["text"].astype(str).str.strip() == "")
    if empty.any():
        if not spec.drop_empty:
            raise DataError(
                f"task {spec.name!r}: {int(empty.sum())} empty or null texts in split {split!r} "
                f"(column {spec.text_column!r}); set drop_empty: true in the task file to drop them"
            )
        stats["dropped_empty"] += int(empty.sum())
        out = out[~empty]
    if spec.top_k_labels:  # rows outside the top K (null labels included) are dropped later
        out = out[~out["label"].isna()]
    if out["label"].isna().any():
        raise DataError(f"task {spec.name!r}: {int(out['label'].isna().sum())} null labels in split {split!r}")
    out["text"] = out["text"].astype(str)
    return out.reset_index(drop=True)


def _carve_test(spec: TaskSpec, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The test split carved from the raw training pool, stratified over the raw label values."""
    frames = dict(frames)
    pool = frames.pop("train") if "train" in frames else frames.pop("all", None)
    if pool is None:
        raise DataError(f"task {spec.name!r}: source has no 'train' split (has: {', '.join(frames)})")
    codes = pd.factorize(pool["label"].astype(str), sort=True)[0]
    n_test = max(1, int(round(len(pool) * spec.split_rule.test)))
    rest, test = _stratified_cut(codes, len(pool) - n_test, task_seed(spec, "test"))
    frames["train"], frames["test"] = pool.iloc[rest].reset_index(drop=True), pool.iloc[test].reset_index(drop=True)
    return frames


def _label_names(spec: TaskSpec, frames: dict[str, pd.DataFrame]) -> list[str]:
    if spec.top_k_labels:
        pool = frames.get("train", next(iter(frames.values())))
        counts = pool["label"].astype(str).value_counts()
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        names = sorted(k for k, _ in ranked[: spec.top_k_labels])
        for name, df in frames.items():
            frames[name] = df[df["label"].astype(str).isin(names)].reset_index(drop=True)
        return names
    if spec.label_names is not None:
        return list(spec.label_names)
    values = pd.concat([df["label"] for df in frames.values()])
    if pd.api.types.is_integer_dtype(values):
        raise DataError(f"task {spec.name!r}: integer labels need label_names in the task file")
    return sorted(values.astype(str).unique().tolist())


def _where(spec: TaskSpec, split: str) -> str:
    """A user file's name (the split's file), else ``split 'NAME'``."""
    rel = getattr(spec.source, split, None) if spec.source.type == "files" else None
    return str(rel) if isinstance(rel, str) else f"split {split!r}"


def _encode_labels(spec: TaskSpec, split: str, df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    index = {n: i for i, n in enumerate(names)}
    lab = df["label"]
    if pd.api.types.is_integer_dtype(lab) and spec.label_names is not None:
        bad = lab[(lab < 0) | (lab >= len(names))]
        y = lab.to_numpy()
    else:
        y = lab.astype(str).map(index)
        bad = lab[y.isna()]
    if len(bad):
        row = df.loc[bad.index[0]]
        at = f"row {row['__row__']}" if "__row__" in df.columns else f"id {row['id']}"
        raise DataError(f"task {spec.name!r}: {_where(spec, split)} {at}: label {bad.iloc[0]!r} not in label_names "
                        f"{names}{suggest(str(bad.iloc[0]), names).split(' (choices')[0]}")
    df = df.copy()
    df["y"] = np.asarray(y, dtype=np.int64)
    return df


def _dedupe(spec: TaskSpec, frames: dict[str, pd.DataFrame], stats: dict) -> dict[str, pd.DataFrame]:
    """Exact duplicates (whitespace-normalised) are removed within each split, training rows whose
    text also appears in an evaluation split are removed from training (no leakage), and validation
    rows whose text is also in test are removed from validation (test stays as the source gives it).
    All are counted in ``duplicates_removed`` (the data card)."""
    if not spec.dedupe:
        return frames
    key = {n: df["text"].map(normalise_text) for n, df in frames.items()}
    out = {}
    for name, df in frames.items():
        keep = ~key[name].duplicated(keep="first")
        out[name] = df[keep]
        stats["duplicates_removed"] += int((~keep).sum())
    if "train" in out:
        evals = set().union(*[set(key[n][out[n].index]) for n in out if n != "train"]) if len(out) > 1 else set()
        keep = ~key["train"][out["train"].index].isin(evals)
        stats["duplicates_removed"] += int((~keep).sum())
        out["train"] = out["train"][keep.to_numpy()]
    if "validation" in out and "test" in out:
        keep = ~key["validation"][out["validation"].index].isin(set(key["test"][out["test"].index]))
        stats["duplicates_removed"] += int((~keep).sum())
        out["validation"] = out["validation"][keep.to_numpy()]
    return {n: df.reset_index(drop=True) for n, df in out.items()}


def _make_splits(spec: TaskSpec, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    frames = dict(frames)
    rule = spec.split_rule
    if "train" not in frames:
        if "all" not in frames:
            raise DataError(f"task {spec.name!r}: source has no 'train' split (has: {', '.join(frames)})")
        frames["train"] = frames.pop("all")
    if "test" not in frames:
        pool = frames["train"]
        n_test = max(1, int(round(len(pool) * rule.test)))
        rest, test = _stratified_cut(pool["y"].to_numpy(), len(pool) - n_test, task_seed(spec, "test"))
        frames["test"] = pool.iloc[test]
        frames["train"] = pool.iloc[rest].reset_index(drop=True)
    if "validation" not in frames:
        train = frames["train"]
        n_val = max(1, int(round(len(train) * rule.validation)))
        rest, val = _stratified_cut(train["y"].to_numpy(), len(train) - n_val, task_seed(spec, "validation"))
        frames["validation"] = train.iloc[val]
        frames["train"] = train.iloc[rest]
    for name in SPLITS:
        if len(frames[name]) == 0:
            raise DataError(f"task {spec.name!r}: split {name!r} is empty")
    return {n: frames[n].reset_index(drop=True) for n in SPLITS}
