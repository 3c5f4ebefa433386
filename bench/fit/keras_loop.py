"""The Keras fit's loop parts (bench.fit.keras): validation each epoch with early stopping and
best-epoch restore, the latency probe, timings and the cost section. Imported only by the fitter,
after keras is (so ``KERAS_BACKEND`` is already set)."""

from __future__ import annotations

import time

import keras
import numpy as np

from bench.components.context import Windows
from bench.fit.base import FitJob, val_score
from bench.fit.keras_batches import feed_inputs, pad


class BestOnValidation(keras.callbacks.Callback):
    """After each epoch: the validation documents' main score (window logits aggregated by the
    policy); keep the best weights, stop after ``patience`` epochs without improvement, restore
    the best at the end (the Trainer path's ``load_best_model_at_end`` + ``EarlyStoppingCallback``)."""

    def __init__(self, job: FitJob, infer, val_w: Windows, pad_id: int, evaluate: bool, patience: int | None,
                 predict) -> None:
        super().__init__()
        self.job, self.infer, self.val_w, self.pad_id = job, infer, val_w, pad_id
        self.evaluate, self.patience, self.predict = evaluate, patience, predict
        self.best: float | None = None
        self.best_weights: list | None = None
        self.wait = 0
        self.seconds = 0.0  # validation inside fit: not training steps

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if not self.evaluate:
            return
        t0 = time.perf_counter()
        tp, w = self.job.cell.train, self.val_w
        logits, _ = self.predict(self.infer, w, self.pad_id, tp.eval_batch_size, self.job.data.num_labels)
        score = val_score(self.job, self.job.policy.aggregate(logits, w.doc_index, w.n_docs))
        if self.best is None or score > self.best:
            self.best, self.best_weights, self.wait = score, self.model.get_weights(), 0
        else:
            self.wait += 1
            if self.patience and self.wait >= self.patience:
                self.model.stop_training = True
        self.seconds += time.perf_counter() - t0

    def on_train_end(self, logs=None) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def member_timing(timing: dict, train_seconds: float, eval_seconds: float, counter, tt: dict,
                  loss_curve: list[float], m: int) -> None:
    """Add one member's training and test-prediction timings to the fit's (as the Trainer path)."""
    timing["train_seconds"] += train_seconds
    timing["train_eval_seconds"] += eval_seconds
    timing["train_samples"] += counter.samples
    timing["train_real_tokens"] += counter.real
    timing["train_tokens"] += counter.total
    timing["eval_seconds"] += tt["seconds"]
    timing["eval_windows"] = tt["windows"]
    if m == 0:
        timing["loss_curve"] = loss_curve


def latency_ms(infer, windows: Windows, pad_id: int, n_docs: int) -> dict:
    """Per-document latency: all windows of one document as one request, one at a time; the first
    document runs once untimed (the traced graph's first call builds it)."""
    docs = list(range(min(n_docs, windows.n_docs)))
    times = []
    for k, d in enumerate([*docs[:1], *docs]):
        ids, mask = pad([windows.input_ids[i] for i in np.flatnonzero(windows.doc_index == d)], pad_id)
        t0 = time.perf_counter()
        np.asarray(infer(feed_inputs(ids, mask)))
        if k > 0:
            times.append((time.perf_counter() - t0) * 1000)
    if not times:
        return {}
    return {"latency_p50_ms": float(np.percentile(times, 50)), "latency_p95_ms": float(np.percentile(times, 95)),
            "latency_docs_timed": len(times)}


def keras_cost(keras_mod, tf, model, timing: dict, test_w: Windows, bf16: bool) -> dict:
    """Device, parameter counts and the FLOPs estimate of the Trainer path (embedding tables excluded)."""
    total = int(model.count_params())
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    embed = int(sum(np.prod(w.shape) for w in model.weights if w.path.split("/")[-1] == "embeddings"))
    non_embed = total - embed
    gpu = bool(tf.config.list_logical_devices("GPU"))
    return {
        "device": {"kind": "cuda" if gpu else "cpu", "bf16": bf16,
                   "framework": "keras", "backend": keras_mod.backend.backend(), "keras": keras_mod.__version__,
                   "tensorflow": tf.__version__},
        "runtime": {"jit_compile": False},
        "params_total": total,
        "params_trainable": trainable,
        "flops_estimate": 6 * non_embed * timing["train_real_tokens"] + 2 * non_embed * test_w.stats()["tokens"],
    }
