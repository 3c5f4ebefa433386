"""The Ray executor against a REAL local Ray instance (no mocks): each cell a Ray task whose worker
writes its record into the shared output folder; resume works the same as with local executors."""

import json
import os
import re

import pytest

from bench.cli import main
from tests.conftest import balanced_rows, need, write

ray = need("ray")
pytestmark = pytest.mark.xdist_group("ray")  # one local Ray instance at a time (pyproject addopts)


@pytest.mark.timeout(600)  # a hang guard; about 30 s on 2 idle cores
def test_ray_executor_on_a_real_local_instance(tmp_path, csv_task, capsys):
    task = csv_task(balanced_rows(12, labels=("a", "b", "c")), name="tiny3")
    m = write(tmp_path / "m.yaml", f"name: r\ntasks: [{task}]\nmodels: [tfidf-logreg]\n"
                                   "context: [full]\nimbalance: [none, class_weight]\nseeds: [0, 1]\n")
    out = tmp_path / "out"
    code = main(["run", "--matrix", str(m), "--out", str(out), "--executor", "ray", "--workers", "2"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert not ray.is_initialized()  # the instance this run started was shut down
    recs = [json.loads(p.read_text()) for p in (out / "records").glob("*.json")]
    assert len(recs) == 4 and {r["status"] for r in recs} == {"ok"}
    assert os.getpid() not in {r["worker"]["pid"] for r in recs}  # they ran in Ray's worker processes
    assert "leaderboard" in cap.out
    # same cells in this process give the same metrics (the cell function is the same everywhere)
    seq = tmp_path / "seq"
    assert main(["run", "--matrix", str(m), "--out", str(seq)]) == 0
    for r in recs:
        assert json.loads((seq / "records" / f"{r['cell_id']}.json").read_text())["metrics"] == r["metrics"]
    capsys.readouterr()
    assert main(["run", "--matrix", str(m), "--out", str(out), "--executor", "ray", "--workers", "2"]) == 0
    assert re.search(r"skipped: ok record exists\s*│\s*4", capsys.readouterr().out)

