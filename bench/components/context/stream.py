"""Training windows that change during training, drawn for the whole run up front.

A :class:`TrainStream` turns (documents, epochs, batch size) into a *drawn*: every training batch
of the run, each item a key ``(document, epoch, stage)``. The dataset materialises a key by
slicing already-tokenised ids (a policy's windows for that epoch at that stage's length), so no
text is ever re-tokenised. ``random_window`` draws a new window per epoch; ``length_schedule``
uses growing lengths with adapted batch sizes, so epochs have different numbers of batches.

The HF Trainer assumes a fixed number of steps per epoch, so a stream runs as one Trainer pass of
``max_steps`` = the drawn's optimizer steps; a callback marks the drawn's epoch ends for
evaluation, checkpointing, logging and early stopping, and keeps ``state.epoch`` in drawn epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bench.components.context.base import ContextPolicy, Windows, special_affixes

Key = tuple[int, int, int]  # (document, epoch, stage)


@dataclass
class StreamBatches:
    batches: list[list[Key]]
    epoch_ends: list[int]  # number of batches drawn by the end of each epoch
    lengths: list[int]  # max_length per stage
    batch_sizes: list[int]  # batch size per stage
    epochs: float
    stage_epochs: list[float] = field(default_factory=list)  # epochs' worth of documents per stage


class TrainStream:
    def __init__(self, policy: ContextPolicy, docs: list[list[int]], tokenizer, seed: int, *,
                 lengths: list[int], by_epoch: bool, adapt_batch: bool) -> None:
        self.policy, self.docs, self.tokenizer, self.seed = policy, docs, tokenizer, seed
        self.lengths, self.by_epoch, self.adapt_batch = lengths, by_epoch, adapt_batch
        self._cache: dict[tuple[int, int], Windows] = {}

    def stage(self, epoch: int, progress: float) -> int:
        """Stage for a batch starting at ``progress`` (0..1 of training) in ``epoch``."""
        last = len(self.lengths) - 1
        return min(epoch, last) if self.by_epoch else min(int(progress * len(self.lengths)), last)

    def batch_size(self, stage: int, batch_size: int) -> int:
        if not self.adapt_batch:
            return batch_size
        return max(1, round(batch_size * self.lengths[-1] / self.lengths[stage]))

    def draw(self, batch_size: int, epochs: float, p: np.ndarray | None = None) -> StreamBatches:
        """Every batch of the run; ``p`` = draw probability per document (a weighted sampler), None = uniform."""
        n = len(self.docs)
        batches: list[list[Key]] = []
        ends: list[int] = []
        seen = np.zeros(len(self.lengths))
        for epoch in range(math.ceil(epochs)):
            rng = np.random.default_rng([self.seed, epoch, 7])
            order = rng.permutation(n) if p is None else rng.choice(n, size=n, replace=True, p=p)
            order = order[: round(min(1.0, epochs - epoch) * n)]
            pos = 0
            while pos < len(order):
                stage = self.stage(epoch, (epoch + pos / n) / epochs)
                size = self.batch_size(stage, batch_size)
                chunk = order[pos : pos + size]
                batches.append([(int(d), epoch, stage) for d in chunk])
                seen[stage] += len(chunk) / n
                pos += size
            ends.append(len(batches))
        return StreamBatches(batches, ends, list(self.lengths),
                    [self.batch_size(s, batch_size) for s in range(len(self.lengths))], epochs, seen.round(4).tolist())

    def windows(self, epoch: int, stage: int) -> Windows:
        key = (epoch if self.policy.per_epoch else 0, stage)
        if key not in self._cache:
            self._cache[key] = self.policy.encode(self.docs, self.lengths[stage], self.tokenizer, train=True,
                                                  seed=self.seed, epoch=key[0])
            assert len(self._cache[key].input_ids) == len(self.docs), "a stream needs one training window per doc"
        return self._cache[key]

    def window(self, key: Key) -> list[int]:
        d, epoch, stage = key
        return self.windows(epoch, stage).input_ids[d]

    def stats(self, drawn: StreamBatches) -> dict:
        """What the drawn feeds the model: windows, truncated share, tokens (all epochs)."""
        n_special = sum(map(len, special_affixes(self.tokenizer)))
        sizes = np.array([len(self.window(k)) for b in drawn.batches for k in b], dtype=np.int64)
        doc_len = np.array([len(self.docs[k[0]]) for b in drawn.batches for k in b], dtype=np.int64)
        content = sizes - n_special
        return {
            "windows": int(len(sizes)),
            "windows_per_doc": len(sizes) / max(len(self.docs) * drawn.epochs, 1e-9),
            "truncated_share": float((doc_len > content).mean()) if len(sizes) else 0.0,
            "content_tokens": int(content.sum()),
            "tokens": int(sizes.sum()),
            "batches": len(drawn.batches),
            "lengths": drawn.lengths,
            "batch_sizes": drawn.batch_sizes,
            "stage_epochs": drawn.stage_epochs,
        }

    def trainer_setup(self, labels: np.ndarray, batch_size: int, epochs: float, grad_accum: int,
                      p: np.ndarray | None = None) -> tuple[StreamDataset, dict, list]:
        """The training dataset, TrainingArguments overrides and callbacks that run the drawn batches."""
        drawn = self.draw(batch_size, epochs, p)
        steps = math.ceil(len(drawn.batches) / grad_accum)
        overrides = {"max_steps": steps, "eval_strategy": "steps", "save_strategy": "steps",
                     "logging_strategy": "steps", "eval_steps": steps, "save_steps": steps, "logging_steps": steps}
        ends = [math.ceil(e / grad_accum) for e in drawn.epoch_ends]
        return StreamDataset(self, labels, drawn), overrides, [_epoch_clock(ends, epochs)]


class StreamDataset:
    """Map dataset over drawn keys; its own dataloader replays the drawn's batches."""

    def __init__(self, stream: TrainStream, labels: np.ndarray, drawn: StreamBatches) -> None:
        self.stream, self.labels, self.drawn = stream, np.asarray(labels), drawn

    def __len__(self) -> int:
        return len(self.stream.docs)

    def __getitem__(self, key: Key) -> dict:
        return {"input_ids": self.stream.window(key), "labels": int(self.labels[key[0]])}

    def stats(self) -> dict:
        return self.stream.stats(self.drawn)

    def dataloader(self, collate_fn):
        from torch.utils.data import DataLoader

        return DataLoader(self, batch_sampler=self.drawn.batches, collate_fn=collate_fn, num_workers=0)


def _epoch_clock(ends: list[int], epochs: float):
    """A TrainerCallback: drawn epoch ends trigger evaluate/save/log; ``state.epoch`` in drawn epochs."""
    from transformers import TrainerCallback

    class EpochClock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            step = state.global_step
            k = next((i for i, e in enumerate(ends) if step <= e), len(ends) - 1)
            start = ends[k - 1] if k else 0
            state.epoch = k + min(1.0, epochs - k) * (step - start) / max(ends[k] - start, 1)
            if step in ends:
                control.should_evaluate = control.should_save = control.should_log = True
            return control

    return EpochClock()
