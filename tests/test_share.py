"""No cell trained twice (bench.run.share), per-phase timings and the cheap latency probe.

Training runs are counted by wrapping the fitter functions (FITTERS looks them up at call time)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli import main
from bench.components.imbalance import IMBALANCE, ImbalanceStrategy
from bench.errors import ConfigError
from bench.run.ids import plan_cell
from bench.run.share import training_id
from bench.spec.cell import Cell, TrainParams
from bench.spec.named import build
from tests.conftest import write


def imbalanced_rows():
    words = {"a": "alpha apple", "b": "beta banana", "c": "gamma cherry"}
    counts = {"a": 30, "b": 10, "c": 6}
    return [(f"note {i} on {words[lab]} {'x' * (i % 5)} {lab}", lab) for lab, n in counts.items() for i in range(n)]


@pytest.fixture
def task(csv_task):
    return csv_task(imbalanced_rows(), name="skewed3")


@pytest.fixture
def count_fits(monkeypatch):
    """Counts calls of the classical and transformer fitters (each call = one training)."""
    import bench.fit.classical as classical
    import bench.fit.transformer as transformer

    calls: list[str] = []
    for mod, name in ((classical, "fit_classical"), (transformer, "fit_transformer")):
        real = getattr(mod, name)

        def counted(job, _real=real):
            calls.append(job.cell.imbalance)
            return _real(job)

        monkeypatch.setattr(mod, name, counted)
    monkeypatch.setenv("BENCH_SHARE_TRAINING", "1")  # restored after the test (the CLI may set it to 0)
    monkeypatch.setenv("BENCH_LATENCY_DOCS", "")
    return calls


def records(out) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}


def matrix(tmp_path, task, body: str) -> str:
    return str(write(tmp_path / "m.yaml", f"name: m\ntasks: [{task}]\n{body}"))


TINY = ("models: [tiny-bert]\nmax_length: [32]\nimbalance: [none, logit_adjust]\nseeds: [0, 1]\n"
        "train: {batch_size: 16, latency_docs: 2, precision: fp32}\nbudget: {epochs: 1}\n")


def by_config(recs: dict) -> dict[tuple, dict]:
    return {(r["cell"]["imbalance"], r["cell"]["seed"]): r for r in recs.values()}


def test_post_hoc_strategies_train_like_none():
    """A strategy declaring changes_training=False must not touch what training sees."""
    base = ImbalanceStrategy
    post_hoc = [n for n in IMBALANCE.names() if not IMBALANCE.get(n).changes_training]
    assert "logit_adjust" in post_hoc and "none" not in post_hoc
    for name in post_hoc:
        cls = IMBALANCE.get(name)
        for hook in ("_fit_resample", "loss", "combine", "n_members"):
            assert getattr(cls, hook) is getattr(base, hook), f"{name} overrides {hook} but says it trains like none"
        assert cls.members == 1
    assert build(IMBALANCE, "logit_adjust", {"tau": 1.0}).training_key() == build(IMBALANCE, "none").training_key()
    assert build(IMBALANCE, "class_weight").training_key() != build(IMBALANCE, "none").training_key()


def test_training_id_covers_training_and_nothing_after_it():
    cell = Cell(task="drugs-sentiment", model="tiny-bert", train=TrainParams(limit_train=40, limit_eval=20))

    def tid(c: Cell) -> str:
        return training_id(plan_cell(c), build(IMBALANCE, c.imbalance, c.imbalance_params))

    base = tid(cell)
    assert tid(cell.with_(imbalance="logit_adjust", imbalance_params={"tau": 2.0})) == base
    assert tid(cell.with_(train=cell.train.with_(latency_docs=3))) == base  # evaluation only
    for other in (cell.with_(seed=1), cell.with_(imbalance="class_weight"), cell.with_(max_length=64),
                  cell.with_(train=cell.train.with_(limit_train=42)), cell.with_(context="tail"),
                  cell.with_(train=cell.train.with_(learning_rate=1e-3))):
        assert tid(other) != base, other


def test_matrix_trains_each_configuration_once(tmp_path, task, count_fits, capsys):
    out = tmp_path / "shared_on"
    assert main(["run", "--matrix", matrix(tmp_path, task, TINY), "--out", str(out)]) == 0, capsys.readouterr().err
    assert len(count_fits) == 2  # 4 cells, 2 trainings: logit_adjust reused none's, per seed
    recs = by_config(records(out))
    for seed in (0, 1):
        none, la = recs[("none", seed)], recs[("logit_adjust", seed)]
        assert none["training"]["sharing"] == "trained" and none["training"]["shared_with"] is None
        assert la["training"] == {"training_id": none["training"]["training_id"], "shared_with": none["cell_id"],
                                  "sharing": "reused"}
        assert la["timing"]["training_reused"] is True and none["timing"]["training_reused"] is False
        assert "train" not in la["timing"]["phases"] and none["timing"]["phases"]["train"] >= 0
        assert la["imbalance"]["adjustment"]["tau"] is not None
    assert (out / "shared" / f"{recs[('none', 0)]['training']['training_id']}.npz").is_file()

    count_fits.clear()
    off = tmp_path / "shared_off"
    assert main(["run", "--matrix", matrix(tmp_path, task, TINY), "--out", str(off), "--no-share-training"]) == 0
    assert len(count_fits) == 4 and not (off / "shared").exists()
    unshared = by_config(records(off))
    for key, rec in recs.items():  # sharing changes nothing but the training count
        assert rec["metrics"] == unshared[key]["metrics"], key
        assert rec["predictions"] == unshared[key]["predictions"], key
        assert unshared[key]["training"]["sharing"] == "off"


def test_resumed_run_reuses_training(tmp_path, task, count_fits, capsys):
    out, m = tmp_path / "out", matrix(tmp_path, task, TINY)
    assert main(["run", "--matrix", m, "--out", str(out), "--only", "imbalance=none"]) == 0
    assert count_fits == ["none", "none"]
    assert main(["run", "--matrix", m, "--out", str(out)]) == 0, capsys.readouterr().err
    assert count_fits == ["none", "none"]  # the second run trained nothing
    recs = by_config(records(out))
    assert all(recs[("logit_adjust", s)]["training"]["shared_with"] == recs[("none", s)]["cell_id"] for s in (0, 1))


def test_broken_shared_entry_is_a_miss(tmp_path, task, count_fits, capsys):
    out, m = tmp_path / "out", matrix(tmp_path, task, TINY.replace("[0, 1]", "[0]"))
    assert main(["run", "--matrix", m, "--out", str(out), "--only", "imbalance=none"]) == 0
    metas = sorted((out / "shared").glob("*.json"))
    metas[0].write_text("{not json")
    assert main(["run", "--matrix", m, "--out", str(tmp_path / "other"), "--only", "imbalance=none"]) == 0
    arrays = sorted((tmp_path / "other" / "shared").glob("*.npz"))[0]
    arrays.write_bytes(arrays.read_bytes()[:-8] + b"\0" * 8)  # arrays of another write: checksum differs
    assert main(["run", "--matrix", m, "--out", str(tmp_path / "other")]) == 0
    assert count_fits == ["none", "none", "logit_adjust"]
    assert main(["run", "--matrix", m, "--out", str(out)]) == 0, capsys.readouterr().err
    assert count_fits == ["none", "none", "logit_adjust", "logit_adjust"]  # trained again instead of failing
    assert by_config(records(out))[("logit_adjust", 0)]["training"]["sharing"] == "trained"


def test_transformer_phases_sharing_and_latency_probe(tmp_path, task, count_fits, capsys):
    body = ("models: [tiny-bert]\nmax_length: [32]\nimbalance: [none, logit_adjust]\n"
            "train: {batch_size: 8, latency_docs: 32, precision: fp32}\nbudget: {epochs: 1}\n")
    out = tmp_path / "out"
    assert main(["run", "--matrix", matrix(tmp_path, task, body), "--out", str(out)]) == 0, capsys.readouterr().err
    assert count_fits == ["none"]
    recs = by_config(records(out))
    none, la = recs[("none", 0)], recs[("logit_adjust", 0)]
    phases = none["timing"]["phases"]
    assert {"validate", "data", "model_load", "tokenize", "train", "predict", "latency", "metrics", "record"} <= set(phases)
    assert all(v >= 0 for v in phases.values())
    assert sum(phases.values()) <= none["timing"]["wall_seconds"] * 1.01
    n_test = len(none["predictions"]["ids"])
    assert none["timing"]["latency_docs_timed"] == min(8, n_test)  # cheap by default: at most 8 of the cell's 32
    assert none["timing"]["test_ms_per_doc"] > 0
    assert la["training"]["shared_with"] == none["cell_id"]
    assert la["timing"]["train_seconds"] == none["timing"]["train_seconds"]  # what this training cost, once
    p_none, p_la = np.asarray(none["predictions"]["proba"]), np.asarray(la["predictions"]["proba"])
    assert p_none.shape == p_la.shape


def test_latency_docs_option(monkeypatch, capsys):
    from bench.fit.options import latency_docs

    monkeypatch.setenv("BENCH_LATENCY_DOCS", "")
    assert latency_docs(32) == 8 and latency_docs(4) == 4 and latency_docs(0) == 0
    monkeypatch.setenv("BENCH_LATENCY_DOCS", "50")
    assert latency_docs(32) == 50
    monkeypatch.setenv("BENCH_LATENCY_DOCS", "many")
    with pytest.raises(ConfigError, match="BENCH_LATENCY_DOCS"):
        latency_docs(32)
    assert main(["run", "--task", "drugs-sentiment", "--latency-docs", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--latency-docs" in err[0]


def test_single_cell_run_reuses_and_says_so(tmp_path, task, count_fits, capsys):
    args = ["run", "--task", str(task), "--model", "tiny-bert", "--max-length", "32", "--epochs", "1",
            "--precision", "fp32", "--out", str(tmp_path / "out")]
    assert main([*args, "--imbalance", "none"]) == 0
    none_out = capsys.readouterr().out
    assert main([*args, "--imbalance", "logit_adjust:tau=1.0"]) == 0
    out = capsys.readouterr().out
    assert count_fits == ["none"] and "training reused from cell" in " ".join(out.split())
    assert "training reused" not in none_out


def test_dry_run_counts_trainings(tmp_path, task, count_fits, capsys):
    m = matrix(tmp_path, task, TINY)
    assert main(["run", "--matrix", m, "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    assert "4 cells need 2 trainings (2 reuse" in capsys.readouterr().out
    assert main(["run", "--matrix", m, "--out", str(tmp_path / "o"), "--dry-run", "--no-share-training"]) == 0
    assert "shared training: off" in capsys.readouterr().out and count_fits == []
