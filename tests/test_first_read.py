"""What a new user types first, through the CLI on tiny budgets: the report's planned section on a
finished matrix shaped like the default job, a single-cell dry run, a matrix mixing TF-IDF and a
transformer without ``context``, and the user's own data (task files next to the matrix, labelled by
name, did-you-mean for columns and matrix keys, label errors citing the file's row)."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from bench.cli import main
from tests.conftest import balanced_rows, write

PLANNED = "## Planned cells without a record"
BUDGET = "train: {batch_size: 8, latency_docs: 2}\nbudget: {limit_train: 24, limit_eval: 12}\n"


def bench(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def records(out) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))]


@pytest.fixture
def recipe_model(monkeypatch):
    """tiny-bert with a registered recipe (as minilm-l6 has): planning fills the epochs, batch size and
    learning rate the matrix leaves unset, so a plan that skips it cannot match the records."""
    from bench.components.models import MODELS

    spec = MODELS.get("tiny-bert")
    monkeypatch.setitem(MODELS._items, "tiny-bert", dataclasses.replace(
        spec, recipe={"epochs": 1, "learning_rate": 1e-3, "warmup_ratio": 0.1}))


def test_report_plans_the_cells_the_runner_ran(tmp_path, csv_task, capsys, recipe_model):
    """A finished default-job-shaped matrix (two tasks, each varying its own axis, excludes and
    per-task overrides, a model recipe): the report lists no planned cell without a record; a seed the
    matrix plans but nobody ran is still listed."""
    csv_task(balanced_rows(10, ("a", "b", "c")), name="news", fname="news.csv")
    csv_task(balanced_rows(10, ("pos", "neg")), name="reviews", fname="reviews.csv")
    body = ("models: [tiny-bert]\nimbalance: [none, class_weight]\ncontext: [head, tail]\nmax_length: [32]\n"
            "exclude:\n  - {task: news.yaml, imbalance: [class_weight]}\n  - {task: reviews.yaml, context: [tail]}\n"
            "overrides:\n  - {match: {task: news.yaml}, train: {limit_train: 20}}\n" + BUDGET)
    m = write(tmp_path / "m.yaml", "name: m\ntasks: [news.yaml, reviews.yaml]\nseeds: [0]\n" + body)
    out = tmp_path / "res"
    code, _, err = bench(capsys, "run", "--matrix", m, "--out", out)
    assert code == 0, err
    recs = records(out)
    assert len(recs) == 4 and all(r["status"] == "ok" and r["cell"]["train"]["epochs"] == 1 for r in recs)
    code, text, err = bench(capsys, "report", "--results", out, "--resamples", 20)
    assert code == 0, err
    assert "planned cells: matrix m (named in the records)" in text and PLANNED not in text
    bigger = write(tmp_path / "m2.yaml", "name: m2\ntasks: [news.yaml, reviews.yaml]\nseeds: [0, 1]\n" + body)
    code, text, err = bench(capsys, "report", "--results", out, "--matrix", bigger, "--resamples", 20)
    assert code == 0, err
    missing = text.split(PLANNED)[1].split("\n## ")[0]
    assert len(re.findall(r"\| 1 ", missing)) == 4 and "| 0 " not in missing  # seed 1 of every configuration


def test_single_cell_dry_run_runs_and_writes_nothing(tmp_path, capsys, monkeypatch):
    from bench.run import worker

    def refuse(*args, **kwargs):
        raise AssertionError("a dry run must not run the cell")

    monkeypatch.setattr(worker, "run_cell", refuse)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    code, text, err = bench(capsys, "run", "--task", "drugs-sentiment", "--model", "tiny-bert", "--epochs", "1",
                            "--dry-run", "--out", out)
    assert code == 0, err
    cid = re.search(r"cell ([0-9a-f]{16}) \(precision fp32\)", text).group(1)
    assert '"model": "tiny-bert"' in text and '"epochs": 1.0' in text  # the resolved configuration
    assert re.search(rf"{cid} .* run\s+\d+", text) and "estimated" in text  # the cost estimate
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_matrix_mixing_tfidf_and_a_transformer(tmp_path, csv_task, capsys):
    """No ``context`` in the matrix: each model its own default (tiny-bert head, TF-IDF full), as a
    single ``bench run`` does; an explicit ``context: [head]`` still refuses TF-IDF."""
    task = csv_task(balanced_rows(10), name="mix")
    m = write(tmp_path / "m.yaml", f"name: mix\ntasks: [{task}]\nmodels: [tiny-bert, tfidf-logreg]\n"
                                   f"max_length: [32]\n{BUDGET}budget: {{limit_train: 24, epochs: 1}}\n"
              .replace("budget: {limit_train: 24, limit_eval: 12}\n", ""))
    code, _, err = bench(capsys, "run", "--matrix", m, "--out", tmp_path / "res")
    assert code == 0, err
    ran = {r["cell"]["model"]: r["cell"]["context"] for r in records(tmp_path / "res") if r["status"] == "ok"}
    assert ran == {"tiny-bert": "head", "tfidf-logreg": "full"}
    explicit = write(tmp_path / "e.yaml", m.read_text() + "context: [head]\n")
    code, _, err = bench(capsys, "run", "--matrix", explicit, "--out", tmp_path / "res2", "--dry-run")
    assert code == 2 and "cannot be honoured" in err and "tfidf-logreg" in err
    assert not (tmp_path / "res2").exists()


def test_own_data_next_to_the_matrix(tmp_path, csv_task, capsys, monkeypatch):
    """Task files in a matrix resolve next to it (the working directory elsewhere); records and reports
    name the task by its ``name``; the matrix can be a shipped one with ``--task`` (and budgets) swapped."""
    csv_task(balanced_rows(12), name="tickets", fname="tickets.csv")
    write(tmp_path / "m.yaml", "name: own\ntasks: [tickets.yaml]\nmodels: [tfidf-logreg]\n"
                               "imbalance: [none, class_weight]\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = bench(capsys, "run", "--matrix", tmp_path / "m.yaml", "--out", "res")
    assert code == 0, err
    assert {r["cell"]["task"] for r in records(elsewhere / "res")} == {"../tickets.yaml"}
    code, text, err = bench(capsys, "report", "--results", "res", "--axis", "imbalance", "--resamples", 20)
    assert code == 0, err
    assert "| tickets " in text and "tickets.yaml" not in text and PLANNED not in text
    code, _, err = bench(capsys, "run", "--task", "tickets.yaml", "--dry-run")
    assert code == 2 and "looked up as a registered task name and as a task file path" in err


def test_did_you_mean_and_row_numbers(tmp_path, csv_task, capsys):
    bad_col = csv_task(balanced_rows(5), name="c1", extra="", fname="c1.csv")
    bad_col.write_text(bad_col.read_text().replace("text_column: text", "text_column: txt"))
    code, _, err = bench(capsys, "data", bad_col)
    assert code == 2 and "column 'txt' not found in c1.csv; did you mean 'text'? (columns: text, label)" in err
    rows = balanced_rows(5) + [("an odd one", "x")]
    labelled = csv_task(rows, name="c2", extra="label_names: [a, b]\n", fname="c2.csv")
    code, _, err = bench(capsys, "data", labelled)
    assert code == 2 and f"c2.csv row {len(rows) + 1}: label 'x' not in label_names ['a', 'b']" in err
    m = write(tmp_path / "m.yaml", "name: x\ntasks: [bbc-news]\nmodles: [tiny-bert]\n")
    code, _, err = bench(capsys, "run", "--matrix", m, "--dry-run")
    assert code == 2 and "unknown field 'modles'; did you mean 'models'?" in err and len(err.splitlines()) == 1


def test_bf16_machine_plans_match_and_explicit_precision_reuses_auto(tmp_path, csv_task, capsys, monkeypatch):
    """Where ``auto`` resolves to bf16 the records' configuration ids carry bf16: the report's planned
    section still finds every planned cell, across runs with --precision and --only; a rerun with the
    precision ``auto`` chose (the same computation) skips the cell instead of training it again."""
    monkeypatch.setenv("BENCH_BF16", "1")  # auto resolves to bf16, as on an AVX-512-BF16 CPU
    csv_task(balanced_rows(10, ("pos", "neg")), name="reviews", fname="reviews.csv")
    m = write(tmp_path / "m.yaml", "name: m\ntasks: [reviews.yaml]\nmodels: [tiny-bert, tfidf-logreg]\n"
              "max_length: [32]\nseeds: [0]\n" + BUDGET)
    out = tmp_path / "res"

    def run(*flags) -> dict[str, str]:
        code, _, err = bench(capsys, "run", "--matrix", m, "--out", out, *flags)
        assert code == 0, err
        code, text, err = bench(capsys, "report", "--results", out, "--resamples", 20)
        assert code == 0 and PLANNED not in text, err + text
        return {p.name: p.read_text() for p in (out / "records").glob("*.json")}

    first = run()
    assert sorted(json.loads(t)["precision"] for t in first.values()) == ["bf16", "fp32"]  # TF-IDF: fp32
    assert run("--precision", "bf16", "--only", "model=tiny-bert") == first  # auto's cell: skipped
    after = run("--precision", "fp32")  # tiny-bert in fp32 is another computation
    assert {k: after[k] for k in first} == first
    assert sorted(json.loads(t)["precision"] for t in after.values() if "tiny-bert" in t) == ["bf16", "fp32"]
