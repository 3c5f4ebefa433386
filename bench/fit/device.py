"""Device selection (CUDA with bf16 when present, else CPU; ``auto`` precision per machine) and peak-memory tracking."""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass

from bench.fit.calibrate import cpu_supports_bf16  # noqa: F401  (re-exported: bench.perf, tests)
from bench.spec.cell import validate_precision


@dataclass(frozen=True)
class Device:
    kind: str  # "cuda" or "cpu"
    bf16: bool

    @property
    def torch(self):
        import torch

        return torch.device(self.kind)

    def autocast(self):
        """bf16 autocast where the device was picked with bf16; otherwise a no-op context."""
        if not self.bf16:
            return contextlib.nullcontext()
        import torch

        return torch.autocast(device_type=self.kind, dtype=torch.bfloat16)

    def synchronize(self) -> None:
        if self.kind == "cuda":
            import torch

            torch.cuda.synchronize()

    def reset_peak(self) -> None:
        if self.kind == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()

    def peak_memory_mb(self) -> float | None:
        if self.kind != "cuda":
            return None
        import torch

        return torch.cuda.max_memory_allocated() / 2**20

    def describe(self) -> dict:
        return {"kind": self.kind, "bf16": self.bf16}


def pick_device(prefer: str | None = None, precision: str = "auto") -> Device:
    """``BENCH_DEVICE=cpu|cuda`` overrides; precision ``auto`` is bf16 on CUDA with bf16 and, on
    a CPU, what its calibration chose (``BENCH_BF16=0|1`` overrides auto; see resolve_precision)."""
    import torch

    prefer = prefer or os.environ.get("BENCH_DEVICE")
    cuda = torch.cuda.is_available() if prefer in (None, "", "auto", "cuda") else False
    kind = "cuda" if cuda else "cpu"
    return Device(kind, resolve_precision(precision, kind) == "bf16")


class PeakRSS:
    """Samples this process's resident memory in a thread; ``peak_mb`` is the cell's own peak."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._proc = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20


def resolve_precision(precision: str = "auto", kind: str | None = None) -> str:
    """``auto`` -> bf16 on CUDA with bf16, else fp32 there; on a CPU, what this machine's
    calibration chose (bench.fit.calibrate: bf16 when measured >= 1.25x faster, fp32 otherwise
    and always on CPUs without native bf16; measured once per machine and cached).

    ``BENCH_BF16=0|1`` overrides ``auto`` only; an explicit precision is never overridden.
    ``kind`` is the device kind if known; otherwise it is worked out like ``pick_device`` does.
    """
    return precision_choice(precision, kind)["precision"]


def precision_choice(precision: str = "auto", kind: str | None = None) -> dict:
    """The resolved precision and why: ``{"requested", "precision", "why", "bf16_speedup"}``
    (the speed-up is the CPU calibration's fp32/bf16 step-time ratio when it decided)."""
    validate_precision(precision)
    out = {"requested": precision, "precision": precision, "why": "set explicitly", "bf16_speedup": None}
    if precision != "auto":
        return out
    if os.environ.get("BENCH_BF16") in ("0", "1"):
        env = os.environ["BENCH_BF16"]
        return {**out, "precision": "bf16" if env == "1" else "fp32", "why": f"BENCH_BF16={env}"}
    if kind is None:
        kind = _device_kind()
    if kind == "cuda":
        import torch

        ok = torch.cuda.is_bf16_supported()
        return {**out, "precision": "bf16" if ok else "fp32", "why": f"CUDA {'with' if ok else 'without'} bf16"}
    if not cpu_supports_bf16():
        return {**out, "precision": "fp32", "why": "CPU without native bf16"}
    from bench.fit.calibrate import calibration

    cal = calibration(native_bf16=True)
    return {**out, "precision": cal["precision"], "why": f"CPU calibration: {cal['why']}",
            "bf16_speedup": cal["bf16_speedup"]}


def _device_kind() -> str:
    if os.environ.get("BENCH_DEVICE") == "cpu":
        return "cpu"
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def request_latency(model, batches, device: Device) -> dict:
    """Latency of one request per batch (already collated dicts of tensors), one at a time, on the
    device: p50 / p95 in ms and how many were timed ({} when none)."""
    import time

    import numpy as np
    import torch

    times = []
    with torch.inference_mode(), device.autocast():
        for batch in batches:
            batch = {k: v.to(device.torch) for k, v in batch.items()}
            t0 = time.perf_counter()
            model(**batch)
            device.synchronize()
            times.append((time.perf_counter() - t0) * 1000)
    if not times:
        return {}
    return {"latency_p50_ms": float(np.percentile(times, 50)), "latency_p95_ms": float(np.percentile(times, 95)),
            "latency_docs_timed": len(times)}
