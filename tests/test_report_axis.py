"""The axis view, the cross-task win rate, planned vs missing, honest intervals and the degenerate
flag, on constructed records with known answers (no training)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from bench.errors import ConfigError
from bench.record.io import write_record
from bench.report.aggregate import build_board, load_record_set
from bench.report.axis import build_axis
from bench.report.planned import planned_from
from bench.spec.cell import Cell
from tests.test_report_stats import classifier, synth_record

Y = np.random.default_rng(0).integers(0, 3, 120)


def record(task="t1", seed=0, accuracy=0.7, degenerate=False, majority=0.2, noise=0, **cell):
    """An ok record of ``Cell(task, seed, **cell)`` whose predictions are right on ~``accuracy`` of Y,
    with a ``quality`` section (issue 12's shape)."""
    c = Cell(task=task, seed=seed, **{"model": "m1", **cell})
    digest = hashlib.sha256(json.dumps(c.to_dict(), sort_keys=True).encode()).hexdigest()
    rec = synth_record(task=task, model=c.model, seed=seed, labels=Y,
                       proba=classifier(Y, accuracy, noise + int(digest[:8], 16)))
    rec["cell"], rec["cell_id"] = c.to_dict(), digest[:16]
    rec["quality"] = {"majority_class": "a", "majority": {"macro_f1": majority, "accuracy": 0.34},
                      "majority_score": majority, "predicted_classes": 1 if degenerate else 3, "margin": 0.02,
                      "degenerate": degenerate, "reason": "predicts one class (a)" if degenerate else None}
    return rec


def write(folder, recs):
    for r in recs:
        write_record(folder, r)
    return load_record_set(folder)


@pytest.fixture(scope="module")
def focal_wins(tmp_path_factory):
    """Two tasks x imbalance none (acc .55) / focal (acc .9) x 2 seeds; on t1 also focal·tail (no
    none·tail partner: unmatched) and a configuration of model m2 present only on t1."""
    recs = [record(task=t, seed=s, imbalance=i, accuracy=a)
            for t in ("t1", "t2") for i, a in (("none", 0.55), ("focal", 0.9)) for s in (0, 1)]
    recs += [record(task="t1", seed=s, imbalance="focal", context="tail", accuracy=0.8) for s in (0, 1)]
    recs += [record(task="t1", seed=s, model="m2", accuracy=0.95) for s in (0, 1)]
    return write(tmp_path_factory.mktemp("axis") / "res", recs)


def test_strategy_that_wins_everywhere(focal_wins):
    view = build_axis(focal_wins, "imbalance", resamples=300)
    assert view.reference == "none" and view.values() == ["focal"]
    rows = view.rows[view.rows["kind"] == "pairs"].set_index("task")
    assert set(rows.index) == {"t1", "t2", "pooled"}
    pooled = rows.loc["pooled"]
    assert pooled["diff"] > 0.2 and pooled["ci_low"] > 0 and pooled["p_value"] < 0.05 and pooled["n_tasks"] == 2
    assert pooled["n_pairs"] == 2 and pooled["wins"] == 2 and pooled["losses"] == 0
    assert rows.loc["t1", "n_pairs"] == 1 and rows.loc["t1", "ci_low"] > 0
    # the same numbers as bench compare on that pair (the same code)
    from bench.report.stats import paired_bootstrap

    ok = focal_wins.ok.drop_duplicates("config_id").set_index(["task", "config"])["config_id"]
    a, b = (focal_wins.config_records(ok[("t2", f"m1 · full · {i} · head · L128")]) for i in ("focal", "none"))
    want = paired_bootstrap(a, b, "macro_f1", resamples=300, seed=1)
    assert rows.loc["t2", "diff"] == pytest.approx(want["diff"]) and rows.loc["t2", "ci_low"] == pytest.approx(want["ci_low"])
    base = view.rows[view.rows["kind"] == "baseline"]
    assert set(base["task"]) == {"t1", "t2"} and (base["mean_value"] == 0.2).all()


def test_unmatched_configurations_are_listed(focal_wins):
    view = build_axis(focal_wins, "imbalance", resamples=50)
    um = view.unmatched.set_index("config")
    assert "m1 · full · focal · tail · L128" in um.index and "no imbalance=none" in um.loc["m1 · full · focal · tail · L128", "why"]
    assert "m2 · full · none · head · L128" in um.index  # reference only
    assert len(view.pairs) == 2  # never paired with something differing in more than the axis
    ctx = build_axis(focal_wins, "context", resamples=50)
    assert ctx.reference == "head" and len(ctx.pairs) == 1 and ctx.pairs.iloc[0]["value"] == "tail"


def test_win_rate_and_single_task_configuration(focal_wins):
    board = build_board(focal_wins, "macro_f1", resamples=50)
    ov = board.overall.set_index("config")
    focal, none = ov.loc["m1 · full · focal · head · L128"], ov.loc["m1 · full · none · head · L128"]
    assert focal["mean_win_rate"] == 1 and focal["n_tasks"] == 2 and focal["overall_rank"] == 1
    assert none["mean_win_rate"] == 0 and none["overall_rank"] == 2
    for single in ("m2 · full · none · head · L128", "m1 · full · focal · tail · L128"):  # t1 only: best there, unranked
        assert np.isnan(ov.loc[single, "overall_rank"]) and ov.loc[single, "present"] == 1
    assert board.cells.set_index(["config", "task"]).loc[("m2 · full · none · head · L128", "t1"), "rank"] == 1


def test_intervals_stay_in_range_with_two_seeds(tmp_path):
    res = write(tmp_path / "a", [record(seed=s, accuracy=a) for s, a in ((0, 0.97), (1, 0.6))])
    c = build_board(res, "accuracy", resamples=200).cells.iloc[0]
    assert c["ci_method"] == "bootstrap" and 0 <= c["ci_low"] <= c["mean"] <= c["ci_high"] <= 1 and c["few_seeds"]
    # without predictions: the t interval (here [-0.5, 2.2]) clipped to [0, 1] and marked
    res = write(tmp_path / "b", [synth_record(seed=s, metrics={"macro_f1": v}) for s, v in ((0, 0.99), (1, 0.7))])
    c = build_board(res, "macro_f1").cells.iloc[0]
    assert c["ci_method"] == "t, clipped" and c["ci_low"] == 0 and c["ci_high"] == 1
    res.frame["metrics.log_loss"] = [0.9 + 0.3 * s for s in res.frame["seed"]]  # range [0, inf): t [-0.86, 2.96]
    c = build_board(res, "log_loss").cells.iloc[0]
    assert c["ci_method"] == "t, clipped" and c["ci_low"] == 0 and c["ci_high"] > 2.9


def test_degenerate_never_ranked_above_non_degenerate(tmp_path):
    recs = [record(task=t, seed=s, model="m1", accuracy=0.6) for t in ("t1", "t2") for s in (0, 1)]
    recs += [record(task=t, seed=s, model="m9", accuracy=0.95, degenerate=True) for t in ("t1", "t2") for s in (0, 1)]
    board = build_board(write(tmp_path, recs), "macro_f1", resamples=50)
    cells = board.cells.set_index(["config", "task"])
    deg, ok = "m9 · full · none · head · L128", "m1 · full · none · head · L128"
    for t in ("t1", "t2"):
        assert cells.loc[(deg, t), "mean"] > cells.loc[(ok, t), "mean"]
        assert cells.loc[(deg, t), "rank"] == 2 and not cells.loc[(deg, t), "best"] and cells.loc[(ok, t), "best"]
    ov = board.overall.set_index("config")
    assert ov.loc[ok, "overall_rank"] == 1 and ov.loc[deg, "overall_rank"] == 2 and ov.loc[deg, "degenerate"]


def test_excluded_by_matrix_is_not_missing(tmp_path):
    matrix = tmp_path / "m.yaml"
    matrix.write_text("name: mini\ntasks: [drugs-sentiment, bbc-news]\nmodels: [tiny-bert]\nimbalance: [none, focal]\n"
                      "context: [head, tail]\nseeds: [0, 1]\nexclude:\n  - {task: bbc-news, context: [tail]}\n")
    planned = planned_from(matrix)  # real names: the report plans them as the runner does
    assert len(planned.frame) == 12
    recs = [record(task=t, seed=s, imbalance=i, context=c, model="tiny-bert") for t in ("drugs-sentiment", "bbc-news")
            for i in ("none", "focal") for c in ("head", "tail") for s in (0, 1) if not (t == "bbc-news" and c == "tail")]
    recs = [r for r in recs if not (r["cell"]["task"] == "drugs-sentiment" and r["cell"]["imbalance"] == "focal"
                                    and r["cell"]["context"] == "tail" and r["cell"]["seed"] == 1)]
    recs += [record(task="bbc-news", model="m5"), record(task="bbc-news", model="m5", context="tail")]  # not planned
    res = write(tmp_path / "res", recs)
    board = build_board(res, "macro_f1", resamples=20, planned=planned)
    assert board.missing[["task", "config", "seed"]].values.tolist() == [
        ["drugs-sentiment", "tiny-bert · full · focal · tail · L128", 1]]
    st = board.cells.set_index(["config", "task"])["status"]
    assert st[("tiny-bert · full · none · tail · L128", "bbc-news")] == "not planned"
    assert st[("m5 · full · none · head · L128", "drugs-sentiment")] == "not planned"
    assert "missing" not in set(st)
    t2 = build_board(res, "macro_f1", rows=["model", "imbalance"], cols=["context"], task="bbc-news",
                     resamples=20, planned=planned).cells.set_index(["model", "imbalance", "context"])["status"]
    assert t2[("tiny-bert", "none", "tail")] == "not planned"  # planned on drugs-sentiment only
    unknown = build_board(res, "macro_f1", resamples=20)  # no plan known: absent cells stay "missing"
    assert unknown.missing is None and "missing" in set(unknown.cells["status"])


def test_bad_axis_and_reference(focal_wins):
    with pytest.raises(ConfigError, match="did you mean 'imbalance'"):
        build_axis(focal_wins, "imbalanse")
    with pytest.raises(ConfigError, match="no single imbalance value 'focla'.*did you mean 'focal'"):
        build_axis(focal_wins, "imbalance", reference="focla")
    with pytest.raises(ConfigError, match="one value"):
        build_axis(focal_wins, "method")


def test_extra_metric_falls_back_without_crashing(tmp_path):
    """A metric the bootstrap cannot recompute (an extra metric stored in the records): the seed
    interval falls back to the clipped t interval, the axis view lists the pair as not tested."""
    recs = [record(seed=s, imbalance=i, accuracy=0.7) for i in ("none", "focal") for s in (0, 1)]
    for r, v in zip(recs, (0.30, 0.32, 0.20, 0.22), strict=True):
        r["metrics"]["team_score"] = v
    res = write(tmp_path, recs)
    cells = build_board(res, "team_score", resamples=20).cells
    assert set(cells["ci_method"]) == {"t"} and (cells["ci_low"] >= 0).all()
    view = build_axis(res, "imbalance", metric="team_score", resamples=20)
    assert view.pairs.empty and view.unmatched["why"].str.contains("cannot be recomputed").all()


def test_single_task_matrix_view_sorted_by_rank_without_overall_rank(tmp_path):
    from bench.report.tables import pivot

    res = write(tmp_path, [record(model=m, seed=s, accuracy=a) for m, a in (("m1", 0.5), ("m2", 0.9)) for s in (0, 1)])
    headers, rows = pivot(build_board(res, "macro_f1", resamples=20))
    assert [r[0].split(" ·")[0] for r in rows] == ["m2", "m1", "majority class (no training)"]
    # no configuration rests on two columns: the win-rate columns would be "—" everywhere, so they are hidden
    assert "overall rank" not in headers and "mean win rate (tasks)" not in headers and len(rows[0]) == len(headers)


def test_model_axis_pairs_across_a_context_one_model_cannot_change(tmp_path):
    """Issue 13: tfidf-logreg reads whole texts (context full only), minilm-l6 defaults to head: on the
    model axis they pair, the pair's note says so; two transformers in different contexts do not."""
    from bench.report.axis_tables import render

    recs = [record(seed=s, model=m, context=c, accuracy=a) for s in (0, 1)
            for m, c, a in (("minilm-l6", "head", 0.9), ("tfidf-logreg", "full", 0.55), ("mpnet-base", "tail", 0.8))]
    res = write(tmp_path, recs)
    view = build_axis(res, "model", reference="tfidf-logreg", resamples=100)
    pairs = view.pairs.set_index("value")
    assert set(pairs.index) == {"minilm-l6", "mpnet-base"}  # the reference honours only full: both pair with it
    assert pairs.loc["minilm-l6", "diff"] > 0.2 and pairs.loc["minilm-l6", "outcome"] == "win"
    assert pairs.loc["minilm-l6", "note"].startswith("context: head vs full (tfidf-logreg honours only context full")
    assert "context: head vs full" in render(view, "md") and view.unmatched.empty
    ref = build_axis(res, "model", reference="minilm-l6", resamples=50)
    assert list(ref.pairs["value"]) == ["tfidf-logreg"] and ref.pairs["diff"].iloc[0] < -0.2
    assert ref.pairs["note"].iloc[0] == "context: full vs head (tfidf-logreg honours only context full: the whole " \
                                       "text of every document, no window)"
    um = ref.unmatched.set_index("value")  # minilm head vs mpnet tail: two transformers, different contexts
    assert list(um.index) == ["mpnet-base"] and "a context to pair with" in um.loc["mpnet-base", "why"]
    same = build_axis(write(tmp_path / "same", recs + [record(seed=s, model="mpnet-base", context="head") for s in (0, 1)]),
                      "model", reference="minilm-l6", resamples=50)
    assert (same.pairs.set_index("value").loc["mpnet-base", "note"] == "")  # same context: a plain pair


def test_majority_row_is_read_off_the_reference_records(tmp_path):
    """The axis view's majority-class row sits beside the reference: a configuration scored on other
    test documents (a cross-domain probe: its baseline is 0.5 on its filtered test split) must not move it."""
    recs = [record(seed=s, imbalance=i, majority=0.2) for s in (0, 1) for i in ("none", "focal")]
    recs += [record(seed=s, method="probe", train_domains=("Acne",), majority=0.5) for s in (0, 1)]
    res = write(tmp_path, recs)
    base = build_axis(res, "imbalance", resamples=50).rows.set_index("kind").loc["baseline"]
    assert base["mean_value"] == pytest.approx(0.2)
    assert res.majority("t1", "macro_f1") == pytest.approx(0.3)  # unrestricted: every record of the task
