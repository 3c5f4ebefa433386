"""``bench report --axis`` in every format, ``--reference``, ``--matrix``, bad input (one line, exit 2,
nothing written), and the axis pages of the HTML site in headless Chromium."""

from __future__ import annotations

import hashlib
import io
import json

import pandas as pd
import pytest

from bench.cli import main
from tests.test_report_axis import record, write
from tests.test_site_browser import browser, column_values, errors, images_ok  # noqa: F401 - fixture

MATRIX = ("name: mini\ntasks: [drugs-sentiment, bbc-news]\nmodels: [tiny-bert]\nimbalance: [none, focal]\ncontext: [head, tail]\n"
          "seeds: [0, 1]\nexclude:\n  - {task: bbc-news, context: [tail]}\n")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """The matrix above (real task and model names: the report plans them as the runner does), every
    planned cell but drugs-sentiment·none·tail; focal beats none on both tasks."""
    root = tmp_path_factory.mktemp("axiscli")
    (root / "m.yaml").write_text(MATRIX)
    recs = [record(task=t, seed=s, imbalance=i, context=c, accuracy=0.9 if i == "focal" else 0.55,
                   model="tiny-bert")
            for t in ("drugs-sentiment", "bbc-news") for i in ("none", "focal") for c in ("head", "tail") for s in (0, 1)
            if not (t == "bbc-news" and c == "tail") and not (t == "drugs-sentiment" and i == "none" and c == "tail")]
    write(root / "res", recs)
    return root


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_axis_markdown_and_matrix(results, capsys):
    code, out, _ = run(capsys, "report", "--results", results / "res", "--axis", "imbalance", "--resamples", 200)
    assert code == 0 and "## Axis view: imbalance (reference none)" in out
    pooled = next(line for line in out.splitlines() if "pooled (2 tasks)" in line)
    assert "| 2 " in pooled and "2/0/0" in pooled and "**+0.3" in pooled  # significant, positive, bold
    assert "majority class (no training)" in out
    assert "p Holm" in out and "family" in out and "pooled rows: 1 value(s)" in out
    code, out, _ = run(capsys, "report", "--results", results / "res", "--axis", "imbalance", "--resamples", 50,
                       "--alpha", "0.2")
    assert code == 0 and "80% CI" in out and "≤0.039" in out  # --alpha governs; p floor 2/51 shown as a bound
    assert "tiny-bert · full · focal · tail · L128" in out and "no imbalance=none configuration" in out  # unmatched, listed
    assert "### Minimum detectable effect" in out and "detected (MDE" in out  # every pair states its MDE
    code, out, _ = run(capsys, "report", "--results", results / "res", "--matrix", results / "m.yaml", "--resamples", 50)
    assert code == 0 and "## Planned cells without a record" in out
    missing = out.split("## Planned cells without a record")[1]
    assert missing.count("tiny-bert · full · none · tail · L128") == 2  # both seeds planned, never run
    board = out.split("## Leaderboard")[1].split("## Per configuration")[0]
    assert "not planned" in board and "missing" not in board  # bbc-news x tail: excluded by the matrix


def test_axis_other_formats(results, capsys, tmp_path):
    argv = ["report", "--results", results / "res", "--axis", "imbalance", "--resamples", 100]
    code, tex, _ = run(capsys, *argv, "--format", "latex")
    assert code == 0 and r"\toprule" in tex and r"$\Delta$ vs none" in tex and "\x01" not in tex
    code, text, _ = run(capsys, *argv, "--format", "csv")
    df = pd.read_csv(io.StringIO(text))
    pooled = df[(df["section"] == "summary") & (df["task"] == "pooled")].iloc[0]
    assert code == 0 and pooled["diff"] > 0 and pooled["ci_low"] > 0 and pooled["wins"] == 2
    assert set(df["section"]) == {"summary", "pair", "unmatched"}
    code, text, _ = run(capsys, *argv, "--format", "json")
    data = json.loads(text)
    assert code == 0 and data["reference"] == "none" and len(data["pairs"]) == 2
    assert [u["config"] for u in data["unmatched"]] == ["tiny-bert · full · focal · tail · L128"]
    out = tmp_path / "axis"
    code, _, _ = run(capsys, *argv, "--out", out)
    assert code == 0 and (out / "plots" / "axis_imbalance.png").read_bytes()[:4] == b"\x89PNG"
    assert "(plots/axis_imbalance.png)" in (out / "report.md").read_text()
    code, out_text, _ = run(capsys, "report", "--results", results / "res", "--axis", "context", "--reference", "tail",
                            "--resamples", 50, "--format", "json")
    view = json.loads(out_text)
    assert code == 0 and view["reference"] == "tail" and {p["value"] for p in view["pairs"]} == {"head"}


@pytest.mark.parametrize("argv, needle", [
    (["--axis", "imbalanse"], "did you mean 'imbalance'"),
    (["--axis", "imbalance", "--reference", "focla"], "did you mean 'focal'"),
    (["--reference", "none"], "--reference needs --axis"),
    (["--axis", "method"], "nothing to compare"),
    (["--matrix", "nope.yaml"], "no such matrix file"),
])
def test_bad_axis_input_one_line_exit_2(results, capsys, tmp_path, argv, needle):
    code, out, err = run(capsys, "report", "--results", results / "res", *argv, "--out", tmp_path / "o")
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and out == ""
    assert not (tmp_path / "o").exists()


def test_axis_pages_in_headless_chromium(results, capsys, browser):  # noqa: F811 - the imported fixture
    from selenium.webdriver.common.by import By

    site = results / "site"
    code, _, _ = run(capsys, "report", "--results", results / "res", "--format", "html", "--out", site,
                     "--resamples", 50)
    assert code == 0
    assert {p.name for p in site.glob("axis-*.html")} == {"axis-imbalance.html", "axis-context.html"}
    browser.get((site / "index.html").as_uri())
    assert errors(browser) == []
    browser.find_element(By.CSS_SELECTOR, '#axes a[href="axis-imbalance.html"]').click()
    assert "Axis imbalance" in browser.page_source and errors(browser) == []
    n, broken = images_ok(browser)
    assert n == 1 and broken == []  # the forest plot
    heads = browser.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")
    delta = next(i for i, h in enumerate(heads) if h.text.startswith("Δ vs none"))
    before = column_values(browser, delta)
    heads[delta].click()
    asc = [float(v) for v in column_values(browser, delta) if v != ""]
    assert asc == sorted(asc) and column_values(browser, delta) != before and asc[0] < 0 < asc[-1]  # baseline first
    heads[delta].click()
    assert heads[delta].get_attribute("aria-sort") == "descending"
    assert "majority class (no training)" in browser.page_source and "Unmatched configurations" in browser.page_source
    assert errors(browser) == []
    page = next((site / "configs").glob("*.html")).read_text()
    assert 'id="quality"' in page and "seed 0: not degenerate; majority class (no training): 0.2000" in page


def test_runner_names_the_matrix_in_records(tmp_path, monkeypatch, capsys):
    """A matrix run writes {name, path} into every record; the report then knows the plan without
    --matrix: the planned seed never run is missing, the excluded one is not. Training is replaced by
    a constructed record (the runner's plumbing is what is tested)."""
    from bench.run import worker
    from bench.run.matrix import run_matrix
    from bench.run.plan import plan_matrix
    from bench.spec.matrix import load_matrix

    def fake_run_cell(planned, *args, **kwargs):
        c = planned.cell
        rec = record(task=c.task, seed=c.seed, imbalance=c.imbalance, accuracy=0.7)
        rec["cell"], rec["cell_id"] = c.to_dict(), planned.cell_id
        return rec

    monkeypatch.setattr(worker, "run_cell", fake_run_cell)
    m = tmp_path / "tiny.yaml"
    m.write_text("name: tiny\ntasks: [drugs-sentiment]\nmodels: [tiny-bert]\nimbalance: [none, class_weight]\n"
                 "seeds: [0, 1]\nexclude:\n  - {imbalance: class_weight, seed: 1}\n")
    out = tmp_path / "res"
    outcome = run_matrix(plan_matrix(load_matrix(m), out, only="seed=0"))
    assert outcome.exit_code == 0
    recs = [json.loads(p.read_text()) for p in (out / "records").glob("*.json")]
    assert len(recs) == 2 and all(r["matrix"] == {"name": "tiny", "path": str(m.resolve())} for r in recs)
    code, text, _ = run(capsys, "report", "--results", out, "--resamples", 20)
    assert code == 0 and "planned cells: matrix tiny (named in the records)" in text
    missing = text.split("## Planned cells without a record")[1]
    assert "tiny-bert · full · none · head · L128" in missing and "class_weight" not in missing


def test_default_matrix_shape(tmp_path, capsys):
    """Constructed records for every cell of matrices/default.yaml (head_tail and the two imbalance
    strategies made better than their reference): the only configuration shared by both tasks gets no
    overall rank, nothing the matrix excluded is missing, and each axis answers its task."""
    from pathlib import Path

    from bench.record.io import write_record
    from bench.run.plan import expand_planned
    from bench.spec.matrix import load_matrix

    matrix = Path(__file__).resolve().parent.parent / "matrices" / "default.yaml"
    better = {"head_tail": 0.85, "class_weight": 0.8, "logit_adjust": 0.8}
    for c in (p.cell for p in expand_planned(load_matrix(matrix))):  # as the runner records them: recipe resolved
        rec = record(task=c.task, seed=c.seed, accuracy=better.get(c.context, better.get(c.imbalance, 0.55)))
        rec["cell"] = c.to_dict()
        rec["cell_id"] = hashlib.sha256(json.dumps(rec["cell"], sort_keys=True).encode()).hexdigest()[:16]
        write_record(tmp_path / "res", rec)
    code, out, _ = run(capsys, "report", "--results", tmp_path / "res", "--matrix", matrix, "--resamples", 50)
    board = out.split("## Leaderboard")[1].split("## Per configuration")[0]
    shared = next(line for line in board.splitlines() if "minilm-l6 · full · none · head · L128" in line)
    # no configuration rests on two tasks (the shared one has no opponent in either): the win-rate
    # columns, "—" everywhere, are hidden
    assert code == 0 and shared.count("|") == 4 and "overall rank" not in board and "mean win rate" not in board
    assert "missing" not in board and "not planned" in board and "Planned cells without a record" not in out
    code, out, _ = run(capsys, "report", "--results", tmp_path / "res", "--axis", "context", "--resamples", 200,
                       "--format", "json")
    rows = {(r["value"], r["task"]): r for r in json.loads(out)["summary"] if r["kind"] == "pairs"}
    assert code == 0 and rows[("head_tail", "bbc-news")]["diff"] > 0 and rows[("head_tail", "bbc-news")]["ci_low"] > 0
    code, out, _ = run(capsys, "report", "--results", tmp_path / "res", "--axis", "imbalance", "--resamples", 50,
                       "--format", "json")
    tasks = {(r["value"], r["task"]) for r in json.loads(out)["summary"] if r["kind"] == "pairs"}
    assert code == 0 and {("class_weight", "drugs-sentiment"), ("logit_adjust", "drugs-sentiment")} <= tasks


def test_plain_markdown_points_to_the_axes_that_vary(results, capsys):
    code, out, _ = run(capsys, "report", "--results", results / "res", "--resamples", 50)
    board = out.split("## Leaderboard")[1].split("## Per configuration")[0]
    assert code == 0 and "`bench report --axis imbalance` compares the imbalance values paired" in board
    assert "--axis context" in board and "--axis model" not in board and "--axis method" not in board
