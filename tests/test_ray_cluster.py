"""A real two-node Ray cluster on this machine: a head and a second node joined with `ray start --address`,
each with its own temp dir and one CPU, sharing one results folder. A race runs across both nodes; every
planned cell runs at most once, and the records say which node ran each."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.conftest import balanced_rows, need, write

pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.slow]  # Ray start-up of two nodes: ~30 s

MATRIX = """name: two-nodes
tasks: [{task}]
models: [tfidf-logreg]
context: [full]
imbalance: [none, class_weight, "oversample:sampling_strategy=1.0", undersample]
seeds: [0, 1, 2]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray(*args: str, env: dict) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).with_name("ray")), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)


def _kill_under(root: str) -> None:
    """Stop the Ray processes of this cluster only (their command lines name its temp dirs): `ray stop`
    would also stop any other Ray instance of the user's on this machine."""
    import psutil

    for proc in psutil.process_iter(["pid", "cmdline"]):
        if proc.info["pid"] != os.getpid() and root in " ".join(proc.info["cmdline"] or []):
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.Error:
                pass


@pytest.fixture
def two_nodes(tmp_path):
    """(address, env) of a head and a second node, both `ray start` processes of this machine, with the
    cluster's own auth token; stopped (only these) at the end."""
    need("ray")
    need("psutil")
    from ray._private.services import get_node_ip_address

    root = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # short: Ray's unix socket paths must fit 107 bytes
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": uuid.uuid4().hex, "RAY_USAGE_STATS_ENABLED": "0"}
    ip, port = get_node_ip_address(), _free_port()
    common = ["--num-cpus", "1", "--num-gpus", "0", "--node-ip-address", ip, "--disable-usage-stats"]
    try:
        head = _ray("start", "--head", "--port", str(port), "--include-dashboard", "false",
                    "--temp-dir", f"{root}/head", *common, env=env)
        assert head.returncode == 0, head.stdout + head.stderr
        node = _ray("start", "--address", f"{ip}:{port}", "--temp-dir", f"{root}/node", *common, env=env)
        assert node.returncode == 0, node.stdout + node.stderr
        yield f"{ip}:{port}", env
    finally:
        _kill_under(root)
        shutil.rmtree(root, ignore_errors=True)


def _bench(args: list[str], env: dict) -> subprocess.CompletedProcess:
    """The CLI as a user runs it against the cluster: its own process, the cluster's token in its environment."""
    return subprocess.run([sys.executable, "-m", "bench", *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.timeout(600)
def test_race_across_two_ray_nodes(two_nodes, tmp_path, csv_task):
    address, env = two_nodes
    task = csv_task(balanced_rows(40, labels=("good", "bad", "ugly")), name="twonodes")
    m = write(tmp_path / "m.yaml", MATRIX.format(task=task))
    out = tmp_path / "out"
    args = ["run", "--matrix", str(m), "--out", str(out), "--race", "--executor", "ray", "--address", address,
            "--race-resamples", "300", "--min-seeds", "1"]
    done = _bench(args, env)
    assert done.returncode == 0, done.stderr[-3000:]
    recs = [json.loads(p.read_text()) for p in (out / "records").glob("*.json")]
    ids = [r["cell_id"] for r in recs]
    assert len(ids) == len(set(ids)) and {r["status"] for r in recs} == {"ok"}
    assert len({r["worker"]["ray_node"] for r in recs}) == 2  # cells ran on both nodes
    assert os.getpid() not in {r["worker"]["pid"] for r in recs}
    race = json.loads((out / "race.json").read_text())
    ran = sum(len(v) for v in race["ran"].values())
    assert ran == len(recs)  # each cell the race ran has exactly one record: none ran twice
    assert ran + len(race["not_run"]) == 12  # the others are accounted for as raced away
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "records").glob("*.json")}
    again = _bench(args, env)  # resume on the cluster: nothing reruns
    assert again.returncode == 0, again.stderr[-3000:]
    assert {p.name: p.stat().st_mtime_ns for p in (out / "records").glob("*.json")} == stamps
