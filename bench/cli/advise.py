"""bench advise: "what works on my data?" in one command: the data card decides the axes, the cost
model fits them into the budget, a race runs them, one answer page reads them (docs/ADVISE.md)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.errors import ConfigError


def card_facts(task: str, model: str, max_length: int) -> tuple[float | None, float, int, int]:
    """(imbalance ratio of the training split, share of training documents over ``max_length``
    tokens for ``model``, training rows, classes) from the task's data (bench data's card)."""
    import numpy as np

    from bench.components.models import get_model
    from bench.data.prepare import load_task_data
    from bench.spec.task import get_task

    data = load_task_data(get_task(task))
    train = data.splits["train"]
    counts = [c for c in train.counts(data.num_labels) if c > 0]
    ratio = round(max(counts) / min(counts), 2) if counts else None
    mspec = get_model(model)
    share = 0.0
    if mspec.kind != "classical":
        from bench.fit.loading import load_tokenizer
        from bench.fit.tokens import tokenize

        lengths = np.array([len(x) for x in tokenize(load_tokenizer(mspec), train.texts)])
        share = float((lengths > max_length).mean())
    return ratio, share, len(train), data.num_labels


def _estimator(out: Path):
    from bench.run.cost import estimate
    from bench.run.plan import plan_matrix
    from bench.spec.matrix import MatrixSpec

    def seconds(plan) -> float:
        mplan = plan_matrix(MatrixSpec(**plan.matrix()), out)
        return float(sum(s or 0.0 for s in estimate(mplan)[0]))

    return seconds


def cmd_advise(args: argparse.Namespace) -> int:
    import yaml

    from bench.cli.race import check_race_args
    from bench.components.models import get_model
    from bench.report.advise import AdvicePlan, choose_axes, fit_budget

    t0 = time.perf_counter()  # the answer page's wall time: the whole command, planning included
    check_race_args(args)
    if args.budget_minutes is not None and args.budget_minutes <= 0:
        raise ConfigError(f"--budget-minutes must be > 0 (got {args.budget_minutes})")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        get_model(m)  # unknown name: one line
    out = Path(args.out or f"results/advise-{Path(args.task).stem}")
    mpath = out / "advise-matrix.yaml"
    if mpath.exists() and not args.dry_run and not args.replan:  # resume: the plan made the first time
        print(f"resuming the plan of {mpath} (--replan plans again from the data card and the budget)")
        return _run(_saved_plan(mpath, args), args, out, mpath, t0)
    ratio, share, n_train, n_classes = card_facts(args.task, models[0], args.max_length)
    plan = choose_axes(AdvicePlan(args.task, models, args.max_length), ratio, share,
                       get_model(models[0]).kind != "classical")
    budget_s = args.budget_minutes * 60 if args.budget_minutes is not None else None
    fit_budget(plan, _estimator(out), budget_s, n_train, n_classes)
    header = [*plan.reasons, "budget cuts: " + ("; ".join(plan.cuts) or "none")]
    text = ("# written by bench advise (docs/ADVISE.md)\n" + "".join(f"# {x}\n" for x in header)
            + yaml.safe_dump(plan.matrix(), sort_keys=False))
    lines = [*plan.reasons, "budget cuts: " + ("; ".join(plan.cuts) or "none"),
             f"estimate before racing: {(plan.estimate_s or 0) / 60:.1f} min; matrix: {mpath}"]
    print("\n".join(lines))
    if args.dry_run:
        print(text, end="")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    mpath.write_text(text)
    return _run(plan, args, out, mpath, t0)


def _saved_plan(mpath: Path, args: argparse.Namespace):
    """The plan a first ``bench advise`` wrote (its reasons and cuts are in the file's header)."""
    import yaml

    from bench.report.advise import AdvicePlan

    text = mpath.read_text(encoding="utf-8")
    m = yaml.safe_load(text)
    notes = [line[2:] for line in text.splitlines() if line.startswith("# ") and not line.startswith("# written")]
    return AdvicePlan(m["tasks"][0], m["models"], m["max_length"][0], seeds=m["seeds"], budget=m["budget"],
                      reasons=[n for n in notes if not n.startswith("budget cuts: ")],
                      cuts=[c for n in notes if n.startswith("budget cuts: ") for c in n[13:].split("; ") if c != "none"])


def _run(plan, args: argparse.Namespace, out: Path, mpath: Path, t0: float) -> int:
    from bench.cli.race_run import run_race
    from bench.report.advise_page import write_answer
    from bench.run.plan import plan_matrix
    from bench.run.progress import MatrixProgress
    from bench.run.quiet import quiet
    from bench.spec.matrix import load_matrix

    quiet()
    spec = load_matrix(mpath)
    mplan = plan_matrix(spec, out)
    cells = spec.expand()
    axes = [a for a in ("imbalance", "context", "method", "model") if len({getattr(c, a) for c in cells}) > 1]
    args.retry_failed, args.metric = False, None
    code, race_text = run_race(mplan, args, MatrixProgress)
    print("\n".join(race_text))
    budget = f" --budget-minutes {args.budget_minutes:g}" if args.budget_minutes is not None else ""
    commands = [f"bench advise --task {args.task}{budget} --models {args.models} --out {out}   # resume / reproduce",
                f"bench run --matrix {mpath} --out {out} --race --min-seeds {args.min_seeds}   # the same race",
                f"bench race --results {out} --matrix {mpath}   # replay the race over the records",
                f"bench report --results {out} --axis {axes[0]}   # an axis view"
                + (f" (also {', '.join(axes[1:])})" if axes[1:] else ""),
                f"# more seeds: set seeds: [0, 1, 2, 3, 4] in {mpath}, then rerun the bench run line"]
    page = write_answer(out, plan, commands, time.perf_counter() - t0, args.budget_minutes)
    print(f"answer: {page} and {page.with_suffix('.html')}")
    return code


def add_parser(sub) -> None:
    from bench.cli.race import add_race_args

    p = sub.add_parser("advise", help="what works on my data? plan the axes from the data card, fit a budget, "
                                      "race, write one answer page")
    p.add_argument("--task", required=True, help="task name (bench ls tasks) or a task YAML file")
    p.add_argument("--budget-minutes", type=float, default=None, help="fit the plan into this many minutes "
                   "(estimated before racing; cuts epochs, rows, test documents, seeds; refuses below a floor)")
    p.add_argument("--models", default="minilm-l6", help="comma-separated models; the first one's axes are raced")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--out", default=None, help="output folder (default results/advise-TASK)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the estimate; run nothing")
    p.add_argument("--replan", action="store_true", help="plan again even when OUT holds an earlier plan "
                   "(default: resume it)")
    p.add_argument("--executor", default="sequential", choices=["sequential", "process", "ray"])
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--address", default=None)
    add_race_args(p, replay=False)
    p.set_defaults(run=cmd_advise)
