"""bench perf's load guard (bench.perf.load): readings around a run, and ratios withheld when other
processes kept the machine busy. Load readings are faked; nothing here trains or times a model."""

from __future__ import annotations

import time

import pytest

from bench.perf.load import DEFAULT_MAX_LOAD, LoadWatch, ratio_verdict
from bench.perf.runners import Measure
from bench.perf.side_by_side import PerfConfig, format_report, perf_report


class FakeProbe:
    """A machine with a given load average and other processes using ``others`` cores."""

    def __init__(self, load: float, others: float = 0.0, own: float = 0.0, cores: int = 2) -> None:
        self.load, self.others, self.own, self._cores = load, others, own, cores
        self.t0 = time.perf_counter()

    def loadavg(self) -> float:
        return self.load

    def own_seconds(self) -> float:
        return self.own * (time.perf_counter() - self.t0)

    def busy_seconds(self) -> float:
        return (self.own + self.others) * (time.perf_counter() - self.t0)

    def cores(self) -> int:
        return self._cores


def watched(probe) -> dict:
    with LoadWatch(probe, interval=0.01) as w:
        time.sleep(0.05)
    return w.load.as_dict()


def test_watch_reads_before_during_after_and_separates_own_load():
    li = watched(FakeProbe(load=2.1, others=0.0, own=2.0))
    assert li["before"] == li["after"] == li["during_mean"] == 2.1
    assert li["own_cores"] == pytest.approx(2.0, rel=0.2) and li["others_cores"] == pytest.approx(0.0, abs=0.2)
    assert li["excess"] < 0.5  # a run keeping its own 2 threads busy is not "load"
    busy = watched(FakeProbe(load=6.0, others=3.0, own=2.0))
    assert busy["others_cores"] == pytest.approx(3.0, rel=0.2) and busy["excess"] == pytest.approx(4.0, rel=0.2)


def test_verdict_threshold_per_core():
    quiet, loud = {"excess": 0.3, "during_mean": 2.3, "others_cores": 0.1}, {"excess": 1.2, "during_mean": 3.2,
                                                                            "others_cores": 1.2}
    assert ratio_verdict([quiet], cores=2, max_load=DEFAULT_MAX_LOAD)[0] is True  # 0.15 per core
    ok, why = ratio_verdict([quiet, loud], cores=2, max_load=DEFAULT_MAX_LOAD)  # 0.6 per core
    assert not ok and "withheld" in why and "0.60 per core" in why
    assert ratio_verdict([loud], cores=2, max_load=1.0)[0] is True
    assert ratio_verdict([], cores=2, max_load=1.0)[0] is False


def fake_runs(load_info: dict) -> dict:
    def m(runner, wall, train):
        return Measure(runner, wall, train, 32, 3200, 4000, "fp32", 0.5, 0.4, 1.0, load_info["during_mean"], load_info)

    return {"seed": [m("seed", 90, 70), m("seed", 88, 72)], "bench": [m("bench", 60, 50), m("bench", 62, 48)],
            "bare": [m("bare", 55, 47), m("bare", 57, 49)]}


def test_report_prints_ratios_only_when_idle(monkeypatch):
    import bench.perf.side_by_side as sbs

    monkeypatch.setattr(sbs, "machine", lambda: {"cpu": "fake", "cores": 2, "torch_threads": 2, "torch": "x",
                                                  "gpu": None, "cpu_bf16": False})
    cfg = PerfConfig(repeats=2)
    idle = watched(FakeProbe(load=0.1, others=0.05, own=2.0))
    rep = perf_report(cfg, fake_runs(idle), {"fp32": 100.0, "bf16": 200.0}, 1e12, cores=2)
    text = format_report(rep)
    assert rep["load_verdict"]["ok"] and rep["ratios"]["b/a wall"] == pytest.approx(61 / 89)
    assert "b/a wall 0.69x" in text and "withheld" not in text
    busy = watched(FakeProbe(load=8.0, others=5.0, own=2.0))
    rep = perf_report(cfg, fake_runs(busy), {"fp32": 100.0, "bf16": 200.0}, 1e12, cores=2)
    text = format_report(rep)
    assert not rep["load_verdict"]["ok"] and rep["ratios"] == {} and rep["ratios_withheld"]["b/a wall"] > 0
    assert "ratios withheld" in text and "b/a wall" not in text and "rerun on an idle machine" in text
    assert "60.0" in text or "61.0" in text  # the medians themselves are still shown


def test_cli_perf_rejects_negative_max_load(capsys):
    from bench.cli import main

    assert main(["perf", "--max-load", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--max-load" in err[0]


def test_fast_path_defaults_are_one_line_flips(monkeypatch, tmp_path):
    """Length grouping's default lives in one constant; CPU bf16 for auto is measured per machine
    (bench.fit.calibrate, tests/test_calibrate.py) and bf16 needs native support (issues 18, 25)."""
    import bench.fit.calibrate as calibrate
    import bench.fit.device as device
    from bench.spec.cell import GROUP_BY_LENGTH_DEFAULT, TrainParams

    assert TrainParams().group_by_length is GROUP_BY_LENGTH_DEFAULT
    monkeypatch.delenv("BENCH_BF16", raising=False)
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(device, "cpu_supports_bf16", lambda: True)
    monkeypatch.setattr(calibrate, "measure_cpu", lambda: dict.fromkeys(
        ("matmul_fp32_s", "step_fp32_s"), 1.0) | dict.fromkeys(("matmul_bf16_s", "step_bf16_s"), 0.5))
    assert device.resolve_precision("auto", "cpu") == "bf16" and device.resolve_precision("fp32", "cpu") == "fp32"
    monkeypatch.setattr(device, "cpu_supports_bf16", lambda: False)  # no native bf16: auto stays fp32
    assert device.resolve_precision("auto", "cpu") == "fp32"
