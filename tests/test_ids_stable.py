"""Cell and config ids computed before the bench/ restructuring (issue 14) must not change.

``tests/fixtures/cell_ids.json`` was written by the code before the move: every cell of three
matrices plus a cell on a ``files`` task. The ids hash the cell, the task identity (data
fingerprint) and the model identity, so this also guards the data-preparation code.

Changed on purpose by issue 12 (regenerated, see that commit): minilm-l6 cells take the model's
recipe and its pooling (model identity), tfidf-logreg cells take context ``full``, and the
tfidf-logreg focal cells left matrices/imbalance-drugs.yaml (TF-IDF has no loss to replace).
matrices/default.yaml was re-budgeted later in issue 12 (the recipe instead of its own learning rates and
epochs; bbc-news 200/200 articles, drugs-sentiment 300 reviews): its entry regenerated.
"""

import json
from pathlib import Path

import pytest

from bench.components import axis_types
from bench.record.frame import config_id
from bench.run.ids import cell_id, plan_cell
from bench.spec.cell import Cell
from bench.spec.matrix import load_matrix

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "cell_ids.json").read_text())


@pytest.mark.parametrize("matrix", sorted(FIXTURE["matrices"]))
def test_matrix_ids_unchanged(matrix, monkeypatch):
    monkeypatch.chdir(ROOT)
    cells = load_matrix(matrix).expand(axis_types())  # the planner's path: NAME:k=v typed by field
    assert cells == load_matrix(matrix).expand()  # untyped parsing reads these matrices the same
    planned = [plan_cell(c) for c in cells]  # the model's recipe fills unset training parameters
    cells = [p.cell for p in planned]
    want = FIXTURE["matrices"][matrix]
    assert [json.loads(json.dumps(c.to_dict())) for c in cells] == [w["cell"] for w in want]
    assert [p.cell_id for p in planned] == [w["cell_id"] for w in want]
    assert [cell_id(c) for c in cells] == [w["cell_id"] for w in want]
    assert [config_id(c.to_dict()) for c in cells] == [w["config_id"] for w in want]


def test_files_task_id_unchanged(monkeypatch):
    monkeypatch.chdir(ROOT)
    want = FIXTURE["files_task"]
    cell = Cell.from_dict(want["cell"])
    assert json.loads(json.dumps(cell.to_dict())) == want["cell"]
    assert cell_id(cell) == want["cell_id"]
    assert config_id(cell.to_dict()) == want["config_id"]
