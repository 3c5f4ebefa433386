"""Context-length policies: exact token-level windows, coverage, aggregation, per-epoch windows,
length schedules, bad input, and one tiny end-to-end cell per policy."""

import numpy as np
import pytest

from bench.components.context import CONTEXT, aggregate, special_affixes
from bench.components.context.policies import HeadTail, chunk_spans
from bench.components.models import get_model
from bench.errors import ConfigError
from bench.fit.loading import load_tokenizer
from bench.spec.named import build


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(get_model("tiny-bert"))  # the MiniLM WordPiece tokenizer: [CLS] ... [SEP]


DOC = list(range(1000, 1020))  # 20 content ids
CLS, SEP = 101, 102


def one(policy, tok, doc, max_length=10, **kw):
    return policy.encode([doc], max_length, tok, train=kw.pop("train", False), **kw).input_ids


def test_special_affixes_are_bert_cls_sep(tok):
    assert special_affixes(tok) == ([CLS], [SEP])


def test_head_tail_head_tail_keep_exact_ids(tok):
    # max_length 10 -> 8 content tokens between [CLS] and [SEP]
    assert one(build(CONTEXT, "head"), tok, DOC) == [[CLS, *range(1000, 1008), SEP]]
    assert one(build(CONTEXT, "tail"), tok, DOC) == [[CLS, *range(1012, 1020), SEP]]
    # default head share 128/510 of 8 -> 2 head tokens + 6 tail tokens
    assert one(build(CONTEXT, "head_tail"), tok, DOC) == [[CLS, 1000, 1001, *range(1014, 1020), SEP]]
    assert one(build(CONTEXT, "head_tail", {"head": 3}), tok, DOC) == [[CLS, 1000, 1001, 1002, *range(1015, 1020), SEP]]
    assert one(build(CONTEXT, "head_tail", {"head": 0}), tok, DOC) == one(build(CONTEXT, "tail"), tok, DOC)
    assert one(build(CONTEXT, "head_tail", {"head": 8}), tok, DOC) == one(build(CONTEXT, "head"), tok, DOC)
    assert HeadTail().head_tokens(510) == 128 and HeadTail().head_tokens(126) == 32  # Sun et al., scaled


def test_truncation_stats(tok):
    w = build(CONTEXT, "head").encode([DOC, DOC[:5], DOC[:8]], 10, tok, train=False)
    s = w.stats()
    assert s["truncated_share"] == pytest.approx(1 / 3) and s["windows_per_doc"] == 1
    assert s["content_tokens"] == 8 + 5 + 8 and s["tokens"] == s["content_tokens"] + 3 * 2


@pytest.mark.parametrize("length, n, step", [(50, 8, 5), (50, 8, 8), (8, 8, 3), (9, 8, 1), (101, 16, 12)])
def test_chunk_windows_cover_every_token_with_the_configured_overlap(length, n, step):
    spans = [w[0] for w in chunk_spans(length, n, step)]
    covered = np.zeros(length, dtype=int)
    for s, e in spans:
        assert 0 < e - s <= n
        covered[s:e] += 1
    assert covered.min() >= 1 and spans[0][0] == 0 and spans[-1][1] == length
    for (s1, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        assert s2 - s1 == step and e1 - s2 == n - step  # consecutive windows share exactly n - step tokens
    assert all(e - s == n for s, e in spans[:-1])


def test_chunk_ids_overlap_and_cap(tok):
    policy = build(CONTEXT, "chunk", {"overlap": 3})  # window 8, step 5: starts 0, 5, 10, 15
    w = policy.encode([DOC], 10, tok, train=False)
    assert w.input_ids == [[CLS, *range(1000 + s, min(1008 + s, 1020)), SEP] for s in (0, 5, 10, 15)]
    assert w.truncated_docs == 0 and list(w.doc_index) == [0, 0, 0, 0] and w.content_tokens == 8 * 3 + 5
    capped = build(CONTEXT, "chunk", {"stride": 8, "max_windows": 2}).encode([DOC, DOC[:3]], 10, tok, train=False)
    assert capped.input_ids[:2] == [[CLS, *range(1000, 1008), SEP], [CLS, *range(1008, 1016), SEP]]
    assert capped.stats()["truncated_share"] == 0.5 and capped.stats()["windows_per_doc"] == 1.5


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_aggregation_math():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-3.0, 0.5, 4.0], [1.0, 1.0, 1.0]])
    index = np.array([0, 0, 0, 1])
    p = _softmax(logits)
    mean = _softmax(aggregate(logits, index, 2, "mean"))
    np.testing.assert_allclose(mean[0], p[:3].mean(axis=0))
    np.testing.assert_allclose(mean[1], p[3])
    mx = aggregate(logits, index, 2, "max")
    np.testing.assert_allclose(np.exp(mx[0]), p[:3].max(axis=0))
    np.testing.assert_allclose(_softmax(mx)[0], p[:3].max(axis=0) / p[:3].max(axis=0).sum())
    np.testing.assert_allclose(aggregate(logits, index, 2, "logit_mean")[0], logits[:3].mean(axis=0))
    policy = build(CONTEXT, "chunk", {"aggregation": "max"})
    np.testing.assert_allclose(policy.aggregate(logits, index, 2), mx)
    with pytest.raises(ConfigError, match="unknown aggregation"):
        aggregate(logits, index, 2, "median")


def test_random_windows_reproducible_per_seed_and_differ_across_epochs(tok):
    docs = [list(range(1000, 1000 + 60 + d)) for d in range(12)]
    policy = build(CONTEXT, "random_window")
    e0 = policy.encode(docs, 10, tok, train=True, seed=3, epoch=0).input_ids
    assert e0 == policy.encode(docs, 10, tok, train=True, seed=3, epoch=0).input_ids
    assert e0 != policy.encode(docs, 10, tok, train=True, seed=3, epoch=1).input_ids
    assert e0 != policy.encode(docs, 10, tok, train=True, seed=4, epoch=0).input_ids
    for doc, ids in zip(docs, e0, strict=True):  # one contiguous slice of the document per doc
        assert ids[0] == CLS and ids[-1] == SEP and len(ids) == 10
        start = doc.index(ids[1])
        assert ids[1:-1] == doc[start : start + 8]
    infer = policy.encode(docs[:1], 10, tok, train=False).input_ids
    assert infer == build(CONTEXT, "chunk").encode(docs[:1], 10, tok, train=False).input_ids
    head = build(CONTEXT, "random_window", {"inference": "head"}).encode(docs[:1], 10, tok, train=False)
    assert head.input_ids == [[CLS, *range(1000, 1008), SEP]]


def test_random_window_stream_changes_windows_per_epoch(tok):
    docs = [list(range(1000, 1100)) for _ in range(6)]
    stream = build(CONTEXT, "random_window").train_stream(docs, 10, tok, seed=0)
    plan = stream.draw(batch_size=4, epochs=2)
    assert plan.epoch_ends == [2, 4] and plan.batch_sizes == [4]
    keys = [k for b in plan.batches for k in b]
    assert sorted(k[0] for k in keys[:6]) == list(range(6)) and {k[1] for k in keys} == {0, 1}
    assert stream.windows(0, 0).input_ids != stream.windows(1, 0).input_ids
    assert plan.batches == build(CONTEXT, "random_window").train_stream(docs, 10, tok, seed=0).draw(4, 2).batches


def test_length_schedule_by_epoch(tok):
    docs = [list(range(1000, 1000 + 200)) for _ in range(64)]
    policy = build(CONTEXT, "length_schedule")  # default: 32, 64, then 128
    stream = policy.train_stream(docs, 128, tok, seed=0)
    plan = stream.draw(batch_size=16, epochs=4)
    assert plan.lengths == [32, 64, 128] and plan.batch_sizes == [64, 32, 16]  # tokens per batch: 2048 each
    assert plan.epoch_ends == [1, 3, 7, 11]  # 64 docs per epoch: 1, 2, 4, 4 batches
    for e, (a, b) in enumerate(zip([0, *plan.epoch_ends], plan.epoch_ends, strict=False)):
        stage = min(e, 2)
        for batch in plan.batches[a:b]:
            assert {k[2] for k in batch} == {stage} and {k[1] for k in batch} == {e}
            assert all(len(stream.window(k)) == plan.lengths[stage] for k in batch)
    assert stream.stats(plan)["truncated_share"] == 1.0 and stream.stats(plan)["windows_per_doc"] == 1.0
    assert [len(stream.window((0, 0, s))) for s in range(3)] == [32, 64, 128]


def test_length_schedule_by_fraction_and_explicit_lengths(tok):
    docs = [list(range(1000, 1300)) for _ in range(30)]
    policy = build(CONTEXT, "length_schedule", {"lengths": [64, 128], "by": "fraction", "adapt_batch": False})
    plan = policy.train_stream(docs, 256, tok, seed=1).draw(batch_size=5, epochs=1)
    assert plan.lengths == [64, 128, 256] and plan.batch_sizes == [5, 5, 5]
    assert [b[0][2] for b in plan.batches] == [0, 0, 1, 1, 2, 2]  # thirds of training
    assert plan.stage_epochs == pytest.approx([1 / 3, 1 / 3, 1 / 3], abs=1e-3)


@pytest.mark.parametrize("name", CONTEXT.names())
def test_short_documents_pass_through_unchanged_under_every_policy(tok, name):
    docs = [[1000, 1001, 1002], [], list(range(2000, 2008))]  # 8 = exactly one window at max_length 10
    policy = build(CONTEXT, name, {"lengths": [6]} if name == "length_schedule" else {})
    if "token_windows" not in policy.needs:
        pytest.skip("`full` gives whole texts to whole-text models, no windows (tests/test_capabilities.py)")
    for train in (True, False):
        w = policy.encode(docs, 10, tok, train=train, seed=5, epoch=2)
        assert w.input_ids == [[CLS, *d, SEP] for d in docs] and w.truncated_docs == 0


@pytest.mark.parametrize("name, params, max_length, message", [
    ("head", {}, 2, "no room for content"),
    ("chunk", {"stride": 9}, 10, "stride=9 is larger than the window"),
    ("chunk", {"overlap": 8}, 10, "overlap=8 must be smaller"),
    ("head_tail", {"head": 9}, 10, "head=9 is larger"),
    ("length_schedule", {"lengths": [16]}, 16, "must be below max_length"),
    ("length_schedule", {"lengths": [2, 8]}, 16, "stage length 2 leaves no room"),
    ("length_schedule", {}, 10, "stage length 2 leaves no room"),
])
def test_bad_window_parameters(tok, name, params, max_length, message):
    with pytest.raises(ConfigError, match=message):
        build(CONTEXT, name, params).check(max_length, tok)


@pytest.mark.parametrize("name, params, message", [
    ("chunk", {"aggregation": "median"}, "aggregation"),
    ("chunk", {"stride": "wide"}, "stride"),
    ("chunk", {"stride": 4, "overlap": 1}, "not both"),
    ("chunk", {"max_windows": 0}, "max_windows"),
    ("random_window", {"inference": "tail"}, "inference"),
    ("length_schedule", {"lengths": [64, 32]}, "increase"),
    ("head_tail", {"head": -1}, "head"),
])
def test_bad_parameters_are_config_errors(name, params, message):
    with pytest.raises(ConfigError, match=message):
        build(CONTEXT, name, params)


E2E = [("head", {}), ("tail", {}), ("head_tail", {}), ("chunk", {"overlap": 16, "max_windows": 3}),
       ("random_window", {"max_windows": 2}), ("length_schedule", {"lengths": [32]})]


@pytest.mark.parametrize("name, params", E2E)
def test_tiny_cell_end_to_end_per_policy(tiny_cell, name, params):
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell
    from bench.spec.cell import TrainParams

    train = TrainParams(epochs=2, batch_size=16, limit_train=32, limit_eval=20, latency_docs=2)
    rec = run_cell(plan_cell(tiny_cell.with_(context=name, context_params=params, train=train)))
    ctx = rec["context"]
    assert ctx["policy"] == name and set(ctx) >= {"train", "test", "validation"}
    for split in ("train", "test", "validation"):
        assert 0 <= ctx[split]["truncated_share"] <= 1 and ctx[split]["windows_per_doc"] >= 1
    assert ctx["test"]["truncated_share"] > 0  # drugs reviews are longer than 62 content tokens
    assert ctx["train"]["tokens_seen"] > 0 and ctx["train"]["windows_seen"] > 0
    if name == "chunk":
        assert 1 < ctx["test"]["windows_per_doc"] <= 3
    assert len(rec["predictions"]["pred"]) == 20
    if name in ("random_window", "length_schedule"):  # planned runs: one evaluation per planned epoch
        assert ctx["train"]["windows"] == 64 and rec["timing"]["train_samples"] == 64
    if name == "length_schedule":
        assert ctx["train"]["lengths"] == [32, 64] and ctx["train"]["batch_sizes"] == [32, 16]


def test_random_window_cell_same_seed_same_metrics(tiny_cell):
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    cell = tiny_cell.with_(context="random_window", context_params={"inference": "head"})
    a, b = run_cell(plan_cell(cell)), run_cell(plan_cell(cell))
    assert a["metrics"] == b["metrics"] and a["predictions"]["proba"] == b["predictions"]["proba"]


def test_stream_plan_draws_with_the_imbalance_sample_weights(tok):
    docs = [list(range(1000, 1040)) for _ in range(10)]
    stream = build(CONTEXT, "random_window").train_stream(docs, 10, tok, seed=0)
    weights = np.zeros(10)
    weights[[2, 7]] = 1.0
    plan = stream.draw(batch_size=4, epochs=1.5, p=weights / weights.sum())
    keys = [k for b in plan.batches for k in b]
    assert {k[0] for k in keys} == {2, 7} and len(keys) == 15 and plan.epoch_ends == [3, 5]
