"""Chunk-policy cost grows linearly with document length.

Cost = windowing the token ids (timed) and the windows the model must run (counted). Lengths
1x, 2x, 4x, 8x are measured in the same run (process CPU time, best of 7) and compared as ratios
of time per token, never as seconds. ``pytest tests/benchmarks --benchmark-enable`` reports the 8x timing; the default run
(``--benchmark-disable``) still checks the ratios.
"""

import time
import timeit

import numpy as np
import pytest

from bench.components.context import CONTEXT
from bench.components.models import get_model
from bench.fit.loading import load_tokenizer
from bench.spec.named import build

BASE = 2_000  # tokens per document at 1x
SCALES = (1, 2, 4, 8)
N_DOCS = 8


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(get_model("tiny-bert"))


def _docs(scale: int) -> list[list[int]]:
    rng = np.random.default_rng(scale)
    return [rng.integers(1000, 30000, BASE * scale).tolist() for _ in range(N_DOCS)]


@pytest.mark.parametrize("params", [{}, {"overlap": 64}], ids=["no-overlap", "overlap-64"])
def test_chunk_cost_is_linear_in_document_length(benchmark, tok, params):
    policy = build(CONTEXT, "chunk", params)
    docs = {s: _docs(s) for s in SCALES}
    per_token = {}
    windows = {}
    for s in SCALES:
        secs = min(timeit.repeat(lambda s=s: policy.encode(docs[s], 128, tok, train=False), number=1, repeat=7,
                                 timer=time.process_time))  # CPU time: robust to a busy machine
        per_token[s] = secs / (BASE * s * N_DOCS)
        windows[s] = len(policy.encode(docs[s], 128, tok, train=False).input_ids)
    ratios = {s: per_token[s] / per_token[1] for s in SCALES}
    benchmark.extra_info.update({f"time_per_token_ratio_{s}x": round(r, 3) for s, r in ratios.items()})
    benchmark.extra_info.update({f"windows_{s}x": windows[s] for s in SCALES})
    benchmark(policy.encode, docs[8], 128, tok, train=False)
    print({f"{s}x": round(r, 2) for s, r in ratios.items()})
    # linear: time per token stays flat (a quadratic cost would give a ratio of ~8 at 8x)
    assert ratios[8] < 3, ratios
    # windows (the model's cost) grow exactly in proportion to the length, up to the last partial window
    step = 126 - params.get("overlap", 0)
    for s in SCALES:
        assert windows[s] == N_DOCS * -(-(BASE * s - 126) // step) + N_DOCS
