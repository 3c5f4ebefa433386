"""``bench advise``'s plan: which axes matter for a task (from its data card), as one matrix, fitted
into a time budget by documented cuts (docs/ADVISE.md).

Axes (a star around one base configuration: the model's full fine-tuning, no imbalance strategy,
``head`` context; each other value differs from it along one axis, so each is one race group):

* imbalance strategies when the training split's imbalance ratio (largest / smallest class) is
  >= 1.5 (class_weight) and >= 3 (oversample at 0.5, balanced_sampler and class_weight, in the order of
  docs/IMBALANCE.md's reference results: the first is kept when the budget keeps one);
* context policies when >= 5% of training documents are longer than the max length (head_tail)
  and >= 20% (chunk with 2 windows, then head_tail: docs/CONTEXT.md's order);
* methods: LoRA (lr 2e-3: the reference's, it learns) and the probe, for transformer models;
* TF-IDF + logistic regression always (the floor); the majority class is read from every record.

Budget cuts, in order, until the estimate (bench.run.cost, before racing saves anything) fits:
1 epoch instead of 2, then the training rows halved (stratified ``limit_train``), each only while the
base configuration keeps ``MIN_STEPS`` optimiser steps and ``FLOOR_PER_CLASS`` rows per class; then at
most ``EVAL_CAP`` validation and test documents; then LoRA dropped; then two alternatives per axis, then
one (the first listed: the reference pages' best); then 2 seeds instead of 3. Below that: refused, with the
reason. The estimate must fit ``BUDGET_SHARE`` of the budget (the rest: the estimate's error and the
command's own work).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.errors import ConfigError

MIN_STEPS = 128  # reference-imbalance's pilots: 64 steps degenerate, 128 steps (2 epochs x 509 at batch 8) learn
FLOOR_PER_CLASS = 20
EVAL_CAP = 200
# the plan's estimate must fit this share of the budget: the rest covers the estimate's error (calibrated on
# other cells of this machine, it came out ~15% low for drugs-sentiment at L=128 from cells at L=64) and the
# command's own work (the data card, the race's statistics after each round, the answer page)
BUDGET_SHARE = 0.85
START = {"epochs": 2, "batch_size": 8}


@dataclass
class AdvicePlan:
    task: str
    models: list[str]
    max_length: int
    imbalance: list[str] = field(default_factory=list)  # values beside none
    context: list[str] = field(default_factory=list)  # values beside head
    methods: list[dict] = field(default_factory=list)  # include entries beside full
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    budget: dict = field(default_factory=lambda: {"epochs": START["epochs"]})
    reasons: list[str] = field(default_factory=list)
    cuts: list[str] = field(default_factory=list)
    estimate_s: float | None = None

    def matrix(self) -> dict:
        """The plan as a matrix file's fields (bench.spec.matrix.MatrixSpec)."""
        include: list[dict] = [{"imbalance": self.imbalance}] if self.imbalance else []
        include += [{"context": self.context}] if self.context else []
        include += self.methods + [{"model": "tfidf-logreg", "context": ["full"]}]
        return {"name": f"advise-{_stem(self.task)}", "description": f"bench advise --task {self.task}",
                "tasks": [self.task], "models": self.models, "methods": ["full"], "imbalance": ["none"],
                "context": ["head"], "max_length": [self.max_length], "seeds": self.seeds,
                "train": {"batch_size": START["batch_size"]}, "budget": dict(self.budget), "include": include}


def _stem(task: str) -> str:
    from pathlib import Path

    return Path(task).stem if task.endswith((".yaml", ".yml")) else task


def choose_axes(plan: AdvicePlan, ratio: float | None, truncated: float, transformer: bool) -> AdvicePlan:
    """Fill the plan's axes from the data card's imbalance ratio and truncated share (module doc)."""
    if ratio is not None and ratio >= 3:
        plan.imbalance = ["oversample:sampling_strategy=0.5", "balanced_sampler", "class_weight"]
    elif ratio is not None and ratio >= 1.5:
        plan.imbalance = ["class_weight"]
    plan.reasons.append(f"imbalance ratio {ratio} (train): " + (f"strategies {', '.join(plan.imbalance)} vs none"
                        if plan.imbalance else "below 1.5, no imbalance strategy raced"))
    if truncated >= 0.2:
        plan.context = ["chunk:max_windows=2", "head_tail"]
    elif truncated >= 0.05:
        plan.context = ["head_tail"]
    plan.reasons.append(f"{truncated:.0%} of training documents longer than {plan.max_length} tokens: "
                        + (f"context {', '.join(plan.context)} vs head" if plan.context else "context not raced"))
    if transformer:
        plan.methods = [{"method": ["lora"], "train": {"learning_rate": 2.0e-3}}, {"method": ["probe"]}]
        plan.reasons.append("methods: full vs probe; LoRA at lr 2e-3 runs all seeds beside them (its training "
                            "parameters differ, so it is not raced)")
    plan.reasons.append("TF-IDF + logistic regression as the floor; the majority class from every record")
    return plan


def steps(plan: AdvicePlan, n_train: int) -> int:
    """Optimiser steps of the base configuration: epochs x ceil(training rows / batch)."""
    rows = min(n_train, plan.budget.get("limit_train") or n_train)
    return int(plan.budget.get("epochs", 1) * -(-rows // START["batch_size"]))


def fit_budget(plan: AdvicePlan, estimate, budget_s: float | None, n_train: int, n_classes: int) -> AdvicePlan:
    """Cut the plan (module doc) until ``estimate(plan) -> seconds`` fits ``budget_s``; ConfigError when
    even the floor does not. A cut of epochs or rows is taken only while the base configuration keeps
    ``MIN_STEPS`` optimiser steps and ``FLOOR_PER_CLASS`` rows per class (where the recipe learns)."""
    plan.estimate_s = estimate(plan)
    if budget_s is None:
        return plan
    target = BUDGET_SHARE * budget_s
    floor_rows = max(FLOOR_PER_CLASS * n_classes, 1)

    def allowed(**budget) -> bool:
        trial = AdvicePlan(plan.task, plan.models, plan.max_length, budget={**plan.budget, **budget})
        rows = budget.get("limit_train", n_train)
        return steps(trial, n_train) >= MIN_STEPS and rows >= floor_rows

    while plan.estimate_s > target:
        rows = min(n_train, plan.budget.get("limit_train") or n_train)
        if plan.budget.get("epochs", 1) > 1 and allowed(epochs=1):
            plan.budget["epochs"] = 1
            plan.cuts.append("1 epoch instead of 2")
        elif rows // 2 > 0 and allowed(limit_train=rows // 2):
            plan.budget["limit_train"] = rows // 2
            plan.cuts.append(f"training rows: {rows // 2} of {n_train} (stratified)")
        elif "limit_eval" not in plan.budget:
            plan.budget["limit_eval"] = EVAL_CAP
            plan.cuts.append(f"at most {EVAL_CAP} validation and test documents")
        elif any(m.get("method") == ["lora"] for m in plan.methods):
            plan.methods = [m for m in plan.methods if m.get("method") != ["lora"]]
            plan.cuts.append("LoRA dropped (it is not raced: it would run every seed)")
        elif len(plan.imbalance) > 2 or len(plan.context) > 2:
            plan.imbalance, plan.context = plan.imbalance[:2], plan.context[:2]
            plan.cuts.append("two alternatives per axis (" + ", ".join(plan.imbalance + plan.context) + ")")
        elif len(plan.imbalance) > 1 or len(plan.context) > 1:
            plan.imbalance, plan.context = plan.imbalance[:1], plan.context[:1]
            plan.cuts.append("one alternative per axis (" + ", ".join(plan.imbalance + plan.context) + ")")
        elif len(plan.seeds) > 2:
            plan.seeds = plan.seeds[:2]
            plan.cuts.append("2 seeds instead of 3")
        else:
            raise ConfigError(
                f"--budget-minutes {budget_s / 60:g}: the smallest plan ({plan.budget.get('epochs')} epoch(s), "
                f"{rows} training rows, at most {EVAL_CAP} test documents, 2 seeds) is estimated at "
                f"{plan.estimate_s / 60:.1f} min, over {BUDGET_SHARE:.0%} of the budget; fewer epochs or rows would leave the base configuration under "
                f"{MIN_STEPS} optimiser steps (or {FLOOR_PER_CLASS} rows per class), where the default recipe does "
                "not learn reliably (docs/IMBALANCE.md's pilots). Give more minutes, fewer --models, or a faster machine")
        plan.estimate_s = estimate(plan)
    return plan
