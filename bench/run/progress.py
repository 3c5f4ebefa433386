"""The matrix runner's console: a rich progress display (ETA, current cell and phase), one line
per finished cell, and the final summary with the leaderboard (best configuration per task).

Degenerate results (bench.record.quality) are marked on the cell's line, in the summary and in the
leaderboard, where a degenerate configuration never ranks above a non-degenerate one; each task's
majority-class baseline is shown as an unranked reference row."""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from bench.record.frame import config_id, config_label, effective_cell, mean_std, task_name
from bench.record.quality import degenerate_mark, majority_rows
from bench.spec.named import label


def config_text(cell: dict, model_label: str | None = None) -> str:
    """A configuration's readable label; random-init models keep their '(random-init)' mark."""
    text = config_label(cell)
    if model_label and model_label != cell["model"]:
        text = text.replace(cell["model"], model_label, 1)
    return text


def cell_label(cell: dict, model_label: str | None = None) -> str:
    return f"{cell['task']} · {config_text(cell, model_label)} · seed {cell['seed']}"


class MatrixProgress:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or wide_console(file=sys.stderr)
        self.progress: Progress | None = None
        self.current: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        self.finished = 0
        self.total = 0

    def begin(self, plan, todo: list[str]) -> None:
        self.total = len(todo)
        index = {cid: i for i, cid in enumerate(plan.ids)}
        self.labels = {cid: cell_label(plan.cells[index[cid]].to_dict()) for cid in todo}
        self.progress = Progress(
            TextColumn("[bold]{task.fields[name]}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}"),
            console=self.console, disable=not self.console.is_terminal, transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("", total=self.total, name=plan.name)

    def phase(self, cid: str, phase: str) -> None:
        self.current[cid] = phase
        self._describe()

    def _describe(self) -> None:
        if self.progress is None:
            return
        if len(self.current) == 1:
            (cid, ph), = self.current.items()
            text = f"{cid[:8]} {self.labels.get(cid, '')} [cyan]{ph}"
        else:
            text = ", ".join(f"{cid[:8]} [cyan]{ph}[/]" for cid, ph in list(self.current.items())[:4])
            if len(self.current) > 4:
                text += f" (+{len(self.current) - 4})"
        self.progress.update(self.task, description=text)

    def done(self, index: int, res: dict) -> None:
        self.current.pop(res["id"], None)
        self.finished += 1
        status = res["status"]
        detail = ""
        if status == "ok" and res.get("main_score") is not None:
            detail = f"score {res['main_score']:.4f}"
            if res.get("degenerate"):
                detail += f" [bold red]DEGENERATE: {res['degenerate']}[/]"
            if res.get("reused_from"):
                detail += f" (training reused from {res['reused_from']})"
        elif status == "failed":
            detail = f"[red]{res.get('error', '')[:160]}[/]"
        elif status == "elsewhere":
            detail = f"done by another runner ({res.get('record_status')})"
        secs = f" ({res['seconds']:.0f} s)" if "seconds" in res else ""
        color = {"ok": "green", "failed": "red"}.get(status, "yellow")
        line = (f"[{self.finished}/{self.total}] [{color}]{status:6}[/] {res['id']} "
                f"{self.labels.get(res['id'], '')} {detail}{secs}")
        (self.progress.console if self.progress else self.console).print(line, highlight=False)
        if self.progress is not None:
            self.progress.advance(self.task)
            self._describe()

    def end(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def print_dry_run(plan, estimates: list[float | None], basis: str, retry_failed: bool, title: str | None = None) -> None:
    """Plain text (tabulate), so it pipes and greps without wrapping."""
    from tabulate import tabulate

    runnable = set(plan.todo(retry_failed))
    rows = []
    for i, (cell, cid) in enumerate(zip(plan.cells, plan.ids, strict=True)):
        shown = {k: label(getattr(cell, k), getattr(cell, f"{k}_params"))
                 for k in ("method", "imbalance", "context", "adapt")}
        state = plan.state[cid]
        action = ("rerun" if state == "failed" else "run") if i in runnable else f"skip ({state})"
        rows.append([i + 1, cid, cell.task, cell.model, shown["method"], shown["imbalance"], shown["context"],
                     shown["adapt"], cell.max_length, cell.seed, action,
                     "?" if (est := estimates[i]) is None else round(est)])
    print(title or f"matrix {plan.name}: {len(plan.cells)} cells (dry run: nothing runs)")
    print(tabulate(rows, ["#", "cell_id", "task", "model", "method", "imbalance", "context", "adapt", "L", "seed",
                          "action", "est. s"], disable_numparse=True))
    todo_est = [estimates[i] for i in runnable]
    known = [e for e in todo_est if e is not None]
    missing = len(todo_est) - len(known)
    print(f"to run: {len(runnable)} of {len(plan.cells)} cells; estimated {sum(known) / 60:.1f} min"
          f"{f' (+{missing} not estimated)' if missing else ''} on this machine ({basis})")


def leaderboard(records: list[dict]) -> dict[str, list[dict]]:
    """Per task: configurations (cells minus seed) ranked by their mean main score over seeds, every
    degenerate configuration (any seed degenerate; ``degenerate`` holds the mark) after every other."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for rec in records:
        if rec.get("status") == "ok":
            groups[(task_name(rec), config_id(effective_cell(rec)))].append(rec)
    board: dict[str, list[dict]] = defaultdict(list)
    for (task, _), recs in groups.items():
        n, mean, sd = mean_std(r["main_score"] for r in recs)
        board[task].append({
            "config": config_text(effective_cell(recs[0]), recs[0]["model"].get("label")),
            "main_score_name": recs[0]["task"]["main_score"],
            "mean": mean, "sd": sd, "n": n, "accuracy": statistics.fmean(r["metrics"]["accuracy"] for r in recs),
            "train_s": statistics.fmean(r["timing"].get("train_seconds") or 0.0 for r in recs),
            "degenerate": degenerate_mark(recs),
        })
    return {t: sorted(rows, key=lambda r: (bool(r["degenerate"]), -r["mean"])) for t, rows in sorted(board.items())}


def wide_console(**kw) -> Console:
    """Rich console; when output is piped or logged, wide enough that tables do not wrap."""
    console = Console(**kw)
    return console if console.is_terminal else Console(width=200, **kw)


def print_outcome(outcome, records: list[dict], console: Console | None = None) -> None:
    console = console or wide_console()
    plan = outcome.plan
    ran = outcome.ran.values()
    counts = {
        "ran: ok": sum(r["status"] == "ok" for r in ran),
        "ran: failed": sum(r["status"] == "failed" for r in ran),
        "ran: ok but DEGENERATE (see below)": sum(bool(r.get("degenerate")) for r in ran),
        "skipped: ok record exists": sum(plan.state[c] == "ok" for c in plan.ids),
        "skipped: failed earlier (--retry-failed reruns)": sum(
            plan.state[c] == "failed" and c not in outcome.ran for c in plan.ids),
        "done by another runner": sum(r["status"] == "elsewhere" for r in ran),
    }
    table = Table(title=f"matrix {plan.name}: {len(plan.ids)} cells in {outcome.wall_seconds:.0f} s wall time")
    table.add_column("cells")
    table.add_column("count", justify="right")
    for k, v in counts.items():
        if v or k in ("ran: ok", "ran: failed"):
            table.add_row(k, str(v))
    console.print(table)
    failed = [r for r in records if r["status"] == "failed"]
    if failed:
        ft = Table(title="failed cells")
        for col in ("cell_id", "cell", "error"):
            ft.add_column(col)
        for r in failed:
            ft.add_row(r["cell_id"], cell_label(r["cell"]), f"{r['error']['type']}: {r['error']['message']}"[:200])
        console.print(ft)
    degenerate = [r for r in records if r["status"] == "ok" and (r.get("quality") or {}).get("degenerate")]
    if degenerate:
        dt = Table(title="DEGENERATE cells (bench.record.quality: not better than predicting the majority class)",
                   title_style="bold red")
        for col in ("cell_id", "cell", "reason"):
            dt.add_column(col)
        for r in degenerate:
            dt.add_row(r["cell_id"], cell_label(r["cell"]), r["quality"]["reason"])
        console.print(dt)
    print_leaderboard(records, console)


def print_leaderboard(records: list[dict], console: Console) -> None:
    """The leaderboard table: ranked configurations, then the degenerate ones (unranked, marked), then
    the task's majority-class reference row."""
    board = leaderboard(records)
    if not board:
        return
    reference = majority_rows(records)
    lb = Table(title="leaderboard (mean over seeds; best configuration per task first; "
                     "DEGENERATE configurations unranked, after the others)")
    for col in ("task", "#", "configuration", "metric", "mean", "± sd", "seeds", "accuracy", "train s"):
        lb.add_column(col, justify="left" if col in ("task", "configuration", "metric") else "right")
    for task, rows in board.items():
        for rank, row in enumerate(rows, 1):
            bad = row["degenerate"]
            lb.add_row(task if rank == 1 else "", "—" if bad else str(rank),
                       row["config"] + (f" [bold red]{bad}[/]" if bad else ""),
                       row["main_score_name"], f"{row['mean']:.4f}", f"{row['sd']:.4f}", str(row["n"]),
                       f"{row['accuracy']:.4f}", f"{row['train_s']:.0f}",
                       style="bold" if rank == 1 and not bad else None)
        ref = reference.get(task)
        if ref is not None and ref["main_score"] is not None:
            lb.add_row("", "ref", f"{ref['config']}: {ref['majority_class']}", ref["main_score_name"],
                       f"{ref['main_score']:.4f}", "—", "—", f"{ref['metrics'].get('accuracy', float('nan')):.4f}",
                       "0", style="dim")
        lb.add_section()
    console.print(lb)
