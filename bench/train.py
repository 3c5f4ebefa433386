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
from dataclasses import dataclass, field

import numpy as np

from bench.cell import Cell
from bench.context import ContextPolicy, Windows
from bench.data import Split, TaskData
from bench.errors import ConfigError
from bench.imbalance import ImbalanceStrategy, TrainPlan
from bench.methods import Method
from bench.metrics import classification_metrics, softmax
from bench.models import ModelSpec, max_positions
from bench.resources import Device, pick_device
from bench.speed import RuntimeOptions, classifier

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    val_logits: np.ndarray
    test_logits: np.ndarray
    timing: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    members: list[dict] = field(default_factory=list)
    member_test_logits: list[np.ndarray] = field(default_factory=list)  # not recorded; for checks


def tokenize(tokenizer, texts: list[str]) -> list[list[int]]:
    """Whole texts, once, without special tokens or truncation (policies cut ids later)."""
    prev = tokenizer.model_max_length
    tokenizer.model_max_length = int(1e12)  # silence the "longer than the model" warning
    try:
        return tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
    finally:
        tokenizer.model_max_length = prev


class WindowDataset:
    """A torch-style map dataset of windows (+ labels)."""

    def __init__(self, windows: Windows, labels: np.ndarray | None) -> None:
        self.windows = windows
        self.labels = None if labels is None else np.asarray(labels)[windows.doc_index]

    def __len__(self) -> int:
        return len(self.windows.input_ids)

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.windows.input_ids[i]}
        if self.labels is not None:
            item["labels"] = int(self.labels[i])
        return item


def _trainer_class():
    from torch.utils.data import DataLoader, WeightedRandomSampler
    from transformers import Trainer

    class BenchTrainer(Trainer):
        def __init__(self, *args, strategy: ImbalanceStrategy, plan: TrainPlan, group_by_length: bool = False,
                     **kwargs):
            super().__init__(*args, **kwargs)
            self.strategy = strategy
            self.plan = plan
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
            loss = self.strategy.loss(outputs.logits, labels, self.plan)
            return (loss, outputs) if return_outputs else loss

        def _get_train_sampler(self, train_dataset=None):
            if not self.group_by_length:
                return super()._get_train_sampler(train_dataset)
            from bench.speed import LengthBucketSampler

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
            if hasattr(self.train_dataset, "dataloader"):  # a planned stream (bench.context.stream)
                return self.accelerator.prepare(self.train_dataset.dataloader(self.data_collator))
            if self.plan.sample_weights is None:
                return super().get_train_dataloader()
            import torch

            ds = self.train_dataset
            weights = torch.as_tensor(np.asarray(self.plan.sample_weights)[ds.windows.doc_index], dtype=torch.double)
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


def predict_logits(model, windows: Windows, tokenizer, device: Device, batch_size: int) -> tuple[np.ndarray, dict]:
    """Inference in inference mode with length-sorted batches; returns logits in window order."""
    import torch

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
    import torch

    docs = list(range(min(n_docs, windows.n_docs)))
    times = []
    with torch.inference_mode(), device.autocast():
        for d in docs:
            ids = [windows.input_ids[i] for i in np.flatnonzero(windows.doc_index == d)]
            batch = tokenizer.pad({"input_ids": ids}, return_tensors="pt")
            batch = {k: v.to(device.torch) for k, v in batch.items()}
            t0 = time.perf_counter()
            model(**batch)
            device.synchronize()
            times.append((time.perf_counter() - t0) * 1000)
    if not times:
        return {}
    return {"latency_p50_ms": float(np.percentile(times, 50)), "latency_p95_ms": float(np.percentile(times, 95))}


def fit_predict(cell: Cell, data: TaskData, mspec: ModelSpec, strategy: ImbalanceStrategy,
                policy: ContextPolicy, method: Method, save_model: str | None = None) -> FitResult:
    from transformers import set_seed

    device = pick_device(precision=cell.train.precision)
    opts = RuntimeOptions.from_env()
    from bench.cache import tokenize_cached, tokenizer_for

    tokenizer = tokenizer_for(mspec)  # once per worker process
    train, val, test = (data.splits[s] for s in ("train", "validation", "test"))
    t0 = time.perf_counter()
    ident = json.dumps(mspec.identity(), sort_keys=True)  # disk cache by tokenizer + texts (bench.cache)
    tok = {name: tokenize_cached(tokenizer, ident, s.texts)
           for name, s in (("train", train), ("validation", val), ("test", test))}
    tokenize_seconds = time.perf_counter() - t0

    val_w = policy.encode(tok["validation"], cell.max_length, tokenizer, train=False, seed=cell.seed)
    test_w = policy.encode(tok["test"], cell.max_length, tokenizer, train=False, seed=cell.seed)
    members, val_logits, test_logits = [], [], []
    timing: dict = {"tokenize_seconds": tokenize_seconds, "train_seconds": 0.0, "train_eval_seconds": 0.0,
                    "train_samples": 0,
                    "train_real_tokens": 0, "train_tokens": 0, "eval_seconds": 0.0}
    model = None
    for m in range(strategy.n_members()):
        member_seed = cell.seed if strategy.n_members() == 1 else cell.seed * 1000 + m
        plan = strategy.fit_resample(train.labels, data.num_labels, member_seed)
        set_seed(member_seed)
        model = method.prepare(classifier(mspec, data.label_names, len(tokenizer), opts))
        limit = max_positions(model.config)
        if cell.max_length > limit:
            raise ConfigError(f"max_length {cell.max_length} is above model {mspec.name!r}'s limit of {limit} tokens")
        train_docs = [tok["train"][i] for i in plan.indices]
        train_w = policy.encode(train_docs, cell.max_length, tokenizer, train=True, seed=member_seed)
        stream = policy.train_stream(train_docs, cell.max_length, tokenizer, member_seed)
        mtiming, model = _train(cell, device, tokenizer, model, strategy, policy, plan, train_w,
                                train.labels[plan.indices], val_w, val, data, member_seed, stream=stream)
        vl, vt = predict_logits(model, val_w, tokenizer, device, cell.train.eval_batch_size)
        tl, tt = predict_logits(model, test_w, tokenizer, device, cell.train.eval_batch_size)
        vdoc = policy.aggregate(vl, val_w.doc_index, val_w.n_docs)
        tdoc = policy.aggregate(tl, test_w.doc_index, test_w.n_docs)
        val_logits.append(vdoc)
        test_logits.append(tdoc)
        for k in ("train_seconds", "train_eval_seconds", "train_samples", "train_real_tokens", "train_tokens"):
            timing[k] += mtiming[k]
        timing["eval_seconds"] += tt["seconds"]
        timing["eval_windows"] = tt["windows"]
        best = mtiming.get("best_val_score")
        if best is None:  # a single pass (see single_pass_args): validation scored here instead
            best = classification_metrics(val.labels, softmax(vdoc), data.label_names)[data.spec.main_score]
        members.append({"member": m, "seed": member_seed, "plan": plan.summary(), "epochs_run": mtiming["epochs_run"],
                        "best_val_score": best, "loss_curve": mtiming["loss_curve"],
                        "train_windows": train_w.stats(),
                        "test_metrics": classification_metrics(test.labels, softmax(tdoc), data.label_names)})
    assert model is not None
    timing.update(latency_ms(model, test_w, tokenizer, device, cell.train.latency_docs))
    timing["peak_cuda_memory_mb"] = device.peak_memory_mb()
    if save_model:
        method.export(model).save_pretrained(save_model)
        tokenizer.save_pretrained(save_model)
    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    non_embed = model.num_parameters(exclude_embeddings=True)
    info = {
        "device": device.describe(),
        "runtime": vars(opts),  # speed options that leave results unchanged (not in the cell id)
        "params_total": n_params,
        "params_trainable": n_train,
        # 6·N·tokens for training, 2·N·tokens for inference (Kaplan et al.), attention FLOPs omitted
        "flops_estimate": 6 * non_embed * timing["train_real_tokens"] + 2 * non_embed * test_w.stats()["tokens"],
        "context": {"test": test_w.stats(), "validation": val_w.stats(), "train": mtiming["train_context"]},
        "plan": members[0]["plan"],
    }
    return FitResult(strategy.combine(val_logits), strategy.combine(test_logits), timing, info,
                     members if len(members) > 1 else [], test_logits)


def _train(cell: Cell, device: Device, tokenizer, model, strategy, policy, plan, train_w: Windows, train_labels,
           val_w: Windows, val: Split, data: TaskData, seed: int, stream=None):
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, TrainingArguments

    tp = cell.train
    main = data.spec.main_score
    collator = DataCollatorWithPadding(tokenizer)  # dynamic padding: to the longest in each batch

    def compute_metrics(pred):
        doc = policy.aggregate(pred.predictions, val_w.doc_index, val_w.n_docs)
        return {main: classification_metrics(val.labels, softmax(doc), data.label_names)[main]}

    train_set, extra_args, extra_callbacks = WindowDataset(train_w, train_labels), {}, []
    if stream is not None:  # training windows change during training: a planned run
        train_set, extra_args, extra_callbacks = stream.trainer_setup(
            train_labels, tp.batch_size, tp.epochs, tp.grad_accum, plan.sample_weights)
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as tmp:
        args = TrainingArguments(**{**dict(
            output_dir=tmp, num_train_epochs=tp.epochs, learning_rate=tp.learning_rate,
            per_device_train_batch_size=tp.batch_size, per_device_eval_batch_size=tp.eval_batch_size,
            warmup_steps=tp.warmup_ratio,  # transformers 5: a float < 1 is a share of the steps
            weight_decay=tp.weight_decay,
            gradient_accumulation_steps=tp.grad_accum, seed=seed, data_seed=seed,
            eval_strategy="epoch", save_strategy="epoch", save_only_model=True, save_total_limit=1,
            load_best_model_at_end=True, metric_for_best_model=main, greater_is_better=True,
            logging_strategy="epoch", report_to="none", disable_tqdm=True,
            bf16=device.bf16, use_cpu=device.kind == "cpu", dataloader_num_workers=0,
            remove_unused_columns=False, torch_compile=RuntimeOptions.from_env().compile,
        ), **single_pass_args(tp), **extra_args})
        callbacks = [EarlyStoppingCallback(tp.early_stopping_patience)] \
            if tp.early_stopping_patience and args.load_best_model_at_end else []
        callbacks += extra_callbacks
        trainer = _trainer_class()(
            model=model, args=args, train_dataset=train_set,
            eval_dataset=WindowDataset(val_w, val.labels), data_collator=collator,
            compute_metrics=compute_metrics, callbacks=callbacks, strategy=strategy, plan=plan,
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
        "loss_curve": [h["loss"] for h in state.log_history if "loss" in h],
        "train_context": {**(train_w.stats() if stream is None else train_set.stats()),
                          "tokens_seen": trainer.tokens_real, "windows_seen": trainer.samples_seen},
    }, trainer.model
