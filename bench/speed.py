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

import argparse
import contextlib
import copy
import os
import time
from dataclasses import dataclass
from functools import lru_cache

from bench.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16")
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


@lru_cache(maxsize=1)
def cpu_supports_bf16() -> bool:
    """AVX-512 bf16 or AMX: autocast bf16 matmuls run natively (read from /proc/cpuinfo; no torch)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(f.read().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def validate_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"training parameter precision must be one of {', '.join(PRECISIONS)} (got {precision!r})")


def resolve_precision(precision: str = "auto", kind: str | None = None) -> str:
    """``auto`` -> bf16 on CUDA with bf16, else fp32. CPU bf16 (AVX-512 bf16 / AMX) is opt-in
    (``precision="bf16"``): measured on a 2-core Xeon it did not clearly pay (docs/PERFORMANCE.md).

    ``BENCH_BF16=0|1`` overrides ``auto`` only; an explicit precision is never overridden.
    ``kind`` is the device kind if known; otherwise it is worked out like ``pick_device`` does.
    """
    validate_precision(precision)
    if precision != "auto":
        return precision
    if os.environ.get("BENCH_BF16") in ("0", "1"):
        return "bf16" if os.environ["BENCH_BF16"] == "1" else "fp32"
    if kind is None:
        kind = _device_kind()
    if kind == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "fp32"


def _device_kind() -> str:
    if os.environ.get("BENCH_DEVICE") == "cpu":
        return "cpu"
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# -- pretrained weights: loaded once per worker, copied per cell ---------------------------------

_PRETRAINED: dict[tuple, tuple[object, list[str]]] = {}


def classifier(spec, label_names: list[str], vocab_size: int, opts: RuntimeOptions | None = None):
    """A fresh classifier for one cell. Pretrained weights come from a per-process cache (deep
    copy); the new head is initialised from the caller's RNG state (``set_seed`` first), so a cache
    hit and a miss give the same model for the same seed."""
    import torch

    from bench.models import load_classifier

    opts = opts or RuntimeOptions.from_env()
    kwargs = {"attn_implementation": opts.attn_implementation} if opts.attn_implementation else {}
    if spec.random_init:
        return load_classifier(spec, label_names, vocab_size, **kwargs)
    key = (spec.name, spec.source, spec.revision, tuple(label_names), opts.attn)
    if key not in _PRETRAINED or not opts.weight_cache:
        with torch.random.fork_rng(devices=[]):  # loading must not consume the cell's RNG stream
            model, info = load_classifier(spec, label_names, vocab_size, output_loading_info=True, **kwargs)
        if not opts.weight_cache:
            _init_new(model, info["missing_keys"])
            return model
        _PRETRAINED.clear()  # keep one model per process: a worker runs one model at a time
        _PRETRAINED[key] = (model, list(info["missing_keys"]))
    base, missing = _PRETRAINED[key]
    model = copy.deepcopy(base)
    _init_new(model, missing)
    return model


def _init_new(model, missing: list[str]) -> None:
    """Initialise the parameters the checkpoint lacks (the classification head) like HF does:
    weights ~ N(0, initializer_range), biases zero. Deterministic given the RNG state."""
    import torch

    std = float(getattr(model.config, "initializer_range", 0.02) or 0.02)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name in sorted(missing):
            p = params.get(name)
            if p is None:
                continue
            if p.dim() >= 2:
                p.normal_(0.0, std)
            else:
                p.zero_()


# -- length-grouped batches -----------------------------------------------------------------------

class LengthBucketSampler:
    """Indices for batches of similar lengths, still random: shuffle, cut into mega-batches of
    ``mega`` batches, sort each by length, cut into batches, shuffle the full batches (a partial one
    goes last so that the DataLoader's batch boundaries stay put). Like transformers'
    ``LengthGroupedSampler``, but its mega-batches do not shrink to a quarter of the data on small
    training sets, and the batch order is shuffled. Deterministic per (seed, epoch)."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, mega: int = 50) -> None:
        self.lengths, self.batch_size, self.seed, self.mega = list(lengths), batch_size, seed, mega
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.lengths)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        import numpy as np

        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        perm, bs, size = rng.permutation(len(self.lengths)), self.batch_size, self.mega * self.batch_size
        batches = []
        for s in range(0, len(perm), size):
            mega = sorted(perm[s : s + size].tolist(), key=lambda i: -self.lengths[i])
            batches += [mega[j : j + bs] for j in range(0, len(mega), bs)]
        full = [b for b in batches if len(b) == bs]
        ordered = [full[k] for k in rng.permutation(len(full))] + [b for b in batches if len(b) < bs]
        return iter([i for b in ordered for i in b])


# -- hardware limit and model FLOPs ---------------------------------------------------------------

def matmul_peak(dtype: str = "fp32", n: int = 2048, repeats: int = 8, device: str = "cpu") -> float:
    """Best observed dense matmul throughput in GFLOP/s (n x n @ n x n) on this machine, now."""
    import torch

    dt = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a = torch.randn(n, n, dtype=dt, device=device)
    b = torch.randn(n, n, dtype=dt, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(2):
        a @ b
    sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        sync()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def model_shape(model) -> dict:
    """Non-embedding parameter count, layers and hidden size (for FLOPs per token)."""
    cfg = model.config
    return {"params_nonembed": int(model.num_parameters(exclude_embeddings=True)),
            "layers": int(getattr(cfg, "num_hidden_layers", 0)), "hidden": int(getattr(cfg, "hidden_size", 0))}


def train_flops(shape: dict, lengths) -> float:
    """Training FLOPs for sequences of the given real lengths: 6·N per token (forward + backward)
    plus attention scores and mixing, 12·layers·hidden·L² per sequence. Padding is not counted."""
    n, layers, hidden = shape["params_nonembed"], shape["layers"], shape["hidden"]
    total = 0.0
    for length in lengths:
        total += 6.0 * n * length + 12.0 * layers * hidden * length * length
    return total


# -- command line ----------------------------------------------------------------------------------

def add_speed_args(p) -> None:
    p.add_argument("--precision", choices=PRECISIONS, default=None,
                   help="auto (default: bf16 on CUDA with bf16, else fp32), fp32 or bf16 (CPU bf16: opt in); in the cell")
    p.add_argument("--group-by-length", action=argparse.BooleanOptionalAction, default=None,
                   help="batches of similar lengths (default off; in the cell)")
    p.add_argument("--attn", choices=ATTN, default=None, help="attention kernel (runtime: BENCH_ATTN; not in the cell)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the model (runtime: BENCH_COMPILE; pays on long runs only)")


def speed_from_args(args) -> dict:
    """The cell's speed fields from CLI flags; runtime flags go to the environment so that matrix
    workers (subprocesses) inherit them."""
    if getattr(args, "attn", None):
        os.environ["BENCH_ATTN"] = args.attn
    if getattr(args, "compile", None) is not None:
        os.environ["BENCH_COMPILE"] = "1" if args.compile else "0"
    out = {}
    if getattr(args, "precision", None):
        out["precision"] = args.precision
    if getattr(args, "group_by_length", None) is not None:
        out["group_by_length"] = args.group_by_length
    return out
