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

import math
import os
import platform
import statistics
from dataclasses import dataclass
from typing import Any

from bench.perf.load import DEFAULT_MAX_LOAD, LoadWatch, ratio_verdict
from bench.perf.runners import RUN, Measure
from bench.spec.cell import Cell, TrainParams

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
    max_load: float = DEFAULT_MAX_LOAD  # other processes' load per core above which ratios are withheld

    def cell(self) -> Cell:
        tp = TrainParams(epochs=self.epochs, learning_rate=self.learning_rate, batch_size=self.batch_size,
                         limit_train=self.limit_train, limit_eval=self.limit_eval, precision=self.precision,
                         early_stopping_patience=None)  # every runner trains the same number of epochs
        return Cell(task=self.task, model=self.model, max_length=self.max_length, seed=self.seed, train=tp)


# -- (a) the seed-style Trainer script ------------------------------------------------------------


# -- (b) bench run ----------------------------------------------------------------------------------


# -- (c) a bare PyTorch loop over the same batches ------------------------------------------------


# -- the whole benchmark ----------------------------------------------------------------------------

def train_flops_for(cell: Cell, data) -> float:
    """Model FLOPs of the cell's training (real tokens only; identical for every runner)."""
    from bench.components.context import CONTEXT
    from bench.components.models import get_model
    from bench.fit.loading import load_classifier, load_tokenizer
    from bench.fit.tokens import tokenize
    from bench.perf.flops import model_shape, train_flops
    from bench.spec.named import build

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
    info: dict[str, Any] = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                            "torch": torch.__version__,
                            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    from bench.fit.device import cpu_supports_bf16, precision_choice

    info["cpu_bf16"] = cpu_supports_bf16()
    info["precision_auto"] = precision_choice("auto")  # what the default resolves to here, and why
    return info


def benchmark(cfg: PerfConfig, progress=print, probe=None) -> dict:
    """Run the interleaved side-by-side benchmark (and the asked ablations of bench's options);
    ``probe``: the load readings (bench.perf.load.SystemProbe unless a test fakes them)."""
    import torch
    from transformers import Trainer, TrainingArguments  # noqa: F401 - imported before any clock starts

    from bench.fit.options import runtime_env
    from bench.perf.flops import matmul_peak
    from bench.run.worker import cell_data

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
                with runtime_env(**env), LoadWatch(probe) as watch:
                    m = RUN[runner](vcell, data)
                m.runner, m.load, m.load_info = key, watch.load.during_mean, watch.load.as_dict()
                runs.setdefault(key, []).append(m)
                li = m.load_info
                progress(f"[{r + 1}/{cfg.repeats}] {key:<24} wall {m.wall_seconds:6.1f}s  train {m.train_seconds:6.1f}s"
                         f"  macro-F1 {m.macro_f1:.3f}  load before {li['before']:.2f} during {li['during_mean']:.2f}"
                         f" (max {li['during_max']:.2f}) after {li['after']:.2f}; own {li['own_cores']:.2f} cores,"
                         f" others {li['others_cores']:.2f}")
    return perf_report(cfg, runs, peaks, flops, cores=(probe.cores() if probe else os.cpu_count() or 1))


def ablation(cell: Cell, name: str) -> list[tuple[str, Cell, dict]]:
    """Variants of bench's default cell with one speed option flipped (label, cell, env)."""
    tp = cell.train
    if name == "precision":
        from bench.fit.device import resolve_precision

        other = "fp32" if resolve_precision(tp.precision) == "bf16" else "bf16"
        return [(f" precision={other}", cell.with_(train=tp.with_(precision=other)), {})]
    if name == "group_by_length":
        flipped = not tp.group_by_length
        return [(f" group_by_length={'on' if flipped else 'off'}", cell.with_(train=tp.with_(group_by_length=flipped)),
                 {})]
    if name == "attn":  # the other kernel than auto trains with here (bench.fit.attention)
        from bench.fit.device import pick_device

        device = pick_device(precision=tp.precision)
        other = "sdpa" if device.kind == "cpu" and device.bf16 else "eager"
        return [(f" attn={other}", cell, {"BENCH_ATTN": other})]
    if name == "weight_cache":
        return [(" weight_cache=off", cell, {"BENCH_WEIGHT_CACHE": "0"})]
    if name == "compile":
        return [(" compile=on", cell, {"BENCH_COMPILE": "1"})]
    from bench.errors import ConfigError

    raise ConfigError(f"unknown ablation {name!r}: expected some of {', '.join(ABLATIONS)}")


def perf_report(cfg: PerfConfig, runs: dict[str, list[Measure]], peaks: dict, flops: float, cores: int = 1) -> dict:
    """Medians per runner, ratios between them -- withheld (not printed) when the machine was busy."""
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
            "load": [m.load for m in ms], "load_info": [m.load_info for m in ms],
        }
    ratios = {}
    for other, tag in (("seed", "a"), ("bare", "c")):
        if "bench" in rows and other in rows:
            for f in ("wall_seconds", "train_seconds"):
                ratios[f"b/{tag} {f.split('_')[0]}"] = rows["bench"][f] / rows[other][f]
    ok, why = ratio_verdict([li for ms in runs.values() for m in ms if (li := m.load_info)], cores, cfg.max_load)
    return {"config": {k: v for k, v in vars(cfg).items()}, "machine": machine(), "peak_gflops": peaks,
            "train_flops": flops, "rows": rows, "ratios": ratios if ok else {},
            "ratios_withheld": None if ok else ratios, "load_verdict": {"ok": ok, "why": why, "cores": cores},
            "loadavg_end": os.getloadavg()}


def format_report(rep: dict) -> str:
    from tabulate import tabulate

    c, mach = rep["config"], rep["machine"]
    lines = [f"cell: {c['task']} · {c['model']} · L={c['max_length']} · limit-train {c['limit_train']} · "
             f"limit-eval {c['limit_eval']} · epochs {c['epochs']} · lr {c['learning_rate']} · batch {c['batch_size']} "
             f"· seed {c['seed']} · repeats {c['repeats']} (interleaved, order rotated; medians)",
             f"machine: {mach['cpu']} · {mach['cores']} cores · torch {mach['torch']} ({mach['torch_threads']} threads)"
             f" · GPU {mach['gpu'] or 'none'} · CPU bf16 {'yes' if mach['cpu_bf16'] else 'no'}",
             *([f"precision auto here: {auto['precision']} ({auto['why']})"] if (auto := mach.get("precision_auto")) else []),
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
    verdict = rep.get("load_verdict", {"ok": True, "why": ""})
    if verdict["ok"]:
        lines.append("ratios (medians; < 1 = bench faster): " +
                     "  ".join(f"{k} {v:.2f}x" for k, v in rep["ratios"].items()))
    lines.append(verdict["why"])
    lines.append(f"load average at the end: {' '.join(f'{x:.2f}' for x in rep['loadavg_end'])}")
    return "\n".join(lines)


