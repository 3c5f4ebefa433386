"""bench check and degenerate results: turning degenerate is a regression inside any tolerance;
baselines store each configuration's degenerate seeds (schema 3, older files upgraded on read)."""

import json

import numpy as np

from bench.cli import main
from bench.gate.baseline import BASELINE_SCHEMA_VERSION, build_baseline, read_baseline, write_baseline
from bench.gate.check import check
from bench.metrics import classification_metrics
from bench.record.io import write_record
from bench.record.quality import MARGIN, majority_metrics, quality_section
from bench.record.schema import SCHEMA_VERSION
from bench.spec.cell import Cell

NAMES = ["a", "b", "c"]
Y = np.array([0] * 40 + [1] * 30 + [2] * 30)
TRAIN = [50, 30, 30]
MAJ = majority_metrics(Y, 0, NAMES)["macro_f1"]


def record(seed: int, macro_f1: float, pred=None) -> dict:
    """A record whose macro-F1 is set to ``macro_f1`` (its quality section judges that score)."""
    pred = np.where(np.arange(len(Y)) % 2 == 0, Y, (Y + seed + 1) % 3) if pred is None else pred
    proba = np.full((len(Y), 3), 0.1)
    proba[np.arange(len(Y)), pred] = 0.8
    metrics = {**classification_metrics(Y, proba, NAMES), "macro_f1": macro_f1}
    cell = Cell(task="t", model="tiny-bert", seed=seed).to_dict()
    return {"schema_version": SCHEMA_VERSION, "cell_id": f"c{seed}", "status": "ok", "cell": cell,
            "task": {"version": "1", "fingerprint": "fp", "label_names": NAMES, "minority_class": "c",
                     "main_score": "macro_f1"},
            "metrics": metrics, "main_score": macro_f1, "timing": {"train_seconds": 1.0},
            "quality": quality_section(Y, pred, NAMES, TRAIN, "macro_f1", metrics),
            "predictions": {"ids": [str(i) for i in range(len(Y))], "labels": Y.tolist(), "pred": pred.tolist(),
                            "proba": proba.tolist()}}


def folder(path, recs):
    for r in recs:
        write_record(path, r)
    return path


def baseline(tmp_path, recs):
    base = build_baseline(folder(tmp_path / "base", recs), metrics=["macro_f1"], timings=[])
    return write_baseline(tmp_path / "base.json", base)


def test_turning_degenerate_fails_inside_the_tolerance(tmp_path, capsys):
    above, below = MAJ + MARGIN + 0.004, MAJ + MARGIN - 0.004  # 0.008 apart: well inside tolerance 0.02
    path = baseline(tmp_path, [record(s, above) for s in (0, 1, 2)])
    assert read_baseline(path)["configs"] and all(c["degenerate"] == {} for c in read_baseline(path)["configs"].values())
    same = check(folder(tmp_path / "same", [record(s, above) for s in (0, 1, 2)]), path)
    assert same.exit_code == 0 and not [r for r in same.rows if r.metric == "degenerate"]
    now = folder(tmp_path / "now", [record(0, above), record(1, below), record(2, above)])
    res = check(now, path)
    (deg,) = [r for r in res.rows if r.metric == "degenerate"]
    assert deg.verdict == "REGRESSION" and deg.failing and deg.now == "seed(s) 1" and deg.baseline == "no"
    assert "not above the majority baseline" in deg.evidence
    assert [r.verdict for r in res.rows if r.metric == "macro_f1"] == ["ok"]  # the metric alone would pass
    assert res.exit_code == 1
    assert main(["check", "--results", str(now), "--baseline", str(path)]) == 1
    assert "turned degenerate" in capsys.readouterr().out


def test_still_degenerate_is_listed_not_failed(tmp_path):
    one = np.zeros(len(Y), dtype=int)
    path = baseline(tmp_path, [record(s, MAJ, one) for s in (0, 1)])
    assert set(read_baseline(path)["configs"].popitem()[1]["degenerate"]) == {"0", "1"}
    res = check(folder(tmp_path / "now", [record(s, MAJ, one) for s in (0, 1)]), path)
    assert [r.verdict for r in res.rows if r.metric == "degenerate"] == ["still degenerate"] and res.exit_code == 0


def test_older_baseline_gains_degenerate_from_its_predictions(tmp_path):
    path = baseline(tmp_path, [record(0, MAJ, np.zeros(len(Y), dtype=int)), record(1, MAJ + 0.2)])
    old = json.loads(path.read_text())
    assert old["schema_version"] == BASELINE_SCHEMA_VERSION == 3
    for entry in old["configs"].values():
        del entry["degenerate"]
    path.write_text(json.dumps({**old, "schema_version": 2}))
    (entry,) = read_baseline(path)["configs"].values()
    assert list(entry["degenerate"]) == ["0"] and entry["degenerate"]["0"].startswith("predicts one class (a)")


def _as_schema_2(path):
    old = json.loads(path.read_text())
    for entry in old["configs"].values():
        del entry["degenerate"]
    path.write_text(json.dumps({**old, "schema_version": 2}))
    return path


def test_older_baseline_replays_the_margin_rule_against_the_records_now(tmp_path):
    below = MAJ + MARGIN - 0.004  # degenerate by the margin rule only (three classes predicted)
    path = _as_schema_2(baseline(tmp_path, [record(s, below) for s in (0, 1)]))
    assert read_baseline(path)["configs"].popitem()[1]["degenerate"] == {}  # the file alone cannot tell
    res = check(folder(tmp_path / "now", [record(s, below) for s in (0, 1)]), path)
    (deg,) = [r for r in res.rows if r.metric == "degenerate"]
    assert deg.verdict == "still degenerate" and deg.baseline == "seed(s) 0, 1" and res.exit_code == 0
    ok = _as_schema_2(baseline(tmp_path / "ok", [record(s, below + 0.01) for s in (0, 1)]))
    res = check(folder(tmp_path / "now2", [record(0, below + 0.01), record(1, below)]), ok)
    assert [r.verdict for r in res.rows if r.metric == "degenerate"] == ["REGRESSION"] and res.exit_code == 1
