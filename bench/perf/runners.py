"""The three ways bench perf runs one cell: seed-style script, bench, bare loop."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from bench.spec.cell import Cell


@dataclass
class Measure:
    runner: str
    wall_seconds: float  # data in memory -> test predictions and metrics
    train_seconds: float  # optimisation steps only (validation inside training excluded)
    samples: int
    real_tokens: int
    tokens: int  # processed, padding included
    precision: str
    accuracy: float
    macro_f1: float
    test_seconds: float = 0.0
    load: float = 0.0  # mean 1-minute load average sampled during the run
    load_info: dict = field(default_factory=dict)  # bench.perf.load.Load.as_dict(): before/during/after, own/others

    @property
    def padding_share(self) -> float:
        return 1 - self.real_tokens / self.tokens if self.tokens else 0.0


def run_seed_style(cell: Cell, data) -> Measure:
    """The article's recipe, verbatim in spirit: pad everything to max_length, fp32, Trainer defaults."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    from bench.components.models import get_model, model_path
    from bench.metrics import classification_metrics, softmax

    spec, tp = get_model(cell.model), cell.train
    train, test = data.splits["train"], data.splits["test"]
    t0 = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(model_path(spec))

    def dataset(split):
        enc = tokenizer(split.texts, padding="max_length", truncation=True, max_length=cell.max_length)
        return [{**{k: enc[k][i] for k in enc}, "labels": int(y)} for i, y in enumerate(split.labels)]

    train_ds, test_ds = dataset(train), dataset(test)
    torch.manual_seed(cell.seed)
    model = AutoModelForSequenceClassification.from_pretrained(model_path(spec), num_labels=data.num_labels)
    with tempfile.TemporaryDirectory(prefix="bench-perf-seed-") as tmp:
        args = TrainingArguments(
            output_dir=tmp, num_train_epochs=tp.epochs, per_device_train_batch_size=tp.batch_size,
            per_device_eval_batch_size=tp.eval_batch_size, warmup_steps=tp.warmup_ratio,
            weight_decay=tp.weight_decay, learning_rate=tp.learning_rate, seed=cell.seed,
            report_to="none", disable_tqdm=True, use_cpu=not torch.cuda.is_available() or
            os.environ.get("BENCH_DEVICE") == "cpu",
        )
        trainer = Trainer(model=model, args=args, train_dataset=train_ds)
        trainer.remove_callback(PrinterCallback)  # console output only; the recipe is otherwise untouched
        t1 = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - t1
        t2 = time.perf_counter()
        logits = trainer.predict(test_ds).predictions
        test_seconds = time.perf_counter() - t2
    metrics = classification_metrics(test.labels, softmax(logits), data.label_names)
    real = sum(sum(x["attention_mask"]) for x in train_ds)
    epochs = math.ceil(tp.epochs)
    return Measure("seed", time.perf_counter() - t0, train_seconds, len(train_ds) * epochs, real * epochs,
                   len(train_ds) * cell.max_length * epochs, "fp32", metrics["accuracy"], metrics["macro_f1"],
                   test_seconds)


def run_bench(cell: Cell, data=None) -> Measure:
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    t0 = time.perf_counter()
    rec = run_cell(plan_cell(cell))
    wall = time.perf_counter() - t0
    t, m = rec["timing"], rec["metrics"]
    precision = "bf16" if rec["cost"]["device"]["bf16"] else "fp32"
    return Measure("bench", wall, t["train_seconds"] - t.get("train_eval_seconds", 0.0), t["train_samples"],
                   t["train_real_tokens"], t["train_tokens"], precision, m["accuracy"], m["macro_f1"],
                   t.get("eval_seconds", 0.0))


def run_bare(cell: Cell, data) -> Measure:
    """What bench's Trainer does, written out: same windows, sampler kind, collator, precision,
    optimiser, schedule and clipping; validation each epoch and test predictions at the end.

    Long because it is the reference: one straight training loop with no helper in between, so
    that ``bench perf`` compares bench's Trainer path with exactly this code."""
    import torch
    from torch.utils.data import DataLoader, RandomSampler
    from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup, set_seed

    from bench.components.context import CONTEXT
    from bench.components.models import get_model
    from bench.fit import attention
    from bench.fit.device import pick_device
    from bench.fit.loading import classifier
    from bench.fit.tokens import tokenize_cached, tokenizer_for
    from bench.fit.trainer import LengthBucketSampler, WindowDataset
    from bench.fit.transformer import predict_logits
    from bench.metrics import classification_metrics, softmax
    from bench.spec.named import build

    tp, spec = cell.train, get_model(cell.model)
    policy = build(CONTEXT, cell.context, cell.context_params)
    train, val, test = (data.splits[s] for s in ("train", "validation", "test"))
    t0 = time.perf_counter()
    device = pick_device(precision=tp.precision)
    tokenizer = tokenizer_for(spec)  # the same per-worker tokenizer and token cache as bench
    ident = json.dumps(spec.identity(), sort_keys=True)
    enc = {n: policy.encode(tokenize_cached(tokenizer, ident, s.texts), cell.max_length, tokenizer,
                            train=n == "train", seed=cell.seed)
           for n, s in (("train", train), ("validation", val), ("test", test))}
    set_seed(cell.seed)
    model: Any = classifier(spec, data.label_names, len(tokenizer)).to(device.torch)
    attention.apply(model, device)  # the kernel per train/eval mode, as bench's fit does
    ds: Any = WindowDataset(enc["train"], train.labels)
    sampler = (LengthBucketSampler([len(x) for x in enc["train"].input_ids], tp.batch_size, cell.seed)
               if tp.group_by_length else RandomSampler(ds, generator=torch.Generator().manual_seed(cell.seed)))
    loader = DataLoader(ds, batch_size=tp.batch_size, sampler=sampler, collate_fn=DataCollatorWithPadding(tokenizer))
    decay = [p for n, p in model.named_parameters() if not any(k in n.lower() for k in ("bias", "norm"))]
    rest = [p for n, p in model.named_parameters() if any(k in n.lower() for k in ("bias", "norm"))]
    groups: list[dict[str, Any]] = [{"params": decay, "weight_decay": tp.weight_decay},
                                    {"params": rest, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=tp.learning_rate)
    epochs = math.ceil(tp.epochs)
    steps = epochs * len(loader)
    sched = get_linear_schedule_with_warmup(opt, math.ceil(steps * tp.warmup_ratio), steps)
    train_seconds, samples, real, total = 0.0, 0, 0, 0
    for _ in range(epochs):
        model.train()
        t1 = time.perf_counter()
        for batch in loader:
            batch = {k: v.to(device.torch) for k, v in batch.items()}
            labels = batch.pop("labels")
            with device.autocast():
                logits = model(**batch).logits
            loss = torch.nn.functional.cross_entropy(logits.float(), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            mask = batch["attention_mask"]
            samples, real, total = samples + mask.shape[0], real + int(mask.sum()), total + mask.numel()
        device.synchronize()
        train_seconds += time.perf_counter() - t1
        predict_logits(model, enc["validation"], tokenizer, device, tp.eval_batch_size)  # per-epoch validation
    logits, tt = predict_logits(model, enc["test"], tokenizer, device, tp.eval_batch_size)
    doc = policy.aggregate(logits, enc["test"].doc_index, enc["test"].n_docs)
    metrics = classification_metrics(test.labels, softmax(doc), data.label_names)
    return Measure("bare", time.perf_counter() - t0, train_seconds, samples, real, total,
                   "bf16" if device.bf16 else "fp32", metrics["accuracy"], metrics["macro_f1"], tt["seconds"])


RUN = {"seed": run_seed_style, "bench": run_bench, "bare": run_bare}
