"""Issue 26: the Keras / TensorFlow path (``framework: keras``, bench.fit.keras).

tiny-bert through Keras ``fit`` end to end (a full record), a ``framework: [hf, keras]`` matrix that
``bench report --axis framework`` pairs, ids of existing cells unchanged, and the refusals at
planning (methods other than full, TAPT, focal, a non-transformer, an unknown framework, the extra
missing) as one line, exit 2, nothing written. Fast: a few rows, L=32, one epoch.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli import main
from bench.spec.cell import Cell, TrainParams

ROWS = [(f"{lab} {lab}ish note {i} alpha beta {'gamma' if i % 2 else 'delta'}", lab)
        for lab in ("red", "green", "blue") for i in range(12)]
FAST = ["--max-length", "32", "--epochs", "1", "--batch-size", "8", "--patience", "0"]


def _keras_installed() -> bool:
    from bench.fit.frameworks import missing_keras

    return missing_keras() is None


needs_keras = pytest.mark.skipif(not _keras_installed(), reason="the [keras] extra is not installed")


@pytest.fixture
def task(csv_task):
    return str(csv_task(ROWS))


def _record(out) -> dict:
    (path,) = list((out / "records").glob("*.json"))
    return json.loads(path.read_text())


@needs_keras
def test_tiny_bert_keras_fit_writes_a_full_record(task, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["run", "--task", task, "--model", "tiny-bert", "--framework", "keras", *FAST,
                 "--out", str(out)]) == 0
    rec = _record(out)
    assert rec["status"] == "ok" and rec["cell"]["framework"] == "keras"
    for section in ("metrics", "quality", "timing", "cost", "predictions", "per_class", "context", "imbalance"):
        assert rec[section] is not None, section
    assert rec["cost"]["device"]["framework"] == "keras" and rec["cost"]["device"]["backend"] == "tensorflow"
    n_train, n_test = rec["imbalance"]["counts_before"], len(rec["predictions"]["proba"])
    t = rec["timing"]
    assert t["train_samples"] == sum(n_train) == rec["context"]["train"]["windows"]  # one epoch, one window each
    assert 0 < t["train_real_tokens"] <= t["train_tokens"] and t["train_seconds"] > 0
    assert len(t["loss_curve"]) == 1 and np.isfinite(t["loss_curve"][0])
    proba = np.asarray(rec["predictions"]["proba"])
    assert proba.shape == (n_test, 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert rec["cost"]["params_total"] > rec["cost"]["params_trainable"] // 2 > 0
    import os

    assert "KERAS_BACKEND" not in os.environ or os.environ["KERAS_BACKEND"] == "tensorflow"


def test_framework_stays_out_of_existing_ids():
    from bench.run.ids import cell_id

    base = Cell(task="drugs-sentiment", model="tiny-bert", train=TrainParams(limit_train=20))
    assert "framework" not in base.to_dict()  # the default is omitted: ids of existing cells unchanged
    keras = base.with_(framework="keras")
    assert keras.to_dict()["framework"] == "keras" and Cell.from_dict(keras.to_dict()) == keras
    assert cell_id(keras) != cell_id(base)


def test_matrix_reads_the_framework_axis(tmp_path):
    from bench.spec.matrix import load_matrix, only_filter, select

    m = tmp_path / "m.yaml"
    m.write_text("name: m\ntasks: [t]\nmodels: [tiny-bert]\nframework: [hf, keras]\nseeds: [0, 1]\n"
                 "exclude:\n  - {framework: keras, seed: 1}\n")
    cells = load_matrix(m).expand()
    assert [(c.framework, c.seed) for c in cells] == [("hf", 0), ("hf", 1), ("keras", 0)]
    assert select(cells, ["a", "b", "c"], only_filter("framework=keras")) == [2]


@needs_keras
def test_hf_vs_keras_matrix_runs_and_the_report_pairs_them(task, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    m = tmp_path / "m.yaml"
    m.write_text(f"name: fw\ntasks: [{task}]\nmodels: [tiny-bert]\nframework: [hf, keras]\nmax_length: [32]\n"
                 "seeds: [0]\ntrain: {epochs: 1, batch_size: 8, early_stopping_patience: null, latency_docs: 0}\n")
    out = tmp_path / "out"
    assert main(["run", "--matrix", str(m), "--out", str(out)]) == 0
    recs = [json.loads(p.read_text()) for p in (out / "records").glob("*.json")]
    assert sorted(r["cell"].get("framework", "hf") for r in recs) == ["hf", "keras"]
    assert all(r["status"] == "ok" for r in recs)
    capsys.readouterr()
    assert main(["report", "--results", str(out), "--axis", "framework", "--resamples", "50"]) == 0
    text = capsys.readouterr().out
    assert "Axis view: framework (reference hf)" in text
    assert "tiny-bert · full · none · head · L32 · keras" in text  # the keras configuration, paired
    assert "no framework=hf configuration" not in text


def _refusal(capsys, tmp_path, *argv) -> str:
    out = tmp_path / "refused"
    code = main(["run", "--model", "tiny-bert", "--framework", "keras", *argv, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert not (out / "records").exists()  # nothing written
    return err


@pytest.mark.parametrize("flags,words", [
    (["--method", "lora"], ["method 'lora'", "Keras fit", "method full"]),
    (["--method", "probe"], ["method 'probe'", "Keras fit"]),
    (["--imbalance", "focal"], ["imbalance 'focal'", "Keras fit", "loss"]),
    (["--adapt", "tapt"], ["adaptation 'tapt'", "Keras fit"]),
    (["--context", "random_window"], ["context 'random_window'", "Keras fit"]),
    (["--group-by-length"], ["group_by_length", "Keras fit"]),
])
def test_keras_refuses_what_it_cannot_do_at_planning(flags, words, task, capsys, tmp_path):
    if not _keras_installed() and flags[0] != "--method":
        pytest.skip("without the extra every Keras cell is refused for the extra first")
    err = _refusal(capsys, tmp_path, "--task", task, *flags)
    assert all(w in err for w in words), err


def test_keras_refuses_a_non_transformer_and_an_unknown_framework(task, capsys, tmp_path):
    err = _refusal(capsys, tmp_path, "--task", task, "--model", "tfidf-logreg", "--context", "full")
    assert "tfidf-logreg" in err and "framework hf" in err
    code = main(["run", "--task", task, "--model", "tiny-bert", "--framework", "kears", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "unknown framework 'kears'" in err and "did you mean 'keras'" in err


def test_missing_extra_is_refused_at_planning_naming_it(task, capsys, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "keras_hub" else real(name, *a))
    err = _refusal(capsys, tmp_path, "--task", task)
    assert "[keras]" in err and "keras_hub" in err and "pip install 'domainbench[keras]'" in err
    m = tmp_path / "m.yaml"
    m.write_text(f"name: m\ntasks: [{task}]\nmodels: [tiny-bert]\nframework: [hf, keras]\n")
    assert main(["run", "--matrix", str(m), "--out", str(tmp_path / "mo")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "[keras]" in err and not (tmp_path / "mo" / "records").exists()


def test_ls_lists_frameworks(capsys):
    assert main(["ls", "frameworks"]) == 0
    out = capsys.readouterr().out
    assert "hf" in out and "keras" in out and "Keras 3" in out


@needs_keras
@pytest.mark.parametrize("pooling", ["mean", None])
def test_converted_encoder_and_head_input_match_the_trainer_side(pooling):
    """The Keras model reads the same encoder as the Trainer path: with an identity Dense head, its
    output equals the HF encoder's declared pooling (mean over the mask) or its BERT pooler."""
    import torch
    from transformers import BertModel

    from bench.components.models import ModelSpec
    from bench.fit.keras import _keras, build_model
    from bench.fit.keras_batches import feed_inputs, pad
    from bench.fit.loading import tiny_config
    from bench.fit.pooled import pool_hidden

    keras = _keras()
    spec = ModelSpec("tiny-test", "hf", "random-init", "tiny", random_init=True, pooling=pooling)
    model = build_model(keras, spec, 64, seed=3, vocab_size=30522)
    model.get_layer("classifier").set_weights([np.eye(64, dtype="float32"), np.zeros(64, dtype="float32")])
    ids, mask = pad([[101, 7592, 2088, 102], [101, 2023, 102]], 0)
    got = np.asarray(model(feed_inputs(ids, mask), training=False))
    torch.manual_seed(3)
    hf = BertModel(tiny_config(30522, 2)).eval()
    with torch.no_grad():
        out = hf(input_ids=torch.tensor(ids, dtype=torch.long), attention_mask=torch.tensor(mask, dtype=torch.long))
        want = pool_hidden(out.last_hidden_state, torch.tensor(mask), "mean") if pooling else out.pooler_output
    assert np.allclose(got, want.numpy(), atol=1e-4), np.abs(got - want.numpy()).max()


def test_keras_refuses_a_checkpoint_keras_hub_cannot_convert():
    from bench.errors import ConfigError
    from bench.fit.frameworks import check_framework

    cell = Cell(task="drugs-sentiment", model="mpnet-base", framework="keras")
    with pytest.raises(ConfigError, match="keras-hub cannot convert model 'mpnet-base'.*'mpnet'.*framework hf"):
        check_framework(cell, "hf", "full", "mpnet")
    if _keras_installed():
        assert check_framework(cell.with_(model="minilm-l6"), "hf", "full", "bert") == "keras/full"
