"""``bench perf``: the side-by-side speed benchmark on one cell.

On the same cell (data subset, model, epochs, learning rate, seed) it runs, interleaved
(a, b, c, a, b, c, ...):

(a) ``seed`` -- the source article's recipe: ``AutoModelForSequenceClassification`` +
    ``TrainingArguments`` + ``Trainer``, every text padded to max_length, fp32, defaults;
(b) ``bench`` -- ``bench run`` (``run_cell``, in process);
(c) ``bare`` -- a plain PyTorch loop over the same windows and the same kind of batches
    (sampler, dynamic padding, precision, AdamW + linear warmup, gradient clipping);
(d) a dense-matmul peak measured on the spot, fp32 and bf16;

and reports medians, ratios b/a and b/c, samples/s, real tokens/s, padding share, model-FLOPs
utilisation against the measured peak (bf16 runs against the bf16 peak) and the quality of all
three. Nothing here asserts on seconds: the numbers are printed, and written as JSON if asked.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, replace

from bench.cell import Cell, TrainParams

RUNNERS = ("seed", "bench", "bare")
ABLATIONS = ("precision", "group_by_length", "attn", "weight_cache", "compile")


@dataclass(frozen=True)
class PerfConfig:
    task: str = "bbc-news"
    model: str = "minilm-l6"
    max_length: int = 256
    limit_train: int = 128
    limit_eval: int = 100
    epochs: float = 1.0
    learning_rate: float = 1e-4
    batch_size: int = 16
    seed: int = 0
    precision: str = "auto"
    repeats: int = 2
    runners: tuple[str, ...] = RUNNERS
    ablate: tuple[str, ...] = ()
    peak_n: int = 2048

    def cell(self) -> Cell:
        tp = TrainParams(epochs=self.epochs, learning_rate=self.learning_rate, batch_size=self.batch_size,
                         limit_train=self.limit_train, limit_eval=self.limit_eval, precision=self.precision,
                         early_stopping_patience=None)  # every runner trains the same number of epochs
        return Cell(task=self.task, model=self.model, max_length=self.max_length, seed=self.seed, train=tp)


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
    load: float = 0.0  # 1-minute load average when the run ended

    @property
    def padding_share(self) -> float:
        return 1 - self.real_tokens / self.tokens if self.tokens else 0.0


# -- (a) the seed-style Trainer script ------------------------------------------------------------

def run_seed_style(cell: Cell, data) -> Measure:
    """The article's recipe, verbatim in spirit: pad everything to max_length, fp32, Trainer defaults."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    from bench.metrics import classification_metrics, softmax
    from bench.models import get_model, model_path

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


# -- (b) bench run ----------------------------------------------------------------------------------

def run_bench(cell: Cell, data=None) -> Measure:
    from bench.pipeline import run_cell

    t0 = time.perf_counter()
    rec = run_cell(cell)
    wall = time.perf_counter() - t0
    t, m = rec["timing"], rec["metrics"]
    precision = "bf16" if rec["cost"]["device"]["bf16"] else "fp32"
    return Measure("bench", wall, t["train_seconds"] - t.get("train_eval_seconds", 0.0), t["train_samples"],
                   t["train_real_tokens"], t["train_tokens"], precision, m["accuracy"], m["macro_f1"],
                   t.get("eval_seconds", 0.0))


# -- (c) a bare PyTorch loop over the same batches ------------------------------------------------

def run_bare(cell: Cell, data) -> Measure:
    """What bench's Trainer does, written out: same windows, sampler kind, collator, precision,
    optimiser, schedule and clipping; validation each epoch and test predictions at the end."""
    import torch
    from torch.utils.data import DataLoader, RandomSampler
    from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup, set_seed

    from bench.cache import tokenize_cached, tokenizer_for
    from bench.components import build
    from bench.context import CONTEXT
    from bench.metrics import classification_metrics, softmax
    from bench.models import get_model
    from bench.resources import pick_device
    from bench.speed import LengthBucketSampler, classifier
    from bench.train import WindowDataset, predict_logits

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
    model = classifier(spec, data.label_names, len(tokenizer)).to(device.torch)
    ds = WindowDataset(enc["train"], train.labels)
    sampler = (LengthBucketSampler([len(x) for x in enc["train"].input_ids], tp.batch_size, cell.seed)
               if tp.group_by_length else RandomSampler(ds, generator=torch.Generator().manual_seed(cell.seed)))
    loader = DataLoader(ds, batch_size=tp.batch_size, sampler=sampler, collate_fn=DataCollatorWithPadding(tokenizer))
    decay = [p for n, p in model.named_parameters() if not any(k in n.lower() for k in ("bias", "norm"))]
    rest = [p for n, p in model.named_parameters() if any(k in n.lower() for k in ("bias", "norm"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": tp.weight_decay}, {"params": rest, "weight_decay": 0.0}],
                            lr=tp.learning_rate)
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


# -- the whole benchmark ----------------------------------------------------------------------------

def train_flops_for(cell: Cell, data) -> float:
    """Model FLOPs of the cell's training (real tokens only; identical for every runner)."""
    from bench.components import build
    from bench.context import CONTEXT
    from bench.models import get_model, load_classifier, load_tokenizer
    from bench.speed import model_shape, train_flops
    from bench.train import tokenize

    spec = get_model(cell.model)
    tokenizer = load_tokenizer(spec)
    policy = build(CONTEXT, cell.context, cell.context_params)
    windows = policy.encode(tokenize(tokenizer, data.splits["train"].texts), cell.max_length, tokenizer, train=True,
                            seed=cell.seed)
    shape = model_shape(load_classifier(spec, data.label_names, len(tokenizer)))
    return train_flops(shape, [len(w) for w in windows.input_ids]) * math.ceil(cell.train.epochs)


def machine() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    from bench.speed import cpu_supports_bf16

    info["cpu_bf16"] = cpu_supports_bf16()
    return info


def benchmark(cfg: PerfConfig, progress=print) -> dict:
    """Run the interleaved side-by-side benchmark (and the asked ablations of bench's options)."""
    import torch
    from transformers import Trainer, TrainingArguments  # noqa: F401 - imported before any clock starts

    from bench.pipeline import cell_data
    from bench.speed import matmul_peak, runtime_env

    cell = cfg.cell()
    data = cell_data(cell)
    dev = "cuda" if torch.cuda.is_available() and os.environ.get("BENCH_DEVICE") != "cpu" else "cpu"
    peaks = {p: matmul_peak(p, cfg.peak_n, device=dev) for p in ("fp32", "bf16")}
    progress(f"matmul peak ({dev}): fp32 {peaks['fp32']:.1f} GFLOP/s, bf16 {peaks['bf16']:.1f} GFLOP/s")
    flops = train_flops_for(cell, data)
    variants = [("", cell, {})] + [v for name in cfg.ablate for v in ablation(cell, name)]
    runs: dict[str, list[Measure]] = {}
    for r in range(cfg.repeats):
        k = r % len(cfg.runners)  # rotate the order (a,b,c / b,c,a / ...): one-off costs and load drift spread out
        for runner in cfg.runners[k:] + cfg.runners[:k]:
            for label, vcell, env in (variants if runner == "bench" else [("", cell, {})]):
                key = f"bench{label}" if runner == "bench" else runner
                with runtime_env(**env):
                    m = RUN[runner](vcell, data)
                m.runner, m.load = key, os.getloadavg()[0]
                runs.setdefault(key, []).append(m)
                progress(f"[{r + 1}/{cfg.repeats}] {key:<24} wall {m.wall_seconds:6.1f}s  train {m.train_seconds:6.1f}s"
                         f"  macro-F1 {m.macro_f1:.3f}  load {m.load:.2f}")
    return summarise(cfg, runs, peaks, flops)


def ablation(cell: Cell, name: str) -> list[tuple[str, Cell, dict]]:
    """Variants of bench's default cell with one speed option flipped (label, cell, env)."""
    tp = cell.train
    if name == "precision":
        from bench.speed import resolve_precision

        other = "fp32" if resolve_precision(tp.precision) == "bf16" else "bf16"
        return [(f" precision={other}", cell.with_(train=replace(tp, precision=other)), {})]
    if name == "group_by_length":
        flipped = not tp.group_by_length
        return [(f" group_by_length={'on' if flipped else 'off'}", cell.with_(train=replace(tp, group_by_length=flipped)),
                 {})]
    if name == "attn":
        return [(" attn=eager", cell, {"BENCH_ATTN": "eager"})]
    if name == "weight_cache":
        return [(" weight_cache=off", cell, {"BENCH_WEIGHT_CACHE": "0"})]
    if name == "compile":
        return [(" compile=on", cell, {"BENCH_COMPILE": "1"})]
    from bench.errors import ConfigError

    raise ConfigError(f"unknown ablation {name!r}: expected some of {', '.join(ABLATIONS)}")


def summarise(cfg: PerfConfig, runs: dict[str, list[Measure]], peaks: dict, flops: float) -> dict:
    rows = {}
    for key, ms in runs.items():
        med = {f: statistics.median(getattr(m, f) for m in ms) for f in ("wall_seconds", "train_seconds", "test_seconds")}
        m0 = ms[0]
        rows[key] = {
            **med, "precision": m0.precision, "samples": m0.samples, "real_tokens": m0.real_tokens,
            "padding_share": m0.padding_share,
            "samples_per_s": m0.samples / med["train_seconds"], "real_tokens_per_s": m0.real_tokens / med["train_seconds"],
            "mfu": flops / med["train_seconds"] / (peaks[m0.precision] * 1e9),
            "accuracy": [m.accuracy for m in ms], "macro_f1": [m.macro_f1 for m in ms],
            "wall_all": [m.wall_seconds for m in ms], "train_all": [m.train_seconds for m in ms],
            "load": [m.load for m in ms],
        }
    ratios = {}
    for other, tag in (("seed", "a"), ("bare", "c")):
        if "bench" in rows and other in rows:
            for f in ("wall_seconds", "train_seconds"):
                ratios[f"b/{tag} {f.split('_')[0]}"] = rows["bench"][f] / rows[other][f]
    return {"config": {k: v for k, v in vars(cfg).items()}, "machine": machine(), "peak_gflops": peaks,
            "train_flops": flops, "rows": rows, "ratios": ratios, "loadavg_end": os.getloadavg()}


def format_report(rep: dict) -> str:
    from tabulate import tabulate

    c, mach = rep["config"], rep["machine"]
    lines = [f"cell: {c['task']} · {c['model']} · L={c['max_length']} · limit-train {c['limit_train']} · "
             f"limit-eval {c['limit_eval']} · epochs {c['epochs']} · lr {c['learning_rate']} · batch {c['batch_size']} "
             f"· seed {c['seed']} · repeats {c['repeats']} (interleaved, order rotated; medians)",
             f"machine: {mach['cpu']} · {mach['cores']} cores · torch {mach['torch']} ({mach['torch_threads']} threads)"
             f" · GPU {mach['gpu'] or 'none'} · CPU bf16 {'yes' if mach['cpu_bf16'] else 'no'}",
             f"measured matmul peak: fp32 {rep['peak_gflops']['fp32']:.1f} GFLOP/s · bf16 "
             f"{rep['peak_gflops']['bf16']:.1f} GFLOP/s · training model FLOPs {rep['train_flops'] / 1e12:.2f} TFLOP",
             ""]
    table = []
    for key, r in rep["rows"].items():
        table.append([key, r["precision"], f"{r['wall_seconds']:.1f}", f"{r['train_seconds']:.1f}",
                      f"{r['test_seconds']:.1f}", f"{r['samples_per_s']:.1f}", f"{r['real_tokens_per_s']:.0f}",
                      f"{r['padding_share']:.1%}", f"{r['mfu']:.1%}", " ".join(f"{v:.3f}" for v in r["accuracy"]),
                      " ".join(f"{v:.3f}" for v in r["macro_f1"]), " ".join(f"{v:.2f}" for v in r["load"])])
    lines.append(tabulate(table, ["run", "prec", "wall s", "train s", "test s", "samples/s", "real tok/s", "padding",
                                  "MFU", "accuracy", "macro-F1", "load avg"], disable_numparse=True))
    lines.append("")
    lines.append("ratios (medians; < 1 = bench faster): " +
                 "  ".join(f"{k} {v:.2f}x" for k, v in rep["ratios"].items()))
    lines.append(f"load average at the end: {' '.join(f'{x:.2f}' for x in rep['loadavg_end'])}")
    return "\n".join(lines)


def add_perf_parser(sub) -> None:
    d = PerfConfig()
    p = sub.add_parser("perf", help="side-by-side speed benchmark: seed-style Trainer script vs bench run vs bare loop")
    p.add_argument("--task", default=d.task)
    p.add_argument("--model", default=d.model)
    p.add_argument("--max-length", type=int, default=d.max_length)
    p.add_argument("--limit-train", type=int, default=d.limit_train)
    p.add_argument("--limit-eval", type=int, default=d.limit_eval)
    p.add_argument("--epochs", type=float, default=d.epochs)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--precision", default=d.precision, choices=["auto", "fp32", "bf16"], help="bench's and bare's")
    p.add_argument("--repeats", type=int, default=d.repeats, help="interleaved rounds (a, b, c, a, b, c, ...)")
    p.add_argument("--runners", default=",".join(RUNNERS), help="subset of seed,bench,bare")
    p.add_argument("--ablate", default="", help=f"bench runs with one option flipped: {','.join(ABLATIONS)} or all")
    p.add_argument("--json", default=None, help="also write the full report here")
    p.set_defaults(func=cmd_perf)


def cmd_perf(args) -> int:
    import json
    import logging

    from bench.cli import _quiet
    from bench.errors import ConfigError
    from bench.pipeline import validate_cell
    from bench.record import write_json_atomic

    runners = tuple(r for r in args.runners.split(",") if r)
    ablate = ABLATIONS if args.ablate == "all" else tuple(a for a in args.ablate.split(",") if a)
    bad = [r for r in runners if r not in RUNNERS] + [a for a in ablate if a not in ABLATIONS]
    if bad or not runners or args.repeats < 1:
        raise ConfigError(f"bench perf: bad --runners/--ablate/--repeats value(s) {bad or args.repeats}: runners are "
                          f"{','.join(RUNNERS)}; ablations {','.join(ABLATIONS)}; repeats >= 1")
    cfg = PerfConfig(task=args.task, model=args.model, max_length=args.max_length, limit_train=args.limit_train,
                     limit_eval=args.limit_eval, epochs=args.epochs, learning_rate=args.learning_rate,
                     batch_size=args.batch_size, seed=args.seed, precision=args.precision, repeats=args.repeats,
                     runners=runners, ablate=ablate)
    validate_cell(cfg.cell())
    _quiet()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    rep = benchmark(cfg, progress=lambda s: print(s, flush=True))
    print()
    print(format_report(rep))
    if args.json:
        write_json_atomic(args.json, json.loads(json.dumps(rep, default=str)))
        print(f"report: {args.json}")
    return 0
