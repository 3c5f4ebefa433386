"""Canonical JSON and short hashes: the one way ids and cache keys are made."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, ``str`` for anything JSON does not know: same object, same text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def sha_parts(*parts: str | bytes) -> str:
    """sha256 hex of several parts, each followed by a record separator (no ambiguous joins)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\x1e")
    return h.hexdigest()


def short_hash(text: str, n: int = 12) -> str:
    """The first ``n`` hex digits of sha256(text)."""
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def json_hash(obj: Any, n: int = 16) -> str:
    """``short_hash`` of ``canonical_json(obj)``: cell ids (16) and config ids (12)."""
    return short_hash(canonical_json(obj), n)
