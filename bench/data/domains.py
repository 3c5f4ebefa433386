"""Cross-domain evaluation: train on source domains, evaluate on each target domain.

A task with a ``domain_column`` carries one domain per row (``Split.domains``). A cell with
``train_domains`` keeps only those domains in its training and validation splits (model selection
never sees a target domain) and, with ``eval_domains``, only those domains in its test split;
``all`` stands for every domain of the split. Metrics are reported per target domain and pooled
in-domain (target is one of the sources) vs out-of-domain. :func:`transfer_table` turns a results
folder into the source x target table with the in-domain vs out-of-domain gap
(``bench transfer --results DIR``; reports can call it directly).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import numpy as np

from bench.data.prepare import Split, TaskData
from bench.errors import ConfigError, DataError, UnknownNameError
from bench.registry import suggest

ALL = "all"


def parse_domains(text: str | None) -> tuple[str, ...] | None:
    """``'Birth Control,Depression'`` -> a tuple. A comma followed by a space stays inside a name
    (``'Diabetes, Type 2'``), so names with such commas need no quoting."""
    if text is None:
        return None
    names = tuple(n.strip() for n in re.split(r",(?! )", text) if n.strip())
    if not names:
        raise ConfigError(f"empty domain list {text!r}")
    return names


MISSING = "(missing)"  # rows whose domain value is empty


def _domains_of(split: Split, task: str, which: str) -> list[str]:
    if split.domains is None:
        raise ConfigError(f"task {task!r} declares no domain_column: cannot select {which} domains")
    return [d if isinstance(d, str) and d.strip() else MISSING for d in split.domains]


def _resolve(names: tuple[str, ...], split: Split, task: str, which: str, split_name: str) -> list[str]:
    present = Counter(_domains_of(split, task, which))
    if names == (ALL,):
        return [d for d, _ in sorted(present.items(), key=lambda kv: (-kv[1], kv[0]))]
    for n in names:
        if n not in present:
            common = [d for d, _ in present.most_common(12)]
            hint = suggest(n, common) if common else ""
            raise UnknownNameError(f"{which} domain {n!r} has no rows in the {split_name} split of task "
                                   f"{task!r}{hint.split(' (choices')[0]} (largest: {', '.join(common)})")
    if len(set(names)) != len(names):
        raise ConfigError(f"{which} domains list a name twice: {', '.join(names)}")
    return list(names)


def apply_domains(data: TaskData, train_domains: tuple[str, ...] | None,
                  eval_domains: tuple[str, ...] | None) -> tuple[TaskData, dict | None]:
    """Filter the splits to the cell's domains; returns the data and the selection for the record."""
    if train_domains is None and eval_domains is None:
        return data, None
    task = data.spec.name
    train, val, test = (data.splits[s] for s in ("train", "validation", "test"))
    sources = _resolve(train_domains or (ALL,), train, task, "training", "train")
    targets = _resolve(eval_domains or (ALL,), test, task, "evaluation", "test")
    src = set(sources)
    splits = dict(data.splits)
    splits["train"] = train.take([i for i, d in enumerate(_domains_of(train, task, "training")) if d in src])
    splits["validation"] = val.take([i for i, d in enumerate(_domains_of(val, task, "training")) if d in src])
    tgt = set(targets)
    splits["test"] = test.take([i for i, d in enumerate(_domains_of(test, task, "evaluation")) if d in tgt])
    for name in ("validation", "test"):
        if len(splits[name]) == 0:
            raise DataError(f"task {task!r}: no {name} rows in domains {', '.join(sources if name == 'validation' else targets)}")
    if len(set(splits["train"].labels.tolist())) < 2:
        raise DataError(f"task {task!r}: training domains {', '.join(sources)} hold only one class")
    shared = set(splits["train"].ids) & set(splits["test"].ids)
    if shared:  # splits are disjoint by construction; this guards future changes
        raise DataError(f"task {task!r}: {len(shared)} rows in both the training and the evaluation set")
    selection = {"column": data.spec.domain_column, "train": sources, "eval": targets,
            "train_rows": len(splits["train"]), "validation_rows": len(splits["validation"])}
    return replace(data, splits=splits), selection


def domain_metrics(test: Split, proba: np.ndarray, label_names: list[str], main: str, selection: dict) -> dict:
    """Per-target-domain metrics, plus pooled in-domain and out-of-domain metrics."""
    from bench.metrics import classification_metrics

    doms = np.asarray(_domains_of(test, "", "evaluation"))
    src = set(selection["train"])

    def score(mask: np.ndarray) -> dict:
        m = classification_metrics(test.labels[mask], proba[mask], label_names)
        return {"n": int(mask.sum()), **{k: float(m[k]) for k in dict.fromkeys(("accuracy", "macro_f1", main))}}

    per = {d: {**score(doms == d), "in_domain": d in src} for d in selection["eval"]}
    in_mask = np.isin(doms, list(src))
    pooled = {"in_domain": score(in_mask) if in_mask.any() else None,
              "out_of_domain": score(~in_mask) if (~in_mask).any() else None}
    return {**selection, "per_domain": per, **pooled}


