"""``bench report`` and ``bench compare``: everything is validated before anything is written, and
output folders are built in a temporary folder next to the target, then moved into place."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

from bench.errors import ConfigError, OutputError

FORMATS = {"md": "report.md", "latex": "report.tex", "csv": "report.csv", "json": "report.json", "html": "index.html"}


def _csv_list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _is_folder(out: Path, fmt: str) -> bool:
    return fmt == "html" or out.is_dir() or str(out).endswith(os.sep) or not out.suffix


def cmd_report(args: argparse.Namespace) -> int:
    from bench.record.io import check_writable
    from bench.report import axis_tables, tables

    if args.resamples < 1:
        raise ConfigError(f"--resamples must be >= 1 (got {args.resamples})")
    if not 0 < args.alpha < 1:
        raise ConfigError(f"--alpha must be between 0 and 1 (got {args.alpha})")
    from bench.report.aggregate import build_board, load_record_set
    from bench.report.axis import varying_axes
    from bench.report.planned import resolve_plan

    if args.reference is not None and args.axis is None:
        raise ConfigError("--reference needs --axis AXIS")
    if args.out is None and args.format == "html":
        raise ConfigError("--format html writes a site folder: give --out FOLDER")
    res = load_record_set(args.results)
    planned, note = resolve_plan(res, args.matrix)
    board = build_board(res, args.metric, _csv_list(args.rows), _csv_list(args.cols), args.task, args.resamples,
                        alpha=args.alpha, planned=planned, plan_note=note)
    first_model = str(planned.frame["model"].iloc[0]) if planned is not None else None
    views = _axis_views(res, board, args, first_model)
    board.axes = [] if args.axis else varying_axes(res)  # the Markdown board points to `--axis X` (issue 13)
    title = f"DomainBench report: {Path(args.results).resolve().name}" + (f" · {args.task}" if args.task else "")
    view = views.get(args.axis) if args.axis else None
    if args.out is None:
        print(axis_tables.render(view, args.format, title) if view else tables.render(board, args.format, title), end="")
        _print_race(args)
        return 0
    out = Path(args.out)
    folder = _is_folder(out, args.format)
    check_writable(out.parent if not folder else out)
    tmp = Path(tempfile.mkdtemp(prefix=".report.", dir=out.parent if not folder else out))
    try:
        if folder:
            _write_folder(res, board, tmp, args.format, title, views, view, _race_lines(args.results))
        else:
            text = axis_tables.render(view, args.format, title) if view else tables.render(board, args.format, title)
            (tmp / out.name).write_text(text, encoding="utf-8")
        for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
            dest = (out if folder else out.parent) / path.relative_to(tmp)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
    except OSError as err:
        raise OutputError(f"cannot write the report to {out}: {err.strerror or err}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    where = out / FORMATS[args.format] if folder else out
    print(f"report ({board.metric}, {board.cells['config_id'].nunique()} configurations, "
          f"{len(board.failed)} failed cells): {where}")
    return 0


def _race_lines(results: str) -> list[str]:
    """A raced results folder's outcome (OUT/race.json) in lines; [] for a folder that was not raced."""
    from bench.report.race_report import race_lines_from_file, read_race

    data = read_race(results)
    return race_lines_from_file(data) if data else []


def _print_race(args: argparse.Namespace) -> None:
    """A raced results folder: the race's outcome under the plain Markdown report."""
    lines = _race_lines(args.results) if args.format == "md" else []
    if lines:
        print("\n## Race (bench run --race; docs/RACING.md)\n\n" + "\n".join(f"- {x}" for x in lines))


def _axis_views(res, board, args: argparse.Namespace, first_model: str | None) -> dict:
    """axis -> AxisView: the one ``--axis`` asks for (its errors are the user's), or, for an output
    folder (an HTML site, a table with its plots), every axis with two or more values (an axis
    without its default reference is noted): each gets a forest plot."""
    from bench.errors import BenchError
    from bench.report.axis import build_axis, varying_axes

    def view(axis: str, reference: str | None = None):
        from bench.report.mde import add_mde

        v = build_axis(res, axis, reference, board.metric, args.task, args.resamples, alpha=args.alpha,
                       first_model=first_model)
        add_mde(v, res)
        return v

    if args.axis:
        return {args.axis: view(args.axis, args.reference)}
    views = {}
    folder = args.out is not None and _is_folder(Path(args.out), args.format)
    for axis in varying_axes(res) if folder else []:
        try:
            views[axis] = view(axis)
        except BenchError as err:
            board.notes.append(f"axis {axis}: no page ({err})")
    return views


def _write_folder(res, board, tmp: Path, fmt: str, title: str, views: dict, view=None,
                  race: list[str] | None = None) -> None:
    from bench.report import axis_tables, plots, site, tables

    tasks = sorted(board.cells["task"].unique()) if "task" in board.cells else None
    index = plots.make_plots(res, board.metric, tmp / "plots", tasks, per_config=fmt == "html")
    drawn = {}
    for axis, v in views.items():
        plots.forest(v, tmp / "plots" / f"axis_{axis}.png")
        drawn[axis] = (v, f"plots/axis_{axis}.png")
    if fmt == "html":
        site.write_site(res, board, tmp, index, title, drawn, race)
        return
    listed = [*(plot for _, plot in drawn.values()), *(src for entry in index["tasks"].values() for src in entry.values())]
    if view is not None:
        text = axis_tables.render(view, fmt, title, plot=drawn[view.axis][1] if fmt == "md" else None)
    else:
        text = tables.render(board, fmt, title, plots=listed) if fmt == "md" else tables.render(board, fmt, title)
    if race and fmt == "md":
        text += "\n## Race (bench run --race; docs/RACING.md)\n\n" + "\n".join(f"- {x}" for x in race) + "\n"
    (tmp / FORMATS[fmt]).write_text(text, encoding="utf-8")


def cmd_compare(args: argparse.Namespace) -> int:
    from bench.report.stats import mcnemar, paired_bootstrap

    if not 0 < args.alpha < 1:
        raise ConfigError(f"--alpha must be between 0 and 1 (got {args.alpha})")
    from bench.metrics import DIRECTION
    from bench.report.aggregate import check_metric, load_record_set
    from bench.report.select import select_config

    res = load_record_set(args.results)
    metric = args.metric or res.main_metric()
    check_metric(res, metric)
    a = select_config(res, args.a, args.task)
    b = select_config(res, args.b, args.task, base=a)
    if a["config_id"] == b["config_id"]:
        raise ConfigError(f"selectors {args.a!r} and {args.b!r} pick the same configuration ({a['config']})")
    ra, rb = res.config_records(a["config_id"]), res.config_records(b["config_id"])
    boot = paired_bootstrap(ra, rb, metric, resamples=args.resamples, alpha=args.alpha)
    mc = mcnemar(ra, rb)
    deg = {row["config_id"]: dict(zip(("seeds", "of", "reason"), res.degenerate(row["config_id"]), strict=True))
           for row in (a, b)}
    if args.json:
        print(json.dumps({"a": {"task": a["task"], "config": a["config"], "config_id": a["config_id"],
                                "degenerate": deg[a["config_id"]]},
                          "b": {"task": b["task"], "config": b["config"], "config_id": b["config_id"],
                                "degenerate": deg[b["config_id"]]},
                          "bootstrap": boot, "mcnemar": mc}, indent=1))
        return 0
    from bench.report.tables import p_text

    better = "higher" if DIRECTION.get(metric, 1) > 0 else "lower"
    level = round(100 * (1 - args.alpha))
    verdict = (f"{boot['better']} is significantly better" if boot["significant"]
               else f"no significant difference at {level}%")
    print(f"metric {metric} ({better} is better)")
    for name, row, recs, mean in (("A", a, ra, boot["mean_a"]), ("B", b, rb, boot["mean_b"])):
        d = deg[row["config_id"]]
        mark = f"  DEGENERATE ({d['seeds']}/{d['of']} seeds): {d['reason']}" if d["seeds"] else ""
        print(f"{name}: {row['task']} · {row['config']}  [{row['config_id']}, {len(recs)} seed(s)]  {metric} {mean:.4f} on the paired seeds{mark}")
    print(f"{metric}, paired bootstrap: A - B = {boot['diff']:+.4f}  {level}% CI [{boot['ci_low']:+.4f}, "
          f"{boot['ci_high']:+.4f}]  {p_text(boot['p_value'], 'p', boot['resamples'])}  (seeds as the unit: "
          f"{boot['n_docs']} test documents x {boot['n_seeds']} seed pair(s), {boot['resamples']} resamples, "
          f"p = (1+k)/(B+1) >= {boot['min_p']:.2g}) -> {verdict}")
    print(f"accuracy (which documents each gets right), McNemar ({mc['method']}, {mc['n_docs']} documents x "
          f"{mc['n_seeds']} seed pair(s)): A-only correct {mc['a_only_correct']}, B-only correct "
          f"{mc['b_only_correct']}, statistic {mc['statistic']:.3f}, {p_text(mc['p_value'], 'p')}")
    return 0


def cmd_transfer(args: argparse.Namespace) -> int:
    from bench.report.transfer import format_transfer, transfer_table

    table = transfer_table(args.results, metric=args.metric, min_n=args.min_n)
    print(table.to_csv(index=False) if args.csv else format_transfer(table))
    return 0


GROUPS = "task, model, method, imbalance, context, adapt, max_length, framework, config"


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="leaderboard of a results folder: tables (md/latex/csv/json), plots, HTML site")
    p.add_argument("--results", default="results", help="results folder (holds records/)")
    p.add_argument("--format", default="md", choices=["md", "latex", "csv", "json", "html"])
    p.add_argument("--out", default=None, help="a file, or a folder (table + plots; html: the site). Default: stdout")
    p.add_argument("--metric", default=None, help="metric to rank by (default: the tasks' main score)")
    p.add_argument("--rows", default=None, help=f"comma list of {GROUPS} (default: config)")
    p.add_argument("--cols", default=None, help="comma list, as --rows (default: task)")
    p.add_argument("--task", default=None, help="only this task")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (vs-best marks, intervals, axis view)")
    p.add_argument("--alpha", type=float, default=0.05, help="level of every interval (1 - alpha) and test "
                   "(Holm-corrected per family)")
    p.add_argument("--axis", default=None, help="imbalance | context | method | adapt | model | max_length | framework; axis view: each value of AXIS vs a reference, paired over configurations differing only in AXIS")
    p.add_argument("--reference", default=None, help="reference value of --axis (default: none / head / full / none / "
                   "the first model / the smallest length / hf)")
    p.add_argument("--matrix", default=None, help="the matrix file the results were planned from (default: the "
                   "matrix named in the records): never-planned cells are not called missing")
    p.set_defaults(run=run)

    p = sub.add_parser("compare", help="paired significance of configuration A vs B (bootstrap CI + McNemar)")
    p.add_argument("a", metavar="A", help="selector of A: key=value[,key=value] over " + GROUPS
                   + ", precision (bf16/fp32), or a config id")
    p.add_argument("b", metavar="B", help="selector of B; dimensions it does not name are taken from A")
    p.add_argument("--results", default="results", help="results folder (holds records/)")
    p.add_argument("--metric", default=None, help="metric (default: the tasks' main score)")
    p.add_argument("--task", default=None, help="only this task")
    p.add_argument("--resamples", type=int, default=1000, help="paired-bootstrap resamples")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (CI is 1 - alpha)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run)

    p = sub.add_parser("transfer", help="source x target domain transfer table of cross-domain records")
    p.add_argument("--results", default="results", help="results folder (with records/)")
    p.add_argument("--metric", default=None, help="metric (default: each task's main score)")
    p.add_argument("--min-n", type=int, default=1, help="hide target domains with fewer test rows")
    p.add_argument("--csv", action="store_true")
    p.set_defaults(run=run)

    p = sub.add_parser("columns", help="per configuration, mean ± std over seeds of any numeric record fields "
                       "(metrics.minority_recall, context.train.tokens_seen, cost.params_trainable, ...)")
    p.add_argument("--results", default="results", help="results folder (holds records/)")
    p.add_argument("--fields", required=True, help="comma list of dotted record paths, e.g. metrics.ece,timing.train_seconds")
    p.add_argument("--task", default=None, help="only this task")
    p.set_defaults(run=run)


def cmd_columns(args: argparse.Namespace) -> int:
    from bench.report import columns

    return columns.run(args.results, args.fields, args.task)


def run(args: argparse.Namespace) -> int:
    return {"report": cmd_report, "compare": cmd_compare, "transfer": cmd_transfer,
            "columns": cmd_columns}[args.command](args)
