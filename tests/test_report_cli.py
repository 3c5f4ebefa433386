"""``bench report`` in every format, ``bench compare``, bad input (one line, exit 2, nothing
written), and the report over real pipeline records of tiny-bert cells."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from bench.record.io import write_record
from bench.run.ids import plan_cell
from bench.run.worker import run_cell
from tests.test_report_stats import classifier, synth_record


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """2 tasks x (model m1/m2/m3 x imbalance none/focal) x 3 seeds; m3·focal failed on t2; m4 only on t2."""
    out = tmp_path_factory.mktemp("rep") / "res"
    y = np.random.default_rng(0).integers(0, 3, 90)
    for ti, task in enumerate(("t1", "t2")):
        for mi, (model, acc, secs) in enumerate((("m1", 0.92, 100.0), ("m2", 0.75, 20.0), ("m3", 0.5, 5.0))):
            for ii, imb in enumerate(("none", "focal")):
                for s in range(3):
                    if (task, model, imb) == ("t2", "m3", "focal"):
                        continue
                    write_record(out, synth_record(task=task, model=model, imbalance=imb, seed=s, labels=y,
                                                  proba=classifier(y, acc, 100 * ti + 10 * mi + 3 * ii + s),
                                                  train_seconds=secs + s))
    write_record(out, synth_record(task="t2", model="m3", imbalance="focal", status="failed"))
    write_record(out, synth_record(task="t2", model="m4", labels=y, proba=classifier(y, 0.6, 7)))
    return out


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_markdown_to_stdout(results, capsys):
    code, out, _ = run(capsys, "report", "--results", results, "--resamples", 200)
    assert code == 0
    assert "| config" in out and "| t1" in out and "mean rank" in out
    assert "**0.9" in out  # best per task in bold (m1)
    assert "failed" in out and "missing" in out  # m3·focal on t2, m4 on t1
    assert "## Cost-normalised view" in out and "Pareto front" in out
    assert "## Failed cells" in out and "out of memory" in out
    assert "(n=3)" in out and "± " in out


def test_latex_csv_json(results, capsys, tmp_path):
    code, tex, _ = run(capsys, "report", "--results", results, "--format", "latex", "--resamples", 50)
    assert code == 0 and r"\toprule" in tex and r"\textbf{" in tex and r"$\pm$" in tex and "\x01" not in tex
    code, text, _ = run(capsys, "report", "--results", results, "--format", "csv", "--resamples", 50)
    df = pd.read_csv(io.StringIO(text))
    assert code == 0 and {"config", "task", "n", "mean", "std", "ci_low", "ci_high", "rank", "overall_rank",
                          "not_significantly_worse_than_best", "train_seconds"} <= set(df.columns)
    ok = df[df["status"] == "ok"]
    assert (ok["n"] == 3).sum() == 11 and set(df["status"]) == {"ok", "failed", "missing"}
    assert (df.loc[df["rank"] == 1, "config"].str.startswith("m1")).all()
    out = tmp_path / "board.json"
    code, _, _ = run(capsys, "report", "--results", results, "--format", "json", "--out", out, "--resamples", 50)
    data = json.loads(out.read_text())
    assert code == 0 and data["metric"] == "macro_f1" and data["direction"] == 1 and len(data["failed"]) == 1
    assert len(data["cells"]) == len(df)


def test_markdown_folder_has_plots(results, capsys, tmp_path):
    out = tmp_path / "docs"
    code, text, _ = run(capsys, "report", "--results", results, "--out", out, "--resamples", 50)
    assert code == 0 and "report.md" in text
    md = (out / "report.md").read_text()
    for name in ("pareto_t1.png", "roc_t1.png", "f1_t2.png"):
        assert (out / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"(plots/{name})" in md
    assert not list(out.glob(".report.*"))


def test_html_site_files(results, capsys, tmp_path):
    site = tmp_path / "site"
    code, _, _ = run(capsys, "report", "--results", results, "--format", "html", "--out", site, "--resamples", 50)
    index = (site / "index.html").read_text()
    assert code == 0 and 'id="leaderboard"' in index and "<table>" in index and "<b>0.9" in index  # tabulate html
    assert "http://" not in index and "https://" not in index  # self-contained: nothing fetched
    pages = list((site / "configs").glob("*.html"))
    assert len(pages) == 13 and all(f'href="configs/{p.name}"' in index for p in pages)
    for p in pages:
        for src in re.findall(r'src="([^"]+)"', p.read_text()):
            assert (p.parent / src).resolve().is_file(), src


def test_rows_cols_layout(results, capsys):
    code, out, _ = run(capsys, "report", "--results", results, "--rows", "model", "--cols", "imbalance",
                       "--task", "t1", "--resamples", 50)
    assert code == 0 and "| model" in out and "| focal" in out and "| none" in out
    code, _, err = run(capsys, "report", "--results", results, "--rows", "model")
    assert code == 2 and "imbalance" in err and len(err.strip().splitlines()) == 1


def test_compare(results, capsys):
    code, out, _ = run(capsys, "compare", "--results", results, "--task", "t1", "model=m1,imbalance=none",
                       "model=m3", "--resamples", 300)
    assert code == 0, out
    assert "significantly better" in out and "McNemar" in out and "A - B = +" in out
    assert "m3 · full · none" in out  # B takes imbalance=none from A
    code, out, _ = run(capsys, "compare", "--results", results, "task=t1,model=m1,imbalance=none",
                       "imbalance=focal", "--json", "--resamples", 100)
    data = json.loads(out)
    assert code == 0 and data["bootstrap"]["n_docs"] == 90 and data["bootstrap"]["n_seeds"] == 3
    assert data["mcnemar"]["pairs"] == 270


@pytest.mark.parametrize("argv, needle", [
    (["compare", "model=m9", "model=m1", "--task", "t1"], "matches no configuration"),
    (["compare", "model=m1", "model=m2"], "matches 4 configurations"),
    (["compare", "modle=m1", "model=m2"], "did you mean 'model'"),
    (["compare", "task=t1,model=m1,imbalance=none", "model=m1"], "same configuration"),
    (["report", "--metric", "macro_f"], "did you mean 'macro_f1'"),
    (["report", "--cols", "contxt"], "did you mean 'context'"),
    (["report", "--task", "t3"], "no records of task 't3'"),
    (["report", "--format", "html"], "--out FOLDER"),
])
def test_bad_input_one_line_exit_2(results, capsys, argv, needle):
    code, out, err = run(capsys, *argv, "--results", results)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and out == ""


def test_bad_folders_write_nothing(tmp_path, capsys):
    site = tmp_path / "site"
    code, _, err = run(capsys, "report", "--results", tmp_path / "none", "--format", "html", "--out", site)
    assert code == 2 and "does not exist" in err and not site.exists()
    (tmp_path / "empty" / "records").mkdir(parents=True)
    code, _, err = run(capsys, "report", "--results", tmp_path / "empty", "--out", site)
    assert code == 2 and "holds no records" in err and not site.exists()
    mixed = tmp_path / "mixed"
    write_record(mixed, synth_record(metrics={"macro_f1": 0.5}))
    newer = synth_record(model="new", metrics={"macro_f1": 0.5})
    newer["schema_version"] = 99
    write_record(mixed, newer)
    code, _, err = run(capsys, "report", "--results", mixed, "--out", site)
    assert code == 2 and "newer" in err and len(err.strip().splitlines()) == 1 and not site.exists()
    code, _, err = run(capsys, "compare", "--results", mixed, "model=m1", "model=new")
    assert code == 2 and "schema_version 99" in err


def test_report_over_real_pipeline_records(tiny_cell, tmp_path, capsys):
    """Real pipeline records: tiny-bert (random-init) seeds 0, 1 and the TF-IDF baseline, seed 0."""
    out = tmp_path / "res"
    for model, seed in (("tiny-bert", 0), ("tiny-bert", 1), ("tfidf-logreg", 0)):
        context = "full" if model == "tfidf-logreg" else "head"  # TF-IDF reads whole documents
        write_record(out, run_cell(plan_cell(tiny_cell.with_(model=model, seed=seed, context=context))))
    code, text, _ = run(capsys, "report", "--results", out, "--metric", "accuracy", "--out", tmp_path / "r",
                        "--resamples", 100)
    assert code == 0
    md = (tmp_path / "r" / "report.md").read_text()
    assert "tiny-bert · full · none · head · L64 [random-init]" in md and "(n=2†)" in md and "(n=1†)" in md and "drugs-sentiment" in md
    assert (tmp_path / "r" / "plots" / "roc_drugs-sentiment.png").exists()
    code, text, _ = run(capsys, "compare", "--results", out, "model=tfidf-logreg", "model=tiny-bert",
                        "--metric", "roc_auc", "--resamples", 100)
    assert code == 0 and "30 test documents x 1 seed pair(s)" in text


def test_compare_selects_by_precision(tmp_path, capsys):
    """The same cell trained in bf16 (precision auto resolved to bf16) and in fp32 is two configurations;
    ``precision=`` selects one of them, as the recipe check's bf16-vs-fp32 comparison does."""
    out = tmp_path / "res"
    y = np.random.default_rng(1).integers(0, 3, 60)
    for s in range(2):
        bf = synth_record(seed=s, labels=y, proba=classifier(y, 0.8, 10 + s))
        bf["precision"] = "bf16"
        fp = synth_record(seed=s, labels=y, proba=classifier(y, 0.8, 20 + s))
        fp["cell"]["train"]["precision"] = "fp32"
        fp["cell_id"], fp["precision"] = f"fp32{s}{fp['cell_id'][5:]}", "fp32"
        write_record(out, bf)
        write_record(out, fp)
    code, _, err = run(capsys, "compare", "--results", out, "model=m1", "model=m1,imbalance=none")
    assert code == 2 and "matches 2 configurations" in err and "precision=" in err
    code, text, err = run(capsys, "compare", "--results", out, "model=m1,precision=bf16", "precision=fp32",
                          "--resamples", 100)
    assert code == 0, err
    assert "bf16" in text and "fp32" in text
    code, _, err = run(capsys, "compare", "--results", out, "model=m1,precison=bf16", "precision=fp32")
    assert code == 2 and "did you mean 'precision'" in err


def test_compare_selects_by_group_by_length(tmp_path, capsys):
    """Length-grouped batches make another configuration (the fast-path check): ``group_by_length=true``
    selects it, and the other side narrows to the same precision."""
    out = tmp_path / "res"
    y = np.random.default_rng(2).integers(0, 3, 60)
    for s in range(2):
        plain = synth_record(seed=s, labels=y, proba=classifier(y, 0.8, 10 + s))
        grouped = synth_record(seed=s, labels=y, proba=classifier(y, 0.6, 20 + s))
        grouped["cell"]["train"]["group_by_length"] = True
        grouped["cell_id"] = f"grp{s}{grouped['cell_id'][4:]}"
        fp = synth_record(seed=s, labels=y, proba=classifier(y, 0.8, 30 + s))
        fp["cell"]["train"]["precision"] = "fp32"
        fp["cell_id"], fp["precision"] = f"fp32{s}{fp['cell_id'][5:]}", "fp32"
        plain["precision"] = grouped["precision"] = "bf16"
        for rec in (plain, grouped, fp):
            write_record(out, rec)
    code, text, err = run(capsys, "compare", "--results", out, "group_by_length=true", "group_by_length=false",
                          "--resamples", 100)
    assert code == 0, err
    assert "group_by_length" in text or "grouped" in text
    assert "fp32" not in text  # B narrowed to A's precision (bf16), not the fp32 configuration
