"""Disk caches under ``BENCH_CACHE`` (default ``~/.cache/domainbench``).

- **data fingerprints** (for cell ids): a task's processed-data fingerprint, keyed by the task
  spec, a cheap stamp of its raw source (wheel RECORD hashes, file size + mtime, or the pinned
  Hub revision) and the data-processing code, so a cell id covers the data without loading it.
- **tokenised texts**: whole-text token ids keyed by the tokenizer identity and the texts
  themselves (content-addressed: never stale), reused across cells, context policies and runs.
- **tokenizers**: loaded once per worker process.
- **prepared splits**: bench.data.prepared (the stamps: bench.data.stamps).
"""

from __future__ import annotations

from pathlib import Path

from bench.data.stamps import _code_stamp, code_stamp, local_data_key, source_stamp  # noqa: F401 - re-exported
from bench.hashing import sha_parts, short_hash
from bench.spec.task import HubSource, TaskSpec
from bench.store import cache_dir, write_atomic

_SPECS: dict[tuple, tuple[TaskSpec, str]] = {}


def task_identity(name: str) -> dict[str, str]:
    """What a task name stands for in a cell id: version, spec hash and data fingerprint.
    Task files are parsed once per (path, mtime, size); data stamps are re-checked every call."""
    from bench.spec.task import get_task

    path = Path(name)
    if name.endswith((".yaml", ".yml")) and path.is_file():
        st = path.stat()
        key: tuple = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    else:
        key = (name,)  # registered tasks: bench.spec.task caches the registry per process
    hit = _SPECS.get(key)
    if hit is None:
        spec = get_task(name)
        hit = _SPECS[key] = (spec, spec.model_dump_json())
    spec, spec_json = hit
    return {"version": spec.version, "spec_sha": short_hash(spec_json, 16),
            "data": data_fingerprint(spec, spec_json)}


def data_fingerprint(spec: TaskSpec, spec_json: str | None = None) -> str:
    """The task's processed-data fingerprint (what records carry as ``task.fingerprint``).

    Hub sources are pinned to an immutable revision, so their fingerprint is that pin (no
    download just to name a cell). Others load once per stamp, then come from the disk cache.
    """
    if isinstance(spec.source, HubSource):
        return "hub-" + sha_parts(spec_json or spec.model_dump_json(), _code_stamp())[:12]
    return _fingerprint(local_data_key(spec, spec_json or spec.model_dump_json()), spec)


_FP: dict[str, str] = {}


def _fingerprint(key: str, spec: TaskSpec) -> str:
    if key in _FP:
        return _FP[key]
    path = cache_dir("fingerprints") / key[:32]
    try:
        fp = path.read_text().strip()
    except OSError:
        fp = ""
    if not fp:
        from bench.data.prepare import _load_cached

        # bypass data.py's in-process cache: it keys on the spec alone, not on the files' state
        fp = _load_cached.__wrapped__(spec.model_dump_json(), spec.path).fingerprint()
        write_atomic(path, fp.encode(), best_effort=True)
    _FP[key] = fp
    return fp


