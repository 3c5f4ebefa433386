"""Fine-tune a transformers sequence classifier for one cell with the HF Trainer.

Customised only through the Trainer's documented override points: ``compute_loss`` (the
imbalance strategy's loss), ``get_train_dataloader`` (weighted sampler), callbacks (early
stopping) and ``compute_metrics`` (document-level validation score after window aggregation).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from typing import Any

import numpy as np

from bench.components.context import Windows
from bench.components.models import max_positions
from bench.data.prepare import Split, TaskData
from bench.errors import ConfigError
from bench.fit import attention
from bench.fit.base import Clock, FitJob, FitResult, fit_members, val_score
from bench.fit.device import Device, pick_device
from bench.fit.loading import classifier
from bench.fit.options import RuntimeOptions, latency_docs, report_to
from bench.fit.trainer import WindowDataset, single_pass_args, trainer_class
from bench.metrics import DIRECTION, classification_metrics, softmax
from bench.spec.cell import Cell

log = logging.getLogger(__name__)


def predict_logits(model, windows: Windows, tokenizer, device: Device, batch_size: int) -> tuple[np.ndarray, dict]:
    """Inference in inference mode with length-sorted batches; returns logits in window order (a
    hierarchical model: per document, bench.fit.hierarchical.predict_docs)."""
    import torch

    if getattr(model, "scores_documents", False):
        from bench.fit.hierarchical import predict_docs

        return predict_docs(model, windows, tokenizer, device, batch_size)

    model.eval()
    n = len(windows.input_ids)
    order = np.argsort([len(x) for x in windows.input_ids], kind="stable")
    out = np.zeros((n, model.config.num_labels), dtype=np.float32)
    t0 = time.perf_counter()
    with torch.inference_mode(), device.autocast():
        for s in range(0, n, batch_size):
            idx = order[s : s + batch_size]
            batch = tokenizer.pad({"input_ids": [windows.input_ids[i] for i in idx]}, return_tensors="pt")
            batch = {k: v.to(device.torch) for k, v in batch.items()}
            out[idx] = model(**batch).logits.float().cpu().numpy()
    return out, {"seconds": time.perf_counter() - t0, "windows": n}


def latency_ms(model, windows: Windows, tokenizer, device: Device, n_docs: int) -> dict:
    """Per-document latency: all windows of one document as one request, one at a time."""

    if getattr(model, "scores_documents", False):  # a hierarchical model: its segments as one request
        from bench.fit import hierarchical

        return hierarchical.latency_ms(model, windows, tokenizer, device, n_docs)

    from bench.fit.device import request_latency

    def requests():
        for d in range(min(n_docs, windows.n_docs)):
            ids = [windows.input_ids[i] for i in np.flatnonzero(windows.doc_index == d)]
            yield tokenizer.pad({"input_ids": ids}, return_tensors="pt")

    return request_latency(model, requests(), device)


def fit_transformer(job: FitJob) -> FitResult:
    """Full fine-tuning or LoRA with the HF Trainer, one model per ensemble member."""
    from transformers import set_seed

    cell, data, policy, method, mspec = job.cell, job.data, job.policy, job.method, job.model
    device = pick_device(precision=job.precision)
    opts, clock = RuntimeOptions.from_env(), Clock()  # clock: seconds per phase -> timing.phases
    tokenizer, tok, tokenize_seconds = _tokenized(job)
    val_w = policy.encode(tok["validation"], cell.max_length, tokenizer, train=False, seed=cell.seed)
    test_w = policy.encode(tok["test"], cell.max_length, tokenizer, train=False, seed=cell.seed)
    clock.lap("tokenize")
    timing: dict = {"tokenize_seconds": tokenize_seconds, "train_seconds": 0.0, "train_eval_seconds": 0.0,
                    "train_samples": 0, "train_real_tokens": 0, "train_tokens": 0, "eval_seconds": 0.0,
                    "phases": clock.phases}
    last: dict = {}  # the last member's model, its training context and attention kernels (bench.fit.attention)

    def fit_one(m, seed, resampling):
        clock.lap("other")
        set_seed(seed)
        model = _for_policy(method.prepare(classifier(mspec, data.label_names, len(tokenizer), opts)), job)
        last["attention"] = attention.apply(model, device, opts)  # kernel per train/eval mode
        clock.lap("model_load")
        if cell.max_length > (limit := max_positions(model.config)):
            raise ConfigError(f"max_length {cell.max_length} is above model {mspec.name!r}'s limit of {limit} tokens")
        train_docs = [tok["train"][i] for i in resampling.indices]
        train_w = policy.encode(train_docs, cell.max_length, tokenizer, train=True, seed=seed)
        stream = policy.train_stream(train_docs, cell.max_length, tokenizer, seed)
        clock.lap("tokenize")
        mtiming, model = _train(cell, device, tokenizer, model, job.strategy, policy, resampling, train_w,
                                data.splits["train"].labels[resampling.indices], val_w, data.splits["validation"],
                                data, seed, stream=stream)
        clock.lap("train")
        vl, _ = predict_logits(model, val_w, tokenizer, device, cell.train.eval_batch_size)
        tl, tt = predict_logits(model, test_w, tokenizer, device, cell.train.eval_batch_size)
        clock.lap("predict")
        vdoc = policy.aggregate(vl, doc_index(policy, val_w), val_w.n_docs)
        tdoc = policy.aggregate(tl, doc_index(policy, test_w), test_w.n_docs)
        _add_member_timing(timing, mtiming, tt, m)
        best = mtiming.get("best_val_score")
        if best is None:  # a single pass (see single_pass_args): validation scored here instead
            best = val_score(job, vdoc)
        last.update(model=model, train_context=mtiming["train_context"])
        return vdoc, tdoc, {"epochs_run": mtiming["epochs_run"], "best_val_score": best,
                            "loss_curve": mtiming["loss_curve"], "train_windows": train_w.stats()}

    members = fit_members(job, fit_one)
    model: Any = last["model"]
    clock.lap("other")
    timing.update(latency_ms(model, test_w, tokenizer, device, latency_docs(cell.train.latency_docs)),
                  test_ms_per_doc=1000 * timing["eval_seconds"] / max(1, test_w.n_docs),  # batched, amortised
                  peak_cuda_memory_mb=device.peak_memory_mb())
    clock.lap("latency")
    if job.save_model:
        method.export(model).save_pretrained(job.save_model)
        tokenizer.save_pretrained(job.save_model)
    val_logits, test_logits, recorded = members.combine(job.strategy)
    return FitResult(val_logits, test_logits, timing, resampling=members.records[0]["plan"],
                     context={"test": test_w.stats(), "validation": val_w.stats(), "train": last["train_context"]},
                     cost={**_cost(model, device, opts, timing, test_w), "attention": last["attention"]}, precision="bf16" if device.bf16 else "fp32",
                     members=recorded, member_test_logits=members.test_logits)


def _for_policy(model, job: FitJob):
    """The model to train: the classifier, or a hierarchical model around its encoder (a policy that
    needs ``segments``: bench.fit.hierarchical; its new modules are initialised from the seeded RNG).
    validate_cell has refused windows above the model's positions."""
    policy: Any = job.policy
    if job.save_model and not policy.exportable:  # (the CLI refuses it before any work)
        raise ConfigError(f"--save-model: context {policy.name!r} trains a model that cannot be saved as a "
                          "transformers classifier yet (drop --save-model)")
    if "segments" not in policy.needs:
        return model
    from bench.fit.hierarchical import HierarchicalClassifier

    return HierarchicalClassifier(model, policy.aggregator, policy.segments)


def _batching(policy, tokenizer) -> tuple[object, type]:
    """(collator, dataset class): windows padded per batch, or documents of segments padded to
    [batch, segments, seg_len] for a hierarchical model."""
    if "segments" in policy.needs:
        from bench.fit.hierarchical import SegmentCollator, SegmentDataset

        return SegmentCollator(tokenizer.pad_token_id), SegmentDataset
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tokenizer), WindowDataset  # dynamic padding: to the longest in each batch


def doc_index(policy, windows: Windows) -> np.ndarray:
    """Which document each row of the model's logits belongs to: a hierarchical model scores documents."""
    return np.arange(windows.n_docs) if "segments" in policy.needs else windows.doc_index


def _add_member_timing(timing: dict, mtiming: dict, tt: dict, m: int) -> None:
    """Add one member's training and test-prediction timings to the fit's."""
    for k in ("train_seconds", "train_eval_seconds", "train_samples", "train_real_tokens", "train_tokens"):
        timing[k] += mtiming[k]
    timing["eval_seconds"] += tt["seconds"]
    timing["eval_windows"] = tt["windows"]
    if m == 0:  # the Trainer's per-epoch training losses (ensembles: also members[].loss_curve)
        timing["loss_curve"] = mtiming["loss_curve"]
        # the main score per evaluation inside train() and the best of them (the checkpoint kept)
        timing["val_curve"], timing["best_val_score"] = mtiming["val_curve"], mtiming["best_val_score"]


def _tokenized(job: FitJob) -> tuple[Any, dict[str, list[list[int]]], float]:
    """The model's tokenizer and every split's whole-text token ids (disk-cached), with the time taken."""
    from bench.fit.tokens import tokenize_cached, tokenizer_for

    tokenizer = tokenizer_for(job.model)  # once per worker process
    t0 = time.perf_counter()
    ident = json.dumps(job.model.identity(), sort_keys=True)  # disk cache by tokenizer + texts (bench.fit.tokens)
    tok = {name: tokenize_cached(tokenizer, ident, job.data.splits[name].texts)
           for name in ("train", "validation", "test")}
    return tokenizer, tok, time.perf_counter() - t0


def _cost(model, device: Device, opts: RuntimeOptions, timing: dict, test_w: Windows) -> dict:
    non_embed = model.num_parameters(exclude_embeddings=True)
    return {
        "device": device.describe(),
        "runtime": vars(opts),  # speed options that leave results unchanged (not in the cell id)
        "params_total": sum(p.numel() for p in model.parameters()),
        "params_trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        # 6·N·tokens for training, 2·N·tokens for inference (Kaplan et al.), attention FLOPs omitted
        "flops_estimate": 6 * non_embed * timing["train_real_tokens"] + 2 * non_embed * test_w.stats()["tokens"],
    }


def _train(cell: Cell, device: Device, tokenizer, model, strategy, policy, resampling, train_w: Windows, train_labels,
           val_w: Windows, val: Split, data: TaskData, seed: int, stream=None):
    from transformers import EarlyStoppingCallback, TrainingArguments

    tp = cell.train
    main = data.spec.main_score
    collator, dataset = _batching(policy, tokenizer)

    def compute_metrics(pred):
        doc = policy.aggregate(pred.predictions, doc_index(policy, val_w), val_w.n_docs)
        return {main: classification_metrics(val.labels, softmax(doc), data.label_names)[main]}

    train_set: Any = dataset(train_w, train_labels)
    extra_args, extra_callbacks = {}, []
    if stream is not None:  # training windows change during training: batches drawn up front
        train_set, extra_args, extra_callbacks = stream.trainer_setup(
            train_labels, tp.batch_size, tp.epochs, tp.grad_accum, resampling.draw_probabilities())
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as tmp:
        args = TrainingArguments(**{**dict(
            output_dir=tmp, num_train_epochs=tp.epochs, learning_rate=tp.learning_rate,
            per_device_train_batch_size=tp.batch_size, per_device_eval_batch_size=tp.eval_batch_size,
            warmup_steps=tp.warmup_ratio,  # transformers 5: a float < 1 is a share of the steps
            weight_decay=tp.weight_decay,
            gradient_accumulation_steps=tp.grad_accum, seed=seed, data_seed=seed,
            eval_strategy="epoch", save_strategy="epoch", save_only_model=True, save_total_limit=1,
            load_best_model_at_end=True, metric_for_best_model=main, greater_is_better=DIRECTION[main] > 0,
            logging_strategy="epoch", report_to=report_to(), disable_tqdm=True,
            bf16=device.bf16, use_cpu=device.kind == "cpu", dataloader_num_workers=0,
            remove_unused_columns=False, torch_compile=RuntimeOptions.from_env().compile,
        ), **single_pass_args(tp), **extra_args})
        callbacks = [EarlyStoppingCallback(tp.early_stopping_patience)] \
            if tp.early_stopping_patience and args.load_best_model_at_end else []
        callbacks += extra_callbacks
        trainer = trainer_class()(
            model=model, args=args, train_dataset=train_set,
            eval_dataset=dataset(val_w, val.labels), data_collator=collator,
            compute_metrics=compute_metrics, callbacks=callbacks, strategy=strategy, resampling=resampling,
            group_by_length=tp.group_by_length,
        )
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # the matrix runner owns the console
        device.reset_peak()
        t0 = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - t0
        state = trainer.state
    return {
        "train_seconds": seconds,
        "train_eval_seconds": trainer.eval_seconds,
        "train_samples": trainer.samples_seen,
        "train_real_tokens": trainer.tokens_real,
        "train_tokens": trainer.tokens_total,
        "epochs_run": float(state.epoch or 0),
        "best_val_score": state.best_metric,
        "val_curve": [h[f"eval_{main}"] for h in state.log_history if f"eval_{main}" in h],  # per evaluation
        "loss_curve": [h["loss"] for h in state.log_history if "loss" in h],
        "train_context": {**(train_w.stats() if stream is None else train_set.stats()),
                          "tokens_seen": trainer.tokens_real, "windows_seen": trainer.samples_seen},
    }, trainer.model
