"""Methods axis: full, frozen-encoder probe (cached features), LoRA (peft)."""

import numpy as np
import pytest

from bench.cli import main
from bench.components.methods import METHODS
from bench.errors import ConfigError
from bench.spec.named import build


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))


def test_registry_lists_the_three_methods():
    assert {"full", "probe", "lora"} <= set(METHODS.names())


def test_bad_method_params_are_one_line():
    with pytest.raises(ConfigError, match="rank"):
        build(METHODS, "lora", {"rank": 0})
    with pytest.raises(ConfigError, match="pooling"):
        build(METHODS, "probe", {"pooling": "maximum"})


def _count_forwards(monkeypatch):
    import bench.fit.probe as probe_mod

    calls = []
    real = probe_mod._forward

    def counting(encoder, batch):
        calls.append(int(batch["input_ids"].shape[0]))
        return real(encoder, batch)

    monkeypatch.setattr(probe_mod, "_forward", counting)
    return calls


def test_probe_second_cell_does_not_run_the_encoder(tiny_cell, monkeypatch):
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    calls = _count_forwards(monkeypatch)
    base = tiny_cell.with_(method="probe", train=tiny_cell.train.__class__(
        **{**tiny_cell.train.__dict__, "latency_docs": 0}))
    first = run_cell(plan_cell(base))
    n_docs = sum(first["task"]["sizes"].values())
    assert sum(calls) == n_docs  # one window per document (head policy), each encoded once
    assert first["cost"]["features"]["encoded_docs"] == n_docs
    assert first["cost"]["params_trainable"] == 64 * 3 + 3  # tiny-bert hidden 64 -> 3 classes

    calls.clear()
    other = run_cell(plan_cell(base.with_(seed=1, imbalance="class_weight")))
    assert calls == []  # another seed and strategy: features come from the disk cache
    assert other["cost"]["features"]["encoded_docs"] == 0

    again = run_cell(plan_cell(base))
    assert calls == []
    assert again["metrics"] == first["metrics"]  # cached features give the same result


def test_probe_encodes_only_new_texts(tiny_cell, monkeypatch):
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    calls = _count_forwards(monkeypatch)
    tp = tiny_cell.train.__class__(**{**tiny_cell.train.__dict__, "latency_docs": 0})
    run_cell(plan_cell(tiny_cell.with_(method="probe", train=tp)))
    calls.clear()
    bigger = tp.__class__(**{**tp.__dict__, "limit_train": 60})
    rec = run_cell(plan_cell(tiny_cell.with_(method="probe", train=bigger)))
    assert 0 < sum(calls) == rec["cost"]["features"]["encoded_docs"] < 60


def test_probe_without_pooled_representation_is_one_line():
    from types import SimpleNamespace

    import torch

    from bench.fit.probe import pool

    mask = torch.ones(2, 3)
    with pytest.raises(ConfigError, match="no pooler output"):
        pool(SimpleNamespace(last_hidden_state=torch.zeros(2, 3, 4), pooler_output=None), mask, "pooler", "m")
    with pytest.raises(ConfigError, match="no token representations"):
        pool(SimpleNamespace(logits=torch.zeros(2, 5)), mask, "mean", "m")
    pooled = pool(SimpleNamespace(last_hidden_state=torch.arange(24.0).view(2, 3, 4)), torch.tensor(
        [[1, 1, 0], [1, 0, 0]]), "mean", "m")
    assert torch.allclose(pooled[0], torch.tensor([2.0, 3.0, 4.0, 5.0])) and torch.allclose(
        pooled[1], torch.arange(12.0, 16.0))


def test_probe_on_classical_model_exits_2(capsys, tmp_path):
    code = main(["run", "--task", "drugs-sentiment", "--model", "tfidf-logreg", "--method", "probe",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "not a transformer" in err[0]
    assert not (tmp_path / "out" / "records").exists()


def _tiny_classifier(seed=0):
    from transformers import set_seed

    from bench.components.models import get_model
    from bench.fit.loading import load_classifier

    set_seed(seed)
    return load_classifier(get_model("tiny-bert"), ["a", "b", "c"], 30522)


def test_lora_trains_only_adapters_and_the_head():
    import torch

    model = _tiny_classifier()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    wrapped = build(METHODS, "lora", {"rank": 4}).prepare(model)
    trainable = [n for n, p in wrapped.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or "classifier" in n for n in trainable)
    opt = torch.optim.AdamW([p for p in wrapped.parameters() if p.requires_grad], lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        ids = torch.randint(1000, 2000, (4, 12), generator=gen)
        loss = wrapped(input_ids=ids, labels=torch.tensor([0, 1, 2, 0])).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    base = wrapped.get_base_model()
    after = dict(base.named_parameters())
    frozen = [n for n in before if not n.startswith("classifier")]
    for n in frozen:  # base weights keep their values (peft renames the wrapped Linear weights)
        key = n if n in after else n.replace(".weight", ".base_layer.weight").replace(".bias", ".base_layer.bias")
        assert torch.equal(after[key], before[n]), n
    lora_b = [p for n, p in base.named_parameters() if "lora_B" in n]
    assert lora_b and any(p.abs().sum() > 0 for p in lora_b)  # B starts at zero: it moved


def test_lora_cell_records_trainable_parameters_and_keeps_base_weights(tiny_cell, monkeypatch):
    import torch

    from bench.components.methods import Lora
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    seen = {}
    real = Lora.prepare

    def capture(self, model):
        seen["before"] = {n: p.detach().clone() for n, p in model.named_parameters() if "classifier" not in n}
        seen["model"] = real(self, model)
        return seen["model"]

    monkeypatch.setattr(Lora, "prepare", capture)
    rec = run_cell(plan_cell(tiny_cell.with_(method="lora", method_params={"rank": 4})))
    cost = rec["cost"]
    assert rec["method"]["name"] == "lora" and rec["method"]["params"]["rank"] == 4
    assert 0 < cost["params_trainable"] < cost["params_total"] / 10
    after = dict(seen["model"].get_base_model().named_parameters())
    for n, p in seen["before"].items():
        key = n if n in after else n.replace(".weight", ".base_layer.weight").replace(".bias", ".base_layer.bias")
        assert torch.equal(after[key], p), n
    assert np.isfinite(rec["main_score"])


def test_lora_unknown_target_module_lists_valid_ones(capsys, tmp_path):
    code = main(["run", "--task", "drugs-sentiment", "--model", "tiny-bert", "--method",
                 "lora:target_modules=quary/value", "--limit-train", "24", "--limit-eval", "12",
                 "--max-length", "32", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "quary" in err[0] and "query" in err[0] and "value" in err[0]
    assert not (tmp_path / "out" / "records").exists()
