"""Tokenisation: whole-text token ids, cached on disk by tokenizer + texts; one tokenizer per model per process."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bench.hashing import sha_parts
from bench.store import cache_dir, write_atomic


@lru_cache(maxsize=4)
def tokenizer_for(mspec):
    """One tokenizer per model (a frozen ModelSpec) per worker process."""
    from bench.fit.loading import load_tokenizer

    return load_tokenizer(mspec)


def tokenize_cached(tokenizer, ident: str, texts: list[str]) -> list[list[int]]:
    """Whole-text token ids (bench.fit.tokens.tokenize), cached on disk by tokenizer + texts."""
    pass

    key = sha_parts(ident, type(tokenizer).__name__, str(len(tokenizer)), "\x1f".join(texts))[:40]
    path = cache_dir("tokens") / f"{key}.npz"
    try:
        with np.load(path) as z:
            flat, offsets = z["ids"], z["offsets"]
        if len(offsets) == len(texts) + 1:
            return [flat[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    except (OSError, KeyError, ValueError):
        pass
    ids = tokenize(tokenizer, texts)
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in ids])]).astype(np.int64)
    flat = np.fromiter((t for x in ids for t in x), dtype=np.int64, count=int(offsets[-1]))
    import io

    buf = io.BytesIO()
    np.savez(buf, ids=flat, offsets=offsets)
    write_atomic(path, buf.getvalue(), best_effort=True)
    return ids


def tokenize(tokenizer, texts: list[str]) -> list[list[int]]:
    """Whole texts, once, without special tokens or truncation (policies cut ids later)."""
    prev = tokenizer.model_max_length
    tokenizer.model_max_length = int(1e12)  # silence the "longer than the model" warning
    try:
        return tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
    finally:
        tokenizer.model_max_length = prev
