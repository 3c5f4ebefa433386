"""Cross-domain evaluation: source/target filtering, per-domain metrics, transfer table."""

import json

import numpy as np
import pytest

from bench.cli import main
from bench.data.domains import MISSING, apply_domains, domain_metrics, parse_domains
from bench.data.prepare import load_task_data
from bench.errors import ConfigError, UnknownNameError
from bench.report.transfer import transfer_table
from bench.spec.task import get_task

SOURCES = ("Birth Control", "Depression")


@pytest.fixture(scope="module")
def drugs():
    return load_task_data(get_task("drugs-sentiment"))


def test_parse_domains_keeps_comma_space_inside_names():
    assert parse_domains("Birth Control,Depression") == SOURCES
    assert parse_domains("Diabetes, Type 2,Pain") == ("Diabetes, Type 2", "Pain")
    assert parse_domains("all") == ("all",) and parse_domains(None) is None
    with pytest.raises(ConfigError):
        parse_domains(" ")


def test_train_and_eval_sets_are_disjoint_and_cover_the_named_domains(drugs):
    targets = ("Birth Control", "Pain", "Acne")
    data, plan = apply_domains(drugs, SOURCES, targets)
    train, val, test = (data.splits[s] for s in ("train", "validation", "test"))
    assert set(train.domains) == set(SOURCES) and set(val.domains) <= set(SOURCES)
    assert set(test.domains) == set(targets)
    for d in SOURCES:  # every row of a source domain is kept
        assert train.domains.count(d) == drugs.splits["train"].domains.count(d)
    assert not set(train.ids) & set(test.ids) and not set(train.texts) & set(test.texts)
    assert not set(val.ids) & set(test.ids)
    assert plan["train"] == list(SOURCES) and plan["eval"] == list(targets)
    assert plan["train_rows"] == len(train)


def test_all_means_every_domain_of_the_split(drugs):
    data, plan = apply_domains(drugs, ("Birth Control",), ("all",))
    assert len(data.splits["test"]) == len(drugs.splits["test"])
    present = {d if isinstance(d, str) else MISSING for d in drugs.splits["test"].domains}
    assert MISSING in present  # reviews without a condition form their own domain
    assert set(plan["eval"]) == present and plan["eval"][0] == "Birth Control"


def test_unknown_domain_is_one_line_with_suggestion(drugs):
    with pytest.raises(UnknownNameError, match="did you mean 'Depression'") as err:
        apply_domains(drugs, ("Depresion",), None)
    assert "\n" not in str(err.value)


def test_unknown_domain_on_the_cli_exits_2_and_writes_nothing(capsys, tmp_path):
    code = main(["run", "--task", "drugs-sentiment", "--model", "tiny-bert", "--train-domains", "Birth Control,Nope",
                 "--eval-domains", "all", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "'Nope'" in err[0] and "Birth Control" in err[0]
    assert not (tmp_path / "out" / "records").exists()


def test_task_without_domain_column(capsys, tmp_path):
    code = main(["run", "--task", "bbc-news", "--model", "tiny-bert", "--train-domains", "a",
                 "--out", str(tmp_path / "out")])
    assert code == 2 and "domain_column" in capsys.readouterr().err


def test_domain_metrics_split_in_and_out_of_domain(drugs):
    data, plan = apply_domains(drugs, ("Birth Control",), ("Birth Control", "Depression"))
    test = data.splits["test"]
    proba = np.eye(3)[test.labels]  # perfect on every row...
    wrong = np.asarray(test.domains) == "Depression"
    proba[wrong] = np.eye(3)[(test.labels[wrong] + 1) % 3]  # ...but always wrong out of domain
    m = domain_metrics(test, proba, data.label_names, "macro_f1", plan)
    assert m["per_domain"]["Birth Control"]["accuracy"] == 1.0 and m["per_domain"]["Birth Control"]["in_domain"]
    assert m["per_domain"]["Depression"]["accuracy"] == 0.0 and not m["per_domain"]["Depression"]["in_domain"]
    assert m["in_domain"]["n"] + m["out_of_domain"]["n"] == len(test)
    assert m["in_domain"]["accuracy"] == 1.0 and m["out_of_domain"]["accuracy"] == 0.0


def test_cross_domain_cell_records_per_target_metrics(tiny_cell, tmp_path, monkeypatch):
    from bench.record.io import write_record
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    cell = tiny_cell.with_(method="probe", train_domains=("Birth Control",), eval_domains=("Birth Control", "Pain"))
    rec = run_cell(plan_cell(cell))
    dom = rec["domains"]
    assert dom["train"] == ["Birth Control"] and set(dom["per_domain"]) == {"Birth Control", "Pain"}
    assert rec["task"]["sizes"]["test"] == sum(v["n"] for v in dom["per_domain"].values())
    assert dom["in_domain"]["n"] == dom["per_domain"]["Birth Control"]["n"]
    write_record(tmp_path / "res", rec)
    table = transfer_table(tmp_path / "res")
    row = table.iloc[0]
    assert row["source"] == "Birth Control" and row["seeds"] == 1
    assert row["gap"] == pytest.approx(dom["in_domain"]["macro_f1"] - dom["out_of_domain"]["macro_f1"])


def _fake(cid, source, seed, scores, in_d, out_d):
    per = {d: {"n": 10, "macro_f1": s, "accuracy": s, "in_domain": d == source} for d, s in scores.items()}
    return {"schema_version": 1, "cell_id": cid, "status": "ok", "task": {"main_score": "macro_f1"},
            "cell": {"task": "t", "model": "m", "method": "full", "imbalance": "none", "context": "head",
                     "max_length": 64, "seed": seed, "train_domains": [source]},
            "domains": {"train": [source], "eval": list(scores), "per_domain": per,
                        "in_domain": {"n": 10, "macro_f1": in_d}, "out_of_domain": {"n": 10, "macro_f1": out_d}}}


def test_transfer_table_means_over_seeds_and_gap(tmp_path, capsys):
    (tmp_path / "records").mkdir()
    recs = [_fake("a0", "A", 0, {"A": 0.8, "B": 0.5}, 0.8, 0.5), _fake("a1", "A", 1, {"A": 0.6, "B": 0.5}, 0.6, 0.5),
            _fake("b0", "B", 0, {"A": 0.4, "B": 0.9}, 0.9, 0.4)]
    for r in recs:
        (tmp_path / "records" / f"{r['cell_id']}.json").write_text(json.dumps(r))
    t = transfer_table(tmp_path).set_index("source")
    assert t.loc["A", "A"] == pytest.approx(0.7) and t.loc["A", "B"] == pytest.approx(0.5)
    assert t.loc["A", "gap"] == pytest.approx(0.2) and t.loc["A", "seeds"] == 2
    assert t.loc["A", "gap_std"] == pytest.approx(np.std([0.3, 0.1], ddof=1))
    assert t.loc["B", "gap"] == pytest.approx(0.5)
    assert main(["transfer", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "in_domain" in out and "gap" in out and "0.700" in out
