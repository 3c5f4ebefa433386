"""Issue 18: the disk cache of prepared splits (bench.data.prepared). A second preparation in a
fresh process reads the cache and gives identical splits; a changed task spec, changed raw file
or unreadable entry prepares again."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.conftest import balanced_rows


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """BENCH_CACHE in tmp_path; returns a list that grows by one per real preparation."""
    import bench.data.prepare as prepare

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    calls: list[str] = []
    real = prepare._prepare

    def spy(spec):
        calls.append(spec.name)
        return real(spec)

    monkeypatch.setattr(prepare, "_prepare", spy)
    prepare._load_cached.cache_clear()  # as in a fresh process
    yield calls
    prepare._load_cached.cache_clear()


def _load(path):
    from bench.data.prepare import _load_cached, load_task_data
    from bench.spec.task import load_task_file

    _load_cached.cache_clear()  # each load as in a fresh process: only the disk cache remains
    return load_task_data(load_task_file(path))


def _same(a, b) -> None:
    assert a.label_names == b.label_names and a.stats == b.stats and a.fingerprint() == b.fingerprint()
    for name in ("train", "validation", "test"):
        x, y = a.splits[name], b.splits[name]
        assert x.ids == y.ids and x.texts == y.texts and x.domains == y.domains
        assert x.labels.dtype == y.labels.dtype == np.int64 and np.array_equal(x.labels, y.labels)


def test_second_preparation_reads_the_cache_and_is_identical(csv_task, counted, tmp_path):
    rows = balanced_rows(15, ("a", "b", "c")) + [("document number 1 about a things a", "a")]  # a duplicate
    task = csv_task(rows)
    first = _load(task)
    assert counted == ["t"] and first.stats["duplicates_removed"] == 1
    assert len(list((tmp_path / "cache" / "prepared").glob("*.json"))) == 1
    again = _load(task)
    assert counted == ["t"]  # read from disk, not prepared again
    _same(first, again)


def test_a_changed_spec_or_raw_file_prepares_again(csv_task, counted, tmp_path):
    task = csv_task(balanced_rows(15))
    base = _load(task)
    text = task.read_text()
    task.write_text(text.replace("validation: 0.2", "validation: 0.3"))
    other = _load(task)
    assert counted == ["t", "t"] and len(other.splits["validation"]) > len(base.splits["validation"])
    task.write_text(text)
    _same(_load(task), base)  # the original spec's entry is still there
    assert counted == ["t", "t"]
    data = tmp_path / "data.csv"
    data.write_text(data.read_text() + "one more document about b,b\n")
    st = data.stat()
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    grown = _load(task)
    assert counted == ["t", "t", "t"] and sum(map(len, grown.splits.values())) == 31


def test_an_unreadable_entry_is_prepared_again(csv_task, counted, tmp_path):
    task = csv_task(balanced_rows(15))
    base = _load(task)
    (entry,) = (tmp_path / "cache" / "prepared").glob("*.json")
    entry.write_text('{"format": 1, "splits": ')  # truncated
    _same(_load(task), base)
    assert counted == ["t", "t"]
    _same(_load(task), base)  # rewritten: read again
    assert counted == ["t", "t"]
