"""Racing (bench.report.race): groups, eliminations with evidence, replay, and its error rates by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from bench.record.frame import config_id
from bench.report.race import Group, race_groups, replay
from bench.report.race_sim import simulate, synthetic_records


def _cell(**kw) -> dict:
    base = {"task": "t", "model": "minilm-l6", "method": "full", "imbalance": "none", "context": "head",
            "max_length": 64, "seed": 0}
    return {**base, **kw}


def test_groups_are_configurations_differing_along_one_axis():
    cells = {"a": _cell(), "b": _cell(imbalance="focal"), "c": _cell(context="tail"),
             "d": _cell(imbalance="focal", context="tail"), "e": _cell(model="tfidf-logreg", context="full")}
    groups = {(g.axis, g.members) for g in race_groups(cells)}
    assert ("imbalance", ("a", "b")) in groups and ("imbalance", ("c", "d")) in groups
    assert ("context", ("a", "c")) in groups and ("context", ("b", "d")) in groups
    assert ("model", ("a", "c", "e")) in groups  # the model axis ignores the context, as the axis view does
    assert not any(g[0] == "imbalance" and "e" in g[1] for g in groups)


def test_replay_eliminates_a_clearly_worse_configuration_with_evidence():
    rng = np.random.default_rng(1)
    recs = synthetic_records(rng, {"best": 0.0, "bad": 0.35}, [0, 1, 2], n_docs=80)
    race = replay(recs, [0, 1, 2], "accuracy", alpha=0.05, min_seeds=1, resamples=300)
    names = {config_id(r["cell"]): r["cell"]["imbalance"] for r in recs}
    gone = {names[c]: e for c, e in race.eliminated.items()}
    assert set(gone) == {"bad"}
    e = gone["bad"]
    assert names[e.best] == "best" and e.diff > 0 and e.p_holm <= e.level == 0.05 / 3 and e.round == 1
    bad = next(c for c, n in names.items() if n == "bad")
    assert race.ran[bad] == [0]  # eliminated after seed 0: its seeds 1 and 2 never run
    assert sum(len(v) for v in race.ran.values()) == 2  # the best, alone in its group after round 1, stops too
    g = race.groups[0]
    assert isinstance(g, Group) and [names[c] for c in race.winners(g)] == ["best"]
    assert race.to_dict()["eliminated"][bad]["round"] == 1


def test_replay_keeps_equal_configurations_and_runs_every_seed():
    rng = np.random.default_rng(2)
    recs = synthetic_records(rng, {"a": 0.0, "b": 0.0}, [0, 1, 2], n_docs=40)
    race = replay(recs, [0, 1, 2], "accuracy", resamples=300)
    assert not race.eliminated and all(v == [0, 1, 2] for v in race.ran.values())


@pytest.mark.slow  # >= 1,000 simulated races per scenario: ~25 s on 2 cores, cannot get cheaper without fewer races
def test_simulated_error_rates():
    """>= 1,000 races: a truly-best configuration (two truly equal ones share first place) is eliminated
    in at most alpha of them; one worse by 0.3 accuracy is eliminated in most, mostly after the first seed."""
    out = simulate(1000, {"best": 0.0, "equal": 0.0, "worse_0.1": 0.1, "worse_0.3": 0.3}, [0, 1, 2],
                   alpha=0.05, min_seeds=1, n_docs=80, seed=7, seed_sd=0.15)
    c = out["configs"]
    assert c["best"]["eliminated"] <= 0.05 and c["equal"]["eliminated"] <= 0.05
    assert c["worse_0.3"]["eliminated"] >= 0.8 and c["worse_0.3"]["mean_round"] < 1.5
    assert c["worse_0.1"]["eliminated"] > c["best"]["eliminated"]
    assert out["runs_share"] < 1


RACE_MATRIX = """name: raced
tasks: [{task}]
models: [tfidf-logreg]
context: [full]
max_length: [32]
seeds: [0, 1, 2]
train: {{batch_size: 8, latency_docs: 2}}
budget: {{epochs: 1}}
include:
  - {{model: tiny-bert, context: [head]}}
"""


@pytest.mark.parametrize("executor", ["sequential", "process"])
def test_run_race_eliminates_and_records_not_run_cells(tmp_path, csv_task, capsys, executor):
    """TF-IDF reads the label word in every text (perfect); a random-init tiny-bert is near chance:
    the race drops tiny-bert after seed 0, TF-IDF is then alone and stops; 2 of 6 cells run."""
    import json

    from bench.cli import main
    from tests.conftest import balanced_rows, write

    task = csv_task(balanced_rows(40, labels=("good", "bad")), name="easy")
    m = write(tmp_path / "raced.yaml", RACE_MATRIX.format(task=task))
    out = tmp_path / "out"
    args = ["run", "--matrix", str(m), "--out", str(out), "--race", "--executor", executor, "--race-resamples", "300",
            "--min-seeds", "1"]
    assert main(args) == 0, capsys.readouterr().err
    stdout = capsys.readouterr().out
    assert "eliminated after round 1" in stdout and "tiny-bert" in stdout
    recs = list((out / "records").glob("*.json"))
    assert len(recs) == 2
    race = json.loads((out / "race.json").read_text())
    assert race["status"] == "finished" and len(race["eliminated"]) == 1
    (gone,) = race["eliminated"].values()
    assert "tiny-bert" in race["labels"][gone["config"]] and gone["round"] == 1 and gone["p_holm"] <= gone["level"]
    whys = sorted((r["why"].split(":")[0], r["seed"]) for r in race["not_run"])
    assert whys == [("eliminated", 1), ("eliminated", 2), ("settled", 1), ("settled", 2)]
    stamps = {p: p.stat().st_mtime_ns for p in recs}
    assert main(args) == 0  # resume: nothing reruns, the same race follows from the records
    assert {p: p.stat().st_mtime_ns for p in recs} == stamps
    assert json.loads((out / "race.json").read_text())["eliminated"] == race["eliminated"]
    capsys.readouterr()
    assert main(["report", "--results", str(out)]) == 0
    report = capsys.readouterr().out
    assert "## Race" in report and "eliminated after round 1" in report
    assert "Planned cells without a record" not in report  # raced away: planned, not run, never missing
    if executor == "sequential":  # the site's index shows the same outcome
        assert main(["report", "--results", str(out), "--format", "html", "--out", str(tmp_path / "site")]) == 0
        index = (tmp_path / "site" / "index.html").read_text()
        assert 'id="race"' in index and "eliminated after round 1" in index
        assert "Planned cells without a record" not in index
    assert main(["race", "--results", str(out), "--matrix", str(m), "--race-resamples", "300", "--min-seeds", "1"]) == 0
    assert "eliminated after round 1" in capsys.readouterr().out


@pytest.mark.xdist_group("ray")
@pytest.mark.timeout(600)
def test_run_race_under_ray(tmp_path, csv_task, capsys):
    """The same race through the Ray executor (a real local instance): each planned cell runs at most
    once, the eliminated one after its first seed only."""
    import json

    from bench.cli import main
    from tests.conftest import balanced_rows, need, write

    need("ray")
    task = csv_task(balanced_rows(40, labels=("good", "bad")), name="easy")
    m = write(tmp_path / "raced.yaml", RACE_MATRIX.format(task=task))
    out = tmp_path / "out"
    args = ["run", "--matrix", str(m), "--out", str(out), "--race", "--executor", "ray", "--workers", "2",
            "--race-resamples", "300", "--min-seeds", "1"]
    assert main(args) == 0, capsys.readouterr().err
    recs = [json.loads(p.read_text()) for p in (out / "records").glob("*.json")]
    assert len(recs) == 2 and len({r["cell_id"] for r in recs}) == 2
    race = json.loads((out / "race.json").read_text())
    assert len(race["eliminated"]) == 1 and sum(len(v) for v in race["ran"].values()) == 2
