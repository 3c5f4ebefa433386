"""Speed options and the measurements behind them.

Options that change the numbers a cell produces live in the cell (``TrainParams.precision``,
``TrainParams.group_by_length``); options that leave predictions unchanged within float noise
are runtime settings read from the environment (so matrix workers inherit them) and stay out
of the cell id:

- ``BENCH_ATTN=auto|sdpa|eager`` -- attention kernel (auto = the library's default, SDPA where
  the architecture supports it);
- ``BENCH_COMPILE=1`` -- ``torch.compile`` the model inside the Trainer (pays on long runs only);
- ``BENCH_WEIGHT_CACHE=0`` -- load pretrained weights from disk for every cell instead of once per
  worker.

Also here: CPU bf16 detection, a matmul peak measured on the spot, and model-FLOPs counting.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from bench.errors import ConfigError

ATTN = ("auto", "sdpa", "eager")


@dataclass(frozen=True)
class RuntimeOptions:
    attn: str = "auto"
    compile: bool = False
    weight_cache: bool = True

    @classmethod
    def from_env(cls) -> RuntimeOptions:
        attn = os.environ.get("BENCH_ATTN", "auto") or "auto"
        if attn not in ATTN:
            raise ConfigError(f"BENCH_ATTN={attn!r}: expected one of {', '.join(ATTN)}")
        return cls(attn=attn, compile=os.environ.get("BENCH_COMPILE", "0") == "1",
                   weight_cache=os.environ.get("BENCH_WEIGHT_CACHE", "1") != "0")

    @property
    def attn_implementation(self) -> str | None:
        return None if self.attn == "auto" else self.attn


@contextlib.contextmanager
def runtime_env(**values: str | None):
    """Set BENCH_* runtime variables for a block (None = leave unset), then restore them."""
    def put(items) -> None:
        for k, v in items:
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    saved = {k: os.environ.get(k) for k in values}
    try:
        put(values.items())
        yield
    finally:
        put(saved.items())


# -- pretrained weights: loaded once per worker, copied per cell ---------------------------------


# -- length-grouped batches -----------------------------------------------------------------------


# -- hardware limit and model FLOPs ---------------------------------------------------------------


# -- command line ----------------------------------------------------------------------------------


