"""Device selection (CUDA with bf16 when present, else CPU fp32) and peak-memory tracking."""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass


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
    """``BENCH_DEVICE=cpu|cuda`` overrides; precision ``auto`` is bf16 on CUDA with bf16 and on
    CPUs with native bf16 (``BENCH_BF16=0|1`` overrides auto; see bench.speed.resolve_precision)."""
    import torch

    from bench.speed import resolve_precision

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
