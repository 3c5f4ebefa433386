"""What precision ``auto`` means on a CPU: measured once per machine, cached, then reused.

On a CPU with native bf16 (AVX-512 bf16 / AMX) bf16 autocast can be 2-3x faster than fp32 or
slower than it, depending on the chip (docs/PERFORMANCE.md). So ``auto`` does not guess: the first
time it is resolved it times a square matmul and one forward + backward step of a small
BERT-shaped classifier (random init, no download) at fp32 and under bf16 autocast, a few seconds
in all, and picks bf16 when the training step is at least :data:`BF16_MIN_SPEEDUP` times faster,
fp32 otherwise (and fp32 without measuring when the CPU lacks native bf16).

The result is cached under ``<cache root>/machine/`` keyed by CPU model, torch version and thread
count (:func:`machine_key`), so every later run on the same machine resolves to the same
precision; ``bench ls machine`` prints it. CUDA keeps its own rule (bench.fit.device).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from bench.hashing import json_hash
from bench.store import cache_dir, write_atomic

BF16_MIN_SPEEDUP = 1.25  # bf16 must be this much faster end to end (a training step) to be chosen
FORMAT = 2  # bump when what is measured changes: old cache files are then measured again
# 2: each precision's training step runs the attention kernel bench trains with in it (bench.fit.attention)

Timings = dict[str, float]  # matmul_fp32_s, matmul_bf16_s, step_fp32_s, step_bf16_s
_MEMO: dict[Path, dict[str, Any]] = {}  # this process's measurements (when the cache cannot be written)


def decide(timings: Timings | None, native_bf16: bool, threshold: float = BF16_MIN_SPEEDUP) -> dict[str, Any]:
    """The choice from measured seconds (pure: tests inject the timings).

    Returns ``{"precision", "bf16_speedup", "matmul_speedup", "why"}``; the speed-ups are
    fp32 seconds / bf16 seconds (> 1: bf16 faster), None when not measured."""
    if not native_bf16 or not timings:
        return {"precision": "fp32", "bf16_speedup": None, "matmul_speedup": None,
                "why": "the CPU has no native bf16 (AVX-512 bf16 / AMX): fp32"}
    step = timings["step_fp32_s"] / timings["step_bf16_s"]
    matmul = timings["matmul_fp32_s"] / timings["matmul_bf16_s"]
    pick = "bf16" if step >= threshold else "fp32"
    cmp = ">=" if pick == "bf16" else "<"
    return {"precision": pick, "bf16_speedup": round(step, 3), "matmul_speedup": round(matmul, 3),
            "why": f"bf16 training step {step:.2f}x fp32's speed ({cmp} {threshold}x): {pick}"}


@lru_cache(maxsize=1)
def cpu_supports_bf16() -> bool:
    """AVX-512 bf16 or AMX: autocast bf16 matmuls run natively (read from /proc/cpuinfo; no torch)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(f.read().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def machine() -> dict[str, Any]:
    """What the calibration is keyed by: CPU model, torch version, thread count."""
    import torch

    return {"cpu": cpu_model(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "format": FORMAT}


def machine_key(info: dict[str, Any]) -> str:
    return json_hash(info, 16)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cache_path(info: dict[str, Any]) -> Path:
    return cache_dir("machine") / f"precision-{machine_key(info)}.json"


def calibration(measure: Callable[[], Timings] | None = None, native_bf16: bool | None = None) -> dict[str, Any]:
    """This machine's calibration: read from the cache, or measured once (``measure``, default
    :func:`measure_cpu`) and cached. The dict holds the machine, the timings, the decision and
    whether it came from the cache (``cached``)."""
    info = machine()
    path = cache_path(info)
    if measure is None and path in _MEMO:  # an unwritable cache: measure once per process
        return _MEMO[path]
    try:
        cal = json.loads(path.read_text())
        if cal.get("machine") == info:
            return {**cal, "cached": True, "path": str(path)}
    except (OSError, ValueError):
        pass
    native = cpu_supports_bf16() if native_bf16 is None else native_bf16
    timings = (measure or measure_cpu)() if native else None
    cal = {"machine": info, "native_bf16": native, "timings": timings, **decide(timings, native),
           "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    write_atomic(path, json.dumps(cal, indent=1).encode(), best_effort=True)
    if measure is None:
        _MEMO[path] = {**cal, "cached": True, "path": str(path)}
    return {**cal, "cached": False, "path": str(path)}


def measure_cpu(repeats: int = 3) -> Timings:
    """Median seconds of a 1024x1024 matmul and of one forward + backward step of a small
    BERT-shaped classifier (2 layers, hidden 384, 12 heads: MiniLM's layer shape; batch 8 x 64
    tokens), at fp32 and under bf16 autocast, each step with the attention kernel training uses in
    that precision (bench.fit.attention); one warm-up of each first. A few seconds."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    cfg = BertConfig(vocab_size=2000, hidden_size=384, num_hidden_layers=2, num_attention_heads=12,
                     intermediate_size=1536, max_position_embeddings=64, num_labels=3)  # type: ignore[call-arg]
    model = BertForSequenceClassification(cfg).train()
    ids = torch.randint(0, 2000, (8, 64))
    labels = torch.randint(0, 3, (8,))

    def matmul() -> None:
        for _ in range(4):
            a @ b

    def step() -> None:
        model(input_ids=ids, labels=labels).loss.backward()
        model.zero_grad(set_to_none=True)

    from types import SimpleNamespace

    from bench.fit.attention import plan, register
    from bench.fit.options import RuntimeOptions

    out: Timings = {}
    library_default = model.config._attn_implementation
    register()
    for prec in ("fp32", "bf16"):
        cpu = SimpleNamespace(kind="cpu", bf16=prec == "bf16")  # (bench.fit.device imports this module)
        kernel = plan(model, cpu, RuntimeOptions())["train"]  # what training runs
        model.config._attn_implementation = library_default if kernel == "default" else kernel
        ctx = torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16")
        for name, fn in (("matmul", matmul), ("step", step)):
            with ctx:
                fn()  # warm-up (kernel selection, allocator)
                secs = []
                for _ in range(repeats):
                    t = time.perf_counter()
                    fn()
                    secs.append(time.perf_counter() - t)
            out[f"{name}_{prec}_s"] = round(statistics.median(secs), 5)
    return out


def describe(cal: dict[str, Any]) -> list[str]:
    """Lines for ``bench ls machine``."""
    m, t = cal["machine"], cal.get("timings") or {}
    lines = [f"CPU: {m['cpu']} · torch {m['torch']} · {m['threads']} threads · native bf16: "
             f"{'yes' if cal['native_bf16'] else 'no'}"]
    if t:
        lines.append(f"matmul 1024² x4: fp32 {t['matmul_fp32_s']:.4f} s, bf16 {t['matmul_bf16_s']:.4f} s "
                     f"({cal['matmul_speedup']}x)")
        lines.append(f"train step (BERT-shaped, 2x384, 8x64 tokens): fp32 {t['step_fp32_s']:.4f} s, "
                     f"bf16 {t['step_bf16_s']:.4f} s ({cal['bf16_speedup']}x)")
    env = os.environ.get("BENCH_BF16")
    lines.append(f"--precision auto on CPU: {cal['precision']} ({cal['why']})"
                 + (f"; overridden now by BENCH_BF16={env}" if env in ("0", "1") else ""))
    lines.append(f"{'cached' if cal['cached'] else 'measured now'}: {cal['path']} (measured {cal['measured_at']}; "
                 f"delete it to measure again)")
    return lines
