"""Speed options leave results correct (same predictions within tolerance vs the option off), the
cell id covers exactly the options that change numbers, and ``bench perf`` measures side by side.
No test here asserts on seconds."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import ConfigError
from bench.fit.device import resolve_precision
from bench.fit.options import RuntimeOptions, runtime_env
from bench.perf.flops import train_flops
from bench.run.ids import cell_id
from bench.spec.cell import Cell, TrainParams

# L=256 so that review lengths vary inside the window (length grouping has something to group)
BASE = Cell(task="drugs-sentiment", model="tiny-bert", max_length=256, seed=0,
            train=TrainParams(epochs=1, batch_size=16, limit_train=48, limit_eval=20, latency_docs=0, precision="fp32",
                              group_by_length=True))


def run(cell: Cell, **env: str) -> tuple[np.ndarray, dict]:
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    with runtime_env(**env):
        rec = run_cell(plan_cell(cell))
    return np.asarray(rec["predictions"]["proba"]), rec


@pytest.fixture(scope="module")
def base():
    return run(BASE)


def assert_same_predictions(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= atol
    assert (a.argmax(1) == b.argmax(1)).mean() >= 0.9


def flip(cell: Cell, **train) -> Cell:
    return cell.with_(train=cell.train.with_(**train))


def test_bf16_autocast_keeps_predictions(base):
    p, rec = run(flip(BASE, precision="bf16"))
    assert rec["cost"]["device"]["bf16"] is True and base[1]["cost"]["device"]["bf16"] is False
    # bf16 on a CPU trains with eager attention and predicts with SDPA (bench.fit.attention); fp32 keeps the default
    assert (rec["cost"]["attention"]["train"], rec["cost"]["attention"]["predict"]) == ("bench_eager", "sdpa")
    assert base[1]["cost"]["attention"]["train"] == "default"
    assert_same_predictions(p, base[0], atol=0.02)


def test_eager_attention_matches_sdpa(base):
    p, rec = run(BASE, BENCH_ATTN="eager")
    assert rec["cost"]["runtime"]["attn"] == "eager" and base[1]["cost"]["runtime"]["attn"] == "auto"
    assert rec["cell_id"] == base[1]["cell_id"]  # runtime option: same cell
    assert_same_predictions(p, base[0], atol=1e-4)


def test_group_by_length_keeps_predictions_and_cuts_padding(base):
    p, rec = run(flip(BASE, group_by_length=False))
    assert_same_predictions(p, base[0], atol=0.02)
    assert base[1]["timing"]["padding_share"] < rec["timing"]["padding_share"]


def test_pretrained_cache_hit_equals_miss_and_head_follows_seed():
    """Real MiniLM weights: a cache miss, a hit and the uncached path give identical models for a
    seed; another seed changes only the freshly initialised head."""
    import torch

    from bench.components.models import get_model
    from bench.fit import loading as speed

    spec = get_model("minilm-l6")

    def make(seed: int, **opts):
        torch.manual_seed(seed)
        return {k: v.clone() for k, v in speed.classifier(spec, ["a", "b", "c"], 30522,
                                                           RuntimeOptions(**opts)).state_dict().items()}

    speed._PRETRAINED.clear()
    miss, hit, uncached, other = make(1), make(1), make(1, weight_cache=False), make(2)
    for k in miss:
        assert torch.equal(miss[k], hit[k]) and torch.equal(miss[k], uncached[k]), k
    changed = {k for k in miss if not torch.equal(miss[k], other[k])}
    assert changed and all(k.startswith("classifier.") for k in changed)


@pytest.mark.slow
def test_torch_compile_keeps_predictions(base):
    p, rec = run(BASE, BENCH_COMPILE="1")
    assert rec["cost"]["runtime"]["compile"] is True
    assert_same_predictions(p, base[0], atol=1e-3)


def test_length_sorted_inference_matches_one_at_a_time():
    import torch

    from bench.components.context import Windows
    from bench.components.models import get_model
    from bench.fit.device import Device
    from bench.fit.loading import load_classifier, load_tokenizer
    from bench.fit.transformer import predict_logits

    tok = load_tokenizer(get_model("tiny-bert"))
    torch.manual_seed(0)
    model = load_classifier(get_model("tiny-bert"), ["a", "b"], len(tok)).eval()
    rng = np.random.default_rng(0)
    ids = [[101, *rng.integers(1000, 2000, n).tolist(), 102] for n in (30, 3, 17, 8, 30, 1, 12)]
    w = Windows(ids, np.arange(len(ids)), len(ids), 0, 0)
    batched, _ = predict_logits(model, w, tok, Device("cpu", False), batch_size=3)
    with torch.inference_mode():
        single = np.stack([model(input_ids=torch.tensor([x])).logits[0].numpy() for x in ids])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_precision_is_in_the_cell_id_runtime_options_are_not(monkeypatch):
    monkeypatch.delenv("BENCH_BF16", raising=False)
    fp32, bf16 = cell_id(flip(BASE, precision="fp32")), cell_id(flip(BASE, precision="bf16"))
    assert fp32 != bf16
    assert cell_id(flip(BASE, group_by_length=False)) != cell_id(BASE)
    monkeypatch.setenv("BENCH_BF16", "1")  # auto resolves to bf16: same id as explicit bf16 ...
    auto_bf16 = cell_id(flip(BASE, precision="auto"))
    assert auto_bf16 == cell_id(flip(BASE, precision="bf16")) == bf16
    monkeypatch.setenv("BENCH_BF16", "0")  # ... and to fp32: explicit fp32's id
    assert auto_bf16 != cell_id(flip(BASE, precision="auto")) == fp32
    with runtime_env(BENCH_ATTN="eager", BENCH_COMPILE="1", BENCH_WEIGHT_CACHE="0"):
        assert cell_id(BASE) == fp32


def test_resolve_precision(monkeypatch):
    monkeypatch.delenv("BENCH_BF16", raising=False)
    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    monkeypatch.setenv("BENCH_BF16", "1")
    assert resolve_precision("auto", "cpu") == "bf16" and resolve_precision("fp32", "cpu") == "fp32"
    monkeypatch.setenv("BENCH_BF16", "0")
    assert resolve_precision("auto", "cpu") == "fp32"
    with pytest.raises(ConfigError, match="precision"):
        TrainParams(precision="fp16")
    monkeypatch.setenv("BENCH_ATTN", "flash")
    with pytest.raises(ConfigError, match="BENCH_ATTN"):
        RuntimeOptions.from_env()


def test_train_flops_counts_real_tokens_and_attention():
    shape = {"params_nonembed": 1000, "layers": 2, "hidden": 8}
    assert train_flops(shape, [10]) == 6 * 1000 * 10 + 12 * 2 * 8 * 100
    assert train_flops(shape, [10, 5]) == train_flops(shape, [10]) + train_flops(shape, [5])


def test_matmul_peak_is_measured():
    from bench.perf.flops import matmul_peak

    assert matmul_peak("fp32", n=128, repeats=2) > 0 and matmul_peak("bf16", n=128, repeats=2) > 0


def test_side_by_side_benchmark_tiny():
    from bench.perf.side_by_side import PerfConfig, benchmark, format_report

    cfg = PerfConfig(task="drugs-sentiment", model="tiny-bert", max_length=256, limit_train=32, limit_eval=20,
                     repeats=1, peak_n=256)
    from tests.test_perf_load import FakeProbe

    rep = benchmark(cfg, progress=lambda s: None, probe=FakeProbe(load=0.0))  # an idle machine: ratios printed
    rows = rep["rows"]
    assert set(rows) == {"seed", "bench", "bare"}
    assert rows["seed"]["precision"] == "fp32"
    # everyone trains on the same texts: same samples and real tokens; the seed script pads to max_length
    assert rows["seed"]["samples"] == rows["bench"]["samples"] == rows["bare"]["samples"] == 32
    assert rows["seed"]["real_tokens"] == rows["bench"]["real_tokens"] == rows["bare"]["real_tokens"]
    assert rows["seed"]["padding_share"] > rows["bench"]["padding_share"]
    for r in rows.values():
        assert 0 < r["mfu"] and all(0 <= f <= 1 for f in r["macro_f1"])
    assert {"b/a wall", "b/a train", "b/c wall", "b/c train"} <= set(rep["ratios"])
    text = format_report(rep)
    assert "b/a wall" in text and "measured matmul peak" in text and "load avg" in text


def test_ablations_flip_one_option_each():
    from bench.perf.side_by_side import ABLATIONS, ablation

    variants = {name: ablation(BASE, name) for name in ABLATIONS}
    assert variants["precision"][0][1].train.precision == "bf16"  # BASE is fp32
    assert variants["group_by_length"][0][1].train.group_by_length is False
    assert variants["attn"][0][2] == {"BENCH_ATTN": "eager"} and variants["attn"][0][1] == BASE
    assert variants["compile"][0][2] == {"BENCH_COMPILE": "1"}
    assert variants["weight_cache"][0][2] == {"BENCH_WEIGHT_CACHE": "0"}
    with pytest.raises(ConfigError, match="unknown ablation"):
        ablation(BASE, "turbo")


def test_cli_perf_rejects_bad_input(capsys):
    from bench.cli import main

    assert main(["perf", "--runners", "seed,nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0]


def test_cli_speed_flags(monkeypatch):
    import os

    from bench.cli import build_parser
    from bench.cli.run import cell_from_args

    monkeypatch.setenv("BENCH_ATTN", "auto")  # setenv (not delenv of an unset name) so that pytest
    monkeypatch.setenv("BENCH_COMPILE", "0")  # restores what speed_from_args writes
    args = build_parser().parse_args(["run", "--task", "drugs-sentiment", "--precision", "fp32",
                                      "--no-group-by-length", "--attn", "eager", "--compile"])
    cell = cell_from_args(args)
    assert cell.train.precision == "fp32" and cell.train.group_by_length is False
    assert os.environ["BENCH_ATTN"] == "eager" and os.environ["BENCH_COMPILE"] == "1"
    default = cell_from_args(build_parser().parse_args(["run", "--task", "drugs-sentiment"]))
    assert default.train.precision == "auto" and default.train.group_by_length is False


def test_single_epoch_skips_in_training_validation_without_changing_results(base, monkeypatch):
    """One epoch: no validation/checkpoint/reload inside train() -- the same model, the same predictions."""
    import bench.fit.transformer as transformer

    assert base[1]["timing"]["train_eval_seconds"] == 0.0
    assert base[1]["members"] == [] or base[1]["members"][0]["best_val_score"] is not None
    monkeypatch.setattr(transformer, "single_pass_args", lambda tp: {})  # the old path: validate + checkpoint
    p, rec = run(BASE)
    assert rec["timing"]["train_eval_seconds"] > 0
    np.testing.assert_allclose(p, base[0], atol=1e-6)
