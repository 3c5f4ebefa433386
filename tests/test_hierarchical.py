"""The hierarchical context policy (issue 27): segments of a document encoded by the shared encoder,
aggregated inside the model (mean, max, attention), one prediction per document, trained end to end."""

from __future__ import annotations

import numpy as np
import pytest

from bench.components.capabilities import CapabilityError
from bench.components.context import CONTEXT
from bench.components.models import get_model
from bench.errors import ConfigError
from bench.spec.cell import Cell, TrainParams
from bench.spec.named import build

AGGREGATORS = ["mean", "max", "attention"]
WORDS = "alpha beta gamma delta epsilon zeta theta iota kappa lambda sigma omega".split()


@pytest.fixture(scope="module")
def tok():
    from bench.fit.loading import load_tokenizer

    return load_tokenizer(get_model("tiny-bert"))


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    """Long documents (several 32-token segments; the label's cue in the middle) and a few short ones."""
    import csv

    from tests.conftest import TASK_TEMPLATE, write

    rng = np.random.default_rng(0)
    rows = []
    for lab in ("red", "blue"):
        for i in range(14):
            if i % 4 == 0:  # shorter than one segment
                rows.append((f"{lab} report {i}", lab))
                continue
            noise = " ".join(rng.choice(WORDS, 60))
            rows.append((f"{noise} {lab} {lab} report {i} {' '.join(rng.choice(WORDS, 20))}", lab))
    folder = tmp_path_factory.mktemp("hier")
    with open(folder / "data.csv", "w", newline="") as f:
        csv.writer(f).writerows([("text", "label"), *rows])
    return str(write(folder / "hier.yaml", TASK_TEMPLATE.format(name="hier", train="data.csv")))


def _cell(task, aggregator="attention", **extra) -> Cell:
    fields = {"task": task, "model": "tiny-bert", "max_length": 32, "seed": 0, "context": "hierarchical",
              "context_params": {"segments": 3, "aggregator": aggregator},
              "train": TrainParams(epochs=1, batch_size=8, limit_eval=None, latency_docs=2,
                                   early_stopping_patience=None)}
    return Cell(**{**fields, **extra})


def test_segments_cover_the_first_k_windows_at_segment_length(tok):
    docs = [list(range(1000, 1000 + n)) for n in (3, 30, 31, 100)]
    policy = build(CONTEXT, "hierarchical", {"segments": 3})
    w = policy.encode(docs, 32, tok, train=True)
    counts = np.bincount(w.doc_index, minlength=len(docs)).tolist()
    assert counts == [1, 1, 2, 3]  # 30 content tokens per segment at L=32; at most 3 segments
    assert all(len(ids) <= 32 for ids in w.input_ids) and w.truncated_docs == 1  # only the 100-token one is cut
    w16 = build(CONTEXT, "hierarchical", {"segments": 3, "segment_length": 16}).encode(docs, 32, tok, train=False)
    assert max(map(len, w16.input_ids)) == 16 and np.bincount(w16.doc_index).tolist() == [1, 3, 3, 3]
    with pytest.raises(ConfigError, match="segment_length"):
        build(CONTEXT, "hierarchical", {"segment_length": 2}).check(32, tok)


@pytest.mark.parametrize("aggregator", AGGREGATORS)
def test_padding_segments_and_batch_neighbours_do_not_change_a_prediction(aggregator, tok):
    """A short document scored alone equals the same document batched with a 3-segment one (its padding
    segments and padded tokens are masked out of the encoder and of the aggregation)."""
    import torch

    from bench.fit.hierarchical import HierarchicalClassifier, SegmentCollator
    from bench.fit.loading import load_classifier

    torch.manual_seed(0)
    model = HierarchicalClassifier(load_classifier(get_model("tiny-bert"), ["a", "b", "c"], len(tok)), aggregator, 3)
    model.eval()
    collate = SegmentCollator(tok.pad_token_id)
    short = {"input_ids": [[101, 2000, 2001, 102]]}
    long = {"input_ids": [[101, *range(3000, 3010), 102], [101, *range(3010, 3030), 102], [101, 4000, 102]]}
    with torch.no_grad():
        alone = model(**collate([short])).logits
        batched = model(**collate([short, long])).logits
        long_alone = model(**collate([long])).logits
    assert torch.allclose(alone[0], batched[0], atol=1e-5)
    assert torch.allclose(long_alone[0], batched[1], atol=1e-5)
    assert not torch.allclose(batched[0], batched[1], atol=1e-4)  # the two documents do differ
    # a padding segment that leaked into the aggregation would move the short document's logits
    leak = collate([short, long])
    leak["segment_mask"][0, 1] = 1
    leak["attention_mask"][0, 1, 0] = 1
    with torch.no_grad():
        assert not torch.allclose(model(**leak).logits[0], alone[0], atol=1e-5)


@pytest.mark.parametrize("aggregator", AGGREGATORS)
def test_each_aggregator_trains_and_predicts_whole_documents(aggregator, task, tmp_path, monkeypatch):
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell, validate_cell

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    cell = _cell(task, aggregator)
    validate_cell(cell)
    rec = run_cell(plan_cell(cell))
    proba = np.asarray(rec["predictions"]["proba"])
    n_test = rec["context"]["test"]["windows"] / rec["context"]["test"]["windows_per_doc"]
    assert proba.shape == (round(n_test), 2) and np.allclose(proba.sum(1), 1)  # one prediction per document
    assert rec["context"]["test"]["windows_per_doc"] > 1  # documents were cut into several segments
    train = rec["context"]["train"]
    assert train["tokens_seen"] == rec["timing"]["train_real_tokens"] > 0 and train["windows_seen"] > 0
    assert rec["timing"]["train_seconds"] > 0 and rec["timing"].get("latency_p50_ms") is not None
    params = rec["cost"]["params_total"]
    if aggregator == "attention":  # a 2-layer transformer over the segments on top of the encoder
        mean = run_cell(plan_cell(_cell(task, "mean")))
        assert params > mean["cost"]["params_total"]
        assert not np.allclose(proba, mean["predictions"]["proba"], atol=1e-6)


def test_lora_composes_on_the_shared_encoder(task, tmp_path, monkeypatch):
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    rec = run_cell(plan_cell(_cell(task, "mean", method="lora")))
    cost = rec["cost"]
    assert 0 < cost["params_trainable"] < cost["params_total"] / 10  # adapters + the new head only


@pytest.mark.parametrize("model,method,why", [("tfidf-logreg", "full", "segments"),
                                              ("tiny-bert", "probe", "segments")])
def test_refused_where_it_cannot_be_honoured(task, model, method, why):
    from bench.run.worker import validate_cell

    with pytest.raises(CapabilityError, match=why) as err:
        validate_cell(_cell(task, model=model, method=method))
    assert "hierarchical" in str(err.value) and "\n" not in str(err.value)


def test_group_by_length_refused_when_set_and_off_when_from_a_default(task):
    from bench.run.ids import plan_cell
    from bench.run.worker import validate_cell

    cell = _cell(task)
    grouped = cell.with_(train=TrainParams(**{**cell.train.model_dump(exclude_unset=True), "group_by_length": True}))
    with pytest.raises(CapabilityError, match="group_by_length cannot be honoured.*hierarchical"):
        validate_cell(grouped)
    assert plan_cell(cell).cell.train.group_by_length is False


def test_cli_refuses_save_model_and_a_segment_longer_than_the_model(task, tmp_path, capsys):
    from bench.cli import main

    base = ["run", "--task", task, "--model", "tiny-bert", "--max-length", "32", "--out", str(tmp_path / "out")]
    code = main([*base, "--context", "hierarchical:segments=2", "--save-model", str(tmp_path / "model")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--save-model" in err and "hierarchical" in err
    assert not (tmp_path / "model").exists() and not (tmp_path / "out" / "records").exists()
    code = main([*base, "--context", "hierarchical:aggregator=sum"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "aggregator" in err
    code = main([*base, "--context", "hierarchical:segment_length=600"])  # tiny-bert takes 512 positions
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "600" in err and "512" in err
    assert not (tmp_path / "out" / "records").exists()


def test_a_document_shorter_than_one_segment_is_one_segment_and_one_prediction(tok):
    import torch

    from bench.fit.device import pick_device
    from bench.fit.hierarchical import HierarchicalClassifier, predict_docs
    from bench.fit.loading import load_classifier

    docs = [tok.encode("red report", add_special_tokens=False), [], list(range(1000, 1100))]
    w = build(CONTEXT, "hierarchical", {"segments": 3}).encode(docs, 32, tok, train=False)
    assert np.bincount(w.doc_index).tolist() == [1, 1, 3]
    torch.manual_seed(0)
    model = HierarchicalClassifier(load_classifier(get_model("tiny-bert"), ["a", "b"], len(tok)), "attention", 3)
    logits, info = predict_docs(model, w, tok, pick_device(precision="fp32"), batch_size=2)
    assert logits.shape == (3, 2) and np.isfinite(logits).all() and info["windows"] == 5
    assert not np.allclose(logits[0], logits[1])


def test_weighted_sampler_and_best_epoch_reload_work_per_document(task, tmp_path, monkeypatch):
    """A weighted sampler draws documents (not segments); 2 epochs validate, save and reload the best
    checkpoint of the hierarchical model through the Trainer."""
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    cell = _cell(task, "max", imbalance="balanced_sampler",
                 train=TrainParams(epochs=2, batch_size=8, limit_eval=None, latency_docs=0,
                                   early_stopping_patience=None))
    rec = run_cell(plan_cell(cell))
    n_train = rec["context"]["train"]["windows"] / rec["context"]["train"]["windows_per_doc"]
    assert rec["context"]["train"]["windows_seen"] == 2 * round(n_train)  # documents drawn, 2 epochs
    assert len(rec["timing"]["loss_curve"]) == 2  # one logged training loss per epoch
