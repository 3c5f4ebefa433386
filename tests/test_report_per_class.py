"""Absent classes are not applicable (issue 12): a class absent from both the test truth and the
predictions has no per-class precision / recall / F1 (null in the record, ``n/a`` in Markdown,
LaTeX and HTML, empty in CSV), no seed mean or plot counts it as 0, and the report still builds."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from bench.metrics import classification_metrics, mean_applicable, per_class
from bench.record.io import write_record
from bench.report.records import class_scores
from bench.report.stats import metric_values
from tests.test_report_stats import classifier, synth_record

NAMES = ["a", "b", "c"]
Y = np.random.default_rng(0).integers(0, 2, 60)  # class c never in the test truth


def two_class(seed: int) -> np.ndarray:
    """Probabilities over a, b, c whose argmax is never c (c: 0)."""
    p = np.zeros((len(Y), 3))
    p[:, :2] = classifier(Y, 0.8, seed, k=2)
    return p


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("pc") / "res"
    for model in ("m1", "m2"):
        for s in (0, 1):
            write_record(out, synth_record(model=model, seed=s, labels=Y, proba=two_class(10 * s + int(model[1]))))
    return out


def run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().out


def test_record_has_null_scores_for_an_absent_class():
    pc = per_class(Y, two_class(0), NAMES)
    assert pc["c"] == {"precision": None, "recall": None, "f1": None, "support": 0}
    assert pc["a"]["f1"] is not None and pc["a"]["f1"] > 0.5
    pred = two_class(0).argmax(1)
    pred[0] = 2  # c predicted once though absent from the truth: applicable, precision 0
    assert per_class(Y, np.eye(3)[pred], NAMES)["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert json.loads(json.dumps(pc))["c"]["f1"] is None
    assert mean_applicable([None, 0.5, float("nan"), 0.7]) == pytest.approx(0.6) and mean_applicable([None]) is None


def test_minority_metrics_not_applicable_when_the_minority_class_is_absent():
    m = classification_metrics(Y, two_class(0), NAMES, minority=2)
    assert math.isnan(m["minority_recall"]) and math.isnan(m["minority_f1"])
    assert not math.isnan(classification_metrics(Y, two_class(0), NAMES, minority=1)["minority_recall"])
    idx = np.random.default_rng(1).integers(0, len(Y), (5, len(Y)))
    assert np.isnan(metric_values("minority_recall", Y, two_class(0), idx, NAMES, 2)).all()


def test_bootstrap_macro_runs_over_the_present_classes():
    """The resampled macro-F1 on all documents equals the record's (scikit-learn's default semantics)."""
    idx = np.arange(len(Y))[None, :]
    want = classification_metrics(Y, two_class(0), NAMES)
    for m in ("macro_f1", "macro_precision", "macro_recall"):
        assert metric_values(m, Y, two_class(0), idx, NAMES)[0] == pytest.approx(want[m]), m


def test_older_records_with_zeros_read_as_not_applicable():
    rec = synth_record(labels=Y, proba=two_class(0))
    rec["per_class"]["c"] = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}  # as written before
    assert class_scores(rec)["c"]["f1"] is None and class_scores(rec)["a"] == rec["per_class"]["a"]
    rec["confusion_matrix"][0][2] = 1  # had c been predicted, it would be applicable
    assert class_scores(rec)["c"]["f1"] == 0.0


def test_report_shows_n_a_in_markdown_latex_and_csv(results, capsys):
    code, md = run(capsys, "report", "--results", results, "--resamples", 50)
    assert code == 0 and "## Per-class F1" in md
    table = md.split("## Per-class F1")[1]
    row = next(line for line in table.splitlines() if line.startswith("| m1"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-1] == "n/a" and float(cells[1]) > 0.5  # c: n/a, a: a real F1
    assert "c (n=0)" in table and "0.000" not in row
    code, tex = run(capsys, "report", "--results", results, "--format", "latex", "--resamples", 50)
    assert code == 0 and "n/a" in tex and "c (n=0)" in tex
    code, text = run(capsys, "report", "--results", results, "--format", "csv", "--resamples", 50)
    df = pd.read_csv(io.StringIO(text))
    ok = df[df["status"] == "ok"]
    assert code == 0 and len(ok) == 2 and ok["per_class.c.f1"].isna().all() and (ok["per_class.a.f1"] > 0.5).all()


def test_html_site_and_plots_build_with_an_absent_class(results, capsys, tmp_path):
    code, _ = run(capsys, "report", "--results", results, "--format", "html", "--out", tmp_path / "site",
                  "--resamples", 50)
    pages = [p.read_text() for p in (tmp_path / "site" / "configs").glob("*.html")]
    assert code == 0 and pages and all('data-v="">n/a</td>' in p for p in pages)
    assert (tmp_path / "site" / "plots" / "f1_t1.png").read_bytes()[:4] == b"\x89PNG"


def test_imbalance_table_shows_n_a_for_an_undefined_minority_recall(results):
    from bench.report.imbalance_table import strategy_table, to_markdown

    text = to_markdown(strategy_table(str(results)))
    assert "n/a" in text and "nan" not in text
