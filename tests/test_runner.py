"""The matrix runner end to end: resume, failure isolation, --retry-failed, kill -9 safety, two
concurrent runners, locks, dry run, bad input. Tiny tasks and tiny models: seconds per cell."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import ClassVar

import numpy as np
import pytest

from bench.cli import main
from bench.components.imbalance import IMBALANCE, ImbalanceStrategy, Resampling
from bench.run.lock import CellLock
from tests.conftest import ROOT, balanced_rows, write

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "BENCH_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
LINE = re.compile(r"\] (ok|failed)\s+([0-9a-f]{16}) ")


@pytest.fixture
def task(csv_task):
    return csv_task(balanced_rows(12, labels=("a", "b", "c")), name="tiny3")


def matrix(tmp_path, task, body: str, name="m") -> str:
    return str(write(tmp_path / f"{name}.yaml", f"name: {name}\ntasks: [{task}]\n{body}"))


TFIDF = "models: [tfidf-logreg]\ncontext: [full]\nimbalance: [none, class_weight]\nseeds: [0, 1]\n"
TINY = ("models: [tiny-bert]\nmax_length: [32]\nseeds: [0, 1, 2, 3]\n"
        "train: {batch_size: 8, latency_docs: 2}\nbudget: {epochs: 1}\n")


def records(out) -> dict[str, dict]:
    folder = out / "records"
    recs = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    for cid, rec in recs.items():
        assert rec["cell_id"] == cid and rec["status"] in ("ok", "failed")
    return recs


def run(capsys, *args):
    code = main(["run", *args])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_resume_skips_finished_cells(tmp_path, task, capsys):
    m, out = matrix(tmp_path, task, TFIDF), tmp_path / "out"
    code, stdout, stderr = run(capsys, "--matrix", m, "--out", str(out))
    assert code == 0, stderr
    recs = records(out)
    assert len(recs) == 4 and {r["status"] for r in recs.values()} == {"ok"}
    assert "leaderboard" in stdout and "tfidf-logreg · full · class_weight" in stdout
    stamps = {p: p.stat().st_mtime_ns for p in (out / "records").glob("*.json")}
    code, stdout, _ = run(capsys, "--matrix", m, "--out", str(out))
    assert code == 0 and re.search(r"skipped: ok record exists\s*│\s*4", stdout)
    assert stamps == {p: p.stat().st_mtime_ns for p in (out / "records").glob("*.json")}
    assert not list((out / "locks").iterdir())


class Explode(ImbalanceStrategy):
    summary = "test only: fails while armed"
    armed: ClassVar[bool] = True

    def _fit_resample(self, labels, num_classes, rng):
        if Explode.armed:
            raise RuntimeError("boom: deliberate failure")
        return Resampling(indices=np.arange(len(labels)))


@pytest.fixture
def explode():
    IMBALANCE.add("explode", Explode)
    Explode.armed = True
    yield Explode
    del IMBALANCE._items["explode"]


def test_failing_cell_does_not_stop_the_matrix_and_retry_failed(tmp_path, task, capsys, explode):
    m = matrix(tmp_path, task, "models: [tfidf-logreg]\ncontext: [full]\nimbalance: [explode, none]\nseeds: [0, 1]\n")
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "--matrix", m, "--out", str(out))
    assert code == 1
    recs = records(out)
    failed = {k: r for k, r in recs.items() if r["status"] == "failed"}
    assert len(recs) == 4 and len(failed) == 2  # the cells after the failing ones still ran
    assert all("boom: deliberate failure" in r["error"]["traceback_tail"] for r in failed.values())
    assert re.search(r"ran: failed\s*│\s*2", stdout) and "failed cells" in stdout
    code, stdout, _ = run(capsys, "--matrix", m, "--out", str(out))  # failed cells are not rerun by default
    assert code == 1 and re.search(r"failed earlier \(--retry-failed reruns\)\s*│\s*2", stdout)
    assert {k: r["status"] for k, r in records(out).items()} == {k: r["status"] for k, r in recs.items()}
    explode.armed = False
    code, stdout, _ = run(capsys, "--matrix", m, "--out", str(out), "--retry-failed")
    assert code == 0 and re.search(r"ran: ok\s*│\s*2", stdout)
    assert {r["status"] for r in records(out).values()} == {"ok"}


def _bench(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "bench", "run", *args], cwd=ROOT, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_sigkill_mid_matrix_then_rerun(tmp_path, task):
    m, out = matrix(tmp_path, task, TINY), tmp_path / "out"
    proc = _bench(["--matrix", m, "--out", str(out)], start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:  # kill while a cell holds its lock, after one record
        if list((out / "records").glob("*.json")) and list((out / "locks").glob("*.lock")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the runner finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = records(out)
    assert 1 <= len(before) < 4 and list((out / "locks").glob("*.lock"))  # a dead runner's lock is left
    rerun = _bench(["--matrix", m, "--out", str(out)])
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    after = records(out)
    assert len(after) == 4 and {r["status"] for r in after.values()} == {"ok"}
    assert all(after[k] == before[k] for k in before)  # finished records were not redone
    ran = {cid for _, cid in LINE.findall(stderr)}
    assert ran == set(after) - set(before)
    assert not list((out / "locks").glob("*.lock"))


def test_two_concurrent_runners_run_each_cell_once(tmp_path, task):
    m, out = matrix(tmp_path, task, TINY), tmp_path / "out"
    procs = [_bench(["--matrix", m, "--out", str(out)]) for _ in range(2)]
    results = [p.communicate(timeout=400) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1][-2000:] for r in results]
    ran = [{cid for status, cid in LINE.findall(err) if status == "ok"} for _, err in results]
    recs = records(out)
    assert len(recs) == 4 and {r["status"] for r in recs.values()} == {"ok"}
    assert ran[0] | ran[1] == set(recs) and not ran[0] & ran[1]


def test_process_executor(tmp_path, task, capsys):
    m, out = matrix(tmp_path, task, TFIDF), tmp_path / "out"
    code, stdout, stderr = run(capsys, "--matrix", m, "--out", str(out), "--executor", "process", "--workers", "2")
    assert code == 0, stderr
    recs = records(out)
    assert len(recs) == 4 and {r["status"] for r in recs.values()} == {"ok"}
    seq = tmp_path / "seq"
    assert run(capsys, "--matrix", m, "--out", str(seq))[0] == 0
    for cid, rec in records(seq).items():  # same cells, same metrics wherever they ran
        assert recs[cid]["metrics"] == rec["metrics"]


def test_dry_run_lists_cells_ids_and_estimate(tmp_path, task, capsys):
    m, out = matrix(tmp_path, task, TFIDF), tmp_path / "out"
    code, stdout, _ = run(capsys, "--matrix", m, "--out", str(out), "--dry-run", "--only", "seed=1")
    assert code == 0
    assert len(re.findall(r"\b[0-9a-f]{16}\b", stdout)) == 2 and "estimated" in stdout and " run " in stdout
    assert not out.exists()


def test_stale_lock_is_broken_live_lock_is_respected(tmp_path):
    import socket

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    write(tmp_path / "abc.lock", json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout), "start": 1.0}))
    with CellLock(tmp_path, "abc") as got:
        assert got  # the owner is gone: the lock was broken and taken
        with CellLock(tmp_path, "abc") as again:
            assert not again  # a live owner (this process) keeps it
    assert not (tmp_path / "abc.lock").exists()


@pytest.mark.parametrize("body, extra, message", [
    (TFIDF + "exclude: [{model: tfidf-logreg}]\n", [], "the matrix is empty after excludes"),
    (TFIDF, ["--only", "seed=9"], "empty after --only"),
    ("models: [tfidf-logreg]\nimbalance: [nonee]\n", [], "did you mean 'none'"),
    ("models: [minilm-l7]\n", [], "did you mean 'minilm-l6'"),
    (TFIDF, ["--task", "x.yaml"], "unknown task 'x.yaml'"),  # --task replaces the matrix's tasks
    (TFIDF, ["--executor", "ray", "--address", "127.0.0.1:9"], "cannot reach a Ray cluster at 127.0.0.1:9"),
])
def test_bad_input_one_line_exit_2(tmp_path, task, capsys, body, extra, message):
    m, out = matrix(tmp_path, task, body), tmp_path / "out"
    code, _, stderr = run(capsys, "--matrix", m, "--out", str(out), *extra)
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and message in stderr, stderr
    assert not list(out.rglob("*.json"))


def test_missing_task_and_newer_schema(tmp_path, task, capsys):
    m = matrix(tmp_path, "bbc-nwes", TFIDF)
    code, _, stderr = run(capsys, "--matrix", m, "--out", str(tmp_path / "o"))
    assert code == 2 and "unknown task 'bbc-nwes'; did you mean 'bbc-news'" in stderr
    out = tmp_path / "out"
    write(out / "records" / "0123456789abcdef.json", json.dumps({"schema_version": 99, "status": "ok"}))
    code, _, stderr = run(capsys, "--matrix", matrix(tmp_path, task, TFIDF), "--out", str(out))
    assert code == 2 and "schema_version 99 is newer" in stderr and len(stderr.strip().splitlines()) == 1
    assert len(list((out / "records").glob("*.json"))) == 1


def test_tokenised_text_cache(tmp_path, monkeypatch):
    from bench.components.models import get_model
    from bench.fit.tokens import tokenize, tokenize_cached, tokenizer_for

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path))
    tok = tokenizer_for(get_model("tiny-bert"))
    texts = ["a medicine that worked", "", "terrible side effects " * 50]
    first = tokenize_cached(tok, "tiny", texts)
    assert first == tokenize(tok, texts)
    files = list((tmp_path / "tokens").glob("*.npz"))
    assert len(files) == 1
    assert tokenize_cached(tok, "tiny", texts) == first  # read back from disk
    assert tokenize_cached(tok, "other-tokenizer", texts) == first and len(list((tmp_path / "tokens").iterdir())) == 2
