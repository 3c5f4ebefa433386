"""What ``bench run`` flags change in a matrix (tasks, models, budget, speed) and a one-cell dry run."""

from __future__ import annotations

from pathlib import Path

from bench.run.cost import estimate
from bench.spec.matrix_overrides import with_overrides


def with_speed_flags(spec, speed: dict):
    """``--precision`` / ``--[no-]group-by-length`` on a matrix win over the file (every cell id)."""
    return with_overrides(spec, {"train": speed})


def matrix_overrides(args, speed: dict) -> dict:
    """The matrix overrides ``bench run --matrix`` flags ask for: ``--task`` / ``--model`` replace the
    matrix's tasks / models (e.g. a reference matrix on the user's own task file), ``--epochs`` /
    ``--limit-train`` / ``--limit-eval`` its budget, the speed flags its training parameters."""
    budget = {k: v for k in ("epochs", "limit_train", "limit_eval") if (v := getattr(args, k, None)) is not None}
    out = {"tasks": [args.task] if args.task else None, "models": [args.model] if args.model else None,
           "train": speed, "budget": budget}
    return {k: v for k, v in out.items() if v}


def dry_run_cell(planned, out: str, retry_failed: bool) -> None:
    """One cell's dry run: its id, resolved configuration and cost estimate; loads no model, writes nothing."""
    import json

    from bench.run.plan import MatrixPlan, scan
    from bench.run.progress import print_dry_run

    records = scan(Path(out), {planned.cell_id})
    plan = MatrixPlan("one cell", Path(out), [planned.cell], [planned.cell_id], [planned.precision],
                      {planned.cell_id: records.get(planned.cell_id, {}).get("status", "todo")}, records)
    print(f"cell {planned.cell_id} (precision {planned.precision}): "
          f"{json.dumps(planned.cell.to_dict(), sort_keys=True)}")
    estimates, basis = estimate(plan)
    print_dry_run(plan, estimates, basis, retry_failed, title="one cell (dry run: nothing runs, nothing is written)")


def print_sharing(plan) -> None:
    """How many trainings the matrix needs once cells with the same training identity share one."""
    from bench.run.share import plan_sharing, sharing_on

    if not sharing_on():
        print("shared training: off (--no-share-training): every cell trains")
        return
    n, trainings = plan_sharing(plan.cells, plan.precisions, plan.ids)
    print(f"shared training: {n} cells need {trainings} trainings ({n - trainings} reuse another cell's, "
          "e.g. logit_adjust after none; bench.run.share)")
