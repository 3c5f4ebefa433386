"""Whole texts (full), truncation (head, tail, head_tail), segmentation (chunk) and shuffling (random_window)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from bench.components.context.base import CONTEXT, ContextPolicy, Window, aggregate
from bench.errors import ConfigError

# Sun et al. (2019), "How to Fine-Tune BERT for Text Classification?": 128 head + 382 tail tokens
# of the 510 content tokens at max_length 512; other lengths keep the same share.
SUN_HEAD, SUN_CONTENT = 128, 510


@CONTEXT.register("full")
class Full(ContextPolicy):
    summary = "the whole text, no window (whole-text models only: tfidf-logreg; transformers use chunk)"
    needs = frozenset({"whole_text"})

    def encode(self, docs, max_length, tokenizer, *, train, seed=0, epoch=0):
        raise ConfigError("context policy 'full' gives whole texts, not token windows: a transformer cannot take "
                          "arbitrarily long input (use chunk)")


@CONTEXT.register("head")
class Head(ContextPolicy):
    summary = "truncation: keep the first tokens"

    def _spans(self, length, n, *, train, rng):
        return [[(0, n)]]


@CONTEXT.register("tail")
class Tail(ContextPolicy):
    summary = "truncation: keep the last tokens"

    def _spans(self, length, n, *, train, rng):
        return [[(length - n, length)]]


@CONTEXT.register("head_tail")
class HeadTail(ContextPolicy):
    summary = "truncation: first `head` + last (rest) tokens; default head share 128/510 (Sun et al. 2019)"
    head: int | None = Field(None, ge=0)  # content tokens from the start; None = round(n * 128 / 510)

    def head_tokens(self, n: int) -> int:
        return round(n * SUN_HEAD / SUN_CONTENT) if self.head is None else self.head

    def _check(self, n, max_length, tokenizer):
        if self.head is not None and self.head > n:
            raise ConfigError(f"context policy 'head_tail': head={self.head} is larger than the {n} content "
                              f"tokens max_length {max_length} leaves")

    def _spans(self, length, n, *, train, rng):
        h = self.head_tokens(n)
        return [[(0, h), (length - (n - h), length)]]


@CONTEXT.register("chunk")
class Chunk(ContextPolicy):
    summary = ("segmentation: windows every `stride` tokens (or `overlap` shared), at most `max_windows`; "
               "document = aggregation of its windows (mean | max of probabilities, logit_mean)")
    stride: int | None = Field(None, ge=1)  # content tokens between window starts; None = window - overlap
    overlap: int | None = Field(None, ge=0)  # content tokens consecutive windows share; None = 0
    max_windows: int | None = Field(None, ge=1)  # keep the first k windows of a document
    aggregation: Literal["mean", "max", "logit_mean"] = "mean"

    @model_validator(mode="after")
    def _one_of(self):
        if self.stride is not None and self.overlap is not None:
            raise ValueError("give stride or overlap, not both")
        return self

    def step(self, n: int) -> int:
        return self.stride if self.stride is not None else n - (self.overlap or 0)

    def _check(self, n, max_length, tokenizer):
        if self.stride is not None and self.stride > n:
            raise ConfigError(f"context policy {self.name!r}: stride={self.stride} is larger than the window of "
                              f"{n} content tokens at max_length {max_length} (tokens would be skipped)")
        if self.overlap is not None and self.overlap >= n:
            raise ConfigError(f"context policy {self.name!r}: overlap={self.overlap} must be smaller than the "
                              f"window of {n} content tokens at max_length {max_length}")

    def _spans(self, length, n, *, train, rng):
        return chunk_spans(length, n, self.step(n), self.max_windows)

    def aggregate(self, window_logits, doc_index, n_docs):
        return aggregate(window_logits, doc_index, n_docs, self.aggregation)


def chunk_spans(length: int, n: int, step: int, max_windows: int | None = None) -> list[Window]:
    """Windows of ``n`` tokens starting every ``step`` tokens; the last one ends at the document's
    end (it may be shorter). Consecutive windows share ``n - step`` tokens."""
    spans, start = [], 0
    while True:
        spans.append([(start, min(start + n, length))])
        if start + n >= length or (max_windows is not None and len(spans) >= max_windows):
            return spans
        start += step


@CONTEXT.register("random_window")
class RandomWindow(Chunk):
    summary = ("shuffling: each epoch trains on a fresh random window of each long document; inference by "
               "chunk aggregation (chunk parameters apply) or head")
    per_epoch: ClassVar[bool] = True
    needs = frozenset({"token_windows", "train_stream"})
    inference: Literal["chunk", "head"] = "chunk"

    def _spans(self, length, n, *, train, rng):
        if train:
            start = int(rng.integers(0, length - n + 1))
            return [[(start, start + n)]]
        if self.inference == "head":
            return [[(0, n)]]
        return super()._spans(length, n, train=train, rng=rng)

    def train_stream(self, docs, max_length, tokenizer, seed):
        from bench.components.context.stream import TrainStream

        return TrainStream(self, docs, tokenizer, seed, lengths=[max_length], by_epoch=True, adapt_batch=False)

