"""Issue 12, the recipe per model: sentence-transformers checkpoints classify from their declared
pooling (bench.fit.pooled), the registry's recipe fills the unset training parameters, and a saved
model loads again in a fresh process with identical logits.

A tiny sentence-transformers folder (random-init 2-layer BERT + modules.json + 1_Pooling) stands
in for minilm-l6 / mpnet-base, so nothing here trains a real model.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bench.components.models import MODELS, declared_pooling, get_model, model_path, with_recipe
from bench.errors import BenchError, ConfigError
from bench.spec.cell import Cell, TrainParams
from tests.conftest import ROOT, balanced_rows

TEXTS = ["a short text", "a somewhat longer text about several different things", "x"]


def _st_folder(folder, pooling_flags: dict | None = None):
    """A sentence-transformers checkpoint: tiny random BERT weights, the MiniLM tokenizer, modules.json."""
    import torch
    from transformers import AutoModel

    from bench.fit.loading import load_tokenizer, tiny_config

    tok = load_tokenizer(get_model("tiny-bert"))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        AutoModel.from_config(tiny_config(len(tok), 2)).save_pretrained(folder)
    tok.save_pretrained(folder)
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (folder / "1_Pooling").mkdir()
    flags = pooling_flags or {"pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 64, **flags}))
    return folder


@pytest.fixture(scope="module")
def st_folder(tmp_path_factory):
    return _st_folder(tmp_path_factory.mktemp("st") / "model")


def _logits(model, tok, texts=TEXTS):
    import torch

    batch = tok(texts, padding=True, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        return model(**batch).logits.float().numpy()


RELOAD = """
import json, sys, torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
folder, texts = sys.argv[1], json.loads(sys.argv[2])
model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
with torch.no_grad():
    print(json.dumps(model(**tok(texts, padding=True, return_tensors="pt")).logits.tolist()))
"""


def _reloaded_logits(folder, texts=TEXTS) -> np.ndarray:
    """Logits of the saved model loaded by plain transformers in a fresh process (bench not imported)."""
    out = subprocess.run([sys.executable, "-c", RELOAD, str(folder), json.dumps(texts)], capture_output=True,
                         text=True, check=True, cwd=str(folder.parent), timeout=120,
                         env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    return np.asarray(json.loads(out.stdout.strip().splitlines()[-1]))


def test_declared_pooling_is_read_from_modules_json(st_folder, tmp_path):
    spec = get_model(f"hf:{st_folder}")
    assert spec.pooling == "mean" and spec.identity()["pooling"] == "mean"
    cls = _st_folder(tmp_path / "cls", {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    assert declared_pooling(str(cls)) == "cls"
    assert get_model(f"hf:{cls}").identity() != spec.identity()  # the pooling enters the cell id
    both = _st_folder(tmp_path / "both", {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True})
    with pytest.raises(ConfigError, match="pooling modes"):
        declared_pooling(str(both))
    (tmp_path / "plain").mkdir()
    assert declared_pooling(str(tmp_path / "plain")) is None
    assert "pooling" not in get_model("tiny-bert").identity()  # plain head: identity (and ids) unchanged


@pytest.mark.parametrize("name", [n for n in MODELS.names() if MODELS.get(n).pooling])
def test_registered_pooling_matches_the_checkpoint(name):
    spec = get_model(name)
    try:
        folder = model_path(spec)
    except BenchError:
        pytest.skip(f"{name} is not installed")
    assert declared_pooling(folder) == spec.pooling


def test_pooled_classifier_reads_the_declared_pooling_and_keeps_the_encoder(st_folder):
    import torch
    from transformers import AutoModel, set_seed

    from bench.fit.loading import classifier, load_tokenizer
    from bench.fit.pooled import PooledForSequenceClassification

    spec = get_model(f"hf:{st_folder}")
    tok = load_tokenizer(spec)
    set_seed(0)
    model = classifier(spec, ["a", "b", "c"], len(tok))
    assert isinstance(model, PooledForSequenceClassification) and model.config.num_labels == 3
    encoder = AutoModel.from_pretrained(st_folder).eval()
    for k, v in encoder.state_dict().items():  # pretrained weights loaded, not re-initialised
        if not k.startswith("pooler."):
            assert torch.equal(v, model.encoder.state_dict()[k]), k
    batch = tok(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = encoder(**batch).last_hidden_state
        m = batch["attention_mask"].unsqueeze(-1).float()
        want = model.classifier((hidden * m).sum(1) / m.sum(1))
    np.testing.assert_allclose(_logits(model, tok), want.numpy(), atol=1e-5)  # mean pooling -> linear head
    set_seed(0)
    again = classifier(spec, ["a", "b", "c"], len(tok))  # from the per-process weight cache
    assert torch.equal(again.classifier.weight, model.classifier.weight)
    set_seed(1)
    assert not torch.equal(classifier(spec, ["a", "b", "c"], len(tok)).classifier.weight, model.classifier.weight)


@pytest.mark.parametrize("method_name", ["full", "lora"])
def test_saved_model_reloads_in_a_fresh_process_with_identical_logits(st_folder, tmp_path, method_name):
    import torch
    from transformers import set_seed

    from bench.components.methods import METHODS
    from bench.fit.loading import classifier, load_tokenizer
    from bench.spec.named import build

    spec = get_model(f"hf:{st_folder}")
    tok = load_tokenizer(spec)
    set_seed(0)
    method = build(METHODS, method_name)
    model = method.prepare(classifier(spec, ["a", "b"], len(tok)))
    with torch.no_grad():  # move every trainable weight (LoRA B starts at zero), as training would
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    if method_name == "lora":
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        assert 0 < trainable < sum(p.numel() for p in model.parameters()) / 2
    want = _logits(model, tok)
    method.export(model).save_pretrained(tmp_path / "saved")  # what --save-model does
    tok.save_pretrained(tmp_path / "saved")
    assert (tmp_path / "saved" / "pooled.py").exists()
    np.testing.assert_allclose(_reloaded_logits(tmp_path / "saved"), want, atol=1e-5)


def test_recipe_fills_only_unset_training_parameters():
    minilm = get_model("minilm-l6")
    assert minilm.pooling == "mean" and minilm.train_defaults() == {"learning_rate": 1e-4, "warmup_ratio": 0.1,
                                                                     "epochs": 4, "batch_size": 16}
    cell = with_recipe(Cell(task="bbc-news", model="minilm-l6", train=TrainParams(learning_rate=3e-4)))
    assert cell.train.learning_rate == 3e-4 and cell.train.epochs == 4  # the user's value wins
    assert with_recipe(cell) == cell
    mpnet = get_model("mpnet-base").train_defaults()
    assert mpnet["learning_rate"] == 5e-5 and mpnet["epochs"] == 4
    for name in ("tiny-bert", "tfidf-logreg"):  # today's defaults: their cells keep their ids
        plain = Cell(task="bbc-news", model=name)
        assert with_recipe(plain) == plain


def test_planned_cell_id_covers_the_recipe():
    from bench.run.ids import cell_id, plan_cell

    cell = Cell(task="bbc-news", model="minilm-l6")
    planned = plan_cell(cell)
    assert planned.cell.train.epochs == 4 and planned.cell_id == cell_id(planned.cell)
    assert planned.cell_id != cell_id(cell)
    assert plan_cell(cell.with_(model="tiny-bert")).cell_id == cell_id(cell.with_(model="tiny-bert"))


def test_probe_defaults_to_the_declared_pooling(st_folder):
    from bench.components.methods import METHODS
    from bench.spec.named import build

    probe = build(METHODS, "probe")
    assert probe.pooling_for(get_model(f"hf:{st_folder}")) == "mean"
    assert probe.pooling_for(get_model("tiny-bert")) == "mean"
    assert build(METHODS, "probe", {"pooling": "cls"}).pooling_for(get_model("minilm-l6")) == "cls"


def test_cli_trains_and_saves_a_pooled_model_that_reloads(st_folder, tmp_path, csv_task):
    from bench.cli import main
    from bench.run.worker import cell_data

    task = csv_task(balanced_rows(10, labels=("a", "b")), name="tinyst")
    code = main(["run", "--task", str(task), "--model", f"hf:{st_folder}", "--epochs", "1", "--max-length", "32",
                 "--out", str(tmp_path / "out"), "--save-model", str(tmp_path / "saved")])
    assert code == 0
    (path,) = (tmp_path / "out" / "records").glob("*.json")
    rec = json.loads(path.read_text())
    assert rec["model"]["pooling"] == "mean"
    texts = cell_data(Cell.from_dict(rec["cell"])).splits["test"].texts
    logits = _reloaded_logits(tmp_path / "saved", list(texts))
    proba = np.exp(logits - logits.max(1, keepdims=True))
    proba /= proba.sum(1, keepdims=True)
    np.testing.assert_allclose(proba, np.asarray(rec["predictions"]["proba"]), atol=1e-3)


def test_ls_models_shows_the_recipe(capsys):
    from bench.cli import main

    assert main(["ls", "models"]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("minilm-l6"))
    assert "mean" in line and "0.0001" in line and " 4 " in line
    assert "pooling" in out and "warm-up" in out
    assert ROOT.exists()


@pytest.mark.parametrize("method", ["lora", "probe"])
def test_cli_runs_lora_and_probe_on_a_pooled_model(st_folder, tmp_path, csv_task, method):
    """LoRA through the Trainer (2 epochs: checkpoint + best-model reload of the wrapped model) and the
    probe's features, both on the declared pooling."""
    from bench.cli import main

    task = csv_task(balanced_rows(10, labels=("a", "b")), name="tinyst")
    code = main(["run", "--task", str(task), "--model", f"hf:{st_folder}", "--method", method, "--epochs", "2",
                 "--max-length", "32", "--out", str(tmp_path / "out")])
    assert code == 0
    (path,) = (tmp_path / "out" / "records").glob("*.json")
    rec = json.loads(path.read_text())
    assert rec["status"] == "ok" and rec["model"]["pooling"] == "mean"
    if method == "lora":
        assert 0 < rec["cost"]["params_trainable"] < rec["cost"]["params_total"] / 2
