"""pytest-benchmark: metric computation over 100k predictions, and batch collation.

Each benchmark times bench's code path and records, in ``extra_info``, its ratio to a reference
timed in the same run on the same data (``ratio_to_reference``), so a slower machine shows the
same ratio. Nothing asserts on seconds. ``tox -e perf`` saves runs and compares them with
``--benchmark-compare-fail``; the default ``--benchmark-disable`` runs each case once as a test.
One training step of tiny-bert is benchmarked in ``test_train_bench.py``.
"""

from __future__ import annotations

import timeit

import numpy as np
import pytest

N_PRED = 100_000
K = 5


def _reference(fn, repeat: int = 5) -> float:
    return min(timeit.repeat(fn, number=1, repeat=repeat))


@pytest.fixture(scope="module")
def predictions():
    from bench.metrics import softmax

    rng = np.random.default_rng(0)
    y = rng.integers(0, K, N_PRED)
    logits = rng.normal(size=(N_PRED, K))
    logits[np.arange(N_PRED), y] += 1.5  # a model that is right about 2/3 of the time
    return y, softmax(logits)


@pytest.mark.benchmark(group="metrics: 100k predictions")
def test_classification_metrics_100k(benchmark, predictions):
    from sklearn.metrics import accuracy_score, f1_score, log_loss

    from bench.metrics import classification_metrics

    y, proba = predictions
    names = [f"c{i}" for i in range(K)]
    out = benchmark(classification_metrics, y, proba, names, minority=0)
    if not benchmark.disabled:  # the cheapest metric on the same arrays, timed in the same run
        ratio = (_reference(lambda: classification_metrics(y, proba, names, minority=0), repeat=3)
                 / _reference(lambda: accuracy_score(y, proba.argmax(1))))
        benchmark.extra_info.update({"reference": "sklearn accuracy_score", "ratio_to_reference": round(ratio, 1)})
    assert out["accuracy"] == pytest.approx(accuracy_score(y, proba.argmax(1)))
    assert out["macro_f1"] == pytest.approx(f1_score(y, proba.argmax(1), average="macro"))
    assert out["log_loss"] == pytest.approx(log_loss(y, proba))


@pytest.mark.benchmark(group="collation: 64 windows")
def test_collation(benchmark):
    """The Trainer's collator (dynamic padding) vs a bare torch pad_sequence of the same windows."""
    import torch
    from transformers import DataCollatorWithPadding

    from bench.components.models import get_model
    from bench.fit.loading import load_tokenizer

    tok = load_tokenizer(get_model("tiny-bert"))
    rng = np.random.default_rng(0)
    items = [{"input_ids": [101, *rng.integers(1000, 20000, int(n)).tolist(), 102], "labels": int(n % 3)}
             for n in rng.integers(10, 126, 64)]
    collate = DataCollatorWithPadding(tok)

    def bare():
        ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(i["input_ids"]) for i in items], batch_first=True,
                                              padding_value=tok.pad_token_id)
        return ids, (ids != tok.pad_token_id).long(), torch.tensor([i["labels"] for i in items])

    batch = benchmark(collate, items)
    if not benchmark.disabled:
        ratio = _reference(lambda: collate(items), repeat=20) / _reference(bare, repeat=20)
        benchmark.extra_info.update({"reference": "torch pad_sequence", "ratio_to_reference": round(ratio, 2)})
    ids, mask, labels = bare()
    assert torch.equal(batch["input_ids"], ids) and torch.equal(batch["attention_mask"], mask)
    assert torch.equal(batch["labels"], labels)
