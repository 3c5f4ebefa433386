"""Deduplication and DAPT's held-out filter share one text normaliser (issue 28): a text that dedupe
treats as an evaluation duplicate is exactly one that the adaptation corpus drops."""

import numpy as np
import pandas as pd

from bench.data.prepare import Split, TaskData, _dedupe, normalise_text
from bench.spec.task import TaskSpec

HELD_OUT = ["Great  drug,\tno side effects", "WORKED well\nfor me", "Ça marche"]
VARIANTS = ["great drug, no side effects", "worked WELL for me ", "ça  MARCHE", "a different review"]


def _spec() -> TaskSpec:
    return TaskSpec(name="t", description="d", domain="x", version="1", license="CC0",
                    source={"type": "files", "train": "x.csv"}, text_column="text", label_column="label")


def test_dedupe_and_dapt_filter_agree(monkeypatch):
    from bench.components import adapt
    from bench.data import corpora

    frames = {
        "train": pd.DataFrame({"id": [f"r{i}" for i in range(len(VARIANTS))], "text": VARIANTS,
                               "label": ["a"] * len(VARIANTS), "y": 0}),
        "test": pd.DataFrame({"id": ["t0", "t1", "t2"], "text": HELD_OUT, "label": "a", "y": 0}),
    }
    kept_by_dedupe = _dedupe(_spec(), frames, {"duplicates_removed": 0})["train"]["text"].tolist()

    split = Split(texts=HELD_OUT, labels=np.zeros(3, dtype=np.int64), ids=["t0", "t1", "t2"])
    data = TaskData(spec=_spec(), label_names=["a", "b"], splits={"train": split, "validation": split, "test": split})
    monkeypatch.setattr(corpora, "corpus_texts", lambda ref: (list(VARIANTS), "test corpus"))
    kept_by_dapt, note = adapt.Dapt(corpus="c").texts(None, data)

    assert kept_by_dedupe == kept_by_dapt == ["a different review"]
    assert note.endswith("3 evaluation texts removed")
    assert normalise_text(" A\u00a0b\n") == "a b"  # any Unicode whitespace run is one space
