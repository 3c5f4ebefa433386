"""Context-length policies: one document's token ids -> one or more model windows, and window
predictions -> one prediction per document.

Work is done at the token level: each text is tokenised once (no special tokens, no truncation),
policies cut the id lists, then the tokenizer's own special tokens are added around each window.
A policy describes a window as spans ``(start, end)`` of the document's ids, so coverage (and
hence the share of truncated documents) is exact. Documents that fit one window pass through
unchanged under every policy.

Policies that change their training windows during training (``random_window``,
``length_schedule``) also give a :class:`bench.components.context.stream.TrainStream`, which draws the
training batches for the whole run (see :mod:`bench.components.context.stream`).
"""

from bench.components.context import hierarchical, policies, schedule  # noqa: F401  (registers the policies)
from bench.components.context.base import (
    AGGREGATIONS,
    CONTEXT,
    ContextPolicy,
    Span,
    Window,
    Windows,
    aggregate,
    special_affixes,
)

__all__ = ["AGGREGATIONS", "CONTEXT", "ContextPolicy", "Span", "Window", "Windows", "aggregate", "special_affixes"]
