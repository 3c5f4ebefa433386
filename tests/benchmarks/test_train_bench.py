"""pytest-benchmark suite for bench's speed options on a tiny random-init model (CPU, seconds).

Run with timings: ``.venv/bin/pytest tests/benchmarks --benchmark-enable --benchmark-group-by=group``.
Compare the rows of a group (ratios against the reference measured in the same run); nothing here
asserts on seconds. With the default ``--benchmark-disable`` each case runs once as a smoke test.
The side-by-side benchmark on real models is ``bench perf`` (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def batch_maker():
    from bench.components.models import get_model
    from bench.fit.loading import load_tokenizer

    tok = load_tokenizer(get_model("tiny-bert"))
    rng = np.random.default_rng(0)
    lengths = rng.integers(20, 256, size=16)  # review-like spread of lengths
    ids = [[101, *rng.integers(1000, 20000, n - 2).tolist(), 102] for n in lengths]

    def make(pad_to: int | None):
        kwargs = {"padding": "max_length", "max_length": pad_to} if pad_to else {}
        b = tok.pad({"input_ids": ids}, return_tensors="pt", **kwargs)
        return {**b, "labels": torch.zeros(len(ids), dtype=torch.long)}

    return tok, make


def step_fn(tok, batch, bf16: bool):
    from bench.components.models import get_model
    from bench.fit.loading import load_classifier

    torch.manual_seed(0)
    model = load_classifier(get_model("tiny-bert"), ["a", "b", "c"], len(tok))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        return float(loss)

    return step


@pytest.mark.benchmark(group="train-step: padding")
@pytest.mark.parametrize("padding", ["dynamic", "max_length"])
def test_train_step_padding(benchmark, batch_maker, padding):
    tok, make = batch_maker
    loss = benchmark(step_fn(tok, make(256 if padding == "max_length" else None), bf16=False))
    assert np.isfinite(loss)


@pytest.mark.benchmark(group="train-step: precision")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_train_step_precision(benchmark, batch_maker, precision):
    tok, make = batch_maker
    loss = benchmark(step_fn(tok, make(None), bf16=precision == "bf16"))
    assert np.isfinite(loss)


@pytest.mark.benchmark(group="inference: batch order")
@pytest.mark.parametrize("order", ["length-sorted", "as-given"])
def test_inference_order(benchmark, batch_maker, order):
    from bench.components.context import Windows
    from bench.components.models import get_model
    from bench.fit.device import Device
    from bench.fit.loading import load_classifier
    from bench.fit.transformer import predict_logits

    tok, make = batch_maker
    torch.manual_seed(0)
    model = load_classifier(get_model("tiny-bert"), ["a", "b"], len(tok))
    rng = np.random.default_rng(1)
    ids = [[101, *rng.integers(1000, 20000, int(n)).tolist(), 102] for n in rng.integers(10, 250, 64)]
    w = Windows(ids, np.arange(64), 64, 0, 0)
    device = Device("cpu", False)

    def as_given():  # the reference: batches in the given order, padded to their longest
        model.eval()
        out = []
        with torch.inference_mode():
            for s in range(0, 64, 16):
                b = tok.pad({"input_ids": ids[s : s + 16]}, return_tensors="pt")
                out.append(model(**b).logits.numpy())
        return np.concatenate(out)

    fn = (lambda: predict_logits(model, w, tok, device, 16)[0]) if order == "length-sorted" else as_given
    logits = benchmark(fn)
    assert logits.shape == (64, 2)
