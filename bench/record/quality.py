"""Is a cell's result worth reading? The record's ``quality`` section and the majority-class baseline.

Every ``ok`` record carries::

    "quality": {"majority_class": NAME,          # most frequent class of the cell's TRAINING split
                "majority": {metric: value},     # bench.metrics.classification_metrics on the test split
                                                 # for the constant prediction of that class (one-hot)
                "majority_score": float,         # majority[main_score]
                "predicted_classes": int,        # distinct predicted classes on the test split
                "margin": MARGIN,
                "basis": "validation",           # the split the flag below was judged on
                "degenerate": bool,
                "reason": None | "predicts one class (...)" | "main score ... not above the majority ...",
                "validation": {"main_score", "majority_score", "predicted_classes", "degenerate", "reason"},
                "test": {"degenerate", "reason"}}  # the same rule on test: for reporting only

**Validation decides, test reports**: the ``degenerate`` flag (which reports mark and decisions such
as budgets act on) is judged on the validation split's predictions; the test-split majority
metrics stay for reporting (the "majority class" reference row). Records written before schema 3
hold no validation predictions: their upgrade keeps the test judgement with ``basis: "test"``.

The rule (``judge``): a result is **degenerate** when

1. it predicts one class for every document of the split while the split holds at least two
   classes (reason ``predicts one class (NAME) for all N validation documents``), or
2. its main score does not beat the majority baseline's by at least ``MARGIN`` (0.02 absolute, in
   the main score's units, signed by ``bench.metrics.DIRECTION``) — reason
   ``main score macro_f1 0.2637 not above the majority baseline 0.2637 by margin 0.02``.

A NaN main score (or baseline) skips rule 2. Ties for the most frequent training class go to the
lowest label index (numpy's argmax).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.metrics import DIRECTION, classification_metrics

MARGIN = 0.02
REFERENCE_LABEL = "majority class (no training)"


def majority_metrics(labels: Sequence[int], majority: int, label_names: list[str],
                     minority: int | None = None) -> dict[str, float]:
    """The test metrics of predicting class ``majority`` for every document (one-hot probabilities)."""
    y = np.asarray(labels, dtype=np.int64)
    proba = np.zeros((len(y), len(label_names)))
    proba[:, majority] = 1.0
    return classification_metrics(y, proba, label_names, minority=minority)


def judge(main_name: str, score: float, majority_score: float, pred: Sequence[int], labels: Sequence[int],
          label_names: list[str], margin: float = MARGIN, split: str = "test") -> str | None:
    """The reason a result is degenerate (module docstring), or None when it is not."""
    predicted = sorted({int(p) for p in pred})
    if len(predicted) == 1 and len({int(y) for y in labels}) >= 2:
        return f"predicts one class ({label_names[predicted[0]]}) for all {len(pred)} {split} documents"
    if score is None or majority_score is None or math.isnan(score) or math.isnan(majority_score):
        return None
    if (score - majority_score) * DIRECTION.get(main_name, 1) < margin:
        return (f"main score {main_name} {score:.4f} not above the majority baseline "
                f"{majority_score:.4f} by margin {margin:g}")
    return None


def quality_section(labels: Sequence[int], pred: Sequence[int], label_names: list[str], train_counts: Sequence[int],
                    main_name: str, metrics: dict[str, float], minority: int | None = None,
                    margin: float = MARGIN, validation: tuple | None = None) -> dict[str, Any]:
    """A record's ``quality`` section from its test labels and predictions and the training class
    counts; ``metrics`` are the cell's own test metrics (the majority's are computed for the same keys).
    ``validation`` = (labels, pred, main score) on the validation split: the flag is judged there
    (module docstring); without it, on test (``basis: "test"``)."""
    majority = int(np.argmax(np.asarray(train_counts)))
    base = majority_metrics(labels, majority, label_names, minority)
    base = {k: v for k, v in base.items() if k in metrics} if metrics else base
    score, maj_score = metrics.get(main_name, math.nan), base.get(main_name, math.nan)
    reason = judge(main_name, score, maj_score, pred, labels, label_names, margin)
    out = {"majority_class": label_names[majority], "majority": base, "majority_score": maj_score,
           "predicted_classes": len({int(p) for p in pred}), "margin": margin, "basis": "test",
           "degenerate": reason is not None, "reason": reason,
           "test": {"degenerate": reason is not None, "reason": reason}}
    if validation is not None:
        v_labels, v_pred, v_score = validation
        v_major = majority_metrics(v_labels, majority, label_names).get(main_name, math.nan)
        v_reason = judge(main_name, v_score, v_major, v_pred, v_labels, label_names, margin, split="validation")
        out["validation"] = {"main_score": v_score, "majority_score": v_major,
                             "predicted_classes": len({int(p) for p in v_pred}),
                             "degenerate": v_reason is not None, "reason": v_reason}
        out.update(basis="validation", degenerate=v_reason is not None, reason=v_reason)
    return out


def quality_of_record(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The ``quality`` section computed from what a (v1) record already stores: predictions.labels,
    predictions.pred, task.class_counts.train, task.label_names, task.main_score (None if any is missing)."""
    task, preds = rec.get("task") or {}, rec.get("predictions") or {}
    names, main = task.get("label_names"), task.get("main_score")
    train = (task.get("class_counts") or {}).get("train")
    if not (names and main and train and preds.get("labels") is not None and preds.get("pred") is not None):
        return None
    metrics = rec.get("metrics") or {}
    minority = names.index(task["minority_class"]) if task.get("minority_class") in names else None
    return quality_section(preds["labels"], preds["pred"], names, train, main, metrics, minority)


def is_degenerate(rec: dict[str, Any]) -> bool:
    return bool((rec.get("quality") or {}).get("degenerate"))


def degenerate_reasons(records: list[dict]) -> dict[int, str]:
    """Seed -> reason, for the degenerate ok records among ``records`` (one configuration's seeds)."""
    return {int(r["cell"]["seed"]): r["quality"]["reason"] for r in records
            if r.get("status", "ok") == "ok" and is_degenerate(r)}


def degenerate_mark(records: list[dict]) -> str:
    """'' when no seed is degenerate, else e.g. 'DEGENERATE (2/3 seeds): predicts one class (...)'."""
    ok = [r for r in records if r.get("status", "ok") == "ok"]
    bad = degenerate_reasons(ok)
    if not bad:
        return ""
    return f"DEGENERATE ({len(bad)}/{len(ok)} seeds): {bad[min(bad)]}"


def majority_row(records: list[dict]) -> dict[str, Any]:
    """The majority-class reference row of one task's records (reports: "majority class (no
    training)"): the mean over records of their ``quality.majority`` metrics — identical when they
    share a test split; ``test_splits`` counts the distinct (test size, majority class) pairs seen.
    Raises ValueError when the records span several tasks or none has a quality section."""
    ok = [r for r in records if r.get("status", "ok") == "ok" and r.get("quality")]
    tasks = {r["cell"]["task"] for r in ok}
    if len(tasks) != 1:
        raise ValueError(f"majority_row needs the records of one task with a quality section, got tasks {sorted(tasks)}")
    keys = set.intersection(*(set(r["quality"]["majority"]) for r in ok))
    metrics = {k: float(np.mean([r["quality"]["majority"][k] for r in ok])) for k in sorted(keys)}
    main = (ok[0].get("task") or {}).get("main_score")
    classes = sorted({r["quality"]["majority_class"] for r in ok})
    splits = {(len((r.get("predictions") or {}).get("labels") or []), r["quality"]["majority_class"]) for r in ok}
    return {"task": tasks.pop(), "config": REFERENCE_LABEL, "majority_class": " / ".join(classes),
            "metrics": metrics, "main_score_name": main, "main_score": metrics.get(main) if main else None,
            "n": len(ok), "test_splits": len(splits)}


def majority_rows(records: list[dict]) -> dict[str, dict[str, Any]]:
    """Task -> its majority_row, for every task with at least one record that has a quality section."""
    by_task: dict[str, list[dict]] = {}
    for r in records:
        if r.get("status", "ok") == "ok" and r.get("quality"):
            by_task.setdefault((r.get("task") or {}).get("name") or r["cell"]["task"], []).append(r)  # as frame.task_name
    return {t: majority_row(recs) for t, recs in sorted(by_task.items())}
