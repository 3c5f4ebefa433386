"""Record round trip, schema refusal, atomic writes."""

import json

import pytest

from bench.errors import SchemaError
from bench.record.io import read_record
from bench.record.schema import SCHEMA_VERSION
from bench.store import write_json_atomic


def test_round_trip(tmp_path):
    rec = {"schema_version": SCHEMA_VERSION, "cell_id": "x", "metrics": {"accuracy": 0.5}}
    path = write_json_atomic(tmp_path / "records" / "x.json", rec)
    assert read_record(path) == rec
    assert not list(path.parent.glob(".*.tmp"))


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(SchemaError, match="newer than this DomainBench supports"):
        read_record(path)


def test_not_a_record(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("{broken")
    with pytest.raises(SchemaError, match="unreadable record"):
        read_record(path)


def test_failed_write_leaves_old_file_intact(tmp_path):
    path = write_json_atomic(tmp_path / "r.json", {"schema_version": 1, "v": 1})

    class Boom:
        pass

    with pytest.raises(TypeError):
        import bench.store as r

        orig = r.json_default
        r.json_default = lambda o: (_ for _ in ()).throw(TypeError("no"))
        try:
            write_json_atomic(path, {"schema_version": 1, "v": Boom()})
        finally:
            r.json_default = orig
    assert json.loads(path.read_text())["v"] == 1
    assert not list(tmp_path.glob(".*.tmp"))
