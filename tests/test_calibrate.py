"""CPU precision calibration: the decision on injected timings, the per-machine cache, the
record's precision_choice and ``bench ls machine`` (no test depends on this machine's speed)."""

import json

import pytest

import bench.fit.calibrate as calibrate
import bench.fit.device as device
from bench.cli import main

FAST = {"matmul_fp32_s": 1.0, "matmul_bf16_s": 0.4, "step_fp32_s": 1.0, "step_bf16_s": 0.5}  # bf16 2x
SLOW = {"matmul_fp32_s": 1.0, "matmul_bf16_s": 1.8, "step_fp32_s": 1.0, "step_bf16_s": 1.8}  # bf16 0.56x


def test_decide_on_injected_timings():
    assert calibrate.decide(FAST, True)["precision"] == "bf16"
    assert calibrate.decide(FAST, True)["bf16_speedup"] == 2.0
    assert calibrate.decide(SLOW, True)["precision"] == "fp32"
    edge = {**FAST, "step_bf16_s": 1 / 1.2}  # 1.2x: not enough
    assert calibrate.decide(edge, True)["precision"] == "fp32"
    assert calibrate.decide({**FAST, "step_bf16_s": 0.8}, True)["precision"] == "bf16"  # exactly 1.25x
    no = calibrate.decide(FAST, False)  # no native bf16: fp32 whatever was measured
    assert no["precision"] == "fp32" and no["bf16_speedup"] is None and "no native bf16" in no["why"]
    # end to end (the step) decides, not the matmul alone
    assert calibrate.decide({**SLOW, "matmul_bf16_s": 0.3}, True)["precision"] == "fp32"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path))
    monkeypatch.delenv("BENCH_BF16", raising=False)
    monkeypatch.setattr(device, "cpu_supports_bf16", lambda: True)
    monkeypatch.setattr(calibrate, "cpu_supports_bf16", lambda: True)
    return tmp_path


def test_measured_once_then_reused_and_keyed_by_machine(cache, monkeypatch):
    calls = []

    def fake():
        calls.append(1)
        return FAST

    first = calibrate.calibration(measure=fake)
    assert first["precision"] == "bf16" and not first["cached"] and len(calls) == 1
    again = calibrate.calibration(measure=fake)
    assert again["cached"] and again["precision"] == "bf16" and len(calls) == 1
    stored = json.loads(next((cache / "machine").glob("precision-*.json")).read_text())
    assert stored["timings"] == FAST and stored["machine"]["threads"] >= 1
    # another thread count (or CPU, or torch) is another machine: measured again
    info = calibrate.machine()
    monkeypatch.setattr(calibrate, "machine", lambda: {**info, "threads": info["threads"] + 7})
    other = calibrate.calibration(measure=lambda: SLOW)
    assert not other["cached"] and other["precision"] == "fp32"
    assert len(list((cache / "machine").glob("precision-*.json"))) == 2


def test_auto_on_cpu_follows_the_calibration_and_env_overrides(cache, monkeypatch):
    monkeypatch.setattr(calibrate, "measure_cpu", lambda: FAST)
    assert device.resolve_precision("auto", "cpu") == "bf16"
    choice = device.precision_choice("auto", "cpu")
    assert choice["bf16_speedup"] == 2.0 and "calibration" in choice["why"]
    assert device.resolve_precision("fp32", "cpu") == "fp32"  # explicit: never overridden
    monkeypatch.setenv("BENCH_BF16", "0")
    assert device.resolve_precision("auto", "cpu") == "fp32"
    assert device.precision_choice("auto", "cpu")["why"] == "BENCH_BF16=0"
    monkeypatch.delenv("BENCH_BF16")
    monkeypatch.setattr(device, "cpu_supports_bf16", lambda: False)  # no native bf16: fp32, nothing measured
    monkeypatch.setattr(calibrate, "measure_cpu", lambda: pytest.fail("measured without native bf16"))
    assert device.resolve_precision("auto", "cpu") == "fp32"


def test_cell_id_keeps_the_resolved_precision(cache, monkeypatch, tiny_cell):
    from bench.run.ids import plan_cell

    monkeypatch.setattr(calibrate, "measure_cpu", lambda: FAST)
    fast = plan_cell(tiny_cell)
    assert fast.precision == "bf16"
    monkeypatch.setenv("BENCH_BF16", "0")
    slow = plan_cell(tiny_cell)
    assert slow.precision == "fp32" and slow.cell_id != fast.cell_id


def test_record_states_the_choice(tiny_cell):
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    rec = run_cell(plan_cell(tiny_cell))
    import gc

    assert gc.get_freeze_count() == 0  # the worker's gc.freeze during training is undone
    assert rec["precision"] == "fp32"
    assert rec["precision_choice"]["precision"] == "fp32" and rec["precision_choice"]["why"] == "BENCH_BF16=0"
    assert rec["precision_choice"]["requested"] == "auto"


def test_bench_ls_machine(cache, monkeypatch, capsys):
    monkeypatch.setattr(calibrate, "measure_cpu", lambda: SLOW)
    assert main(["ls", "machine"]) == 0
    out = capsys.readouterr().out
    assert "precision auto on CPU: fp32" in out and "0.556x" in out and "measured now" in out
    assert main(["ls", "machine"]) == 0
    assert "cached" in capsys.readouterr().out


def test_bf16_and_fp32_records_of_one_auto_config_are_two_configurations():
    import pandas as pd

    from bench.record.frame import frame_of, precision_notes

    cell = {"task": "t", "model": "tiny-bert", "method": "full", "imbalance": "none", "context": "head",
            "max_length": 32, "seed": 0, "train": {"precision": "auto"}}
    other = {**cell, "imbalance": "class_weight"}

    def rec(c, seed, precision):
        return {"cell_id": f"{c['imbalance']}{seed}{precision}", "status": "ok", "cell": {**c, "seed": seed},
                "precision": precision, "metrics": {"accuracy": 0.5}}

    df = frame_of([rec(cell, 0, "fp32"), rec(cell, 1, "bf16"), rec(other, 0, "fp32")])
    assert df["config_id"].nunique() == 3  # auto->bf16 is its own configuration, never mixed with fp32
    assert df.loc[df["precision"] == "bf16", "config"].iloc[0].endswith("bf16")
    notes = precision_notes(df)
    assert len(notes) == 1 and "class_weight" in notes[0] and "only in fp32" in notes[0]
    same = frame_of([rec(cell, 0, "fp32"), rec(other, 0, "fp32")])
    assert precision_notes(same) == [] and isinstance(same, pd.DataFrame)
