"""A lock file is never seen empty: it appears with its owner's info or not at all (a runner killed
by SIGKILL mid-create used to leave an empty lock that blocked the cell for BENCH_LOCK_STALE_S)."""

import json
import os

import bench.run.lock as lock
from bench.run.lock import CellLock, lock_free


def test_lock_appears_with_its_content_and_leaves_no_temp_file(tmp_path, monkeypatch):
    seen = []
    real_link = os.link

    def spy(src, dst):  # the content is in place before the lock's name exists
        seen.append((json.loads(open(src).read()), os.path.exists(dst)))
        return real_link(src, dst)

    monkeypatch.setattr(lock.os, "link", spy)
    with CellLock(tmp_path, "abc") as got:
        assert got and seen[0][0]["pid"] == os.getpid() and seen[0][1] is False
        assert json.loads((tmp_path / "abc.lock").read_text()) == seen[0][0]
        assert not lock_free(tmp_path, "abc")
        with CellLock(tmp_path, "abc") as again:  # a live owner holds it
            assert not again
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_without_hard_links_it_falls_back_to_o_excl(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(lock.os, "link", no_links)
    with CellLock(tmp_path, "abc") as got:
        assert got and json.loads((tmp_path / "abc.lock").read_text())["pid"] == os.getpid()
        with CellLock(tmp_path, "abc") as again:
            assert not again
    assert not list(tmp_path.iterdir())
