"""Capabilities: what a component needs from the fitter, and what each fitter supports.

Every component class (imbalance strategy, context policy, method, adaptation) declares
``needs``, a set of the capability names below; every fitter (``bench.fit.base.FITTERS``) declares
``supports``. A cell whose components need something its fitter does not support is refused at
validation (:func:`check_capabilities`, called by ``bench.run.worker.validate_cell`` for single
runs and at matrix planning) with one line naming what is missing, instead of running and being
recorded under a name it did not honour (e.g. focal loss on a TF-IDF logistic regression).
"""

from __future__ import annotations

from collections.abc import Iterable

from bench.errors import ConfigError

# capability -> what it means (the words the refusal uses)
CAPABILITIES = {
    "loss_hook": "a training loss the strategy can replace (focal loss)",
    "class_weights": "per-class loss weights (a weighted loss or a weighted fit)",
    "row_indices": "training on resampled rows (repeated or dropped training documents)",
    "sample_weights": "per-row sampling weights (a weighted sampler or a sample-weighted fit)",
    "members": "several models trained on different resamplings (an ensemble)",
    "token_windows": "token windows of max_length tokens cut from each document",
    "train_stream": "training windows that change during training (per epoch or per stage)",
    "whole_text": "the whole text of every document, no window",
    "encoder": "a transformer encoder (to adapt, to fit adapters to, or to take frozen features from)",
    "length_grouping": "batches of similar lengths from its own training sampler (group_by_length)",
    "segments": "documents as stacks of token segments, batched whole and aggregated inside the model (hierarchical)",
}
# needs that put a component in charge of which training windows form a batch (a weighted sampler,
# windows drawn per epoch or stage, whole documents of segments): a fitter's length-grouped sampler is then bypassed
DRAWS_BATCHES = ("sample_weights", "train_stream", "segments")


class CapabilityError(ConfigError):
    """A cell combines components its fitter cannot honour."""


def check_capabilities(fitter_name: str, fitter_label: str, supports: Iterable[str],
                       components: Iterable[tuple[str, object]]) -> None:
    """Raise one :class:`CapabilityError` line for the first component whose needs are not supported.

    ``components``: (axis, component instance) pairs, e.g. ``("imbalance", Focal(...))``."""
    have = set(supports)
    for axis, component in components:
        missing = sorted(set(getattr(component, "needs", frozenset())) - have)
        if missing:
            name = getattr(component, "name", type(component).__name__)
            why = "; ".join(CAPABILITIES.get(m, m) for m in missing)
            hint = ""
            if "token_windows" in missing and "whole_text" in have:
                hint = " (it reads whole texts: use context full)"
            elif "whole_text" in missing and "token_windows" in have:
                hint = " (use chunk to cover long documents)"
            raise CapabilityError(f"{axis} {name!r} cannot be honoured by {fitter_label} ({fitter_name}): it needs "
                                  f"{why}{hint}")


def length_grouping_conflict(fitter_name: str, fitter_label: str, supports: Iterable[str],
                             components: Iterable[tuple[str, object]]) -> str | None:
    """Why ``group_by_length`` would be silently ignored in this cell (None: it is honoured): the
    fitter has no length-grouped sampler, or a component draws the training batches itself."""
    if "length_grouping" not in set(supports):
        return f"{fitter_label} ({fitter_name}) has no length-grouped batches"
    for axis, component in components:
        taken = [n for n in DRAWS_BATCHES if n in getattr(component, "needs", frozenset())]
        if taken:
            name = getattr(component, "name", type(component).__name__)
            why = "; ".join(CAPABILITIES[n] for n in taken)
            return f"{axis} {name!r} draws the training batches itself ({why})"
    return None


def unknown_capabilities(names: Iterable[str]) -> list[str]:
    """Names not in :data:`CAPABILITIES` (for the contract test: declarations must use known words)."""
    return sorted(set(names) - set(CAPABILITIES))
