"""Disk cache of prepared splits (issue 18: the largest fixed cost of a cell's process).

A task's splits (after cleaning, dedup, splitting, the task's limits and long tail) are stored
under ``BENCH_CACHE/prepared/`` as one JSON file, keyed like the data fingerprints: the task
spec, a cheap stamp of its raw source (bench.data.stamps.source_stamp: wheel RECORD
hashes, file size + mtime) and the data-preparation code (every ``bench/data/*.py``), so an
edited task file, changed raw files or changed code never read a stale entry. Written with the
one atomic writer (best effort: a cache that cannot be written only costs time); an unreadable
entry is ignored and rewritten.
"""

from __future__ import annotations

import json

import numpy as np

from bench.data.stamps import local_data_key
from bench.hashing import sha_parts
from bench.spec.task import SPLITS, HubSource, TaskSpec
from bench.store import cache_dir, write_atomic

FORMAT = 1  # bump when the file layout changes


def prepared_key(spec: TaskSpec, spec_json: str) -> str | None:
    """What the prepared splits depend on: spec, raw source stamp and data code. None (not
    cached) for Hub sources: ``datasets`` caches those itself, and a local copy of a Hub
    repository (``BENCH_HUB_DIR``) has no cheap stamp of its files."""
    if isinstance(spec.source, HubSource):
        return None
    return sha_parts(f"prepared/{FORMAT}", local_data_key(spec, spec_json))


def _path(key: str):
    return cache_dir("prepared") / f"{key[:32]}.json"


def read_prepared(key: str | None) -> dict | None:
    """The cached splits as plain data (``label_names``, ``stats``, ``splits``: name -> the
    fields of a bench.data.prepare.Split, labels as int64), or None (absent, unreadable, not cached)."""
    if key is None:
        return None
    try:
        doc = json.loads(_path(key).read_bytes())
        if doc.get("format") != FORMAT or doc.get("key") != key:
            return None
        splits = {n: {"texts": s["texts"], "labels": np.asarray(s["labels"], dtype=np.int64), "ids": s["ids"],
                      "domains": s["domains"]} for n, s in ((n, doc["splits"][n]) for n in SPLITS)}
        return {"label_names": doc["label_names"], "stats": doc["stats"], "splits": splits}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_prepared(key: str | None, data) -> None:
    """Store a TaskData's splits under ``key`` (best effort)."""
    if key is None:
        return
    doc = {"format": FORMAT, "key": key, "task": data.spec.name, "label_names": list(data.label_names),
           "stats": data.stats,
           "splits": {name: {"ids": s.ids, "texts": s.texts, "labels": s.labels.tolist(), "domains": s.domains}
                      for name, s in data.splits.items()}}
    write_atomic(_path(key), json.dumps(doc, ensure_ascii=False).encode("utf-8"), best_effort=True)
