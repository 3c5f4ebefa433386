"""``bench baseline`` / ``bench check``: schema, tolerances, statistics, calibrated timings (faster,
slower and noisy machines), bad input, and the gate on real tiny-bert / TF-IDF runs with injected
regressions (learning rate 0, shuffled labels, a 3x slowed training step, judged with the default
time factor) and an unchanged configuration re-run with other seeds."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from bench.cli import main
from bench.errors import BenchError, ConfigError, SchemaError
from bench.gate.baseline import (
    BASELINE_SCHEMA_VERSION,
    DEFAULT_TIME_FACTOR,
    build_baseline,
    read_baseline,
    tolerance,
    write_baseline,
)
from bench.gate.calibrate import calibrate, summary, workload
from bench.gate.check import check
from bench.metrics import classification_metrics
from bench.record.frame import config_id
from bench.record.io import write_record
from bench.record.schema import SCHEMA_VERSION
from bench.spec.cell import Cell, TrainParams


def machine(seconds: float, spread: float = 0.04) -> dict:
    """A calibration as ``calibrate`` records it: five repeats around ``seconds``."""
    return summary([seconds * (1 + spread * k / 4) for k in (-2, -1, 0, 1, 2)], workload(threads=1))


CAL = machine(0.1)
NAMES = ["a", "b", "c"]


def fake_record(seed: int, acc: float = 0.8, model: str = "tiny-bert", version: str = "1", task: str = "t",
                train_seconds: float = 1.0, n: int = 200, fingerprint: str = "fp") -> dict:
    """A record whose metrics are computed from its own (synthetic) predictions."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    pred = np.where(rng.random(n) < acc, y, (y + 1) % 3)
    proba = np.full((n, 3), 0.1)
    proba[np.arange(n), pred] = 0.8
    cell = Cell(task=task, model=model, seed=seed).to_dict()
    return {
        "schema_version": SCHEMA_VERSION, "cell_id": f"{config_id(cell)}-{seed}", "status": "ok", "cell": cell,
        "task": {"version": version, "fingerprint": fingerprint, "label_names": NAMES, "minority_class": "c"},
        "metrics": classification_metrics(y, proba, NAMES), "timing": {"train_seconds": train_seconds},
        "predictions": {"ids": [str(i) for i in range(n)], "labels": y.tolist(), "pred": pred.tolist(),
                        "proba": proba.tolist()},
        "manifest": {"git": {"sha": "x"}},
    }


def fake_failed(seed: int) -> dict:
    cell = Cell(task="t", model="tiny-bert", seed=seed).to_dict()
    return {"schema_version": SCHEMA_VERSION, "cell_id": f"failed-{seed}", "status": "failed", "cell": cell,
            "error": {"type": "RuntimeError", "message": "boom"}}


def results(folder, recs: list[dict]):
    for r in recs:
        write_record(folder, r)
    return folder


@pytest.fixture
def base_file(tmp_path):
    folder = results(tmp_path / "base", [fake_record(s, 0.8) for s in (0, 1, 2)])
    return write_baseline(tmp_path / "base.json", build_baseline(folder, calibration=CAL))


def verdicts(res, metric: str | None = None) -> list[str]:
    return [r.verdict for r in res.rows if metric is None or r.metric == metric]


def test_baseline_file_schema(base_file):
    base = json.loads(base_file.read_text())
    assert base["schema_version"] == BASELINE_SCHEMA_VERSION and base["kind"] == "domainbench-baseline"
    (cid, entry), = base["configs"].items()
    acc = entry["metrics"]["accuracy"]
    assert acc["n"] == 3 and len(acc["values"]) == 3 and acc["std"] > 0
    assert abs(acc["mean"] - np.mean(acc["values"])) < 1e-12
    assert entry["timing"]["train_seconds"]["median"] == 1.0
    assert set(entry["predictions"]["seeds"]) == {"0", "1", "2"}
    assert base["calibration"] == CAL and base["manifest"] == {"git": {"sha": "x"}}


def test_tolerance_resolution(base_file):
    base = read_baseline(base_file)
    cid = next(iter(base["configs"]))
    base["tolerances"]["metrics"]["macro_f1"] = 0.1
    base["tolerances"]["configs"][cid] = {"macro_f1": 0.3}
    assert tolerance(base, cid, "accuracy") == 0.02
    assert tolerance(base, "other", "macro_f1") == 0.1
    assert tolerance(base, cid, "macro_f1") == 0.3


def test_same_distribution_other_seeds_pass(tmp_path, base_file):
    res = check(results(tmp_path / "now", [fake_record(s, 0.8) for s in (10, 11, 12)]), base_file, calibration=CAL)
    assert res.exit_code == 0, res.render()
    assert set(verdicts(res)) <= {"ok", "better", "noise"}


def test_real_drop_is_a_regression_with_welch(tmp_path, base_file):
    res = check(results(tmp_path / "now", [fake_record(s, 0.5) for s in (0, 1, 2)]), base_file, calibration=CAL)
    assert res.exit_code == 1
    row = next(r for r in res.rows if r.metric == "accuracy")
    assert row.verdict == "REGRESSION" and "Welch" in row.evidence and float(row.delta) < -0.2
    assert "REGRESSION" in res.render() and "FAIL" in res.render()


def test_drop_within_tolerance_passes(tmp_path, base_file):
    base = read_baseline(base_file)
    base["tolerances"]["default"] = 0.5
    write_baseline(base_file, base)
    res = check(results(tmp_path / "now", [fake_record(s, 0.5) for s in (0, 1, 2)]), base_file, calibration=CAL)
    assert res.exit_code == 0 and verdicts(res, "accuracy") == ["ok"]


def test_single_seed_uses_paired_bootstrap(tmp_path):
    base = write_baseline(tmp_path / "b.json", build_baseline(results(tmp_path / "b", [fake_record(0, 0.8)]),
                                                              calibration=CAL))
    bad = check(results(tmp_path / "bad", [fake_record(0, 0.6)]), base, calibration=CAL)
    row = next(r for r in bad.rows if r.metric == "accuracy")
    assert row.verdict == "REGRESSION" and "bootstrap over 200 docs" in row.evidence
    # 12 documents flip to wrong, 7 to right: a net drop beyond the tolerance, but not beyond
    # test-set noise (paired: only the 19 discordant documents carry evidence)
    same = fake_record(0, 0.8)
    p = same["predictions"]
    right = [i for i in range(200) if p["pred"][i] == p["labels"][i]][:12]
    wrong = [i for i in range(200) if p["pred"][i] != p["labels"][i]][:7]
    for i in right:
        p["proba"][i] = np.roll(p["proba"][i], 1).tolist()
    for i in wrong:
        p["proba"][i] = np.eye(3)[p["labels"][i]].tolist()
    same["metrics"] = classification_metrics(np.array(p["labels"]), np.array(p["proba"]), NAMES)
    res = check(results(tmp_path / "same", [same]), base, calibration=CAL)
    assert verdicts(res, "accuracy") == ["noise"], res.render()
    assert res.exit_code == 0


@pytest.mark.parametrize("speed", [1 / 3, 1.0, 3.0])
def test_faster_and_slower_machines_pass(tmp_path, base_file, speed):
    """Same code on another machine: the cells and the calibration scale together."""
    now = results(tmp_path / "now", [fake_record(s, 0.8, train_seconds=speed) for s in (0, 1, 2)])
    res = check(now, base_file, calibration=machine(0.1 * speed))
    assert verdicts(res, "train_seconds") == ["ok"] and res.exit_code == 0, res.render()
    assert f"×{speed:.2f} the baseline's calibration time" in res.render()


def test_slower_code_fails_with_the_default_factor(tmp_path, base_file):
    now = results(tmp_path / "now", [fake_record(s, 0.8, train_seconds=3.0) for s in (0, 1, 2)])
    res = check(now, base_file, calibration=CAL)  # same machine speed, cells 3x slower
    row = next(r for r in res.rows if r.metric == "train_seconds")
    assert row.verdict == "REGRESSION" and "×3.00 calibrated > ×2" in row.evidence and res.exit_code == 1
    # a 2x slower machine: the code itself is only 1.5x slower, within the default factor
    assert verdicts(check(now, base_file, calibration=machine(0.2)), "train_seconds") == ["ok"]
    assert check(now, base_file, time_factor=4, calibration=CAL).exit_code == 0


def test_raw_speedup_is_never_a_regression(tmp_path, base_file):
    """Cells 2x faster in raw seconds while the calibration got 10x faster: still not a regression."""
    now = results(tmp_path / "now", [fake_record(s, 0.8, train_seconds=0.5) for s in (0, 1, 2)])
    res = check(now, base_file, calibration=machine(0.01))
    row = next(r for r in res.rows if r.metric == "train_seconds")
    assert row.verdict == "ok" and not row.failing and "never a regression" in row.evidence, res.render()


@pytest.mark.parametrize("noisy_side", ["baseline", "now"])
def test_noisy_calibration_leaves_timings_unjudged(tmp_path, noisy_side):
    steady, noisy = machine(0.1), machine(0.1, spread=0.8)
    base = write_baseline(tmp_path / "b.json", build_baseline(
        results(tmp_path / "b", [fake_record(s, 0.8) for s in (0, 1, 2)]),
        calibration=noisy if noisy_side == "baseline" else steady))
    slow_and_worse = results(tmp_path / "now", [fake_record(s, 0.5, train_seconds=10.0) for s in (0, 1, 2)])
    res = check(slow_and_worse, base, calibration=noisy if noisy_side == "now" else steady)
    out = res.render()
    assert "timings not judged: calibration too noisy (spread 0.80 > 0.25)" in out
    assert verdicts(res, "train_seconds") == ["not judged"]
    assert verdicts(res, "accuracy") == ["REGRESSION"] and res.exit_code == 1  # quality still judged
    quality_ok = results(tmp_path / "ok", [fake_record(s, 0.8, train_seconds=10.0) for s in (3, 4, 5)])
    cal_now = noisy if noisy_side == "now" else steady
    assert check(quality_ok, base, calibration=cal_now).exit_code == 0
    assert check(quality_ok, base, calibration=cal_now, max_spread=1.0).exit_code == 1  # judged: 10x slower


def test_max_spread_bounds(tmp_path, base_file):
    now = results(tmp_path / "now", [fake_record(s, 0.8, train_seconds=10.0) for s in (0, 1, 2)])
    for bad in (0, -1, float("nan")):
        with pytest.raises(BenchError, match="--max-spread must be a number > 0"):
            check(now, base_file, calibration=CAL, max_spread=bad)
    noisy = machine(0.1, spread=5.0)  # judged anyway when the limit is lifted on purpose
    assert verdicts(check(now, base_file, calibration=noisy, max_spread=float("inf")), "train_seconds") == ["REGRESSION"]
    assert main(["baseline", "--results", str(now), "--out", str(tmp_path / "b.json"), "--max-spread", "-1"]) == 2
    assert not (tmp_path / "b.json").exists()


def test_other_workload_or_threads_leave_timings_unjudged(tmp_path, base_file):
    now = results(tmp_path / "now", [fake_record(s, 0.8, train_seconds=10.0) for s in (0, 1, 2)])
    other = {**CAL, "workload": workload(threads=4)}
    res = check(now, base_file, calibration=other)
    assert "calibration workloads differ in threads" in res.render() and res.exit_code == 0


def test_schema_1_baseline_is_upgraded_timings_unjudged(tmp_path, base_file):
    old = json.loads(base_file.read_text())
    old.update(schema_version=1, time_factor=1.5, calibration={"workload": "torch MLP", "seconds": 0.0239})
    old.pop("max_spread")
    base_file.write_text(json.dumps(old))
    base = read_baseline(base_file)
    assert base["schema_version"] == BASELINE_SCHEMA_VERSION and base["calibration"] is None
    assert base["calibration_v1"]["seconds"] == 0.0239
    now = results(tmp_path / "now", [fake_record(s, 0.5, train_seconds=10.0) for s in (0, 1, 2)])
    res = check(now, base_file, calibration=CAL)
    assert "regenerate the baseline" in res.render() and verdicts(res, "train_seconds") == ["not judged"]
    assert verdicts(res, "accuracy") == ["REGRESSION"]


def test_calibrate_records_every_repeat():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cal = calibrate(repeats=3, steps=2, pause=0)
    finally:
        torch.set_num_threads(threads)
    assert len(cal["repeats"]) == 3 and cal["seconds"] == sorted(cal["repeats"])[1]
    assert cal["spread"] == pytest.approx((max(cal["repeats"]) - min(cal["repeats"])) / cal["seconds"])
    assert cal["workload"] == workload(steps=2, threads=1)


def test_missing_new_and_failed_configurations(tmp_path, base_file):
    now = results(tmp_path / "now", [fake_record(s, 0.8, model="tfidf-logreg") for s in (0, 1)])
    res = check(now, base_file, calibration=CAL)
    assert sorted(verdicts(res)) == ["missing", "new"] and res.exit_code == 1
    res = check(results(tmp_path / "f", [fake_record(0, 0.8), fake_failed(1)]), base_file, calibration=CAL)
    assert "FAILED" in verdicts(res) and res.exit_code == 1


@pytest.mark.parametrize("change, message", [
    (lambda b: b.update(schema_version=BASELINE_SCHEMA_VERSION + 1), "newer"),
    (lambda b: b["tolerances"].update(default="0.02"), "tolerance must be a non-negative number"),
    (lambda b: b["tolerances"]["metrics"].update(accuracy=True), "tolerance must be"),
    (lambda b: b["tolerances"]["metrics"].update(acuracy=0.1), "did you mean"),
    (lambda b: b["tolerances"]["configs"].update(nope={"accuracy": 0.1}), "no such configuration"),
    (lambda b: b.update(time_factor="2"), "time_factor"),
    (lambda b: b.update(max_spread=0), "max_spread"),
    (lambda b: b["calibration"].update(repeats=[]), "calibration must hold"),
    (lambda b: b.pop("configs"), "not a DomainBench baseline"),
])
def test_bad_baselines_refused(base_file, change, message):
    base = json.loads(base_file.read_text())
    change(base)
    base_file.write_text(json.dumps(base))
    with pytest.raises(BenchError, match=message):
        read_baseline(base_file)


def test_missing_and_corrupt_baseline(tmp_path):
    with pytest.raises(BenchError, match="does not exist"):
        read_baseline(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SchemaError, match="unreadable"):
        read_baseline(tmp_path / "bad.json")


@pytest.mark.parametrize("kwargs, message", [
    ({"version": "2"}, "version"), ({"task": "other"}, "not comparable"), ({"fingerprint": "fp2"}, "fingerprint"),
])
def test_different_task_or_version_not_compared(tmp_path, base_file, kwargs, message):
    now = results(tmp_path / "now", [fake_record(s, 0.5, **kwargs) for s in (0, 1)])
    with pytest.raises(BenchError, match=message):
        check(now, base_file, calibration=CAL)


def test_baseline_refuses_failed_runs_and_unknown_metrics(tmp_path):
    folder = results(tmp_path / "r", [fake_record(0), fake_failed(1)])
    with pytest.raises(BenchError, match="failed cell"):
        build_baseline(folder, calibration=CAL)
    with pytest.raises(ConfigError, match="unknown metric"):
        build_baseline(folder, metrics=["acc"], calibration=CAL)


def test_cli_exit_codes(tmp_path, capsys):
    base_dir = results(tmp_path / "base", [fake_record(s, 0.8) for s in (0, 1, 2)])
    out = tmp_path / "baselines" / "x.json"
    assert main(["baseline", "--results", str(base_dir), "--out", str(out), "--timings", "",
                 "--tolerance", "macro_f1=0.05"]) == 0
    assert read_baseline(out)["tolerances"]["metrics"]["macro_f1"] == 0.05
    same = results(tmp_path / "same", [fake_record(s, 0.8) for s in (3, 4, 5)])
    assert main(["check", "--results", str(same), "--baseline", str(out)]) == 0
    worse = results(tmp_path / "worse", [fake_record(s, 0.4) for s in (3, 4, 5)])
    assert main(["check", "--results", str(worse), "--baseline", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "REGRESSION" in printed and "configuration" in printed and "verdict" in printed
    assert main(["check", "--results", str(worse), "--baseline", str(tmp_path / "none.json")]) == 2
    assert main(["baseline", "--results", str(base_dir), "--out", str(tmp_path / "y.json"),
                 "--tolerance", "accuracy=lots"]) == 2
    assert not (tmp_path / "y.json").exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and err.startswith("error: ")


# -- the gate on real runs ------------------------------------------------------------------------

LEARNS = Cell(task="bbc-news", model="tiny-bert", max_length=64, seed=0,  # random-init, but learns here
              train=TrainParams(epochs=15, batch_size=16, learning_rate=1e-3, limit_train=150, limit_eval=60,
                                latency_docs=2, early_stopping_patience=None))
TFIDF = Cell(task="bbc-news", model="tfidf-logreg", context="full", seed=0, train=TrainParams(limit_train=150, limit_eval=60))


def run_into(folder, cells: list[Cell]):
    from bench.run.ids import plan_cell
    from bench.run.quiet import quiet
    from bench.run.worker import run_cell

    quiet()
    for c in cells:
        write_record(folder, run_cell(plan_cell(c)))
    return folder


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    """A real baseline: tiny-bert (3 seeds) + TF-IDF (1 seed) on bbc-news, with the calibration.

    One torch thread for the whole module (cells and calibration alike): on a shared 2-core
    machine two spinning threads make every timing erratic; the gate compares like with like."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("gate")
    run_into(tmp / "warmup", [LEARNS.with_(train=TrainParams(epochs=1, limit_train=16, limit_eval=10))])
    folder = run_into(tmp / "base", [LEARNS, LEARNS.with_(seed=1), LEARNS.with_(seed=2), TFIDF])
    yield write_baseline(tmp / "base.json", build_baseline(folder, calibration=calibrate()))
    torch.set_num_threads(threads)


def rows_of(res, label_part: str) -> dict[str, object]:
    return {r.metric: r for r in res.rows if label_part in r.config}


@pytest.mark.slow
def test_gate_unchanged_config_other_seeds_passes(gate, tmp_path):
    """Default options and a fresh calibration: timings are judged ok, or not judged when this
    (shared) machine is too noisy — never a regression."""
    now = run_into(tmp_path / "now", [LEARNS.with_(seed=s) for s in (3, 4, 5)] + [TFIDF.with_(seed=1)])
    res = check(now, gate)
    print(res.render())
    assert res.exit_code == 0, res.render()
    assert set(verdicts(res, "train_seconds")) <= {"ok", "not judged"}


@pytest.mark.slow
def test_gate_learning_rate_zero_fails(gate, tmp_path, monkeypatch):
    import transformers

    real = transformers.TrainingArguments

    def sabotaged(*args, **kwargs):  # a bug that drops the learning rate: the cell itself is unchanged
        return real(*args, **{**kwargs, "learning_rate": 0.0})

    monkeypatch.setattr(transformers, "TrainingArguments", sabotaged)
    now = run_into(tmp_path / "now", [LEARNS.with_(seed=s) for s in (0, 1, 2)])
    res = check(now, gate, time_factor=10)  # timings: see test_gate_slowed_training_step_fails
    print(res.render())
    rows = rows_of(res, "tiny-bert")
    assert res.exit_code == 1
    for metric in ("accuracy", "macro_f1"):
        assert rows[metric].verdict == "REGRESSION" and "Welch" in rows[metric].evidence, res.render()
    assert rows_of(res, "tfidf")["—"].verdict == "missing"


@pytest.mark.slow
def test_gate_shuffled_labels_fail(gate, tmp_path, monkeypatch):
    from dataclasses import replace

    import bench.fit.classical as classical

    real = classical.fit_classical

    def shuffled(job):  # a bug that misaligns texts and labels when training
        train = job.data.splits["train"]
        labels = np.random.default_rng(0).permutation(train.labels)
        return real(replace(job, data=replace(job.data, splits={**job.data.splits,
                                                                "train": replace(train, labels=labels)})))

    monkeypatch.setattr(classical, "fit_classical", shuffled)
    res = check(run_into(tmp_path / "now", [TFIDF]), gate, time_factor=10)  # timings: see test_gate_slowed_training_step_fails
    print(res.render())
    rows = rows_of(res, "tfidf")
    assert rows["accuracy"].verdict == "REGRESSION" and "paired bootstrap" in rows["accuracy"].evidence, res.render()
    assert rows_of(res, "tiny-bert")["—"].verdict == "missing" and res.exit_code == 1


@pytest.mark.slow
def test_gate_slowed_training_step_fails(tmp_path, monkeypatch):
    """Every training step (forward + backward in ``Trainer.training_step``, and the AdamW step) made
    3x slower, judged with the default time factor. Evaluation and data loading are not slowed, so
    ``train_seconds`` grows by less than 3x.

    Interleaved: each seed runs unchanged (into the baseline) and then slowed (into the check),
    so both sides see the same machine load; on a shared machine, a baseline made minutes earlier
    drifts by more than 2x (measured: a 3x step read as x1.76). Both sides carry the same steady
    calibration (same machine, same minutes: scale 1); calibration noise has its own tests above."""
    import torch
    import transformers

    calls = []

    def slowed(real):  # 3x slower (a sleep of twice its own time), whatever this machine's speed
        def run(self, *args, **kwargs):
            t0 = time.perf_counter()
            out = real(self, *args, **kwargs)
            time.sleep(2 * (time.perf_counter() - t0))
            calls.append(real.__name__)
            return out
        return run

    cell = LEARNS.with_(train=TrainParams(epochs=4, batch_size=16, learning_rate=1e-3, limit_train=150,
                                          limit_eval=20, latency_docs=2, early_stopping_patience=None))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for seed in (0, 1, 2):  # the median of 3 pairs: one burst of load does not decide
            run_into(tmp_path / "base", [cell.with_(seed=seed)])
            with monkeypatch.context() as m:  # the whole step: forward + backward, and the optimizer step
                m.setattr(transformers.Trainer, "training_step", slowed(transformers.Trainer.training_step))
                m.setattr(torch.optim.AdamW, "step", slowed(torch.optim.AdamW.step))
                run_into(tmp_path / "now", [cell.with_(seed=seed)])
    finally:
        torch.set_num_threads(threads)
    same_machine = machine(1.0)
    base = write_baseline(tmp_path / "base.json", build_baseline(tmp_path / "base", calibration=same_machine))
    res = check(tmp_path / "now", base, calibration=same_machine)
    print(res.render())
    assert {"training_step", "step"} <= set(calls)  # both halves of the step were slowed
    row = next(r for r in res.rows if r.metric == "train_seconds")
    assert row.verdict == "REGRESSION" and res.exit_code == 1, res.render()
    assert row.evidence.endswith(f"> ×{DEFAULT_TIME_FACTOR:g}")  # the default factor
    # same computation otherwise: the metrics are identical
    assert {r.verdict for r in res.rows if r.metric in ("accuracy", "macro_f1")} == {"ok"}, res.render()
