"""The HF Trainer customised through its documented override points; datasets and samplers."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.components.context import Windows
from bench.components.imbalance import ImbalanceStrategy, Resampling


class LengthBucketSampler:
    """Indices for batches of similar lengths, still random (transformers' ``LengthGroupedSampler``
    scheme): per epoch a fresh permutation, cut into mega-batches, each sorted by length (longest
    first) and cut into batches; the full batches are shuffled (a partial one goes last so that the
    DataLoader's batch boundaries stay put). A mega-batch holds ``mega`` batches, fewer on small
    training sets (4 to n/8 windows' worth), so that batch composition changes from epoch to epoch
    (sorting a small set whole gave nearly the same batches every epoch). Deterministic per
    (seed, epoch); the epoch is the Trainer's ``set_epoch`` or else counts the ``__iter__`` calls."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, mega: int = 50) -> None:
        self.lengths, self.batch_size, self.seed, self.mega = list(lengths), batch_size, seed, mega
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.lengths)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches_per_mega(self) -> int:
        return min(self.mega, max(4, len(self.lengths) // (8 * self.batch_size)))

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        perm, bs = rng.permutation(len(self.lengths)), self.batch_size
        size = self.batches_per_mega() * bs
        batches = []
        for s in range(0, len(perm), size):
            mega = sorted(perm[s : s + size].tolist(), key=lambda i: -self.lengths[i])
            batches += [mega[j : j + bs] for j in range(0, len(mega), bs)]
        full = [b for b in batches if len(b) == bs]
        ordered = [full[k] for k in rng.permutation(len(full))] + [b for b in batches if len(b) < bs]
        return iter([i for b in ordered for i in b])


class WindowDataset:
    """A torch-style map dataset of windows (+ labels)."""

    def __init__(self, windows: Windows, labels: np.ndarray | None) -> None:
        self.windows = windows
        self.labels = None if labels is None else np.asarray(labels)[windows.doc_index]

    def __len__(self) -> int:
        return len(self.windows.input_ids)

    def __getitem__(self, i: int) -> dict:
        item: dict[str, Any] = {"input_ids": self.windows.input_ids[i]}
        if self.labels is not None:
            item["labels"] = int(self.labels[i])
        return item


def trainer_class():
    from torch.utils.data import DataLoader, WeightedRandomSampler
    from transformers import Trainer

    class BenchTrainer(Trainer):
        def __init__(self, *args, strategy: ImbalanceStrategy, resampling: Resampling, group_by_length: bool = False,
                     **kwargs):
            super().__init__(*args, **kwargs)
            # compute_loss returns the mean over its micro-batch and ignores num_items_in_batch: the
            # Trainer must divide by the accumulation steps itself (it skips that for a model whose
            # forward takes **kwargs, and would then sum grad_accum micro-batch means)
            self.model_accepts_loss_kwargs = False
            self.strategy = strategy
            self.resampling = resampling
            self.group_by_length = group_by_length
            self.tokens_real = self.tokens_total = self.samples_seen = 0
            self.eval_seconds = 0.0  # validation inside train(): not training steps

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model.training:  # count what training really processes (padding included)
                mask = inputs["attention_mask"]
                self.tokens_real += int(mask.sum())
                self.tokens_total += int(mask.numel())
                self.samples_seen += int(mask.shape[0])
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            loss = self.strategy.loss(outputs.logits, labels, self.resampling)
            return (loss, outputs) if return_outputs else loss

        def _get_train_sampler(self, train_dataset=None):
            if not self.group_by_length:
                return super()._get_train_sampler(train_dataset)
            ds = train_dataset if train_dataset is not None else self.train_dataset
            return LengthBucketSampler([len(x) for x in ds.windows.input_ids],
                                       self._train_batch_size * self.args.gradient_accumulation_steps, self.args.seed)

        def evaluate(self, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return super().evaluate(*args, **kwargs)
            finally:
                self.eval_seconds += time.perf_counter() - t0

        def get_train_dataloader(self):
            if hasattr(self.train_dataset, "dataloader"):  # batches drawn up front (bench.components.context.stream)
                return self.accelerator.prepare(self.train_dataset.dataloader(self.data_collator))
            ds = self.train_dataset
            window_weights = self.resampling.window_weights(ds.windows.doc_index)
            if window_weights is None:
                return super().get_train_dataloader()
            import torch

            weights = torch.as_tensor(window_weights, dtype=torch.double)
            gen = torch.Generator().manual_seed(self.args.seed)
            sampler = WeightedRandomSampler(weights, num_samples=len(ds), replacement=True, generator=gen)
            dl = DataLoader(ds, batch_size=self._train_batch_size, sampler=sampler,
                            collate_fn=self.data_collator, num_workers=0)
            return self.accelerator.prepare(dl)

    return BenchTrainer


def single_pass_args(tp) -> dict:
    """One epoch has one evaluation point: validating, checkpointing and reloading "the best" inside
    train() would return the very same model, so skip them (fit_predict scores validation anyway)."""
    import math

    if math.ceil(tp.epochs) > 1:
        return {}
    return {"eval_strategy": "no", "save_strategy": "no", "load_best_model_at_end": False}
