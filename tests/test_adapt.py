"""Adaptation stage: TAPT / DAPT masked-LM continued pretraining and the adapted-encoder cache."""

import pytest

import bench.fit.mlm as mlm
import bench.store as store
from bench.cli import main
from bench.components.adapt import ADAPT
from bench.components.models import get_model
from bench.errors import ConfigError, DataError
from bench.fit.mlm import adapt_encoder
from bench.run.worker import cell_data
from bench.spec.named import build

TAPT = {"steps": 8, "lr": 1e-3, "batch_size": 8, "max_length": 32}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))


def test_tapt_lowers_mlm_loss_changes_weights_and_is_cached(tiny_cell, monkeypatch):
    import torch
    from safetensors.torch import load_file

    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    initial = {}
    real_load = mlm.load_mlm

    def capture(spec, vocab):
        model = real_load(spec, vocab)
        initial.update({k: v.detach().clone() for k, v in model.base_model.state_dict().items()})
        return model

    monkeypatch.setattr(mlm, "load_mlm", capture)
    cell = tiny_cell.with_(adapt="tapt", adapt_params=TAPT)
    rec = run_cell(plan_cell(cell))["adapt"]  # the whole path: adapt, then fine-tune the adapted encoder
    data = cell_data(cell)
    assert rec["name"] == "tapt" and rec["steps"] == 8 and rec["cache_hit"] is False
    assert rec["corpus_docs"] == len(data.splits["train"])
    assert rec["mlm_loss_after"] < rec["mlm_loss_before"]
    assert len(rec["loss_curve"]) >= 2 and rec["cost"]["seconds"] > 0 and rec["cost"]["flops_estimate"] > 0
    folder = store.cache_root() / "adapted" / rec["key"] / "encoder"
    saved = load_file(folder / "model.safetensors")
    changed = [k for k, v in saved.items() if k in initial and not torch.equal(v, initial[k])]
    assert "embeddings.word_embeddings.weight" in changed and any("encoder.layer.0" in k for k in changed)

    def no_training(*args, **kwargs):
        raise AssertionError("the cached encoder should have been reused")

    monkeypatch.setattr(mlm, "train_mlm", no_training)
    tapt = build(ADAPT, "tapt", TAPT)
    again = adapt_encoder(cell, data, get_model("tiny-bert"), tapt)
    assert again.record["cache_hit"] is True and again.spec.source == str(folder)
    assert again.record["mlm_loss_after"] == rec["mlm_loss_after"]  # the original run's numbers
    probe = run_cell(plan_cell(cell.with_(method="probe")))  # the probe reads the adapted encoder's features
    assert probe["adapt"]["cache_hit"] is True and probe["adapt"]["key"] == rec["key"]
    assert probe["cost"]["features"]["encoded_docs"] > 0
    with pytest.raises(AssertionError, match="reused"):  # another seed is another key
        adapt_encoder(cell.with_(seed=1), data, get_model("tiny-bert"), tapt)


def test_dapt_on_a_folder_of_txt_documents(tiny_cell, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(6):
        (folder / f"d{i}.txt").write_text(f"the patient took medicine number {i} twice daily and slept well")
    (folder / "notes.md").write_text("not a txt document")
    from bench.components import axis_types
    from bench.spec.named import parse_named

    _, params = parse_named(f"dapt:corpus={folder}", axis_types()["adapt"])  # as the CLI parses it
    assert params == {"corpus": str(folder)}  # a path stays a path
    dapt = build(ADAPT, "dapt", {**TAPT, "steps": 4, **params})
    out = adapt_encoder(tiny_cell, cell_data(tiny_cell), get_model("tiny-bert"), dapt)
    assert out.record["corpus_docs"] == 6 and str(folder) in out.record["corpus"]


def test_dapt_corpus_file_drops_the_cells_evaluation_texts(tiny_cell):
    data = cell_data(tiny_cell)
    texts, where = build(ADAPT, "dapt", {"corpus": "drug-reviews"}).texts(tiny_cell, data)
    held_out = {t for s in ("validation", "test") for t in data.splits[s].texts}
    assert "drug-reviews" in where and f"{len(held_out)} evaluation texts removed" in where
    assert not held_out & set(texts) and len(texts) > 500


def test_empty_corpus_exits_2_with_one_line(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "blank.txt").write_text("   \n")
    code = main(["run", "--task", "drugs-sentiment", "--model", "tiny-bert", "--adapt",
                 f"dapt:corpus={tmp_path / 'empty'}", "--limit-train", "24", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no non-empty documents" in err[0]
    assert not (tmp_path / "out" / "records").exists()


def test_bad_corpus_names_and_params():
    from bench.data.corpora import corpus_texts

    with pytest.raises(ConfigError, match="did you mean 'drug-reviews'"):
        corpus_texts("drug-review")
    with pytest.raises(ConfigError, match="corpus"):
        build(ADAPT, "dapt", {"steps": 5})
    with pytest.raises(ConfigError, match="steps"):
        build(ADAPT, "tapt", {"steps": 0})
    with pytest.raises(DataError, match="does not exist"):
        from pathlib import Path

        from bench.data.corpora import _folder_texts

        _folder_texts(Path("/nonexistent/folder"), "*.txt")


def test_adaptation_needs_a_transformer(capsys, tmp_path):
    code = main(["run", "--task", "drugs-sentiment", "--model", "tfidf-logreg", "--adapt", "tapt",
                 "--out", str(tmp_path / "out")])
    assert code == 2 and "not a transformer" in capsys.readouterr().err


def test_ls_adapt_lists_the_stages(capsys):
    assert main(["ls", "adapt"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("none", "tapt", "dapt", "corpus"))
