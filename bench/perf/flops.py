"""Hardware peak and model FLOPs: a matmul peak measured on the spot and training FLOPs per sequence."""

from __future__ import annotations

import time


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
