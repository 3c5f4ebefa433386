"""The gate's calibration workload: how fast is this machine, right now, at the work cells do?

``bench baseline`` and ``bench check`` both time the same fixed workload, and ``bench check``
divides every timing's slowdown by the workload's. The workload resembles a smoke cell: training
steps (forward + backward + AdamW) of a random-init tiny-bert (the ``tiny-bert`` model's config:
BERT, 2 layers, hidden 64) on a fixed batch of token ids (batch 16 × sequence 64, seed 0, fp32),
with the torch threads the cells use. One repeat is ``STEPS`` steps (about 1 s on one idle CPU
core); the time is the median of ``REPEATS`` repeats, interleaved: every repeat restarts from the
same initial weights and optimizer state, and repeats are separated by a short pause, so that a
burst of contention from other processes lands on one repeat rather than on all of them.

The spread of the repeats, ``(max - min) / median``, says whether the machine was steady enough
for the median to mean anything; ``bench check`` refuses to judge timings when either side's
spread exceeds ``MAX_SPREAD`` (docs/CHECK.md says how that number and the default time factor
were chosen).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

STEPS = 24
BATCH = 16
SEQ_LEN = 64
LABELS = 5
SEED = 0
REPEATS = 5
PAUSE_S = 0.2
MAX_SPREAD = 0.25
NAME = "tiny-bert-train-steps"


def workload(steps: int = STEPS, threads: int | None = None) -> dict[str, Any]:
    """What is timed: two calibrations compare only when these are equal."""
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    return {"name": NAME, "model": "tiny-bert config (BERT 2 layers, hidden 64, vocab 30522), random init",
            "batch": BATCH, "seq_len": SEQ_LEN, "labels": LABELS, "steps": steps, "optimizer": "AdamW lr 1e-3",
            "dtype": "fp32", "seed": SEED, "threads": int(threads)}


def spread(times: list[float]) -> float:
    """(max - min) / median: 0 for a steady machine; 0.5 means the repeats disagree by half."""
    med = statistics.median(times)
    return (max(times) - min(times)) / med if med > 0 else float("inf")


def summary(times: list[float], work: dict[str, Any]) -> dict[str, Any]:
    times = [round(t, 6) for t in times]
    return {"workload": work, "repeats": times, "seconds": statistics.median(times), "spread": spread(times)}


def calibrate(repeats: int = REPEATS, steps: int = STEPS, pause: float = PAUSE_S) -> dict[str, Any]:
    """Time the workload on this machine: ``{"workload", "repeats", "seconds" (median), "spread"}``."""
    import copy

    import torch
    from transformers import AutoModelForSequenceClassification

    from bench.fit.loading import tiny_config

    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        model = AutoModelForSequenceClassification.from_config(tiny_config(30522, LABELS))
        gen = torch.Generator().manual_seed(SEED)
        ids = torch.randint(1000, 30522, (BATCH, SEQ_LEN), generator=gen)
        labels = torch.randint(0, LABELS, (BATCH,), generator=gen)
    model.train()
    start = copy.deepcopy(model.state_dict())

    def one(n: int) -> float:
        model.load_state_dict(start)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        t0 = time.perf_counter()
        for _ in range(n):
            opt.zero_grad()
            model(input_ids=ids, labels=labels).loss.backward()
            opt.step()
        return time.perf_counter() - t0

    one(3)  # warm-up: allocator, kernels
    times = []
    for i in range(repeats):
        if i:
            time.sleep(pause)
        times.append(one(steps))
    return summary(times, workload(steps))
