"""Issue 17's reference results: every reference (scripts/docs/reference.py) names a matrix, a page
with its block and commands that parse; ``python -m bench.report.columns`` (the per-configuration
columns of the pages); and the script end to end on a tiny matrix into a copy of a page."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "docs"))

import commands  # noqa: E402  (scripts/docs/commands.py)
import generate  # noqa: E402
import reference  # noqa: E402  (scripts/docs/reference.py)
from blocks import blocks  # noqa: E402

from bench.report import columns  # noqa: E402
from tests.test_report_axis import record, write  # noqa: E402


@pytest.mark.parametrize("name", sorted(reference.REFERENCES))
def test_every_reference_has_its_matrix_page_block_and_commands(name):
    ref = reference.REFERENCES[name]
    assert (ROOT / ref.matrix(name)).is_file()
    page = (ROOT / ref.page).read_text(encoding="utf-8")
    block = blocks(page)[reference.block_name(name)]  # the markers exist
    assert generate._other_block(block, ROOT) == []  # pending (and says so) or current
    assert f"python scripts/docs/reference.py {name} --run" in page  # the page names the script
    shown = reference.shows(ref, f"records/reference-{name}", None)
    assert len(shown) >= 4
    for cmd in shown:
        if cmd.startswith("bench "):
            assert commands.check_command(cmd, full=True) == [], cmd
    header = (ROOT / ref.matrix(name)).read_text().split("\nname:")[0]
    wall = re.search(r"# Wall time on 2 idle cores: (ESTIMATE|measured) ~?\d+(\.\d+)? min", header) or re.search(
        rf"# Wall time: the records line of {re.escape(ref.page)}'s reference block", header)
    assert wall, "the header states the wall time (an ESTIMATE until measured), or where the block states it"


def test_reference_refuses_unknown_names_and_missing_matrices(capsys):
    assert reference.main(["imbalanse"]) == 2
    assert reference.main(["imbalance", "--matrix", "matrices/nope.yaml"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no reference 'imbalanse'" in err[0] and "no matrix file matrices/nope.yaml" in err[1]
    assert reference.main(["context", "--print", "--run", "--resamples", "50"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "bench run --matrix matrices/reference-context.yaml --out records/reference-context"
    assert "bench report --results records/reference-context --axis max_length --resamples 50" in out


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory):
    """Two configurations x 2 seeds; one with a cost and context section, one cross-domain."""
    recs = []
    for s in (0, 1):
        a = record(seed=s, imbalance="none", accuracy=0.6)
        a["cost"] = {"params_trainable": 22_000_000 + s, "params_total": 22_000_000}
        a["context"] = {"test": {"truncated_share": 0.25 + 0.5 * s}}
        b = record(seed=s, method="probe", train_domains=("Acne",), accuracy=0.8)
        recs += [a, b]
    root = tmp_path_factory.mktemp("columns") / "res"
    write(root, recs)
    return root


def test_columns_table(two_seeds, capsys):
    headers, rows = columns.column_table(two_seeds, ["metrics.accuracy", "cost.params_trainable", "context.test.truncated_share"])
    assert headers == ["task", "configuration", "seeds", "metrics.accuracy", "cost.params_trainable",
                       "context.test.truncated_share"]
    by = {r[1]: r for r in rows}
    full = by["m1 · full · none · head · L128"]
    assert full[2] == "2" and full[4] == "22,000,000 ± 1" and full[5] == "0.500 ± 0.354"
    probe = next(r for label, r in by.items() if "trained on Acne" in label)
    assert probe[4] == "—" and probe[5] == "—"  # fields the record does not have
    assert columns.main([str(two_seeds), "--fields", "metrics.accuracy"]) == 0
    assert "| m1 · full · none · head · L128" in capsys.readouterr().out


def test_bench_columns_subcommand(two_seeds, capsys):
    """`bench columns` is the same table from the CLI, and the same one-line refusal."""
    from bench.cli import main as bench

    assert bench(["columns", "--results", str(two_seeds), "--fields", "metrics.accuracy,cost.params_trainable"]) == 0
    out = capsys.readouterr().out
    assert "| m1 · full · none · head · L128" in out and "22,000,000 ± 1" in out
    assert bench(["columns", "--results", str(two_seeds), "--fields", "metrics.acuracy"]) == 2
    assert "no record has a number at 'metrics.acuracy'" in capsys.readouterr().err


def test_columns_refuse_unknown_fields(two_seeds, capsys):
    assert columns.main([str(two_seeds), "--fields", "metrics.acuracy"]) == 2
    assert columns.main([str(two_seeds), "--fields", ","]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no record has a number at 'metrics.acuracy'" in err[0] and "metrics.accuracy" in err[0]


TINY = """name: tiny-reference
tasks: [drugs-sentiment]
models: [tiny-bert]
imbalance: [none, class_weight, undersample, ensemble]
max_length: [32]
seeds: [0]
train: {epochs: 1, batch_size: 16, latency_docs: 2}
budget: {limit_train: 48, limit_eval: 40}
include:
  - {model: tfidf-logreg, imbalance: [none], context: [full]}
"""


@pytest.mark.slow
def test_reference_end_to_end_on_a_tiny_matrix(tmp_path):
    """--run: bench run the matrix, then every shown command into the block of a copy of the page."""
    matrix = tmp_path / "tiny.yaml"
    matrix.write_text(TINY)
    page = tmp_path / "IMBALANCE.md"
    page.write_text((ROOT / "docs" / "IMBALANCE.md").read_text(encoding="utf-8"))
    before = page.read_text()
    argv = ["imbalance", "--run", "--matrix", str(matrix), "--page", str(page), "--results", str(tmp_path / "res"),
            "--max-load", "1000", "--resamples", "50"]
    assert reference.main(argv) == 0
    text = page.read_text()
    found = blocks(text)["reference-imbalance"]
    body = found["attrs"] + found["body"]
    assert "python scripts/docs/reference.py imbalance --run" in found["attrs"]
    for part in (f"inputs: {matrix} sha256:", "Machine: ", "load average", "Budget: " + str(matrix),
                 "Wall time: `bench run --matrix", "## Axis view: imbalance (reference none)",
                 "minority_recall (imbalance)", "ece (none)", "## Axis view: model (reference tfidf-logreg)",
                 "majority class (no training)", "metrics.minority_f1", "tiny-bert · full · class_weight"):
        assert part in body, part
    assert generate._other_block(found, ROOT) == []  # current: the matrix is unchanged
    outside = text.split("<!-- BEGIN generated:reference-imbalance")[0]
    assert before.startswith(outside)  # the rest of the page untouched
    assert reference.main(argv) == 2 and page.read_text() == text  # a second --run would resume: refused
    matrix.write_text(TINY.replace("seeds: [0]", "seeds: [1]"))
    assert "changed since the run" in generate._other_block(blocks(page.read_text())["reference-imbalance"], ROOT)[0]


def test_records_span_states_span_and_summed_cell_walls(tmp_path):
    """A resumed or partly rerun matrix: the span overstates its cost, the summed cell walls do not."""
    (tmp_path / "records").mkdir()
    cells = [("2026-12-04T19:00:00+00:00", "2026-12-04T19:02:00+00:00", 120.0, "ok"),
             ("2026-12-04T19:02:00+00:00", "2026-12-04T19:03:00+00:00", 60.0, "ok"),
             ("2026-12-04T21:00:00+00:00", "2026-12-04T21:03:00+00:00", 180.0, "failed")]
    for i, (start, end, wall, status) in enumerate(cells):
        rec = {"status": status, "started_at": start, "finished_at": end, "timing": {"wall_seconds": wall}}
        (tmp_path / "records" / f"{i}.json").write_text(json.dumps(rec))
    (tmp_path / "records" / "broken.json").write_text("{")
    assert reference.records_span(tmp_path) == (
        "2 ok records, first start to last finish 123.0 min, cells' wall times summed 6.0 min")
    assert reference.records_span(tmp_path / "nothing") is None
