"""The context-policy contract: windows as spans, the policy base class, window aggregation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bench.errors import ConfigError
from bench.registry import Registry
from bench.spec.named import Component

CONTEXT: Registry[type[ContextPolicy]] = Registry("context policy")

Span = tuple[int, int]  # [start, end) in a document's ids
Window = list[Span]  # one model input: the concatenation of its spans


@dataclass(frozen=True)
class Windows:
    input_ids: list[list[int]]  # special tokens included
    doc_index: np.ndarray  # window -> document
    n_docs: int
    truncated_docs: int  # documents with at least one token no window covers
    content_tokens: int  # document tokens inside windows (overlaps counted again)

    def stats(self) -> dict[str, float]:
        return {
            "windows": len(self.input_ids),
            "windows_per_doc": len(self.input_ids) / max(self.n_docs, 1),
            "truncated_share": self.truncated_docs / max(self.n_docs, 1),
            "content_tokens": self.content_tokens,
            "tokens": sum(map(len, self.input_ids)),
        }


class ContextPolicy(Component):
    """Subclasses implement :meth:`_spans` for documents longer than one window; the base adds
    special tokens, checks lengths and passes short documents through unchanged."""

    per_epoch: ClassVar[bool] = False  # training windows differ by epoch (needs a TrainStream)
    needs: ClassVar[frozenset[str]] = frozenset({"token_windows"})  # what the fitter must have (capabilities.py)
    exportable: ClassVar[bool] = True  # --save-model can save what the fitter trains under this policy

    def window_length(self, max_length: int) -> int:
        """Tokens per model input (special tokens included): ``max_length`` unless the policy sets its own."""
        return max_length

    def content_length(self, max_length: int, tokenizer) -> int:
        prefix, suffix = special_affixes(tokenizer)
        n = max_length - len(prefix) - len(suffix)
        if n < 1:
            raise ConfigError(
                f"context policy {self.name!r}: max_length {max_length} leaves no room for content after "
                f"{len(prefix) + len(suffix)} special tokens (need at least {len(prefix) + len(suffix) + 1})"
            )
        return n

    def check(self, max_length: int, tokenizer) -> int:
        """Validate the parameters against ``max_length``; returns the content tokens per window."""
        n = self.content_length(max_length, tokenizer)
        self._check(n, max_length, tokenizer)
        return n

    def _check(self, n: int, max_length: int, tokenizer) -> None:
        """Hook: parameter checks that need the window size (raise ConfigError)."""

    def encode(self, docs: list[list[int]], max_length: int, tokenizer, *, train: bool,
               seed: int = 0, epoch: int = 0) -> Windows:
        n = self.check(max_length, tokenizer)
        prefix, suffix = special_affixes(tokenizer)
        rng = np.random.default_rng([seed, epoch, int(train)])
        ids, index, truncated, content = [], [], 0, 0
        for d, doc in enumerate(docs):
            spans = [[(0, len(doc))]] if len(doc) <= n else self._spans(len(doc), n, train=train, rng=rng)
            covered = np.zeros(len(doc), dtype=bool)
            for window in spans:
                piece = [t for s, e in window for t in doc[s:e]] if len(window) > 1 else doc[window[0][0]:window[0][1]]
                for s, e in window:
                    covered[s:e] = True
                content += len(piece)
                ids.append([*prefix, *piece, *suffix])
                index.append(d)
            truncated += int(not covered.all())
        return Windows(ids, np.asarray(index, dtype=np.int64), len(docs), truncated, content)

    def _spans(self, length: int, n: int, *, train: bool, rng: np.random.Generator) -> list[Window]:
        """Windows (each a list of spans of at most ``n`` tokens in all) for a document of
        ``length > n`` tokens."""
        raise NotImplementedError  # abstract: every registered policy overrides it

    def train_stream(self, docs: list[list[int]], max_length: int, tokenizer, seed: int):
        """A :class:`~bench.components.context.stream.TrainStream` when training windows change during
        training; ``None`` when one encoding serves every epoch."""
        return None

    def aggregate(self, window_logits: np.ndarray, doc_index: np.ndarray, n_docs: int) -> np.ndarray:
        """Mean of window logits per document (one window per document: the identity)."""
        return aggregate(window_logits, doc_index, n_docs, "logit_mean")


def special_affixes(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens a tokenizer puts before and after one sequence ([CLS] / [SEP], <s> / </s>)."""
    cached = getattr(tokenizer, "_bench_affixes", None)
    if cached is not None:
        return cached
    probe = tokenizer.encode("hello", add_special_tokens=False)
    full = tokenizer.encode("hello", add_special_tokens=True)
    for start in range(len(full) - len(probe) + 1):
        if full[start : start + len(probe)] == probe:
            affixes = (full[:start], full[start + len(probe) :])
            break
    else:  # pragma: no cover - a tokenizer that rewrites content when adding specials
        raise ConfigError(f"cannot locate content between the special tokens of {type(tokenizer).__name__}")
    tokenizer._bench_affixes = affixes
    return affixes


AGGREGATIONS = ("mean", "max", "logit_mean")


def aggregate(window_logits: np.ndarray, doc_index: np.ndarray, n_docs: int, how: str) -> np.ndarray:
    """Window logits -> one row of document scores (usable as logits: softmax gives the
    document's class probabilities).

    ``mean``: mean of window probabilities; ``max``: per-class maximum window probability
    (renormalised by the softmax downstream); ``logit_mean``: mean of window logits. The first two
    return log-probabilities so that ``softmax`` of the result is the aggregated distribution.
    """
    values = np.asarray(window_logits, dtype=np.float64)
    if how == "logit_mean":
        return _group_mean(values, doc_index, n_docs)
    shifted = values - values.max(axis=1, keepdims=True)
    proba = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    if how == "mean":
        agg = _group_mean(proba, doc_index, n_docs)
    elif how == "max":
        agg = np.zeros((n_docs, values.shape[1]))
        np.maximum.at(agg, doc_index, proba)
    else:
        raise ConfigError(f"unknown aggregation {how!r} (choices: {', '.join(AGGREGATIONS)})")
    return np.log(np.clip(agg, 1e-300, None))


def _group_mean(values: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    sums = np.zeros((n, values.shape[1]))
    np.add.at(sums, index, values)
    counts = np.bincount(index, minlength=n)[:, None]
    return sums / np.maximum(counts, 1)
