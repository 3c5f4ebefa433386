"""``bench data TASK``: rows per split, class counts, imbalance ratio, token lengths."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.components.models import get_model
from bench.data.prepare import TaskData, load_task_data
from bench.fit.loading import load_tokenizer
from bench.spec.task import SPLITS, get_task


def data_card(task: str, model: str = "minilm-l6") -> dict:
    spec = get_task(task)
    data: TaskData = load_task_data(spec)
    card: dict[str, Any] = {
        "task": spec.name, "version": spec.version, "domain": spec.domain, "license": spec.license,
        "source": spec.source.model_dump(), "description": spec.description,
        "label_names": data.label_names, "main_score": spec.main_score,
        "fingerprint": data.fingerprint(), "prep": data.stats, "splits": {},
    }
    mspec = get_model(model)
    tokenizer = None if mspec.kind == "classical" else load_tokenizer(mspec)
    for name in SPLITS:
        s = data.splits[name]
        counts = s.counts(data.num_labels)
        nz = [c for c in counts if c > 0]
        entry = {
            "rows": len(s),
            "class_counts": dict(zip(data.label_names, counts, strict=True)),
            "imbalance_ratio": round(max(nz) / min(nz), 2) if nz else None,
        }
        if tokenizer is not None:
            from bench.fit.tokens import tokenize

            lengths = np.array([len(x) for x in tokenize(tokenizer, s.texts)])
            entry["tokens"] = {
                "model": model,
                **{f"p{q}": int(np.percentile(lengths, q)) for q in (50, 90, 99)},
                **{f"share_over_{n}": round(float((lengths > n).mean()), 3) for n in (128, 256, 512)},
            }
        card["splits"][name] = entry
    return card
