"""Adaptation stage before fine-tuning: continued masked-LM pretraining (Gururangan et al. 2020).

- ``none`` fine-tune the pretrained encoder as it is;
- ``tapt`` task-adaptive: MLM on the cell's own training texts (labels unused);
- ``dapt`` domain-adaptive: MLM on a named corpus (:mod:`bench.data.corpora`). Texts that appear in the
  cell's validation or test split are removed from the corpus first, so no evaluation text is
  ever trained on.

Training uses the HF Trainer with ``DataCollatorForLanguageModeling``. The adapted encoder is
saved under ``cache_root()/adapted/<key>`` where the key hashes (model identity, corpus
fingerprint, steps, seed and the other MLM settings); later cells with the same key reuse it.
The record carries the loss curve, the MLM loss before and after on a fixed-mask corpus sample,
and the cost (seconds, tokens, FLOPs estimate) of the run that built it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from bench.data.prepare import TaskData, normalise_text
from bench.registry import Registry
from bench.spec.cell import Cell
from bench.spec.named import Component

ADAPT: Registry[type[Adaptation]] = Registry("adaptation")


class Adaptation(Component):
    needs: ClassVar[frozenset[str]] = frozenset()  # capabilities the fitter must have (components/capabilities.py)

    def texts(self, cell: Cell, data: TaskData) -> tuple[list[str], str]:
        return [], ""


@ADAPT.register("none")
class NoAdapt(Adaptation):
    summary = "fine-tune the pretrained encoder as it is"


@ADAPT.register("tapt")
class Tapt(Adaptation):
    summary = "task-adaptive MLM pretraining on the cell's training texts (labels unused)"
    needs = frozenset({"encoder"})
    steps: int = Field(100, ge=1)
    lr: float = Field(5e-5, gt=0)
    batch_size: int = Field(16, ge=1)
    mlm_probability: float = Field(0.15, gt=0, lt=1)
    max_length: int | None = Field(None, ge=8)  # default: the cell's max_length
    seed: int | None = None  # default: the cell's seed

    def texts(self, cell: Cell, data: TaskData) -> tuple[list[str], str]:
        return list(data.splits["train"].texts), f"task {data.spec.name} training split"


@ADAPT.register("dapt")
class Dapt(Tapt):
    summary = "domain-adaptive MLM pretraining on a corpus (corpora/NAME.yaml, a .txt file or a folder)"
    corpus: str = Field(min_length=1)

    def texts(self, cell: Cell, data: TaskData) -> tuple[list[str], str]:
        from bench.data.corpora import corpus_texts
        from bench.errors import DataError

        texts, where = corpus_texts(self.corpus)
        held_out = {normalise_text(t) for s in ("validation", "test") for t in data.splits[s].texts}
        kept = [t for t in texts if normalise_text(t) not in held_out]
        if not kept:
            raise DataError(f"adaptation corpus {self.corpus!r} is empty once the cell's evaluation texts "
                            f"are removed ({len(texts)} documents, all in validation/test)")
        return kept, f"{where}; {len(texts) - len(kept)} evaluation texts removed"
