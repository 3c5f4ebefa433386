"""Hierarchical: a document as a stack of segments, each encoded by the shared encoder, the segment
embeddings aggregated inside the model (mean, max, or a small transformer over the segments as in
LexGLUE's ``hierbert.py``; Sun et al. 2019's hierarchical variants) and classified once, trained
end to end. The policy cuts the segments; the model lives in :mod:`bench.fit.hierarchical`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from bench.components.context.base import CONTEXT, ContextPolicy
from bench.components.context.policies import chunk_spans
from bench.errors import ConfigError


@CONTEXT.register("hierarchical")
class Hierarchical(ContextPolicy):
    summary = ("hierarchical model: up to `segments` consecutive segments of `segment_length` tokens (default "
               "max_length), each encoded by the shared encoder, aggregated by mean | max | attention (2-layer "
               "transformer over segments, max-pooled; LexGLUE), one prediction per document, trained end to end")
    needs: ClassVar[frozenset[str]] = frozenset({"token_windows", "segments"})
    exportable: ClassVar[bool] = False  # the trained stack is not a plain transformers classifier (--save-model)
    segments: int = Field(4, ge=1)  # segments per document (the first k; the rest of a long document is cut)
    segment_length: int | None = Field(None, ge=2)  # tokens per segment, special tokens included; None = max_length
    aggregator: Literal["mean", "max", "attention"] = "attention"

    def window_length(self, max_length: int) -> int:
        """Tokens per segment (special tokens included)."""
        return self.segment_length or max_length

    def content_length(self, max_length: int, tokenizer) -> int:
        try:
            return super().content_length(self.window_length(max_length), tokenizer)
        except ConfigError:
            raise ConfigError(f"context policy 'hierarchical': segment_length {self.window_length(max_length)} leaves no "
                              "room for content after the special tokens") from None

    def encode(self, docs, max_length, tokenizer, *, train, seed=0, epoch=0):
        """Segments (as windows, ``doc_index`` = their document), each at most ``segment_length`` tokens."""
        return super().encode(docs, self.window_length(max_length), tokenizer, train=train, seed=seed, epoch=epoch)

    def _spans(self, length, n, *, train, rng):
        return chunk_spans(length, n, n, self.segments)
