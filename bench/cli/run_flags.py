"""What ``bench run`` flags change in a matrix (tasks, models, budget, speed) and a one-cell dry run."""

from __future__ import annotations

from pathlib import Path

from bench.run.cost import estimate


def with_speed_flags(spec, speed: dict, budget: dict | None = None):
    """``--precision`` / ``--[no-]group-by-length`` (and ``--epochs`` / ``--limit-train`` /
    ``--limit-eval``: ``budget``) on a matrix win over the file: they are set in its ``train`` (budget:
    ``budget``) and in every override's and include's training parameters (so enter every cell id)."""
    budget = budget or {}
    if not speed and not budget:
        return spec
    both = {**speed, **budget}
    overrides = [o.model_copy(update={"train": {**o.train, **both}}) for o in spec.overrides]
    include = [{**inc, "train": {**inc.get("train", {}), **both}} if "train" in inc else inc for inc in spec.include]
    train = {k: v for k, v in {**spec.train, **speed}.items() if k not in budget}
    return spec.model_copy(update={"train": train, "budget": {**spec.budget, **budget}, "overrides": overrides,
                                   "include": include})


def budget_from_args(args) -> dict:
    return {k: v for k in ("epochs", "limit_train", "limit_eval") if (v := getattr(args, k, None)) is not None}


def with_axis_flags(spec, args):
    """``--task`` / ``--model`` given with ``--matrix`` replace the matrix's tasks / models (its
    includes still add theirs), e.g. a reference matrix on the user's own task file."""
    update = {k: [v] for k, v in (("tasks", args.task), ("models", args.model)) if v}
    return spec.model_copy(update=update) if update else spec


def dry_run_cell(planned, out: str, retry_failed: bool) -> None:
    """One cell's dry run: its id, resolved configuration and cost estimate; loads no model, writes nothing."""
    import json

    from bench.run.plan import MatrixPlan, scan
    from bench.run.progress import print_dry_run

    records = scan(Path(out), {planned.cell_id})
    plan = MatrixPlan("(one cell)", Path(out), [planned.cell], [planned.cell_id], [planned.precision],
                      {planned.cell_id: records.get(planned.cell_id, {}).get("status", "todo")}, records)
    print(f"cell {planned.cell_id} (precision {planned.precision}): "
          f"{json.dumps(planned.cell.to_dict(), sort_keys=True)}")
    estimates, basis = estimate(plan)
    print_dry_run(plan, estimates, basis, retry_failed)
