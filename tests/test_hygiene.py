"""Process hygiene (issue 15, part 3): file modes from the umask, unloadable models refused
at validation, interrupts (see test_interrupts.py)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from bench.store import write_atomic, write_json_atomic


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writer_gives_the_umask_mode(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        rec = write_json_atomic(tmp_path / "records" / "a.json", {"x": 1})
        raw = write_atomic(tmp_path / "b.bin", b"x")
    finally:
        os.umask(old)
    assert _mode(rec) == expected
    assert _mode(raw) == expected
    assert not [p for p in tmp_path.rglob(".*.tmp")]  # no temp file left


def test_record_and_baseline_modes_through_the_cli(tmp_path):
    """A real record and a real baseline written by the CLI under umask 022 are 0644."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    script = ("import os, sys; os.umask(0o022); from bench.cli import main; "
              "sys.exit(main(sys.argv[1:]))")
    run = [sys.executable, "-c", script]
    out = tmp_path / "res"
    subprocess.run(run + ["run", "--task", "bbc-news", "--model", "tfidf-logreg", "--limit-train", "60",
                          "--limit-eval", "40", "--out", str(out)], check=True, env=env, capture_output=True)
    subprocess.run(run + ["baseline", "--results", str(out), "--out", str(tmp_path / "b.json")],
                   check=True, env=env, capture_output=True)
    (rec,) = list((out / "records").glob("*.json"))
    assert _mode(rec) == 0o644
    assert _mode(tmp_path / "b.json") == 0o644
