"""Fine-tune through Keras 3 on the TensorFlow backend (``framework: keras``), the source article's
first recipe: a pretrained encoder, a Dense head with a softmax, ``compile`` / ``fit`` / ``predict``.

- Encoder: keras-hub converts the same local Hugging Face checkpoint the Trainer path loads
  (``Backbone.from_preset(<folder>)``; offline). tiny-bert: the random-init BERT of
  :func:`bench.fit.loading.tiny_config`, drawn by torch under the member's seed, saved to a temporary
  folder and converted the same way (so both frameworks start from the same kind of weights).
- Head: the pooling the model's recipe declares (mean over the padding mask for sentence-transformers
  checkpoints; the BERT pooler when none is declared, like ``AutoModelForSequenceClassification``),
  dropout 0.1, ``Dense(num_labels)``; the softmax sits in the loss
  (``SparseCategoricalCrossentropy(from_logits=True)``), so predictions are logits like the Trainer's.
- Optimiser as the Trainer's defaults: AdamW (no decay on biases and LayerNorm), linear warm-up then
  linear decay to 0, global gradient-norm clip 1.0, the cell's learning rate, warm-up share, weight
  decay, batch size, gradient accumulation and epochs.
- Early stopping and best-epoch restore on the validation documents' main score after window
  aggregation, each epoch (one epoch: no validation inside fit, as the Trainer path).
- Tokens: the HF tokenizer and the shared windowing of the cell's context policy; batches padded to
  their longest window (dynamic padding, as ``DataCollatorWithPadding``).
- Imbalance: class weights through ``fit(class_weight=...)``, resampled rows through the row plan,
  sampler weights as ``fit(sample_weight=...)`` (their expectation), post-hoc strategies unchanged.

``KERAS_BACKEND`` is set here, before keras is first imported, never at ``bench`` import.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time

import numpy as np

from bench.components.context import Windows
from bench.components.models import ModelSpec, model_path
from bench.errors import ConfigError
from bench.fit.base import Clock, FitJob, FitResult, fit_members, val_score
from bench.fit.keras_batches import Counter, feed_inputs, predict_logits, train_data
from bench.fit.options import latency_docs


def _keras():
    """keras on the TensorFlow backend (the environment variable is read at keras's first import)."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "tensorflow"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ConfigError(f"framework 'keras' runs on the TensorFlow backend, but keras was already imported "
                          f"with the {keras.backend.backend()!r} backend (KERAS_BACKEND)")
    return keras


def _backbone(mspec: ModelSpec, seed: int, vocab_size: int):
    import keras_hub

    if mspec.random_init:
        import torch
        from transformers import BertModel

        from bench.fit.loading import tiny_config

        with torch.random.fork_rng(devices=[]), tempfile.TemporaryDirectory(prefix="bench-keras-") as tmp:
            torch.manual_seed(seed)
            BertModel(tiny_config(vocab_size, 2)).save_pretrained(tmp)
            return keras_hub.models.Backbone.from_preset(tmp)
    try:
        return keras_hub.models.Backbone.from_preset(model_path(mspec))
    except (ValueError, KeyError, NotImplementedError) as err:
        raise ConfigError(f"keras-hub cannot convert model {mspec.name!r}: {err}") from None


def build_model(keras, mspec: ModelSpec, num_labels: int, seed: int, vocab_size: int):
    """token ids + padding mask -> converted encoder -> declared pooling -> dropout -> Dense logits."""
    from keras import ops

    backbone = _backbone(mspec, seed, vocab_size)
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    mask = keras.Input((None,), dtype="int32", name="padding_mask")
    feed = {"token_ids": ids, "padding_mask": mask}
    if "segment_ids" in backbone.input:
        feed["segment_ids"] = ops.zeros_like(ids)
    out = backbone({k: feed[k] for k in backbone.input})
    seq = out["sequence_output"] if isinstance(out, dict) else out
    if mspec.pooling is not None:  # a declared pooling: the encoder's pooler is unused (the Trainer path drops it)
        for layer in backbone.layers:
            if layer.name == "pooled_dense":
                layer.trainable = False
    if mspec.pooling is None:  # the checkpoint's own head: the BERT pooler (CLS -> dense -> tanh)
        pooled = out["pooled_output"] if isinstance(out, dict) and "pooled_output" in out else seq[:, 0]
    elif mspec.pooling == "cls":
        pooled = seq[:, 0]
    else:
        m = ops.expand_dims(ops.cast(mask, seq.dtype), -1)
        if mspec.pooling == "max":
            pooled = ops.max(ops.where(m > 0, seq, ops.cast(-1e4, seq.dtype)), axis=1)
        else:
            n = ops.maximum(ops.sum(m, axis=1), 1.0)
            pooled = ops.sum(seq * m, axis=1) / (ops.sqrt(n) if mspec.pooling == "mean_sqrt_len" else n)
    x = keras.layers.Dropout(0.1, seed=seed)(pooled)
    logits = keras.layers.Dense(num_labels, name="classifier", dtype="float32",
                                kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02, seed=seed))(x)
    return keras.Model(feed_inputs(ids, mask), logits)


def _schedule(keras, lr: float, warmup: int, total: int):
    from keras import ops

    class LinearWarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
        """transformers' get_linear_schedule_with_warmup: 0 -> lr over ``warmup`` steps, then -> 0 at ``total``."""

        def __call__(self, step):
            s = ops.cast(step, "float32")
            up = s / max(1, warmup)
            down = ops.maximum(0.0, (total - s) / max(1, total - warmup))
            return lr * ops.where(s < warmup, up, down)

        def get_config(self) -> dict:
            return {"lr": lr, "warmup": warmup, "total": total}

    return LinearWarmupDecay()


def _weights(resampling, train_w: Windows, labels: np.ndarray) -> tuple[np.ndarray | None, dict | None]:
    """(per-window sample weights, class_weight dict): class weights go to ``fit(class_weight=...)``;
    with a weighted sampler its weights become sample weights (class weights folded in: Keras takes one)."""
    weights = resampling.window_weights(train_w.doc_index)
    if resampling.class_weights is None:
        return weights, None
    if weights is None:
        return None, {int(c): float(w) for c, w in enumerate(resampling.class_weights)}
    return weights * np.asarray(resampling.class_weights)[labels], None


def _compile(keras, model, tp, n_windows: int) -> None:
    """AdamW as the Trainer's defaults (no decay on biases and LayerNorm, epsilon 1e-8, global norm
    clip 1.0), linear warm-up and decay over the optimiser steps, softmax cross-entropy on logits."""
    steps = math.ceil(n_windows / tp.batch_size) * int(tp.epochs) // tp.grad_accum
    warmup = math.ceil(tp.warmup_ratio * steps) if tp.warmup_ratio < 1 else int(tp.warmup_ratio)
    opt = keras.optimizers.AdamW(learning_rate=_schedule(keras, float(tp.learning_rate), warmup, max(1, steps)),
                                 weight_decay=float(tp.weight_decay), epsilon=1e-8, global_clipnorm=1.0,
                                 gradient_accumulation_steps=tp.grad_accum if tp.grad_accum > 1 else None)
    opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=False)


def _infer_fn(tf, model):
    spec = tf.TensorSpec((None, None), tf.int32)
    return tf.function(lambda x: model(x, training=False), input_signature=[feed_inputs(spec, spec)], autograph=False)


def fit_keras(job: FitJob) -> FitResult:
    """compile / fit / predict through Keras, one model per ensemble member (module docstring).

    Long because it is the Trainer path's fit_transformer for Keras, step for step: tokenise and
    window once, then per member build, compile, fit, predict and book the timings, then the
    latency probe and the result."""
    keras = _keras()
    import tensorflow as tf

    from bench.fit.keras_loop import BestOnValidation, keras_cost, latency_ms, member_timing
    from bench.fit.tokens import tokenize_cached, tokenizer_for

    cell, data, policy, mspec, tp = job.cell, job.data, job.policy, job.model, job.cell.train
    clock = Clock()
    tokenizer = tokenizer_for(mspec)
    pad_id = int(tokenizer.pad_token_id or 0)
    ident = json.dumps(mspec.identity(), sort_keys=True)
    tok = {s: tokenize_cached(tokenizer, ident, data.splits[s].texts) for s in ("train", "validation", "test")}
    val_w = policy.encode(tok["validation"], cell.max_length, tokenizer, train=False, seed=cell.seed)
    test_w = policy.encode(tok["test"], cell.max_length, tokenizer, train=False, seed=cell.seed)
    clock.lap("tokenize")
    timing: dict = {"tokenize_seconds": clock.phases["tokenize"], "train_seconds": 0.0, "train_eval_seconds": 0.0,
                    "train_samples": 0, "train_real_tokens": 0, "train_tokens": 0, "eval_seconds": 0.0,
                    "phases": clock.phases}
    last: dict = {}
    bf16 = job.precision == "bf16"
    prev_policy = keras.config.dtype_policy()

    def fit_one(m, seed, resampling):
        clock.lap("other")
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        model = build_model(keras, mspec, data.num_labels, seed, len(tokenizer))
        clock.lap("model_load")
        train_docs = [tok["train"][i] for i in resampling.indices]
        train_w = policy.encode(train_docs, cell.max_length, tokenizer, train=True, seed=seed)
        labels = data.splits["train"].labels[resampling.indices][train_w.doc_index]
        clock.lap("tokenize")
        weights, class_weight = _weights(resampling, train_w, labels)
        epochs = int(tp.epochs)
        _compile(keras, model, tp, len(train_w.input_ids))
        infer = _infer_fn(tf, model)
        best = BestOnValidation(job, infer, val_w, pad_id, evaluate=epochs > 1,
                                patience=tp.early_stopping_patience, predict=predict_logits)
        counter = Counter()
        ds = train_data(tf, train_w, labels, weights, tp.batch_size, pad_id, seed, counter)
        t0 = time.perf_counter()
        history = model.fit(ds, epochs=epochs, class_weight=class_weight, callbacks=[best], shuffle=False,
                            verbose=0)  # shuffled per epoch by train_data
        train_seconds = time.perf_counter() - t0
        counter.settle(len(history.epoch))
        clock.lap("train")
        vl, _ = predict_logits(infer, val_w, pad_id, tp.eval_batch_size, data.num_labels)
        tl, tt = predict_logits(infer, test_w, pad_id, tp.eval_batch_size, data.num_labels)
        clock.lap("predict")
        vdoc = policy.aggregate(vl, val_w.doc_index, val_w.n_docs)
        tdoc = policy.aggregate(tl, test_w.doc_index, test_w.n_docs)
        loss_curve = [float(x) for x in history.history.get("loss", [])]
        member_timing(timing, train_seconds - best.seconds, best.seconds, counter, tt, loss_curve, m)
        last.update(model=model, infer=infer, train_context={**train_w.stats(), "tokens_seen": counter.real,
                                                            "windows_seen": counter.samples})
        score = best.best if best.best is not None else val_score(job, vdoc)
        return vdoc, tdoc, {"epochs_run": float(len(history.epoch)), "best_val_score": score,
                            "loss_curve": loss_curve, "train_windows": train_w.stats()}

    try:
        if bf16:
            keras.config.set_dtype_policy("mixed_bfloat16")
        members = fit_members(job, fit_one)
        clock.lap("other")
        timing.update(latency_ms(last["infer"], test_w, pad_id, latency_docs(tp.latency_docs)),
                      test_ms_per_doc=1000 * timing["eval_seconds"] / max(1, test_w.n_docs))
        clock.lap("latency")
        if job.save_model:
            os.makedirs(job.save_model, exist_ok=True)
            last["model"].save(os.path.join(job.save_model, "model.keras"))
            tokenizer.save_pretrained(job.save_model)
    finally:
        keras.config.set_dtype_policy(prev_policy)
    val_logits, test_logits, recorded = members.combine(job.strategy)
    return FitResult(val_logits, test_logits, timing, resampling=members.records[0]["plan"],
                     context={"test": test_w.stats(), "validation": val_w.stats(), "train": last["train_context"]},
                     cost=keras_cost(keras, tf, last["model"], timing, test_w, bf16), precision="bf16" if bf16 else "fp32",
                     members=recorded, member_test_logits=members.test_logits)
