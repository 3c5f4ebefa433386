"""One contract test per registry: EVERY registered entry goes through its contract.

imbalance: tests/test_imbalance.py (test_every_strategy_honours_the_contract); here: context
policies, methods, adaptations, models, executors and fitters. Tiny inputs only (tiny-bert, a few
rows), so the whole file takes seconds.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.components.adapt import ADAPT
from bench.components.context import CONTEXT
from bench.components.methods import METHODS
from bench.components.models import MODELS, get_model, model_path
from bench.errors import BenchError, ConfigError
from bench.fit.base import FITTERS
from bench.run.executors import EXECUTORS
from bench.spec.named import build
from tests.conftest import balanced_rows


@pytest.fixture(scope="module")
def tok():
    from bench.fit.loading import load_tokenizer

    return load_tokenizer(get_model("tiny-bert"))


DOCS = [list(range(1000, 1000 + n)) for n in (3, 29, 30, 31, 80, 200)]  # short, at the limit, long


@pytest.mark.parametrize("name", CONTEXT.names())
def test_every_context_policy_encodes_within_max_length_and_covers_every_document(name, tok):
    policy = build(CONTEXT, name)
    if "token_windows" not in policy.needs:  # `full`: whole texts for whole-text models (test_capabilities.py)
        with pytest.raises(ConfigError, match="whole texts"):
            policy.encode(DOCS, 32, tok, train=False)
        return
    max_length = 32
    for train in (False, True):
        w = policy.encode(DOCS, max_length, tok, train=train, seed=0)
        assert all(len(ids) <= max_length for ids in w.input_ids), name
        assert sorted(set(w.doc_index.tolist())) == list(range(len(DOCS))), name  # every document has a window
        assert w.n_docs == len(DOCS) and len(w.input_ids) == len(w.doc_index)
        short = w.input_ids[int(np.flatnonzero(w.doc_index == 0)[0])]
        assert 1000 in short and 1002 in short  # a document that fits passes through whole
        logits = np.random.default_rng(0).normal(size=(len(w.input_ids), 3))
        assert policy.aggregate(logits, w.doc_index, w.n_docs).shape == (len(DOCS), 3)


@pytest.mark.parametrize("name", METHODS.names())
def test_every_method_prepares_a_model_with_the_trainable_parameters_it_declares(name, tok):
    from bench.fit.loading import load_classifier

    method = build(METHODS, name)
    model = method.prepare(load_classifier(get_model("tiny-bert"), ["a", "b"], len(tok)))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if name == "lora":
        assert 0 < trainable < total / 2  # adapters and the head only
    elif method.trains_encoder:
        assert trainable == total
    else:  # probe: the encoder is frozen features, the head is trained apart from the model
        assert trainable <= total
    assert FITTERS.get(f"hf/{name}") is not None  # every method has a fitter for transformers
    assert method.export(model) is not None


@pytest.mark.parametrize("name", ADAPT.names())
def test_every_adaptation_builds_validates_and_runs(name, tiny_cell, tmp_path, monkeypatch):
    from bench.fit.mlm import adapt_encoder
    from bench.run.worker import cell_data

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    if name == "none":
        assert adapt_encoder(tiny_cell, cell_data(tiny_cell), get_model("tiny-bert"), build(ADAPT, "none")) is None
        return
    base = {"corpus": "drug-reviews"} if name == "dapt" else {}
    with pytest.raises(ConfigError, match="steps"):
        build(ADAPT, name, {**base, "steps": 0})
    with pytest.raises(ConfigError):
        build(ADAPT, name, {**base, "no_such_param": 1})
    if name == "tapt":
        adaptation = build(ADAPT, "tapt", {"steps": 2, "batch_size": 8, "max_length": 32})
        out = adapt_encoder(tiny_cell, cell_data(tiny_cell), get_model("tiny-bert"), adaptation)
        assert out is not None and out.record["steps"] == 2 and out.record["cache_hit"] is False


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_has_an_identity_and_locates_its_files(name):
    spec = get_model(name)
    ident = spec.identity()
    assert isinstance(ident, dict) and json.dumps(ident) and isinstance(spec.label, str) and spec.label
    if spec.kind == "classical":
        assert FITTERS.get(f"classical/{build(METHODS, 'full').name}") is not None
        return
    try:
        path = model_path(spec)
    except BenchError as err:  # a packaged model that is not installed: one line saying how
        assert "\n" not in str(err) and "install" in str(err)
        return
    assert path


def test_tiny_bert_builds():
    from bench.fit.loading import load_classifier, load_tokenizer

    spec = get_model("tiny-bert")
    model = load_classifier(spec, ["a", "b", "c"], len(load_tokenizer(spec)))
    assert model.config.num_labels == 3


@pytest.mark.parametrize("name", FITTERS.names())
def test_every_fitter_names_a_function(name):
    import importlib

    fitter = FITTERS.get(name)
    assert callable(getattr(importlib.import_module(fitter.module), fitter.function))


@pytest.mark.parametrize("name", EXECUTORS.names())
def test_every_executor_runs_a_tiny_matrix_to_the_same_records(name, tmp_path, csv_task):
    if name == "ray":
        pytest.skip("needs a Ray instance: tests/test_ray.py runs it when ray is installed")
    from bench.run.matrix import run_matrix
    from bench.run.plan import plan_matrix
    from bench.spec.matrix import MatrixSpec

    task = csv_task(balanced_rows(12, labels=("a", "b", "c")), name="tiny3")
    spec = MatrixSpec(tasks=[str(task)], models=["tfidf-logreg"], context=["full"], seeds=[0, 1])

    def records(out):
        outcome = run_matrix(plan_matrix(spec, out), executor=name, workers=2 if name != "sequential" else 1)
        assert outcome.exit_code == 0
        return {p.stem: json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))}

    got, want = records(tmp_path / name), records(tmp_path / "reference")
    assert len(got) == 2 and set(got) == set(want)
    for cid, rec in got.items():
        assert rec["cell_id"] == cid and rec["status"] == "ok"
        assert rec["metrics"] == want[cid]["metrics"] and rec["predictions"] == want[cid]["predictions"]


def test_worker_files_the_record_under_the_planned_id_and_precision(tmp_path, csv_task):
    """The planner's id and precision travel to the worker, which neither recomputes nor overwrites them."""
    from bench.run.worker import execute
    from bench.spec.cell import Cell

    task = csv_task(balanced_rows(12, labels=("a", "b", "c")), name="tiny3")
    cell = Cell(task=str(task), model="tfidf-logreg", context="full")
    res = execute(cell.to_dict(), "0123456789abcdef", str(tmp_path), "todo", "fp32")
    assert res["status"] == "ok"
    rec = json.loads((tmp_path / "records" / "0123456789abcdef.json").read_text())
    assert rec["cell_id"] == "0123456789abcdef" and rec["precision"] == "fp32"


def test_an_unknown_fitter_combination_is_one_line():
    with pytest.raises(BenchError, match="did you mean|choices"):
        FITTERS.get("classical/lora")
