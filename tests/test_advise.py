"""bench advise: axes from the data card, budget cuts or a refusal, and an answer page end to end."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.errors import ConfigError
from bench.report.advise import BUDGET_SHARE, MIN_STEPS, AdvicePlan, choose_axes, fit_budget, steps
from tests.conftest import balanced_rows


def test_axes_follow_the_data_card():
    imbalanced = choose_axes(AdvicePlan("t", ["minilm-l6"], 128), ratio=7.1, truncated=0.5, transformer=True)
    assert imbalanced.imbalance[0] == "oversample:sampling_strategy=0.5" and len(imbalanced.imbalance) == 3
    assert imbalanced.context == ["chunk:max_windows=2", "head_tail"]  # the reference pages' best first
    assert [m["method"] for m in imbalanced.methods] == [["lora"], ["probe"]]
    flat = choose_axes(AdvicePlan("t", ["minilm-l6"], 128), ratio=1.1, truncated=0.01, transformer=True)
    assert flat.imbalance == [] and flat.context == []
    include = flat.matrix()["include"]
    assert {"model": "tfidf-logreg", "context": ["full"]} in include  # the floor, always
    assert choose_axes(AdvicePlan("t", ["m"], 128), 2.0, 0.1, True).imbalance == ["class_weight"]


def test_budget_cuts_in_order_keep_the_step_floor_then_refuse():
    def estimate(p: AdvicePlan) -> float:  # seconds: proportional to epochs x rows x seeds
        rows = p.budget.get("limit_train", 4000)
        return p.budget["epochs"] * rows * len(p.seeds) * 0.1 * (0.8 if "limit_eval" in p.budget else 1)

    plan = fit_budget(AdvicePlan("t", ["m"], 128), estimate, budget_s=700 / BUDGET_SHARE, n_train=4000, n_classes=2)
    assert plan.cuts[:2] == ["1 epoch instead of 2", "training rows: 2000 of 4000 (stratified)"]
    assert plan.budget == {"epochs": 1, "limit_train": 2000} and plan.estimate_s <= 700  # the share, not all of it
    assert steps(plan, 4000) >= MIN_STEPS
    assert fit_budget(AdvicePlan("t", ["m"], 128), estimate, None, 4000, 2).cuts == []
    tight = fit_budget(AdvicePlan("t", ["m"], 128), estimate, budget_s=350 / BUDGET_SHARE, n_train=4000, n_classes=2)
    assert tight.budget["limit_train"] == 2000  # 1,000 rows would be 125 steps: under the floor, not cut
    assert tight.seeds == [0, 1] and "at most 200 validation and test documents" in tight.cuts
    wide = AdvicePlan("t", ["m"], 128)
    wide.imbalance, wide.context = ["o", "b", "c"], ["k", "h"]
    per_alt = fit_budget(wide, lambda p: 100.0 * (len(p.imbalance) + len(p.context)), budget_s=400 / BUDGET_SHARE,
                         n_train=4000, n_classes=2)
    assert per_alt.imbalance == ["o", "b"] and per_alt.context == ["k", "h"]  # two per axis before one
    assert "two alternatives per axis (o, b, k, h)" in per_alt.cuts
    with pytest.raises(ConfigError, match="does not learn reliably"):  # 1,000 rows at 2 epochs: no cut allowed
        fit_budget(AdvicePlan("t", ["m"], 128), estimate, budget_s=10, n_train=1000, n_classes=2)


def test_advise_end_to_end_on_a_user_csv(tmp_path, csv_task, capsys):
    task = csv_task(balanced_rows(30, labels=("good", "bad")), name="mine")
    out = tmp_path / "advice"
    base = ["advise", "--task", str(task), "--models", "tiny-bert", "--max-length", "32", "--out", str(out),
            "--min-seeds", "1", "--race-resamples", "200"]
    assert main([*base, "--budget-minutes", "0.01"]) == 2  # below the floor: refused, nothing written
    assert "does not learn reliably" in capsys.readouterr().err and not out.exists()
    assert main([*base, "--budget-minutes", "5", "--dry-run"]) == 0
    assert "estimate before racing" in capsys.readouterr().out and not out.exists()
    assert main([*base, "--budget-minutes", "5"]) == 0, capsys.readouterr().err
    md = (out / "answer.md").read_text()
    for part in ("## Forest plots", "## Recommendation per axis", "## Eliminated by the race", "## Cost",
                 "## Reproduce or extend", "method", "tfidf-logreg", "minimum detectable effect"):
        assert part in md, part
    assert "<table" in (out / "answer.html").read_text() and (out / "plots" / "axis_method.png").exists()
    race = json.loads((out / "race.json").read_text())
    assert race["status"] == "finished" and len(race["labels"]) == 4  # full, lora, probe, tf-idf
    capsys.readouterr()
    assert main([*base, "--budget-minutes", "5"]) == 0  # resume: the saved plan, nothing reruns
    assert "resuming the plan" in capsys.readouterr().out


def test_answer_page_keeps_configurations_that_resolved_auto_precision(tmp_path, csv_task, capsys):
    """On a machine where ``precision: auto`` resolves to bf16 the records' configuration ids carry bf16,
    the race's ids the planned auto: the answer page still finds every raced configuration."""
    import argparse

    from bench.cli.advise import _saved_plan
    from bench.report.advise_page import write_answer

    task = csv_task(balanced_rows(30, labels=("good", "bad")), name="mine")
    out = tmp_path / "advice"
    assert main(["advise", "--task", str(task), "--models", "tiny-bert", "--max-length", "32", "--out", str(out),
                 "--min-seeds", "1", "--race-resamples", "200", "--budget-minutes", "5"]) == 0
    for p in (out / "records").glob("*.json"):  # as a bf16 machine writes them
        rec = json.loads(p.read_text())
        if rec["cell"]["model"] != "tfidf-logreg":
            rec["precision"] = "bf16"
            p.write_text(json.dumps(rec))
    md = write_answer(out, _saved_plan(out / "advise-matrix.yaml", argparse.Namespace()), ["x"], 60.0, 5).read_text()
    cost = md.split("## Cost")[1]
    assert "tiny-bert · full" in cost and "tiny-bert · probe" in cost  # not only the TF-IDF floor
    assert "| method " in md.split("## Recommendation per axis")[1]
