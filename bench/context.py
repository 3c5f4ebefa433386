"""Context-length policies: one document's token ids -> one or more model windows, and window
predictions -> one prediction per document.

Work is done at the token level: each text is tokenised once (no special tokens, no truncation),
policies cut the id lists, then the tokenizer's own special tokens are added around each window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.components import Component
from bench.errors import ConfigError
from bench.registry import Registry

CONTEXT: Registry[type[ContextPolicy]] = Registry("context policy")


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
    """Subclasses implement :meth:`_windows`; the base adds special tokens and checks lengths."""

    def content_length(self, max_length: int, tokenizer) -> int:
        prefix, suffix = special_affixes(tokenizer)
        n = max_length - len(prefix) - len(suffix)
        if n < 1:
            raise ConfigError(
                f"max_length {max_length} leaves no room for content after "
                f"{len(prefix) + len(suffix)} special tokens"
            )
        return n

    def encode(self, docs: list[list[int]], max_length: int, tokenizer, *, train: bool,
               seed: int = 0, epoch: int = 0) -> Windows:
        n = self.content_length(max_length, tokenizer)
        prefix, suffix = special_affixes(tokenizer)
        rng = np.random.default_rng([seed, epoch, int(train)])
        ids, index, truncated, content = [], [], 0, 0
        for d, doc in enumerate(docs):
            pieces = self._windows(doc, n, train=train, rng=rng)
            covered = sum(len(p) for p in pieces)
            truncated += int(len(doc) > 0 and _coverage(doc, pieces) < len(doc))
            content += covered
            for piece in pieces:
                ids.append([*prefix, *piece, *suffix])
                index.append(d)
        return Windows(ids, np.asarray(index, dtype=np.int64), len(docs), truncated, content)

    def _windows(self, doc: list[int], n: int, *, train: bool, rng: np.random.Generator) -> list[list[int]]:
        raise NotImplementedError  # abstract: every registered policy overrides it

    def aggregate(self, window_logits: np.ndarray, doc_index: np.ndarray, n_docs: int) -> np.ndarray:
        """Mean of window logits per document (one window per document: the identity)."""
        return _group_mean(np.asarray(window_logits, dtype=np.float64), doc_index, n_docs)


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


def _coverage(doc: list[int], pieces: list[list[int]]) -> int:
    """Tokens covered, assuming pieces are contiguous slices (sum capped by the doc length)."""
    return min(len(doc), sum(len(p) for p in pieces)) if len(pieces) <= 1 else len(doc)


def _group_mean(values: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    sums = np.zeros((n, values.shape[1]))
    np.add.at(sums, index, values)
    counts = np.bincount(index, minlength=n)[:, None]
    return sums / np.maximum(counts, 1)


@CONTEXT.register("head")
class Head(ContextPolicy):
    summary = "truncation: keep the first tokens"

    def _windows(self, doc, n, *, train, rng):
        return [doc[:n]]
