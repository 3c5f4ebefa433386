"""Batches for the Keras fit (bench.fit.keras): windows padded to their batch's longest, the
per-epoch training pipeline (tf.data, seeded permutation), what each epoch processed, and batched
inference. No keras import here (``KERAS_BACKEND`` is set by the fitter before keras loads)."""

from __future__ import annotations

import math
import time

import numpy as np

from bench.components.context import Windows


def feed_inputs(ids, mask) -> dict:
    return {"token_ids": ids, "padding_mask": mask}


def pad(rows: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(1, max(len(r) for r in rows))
    ids = np.full((len(rows), width), pad_id, dtype=np.int32)
    mask = np.zeros((len(rows), width), dtype=np.int32)
    for i, r in enumerate(rows):
        ids[i, : len(r)], mask[i, : len(r)] = r, 1
    return ids, mask


class Counter:
    """What each epoch's batches hold (windows, real tokens, padded tokens), computed when the epoch's
    permutation is drawn; summed over the epochs fit really ran (tf.data may start the next one early)."""

    def __init__(self) -> None:
        self.epochs: dict[int, tuple[int, int, int]] = {}
        self.samples = self.real = self.total = 0

    def settle(self, epochs_run: int) -> None:
        ran = [self.epochs[e] for e in range(epochs_run) if e in self.epochs]
        self.samples, self.real, self.total = (int(sum(x[i] for x in ran)) for i in range(3))


def train_data(tf, windows: Windows, labels: np.ndarray, weights, batch_size: int, pad_id: int, seed: int,
                counter: Counter):
    """A tf.data pipeline: a fresh permutation per epoch (seeded), each batch padded to its longest window."""
    n, epoch = len(windows.input_ids), [0]

    def gen():
        order = np.random.default_rng([seed, epoch[0]]).permutation(n)
        lengths = np.array([len(x) for x in windows.input_ids])[order]
        counter.epochs[epoch[0]] = (n, int(lengths.sum()), int(sum(len(b) * max(1, b.max(initial=0))
                                                                  for b in np.split(lengths, range(batch_size, n, batch_size)))))
        epoch[0] += 1
        for s in range(0, n, batch_size):
            idx = order[s : s + batch_size]
            ids, mask = pad([windows.input_ids[i] for i in idx], pad_id)
            item = (feed_inputs(ids, mask), labels[idx].astype(np.int32))
            yield item if weights is None else (*item, weights[idx].astype(np.float32))

    spec = tf.TensorSpec((None, None), tf.int32)
    sig: tuple = (feed_inputs(spec, spec), tf.TensorSpec((None,), tf.int32))
    if weights is not None:
        sig = (*sig, tf.TensorSpec((None,), tf.float32))
    batches = math.ceil(n / batch_size)  # known length: fit needs no "ran out of data" probe
    return tf.data.Dataset.from_generator(gen, output_signature=sig).apply(tf.data.experimental.assert_cardinality(batches))


def predict_logits(infer, windows: Windows, pad_id: int, batch_size: int, num_labels: int) -> tuple[np.ndarray, dict]:
    """Logits in window order; length-sorted batches padded to their longest window."""
    n = len(windows.input_ids)
    order = np.argsort([len(x) for x in windows.input_ids], kind="stable")
    out = np.zeros((n, num_labels), dtype=np.float32)
    t0 = time.perf_counter()
    for s in range(0, n, batch_size):
        idx = order[s : s + batch_size]
        ids, mask = pad([windows.input_ids[i] for i in idx], pad_id)
        out[idx] = np.asarray(infer(feed_inputs(ids, mask)), dtype=np.float32)
    return out, {"seconds": time.perf_counter() - t0, "windows": n}
