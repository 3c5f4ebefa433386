"""A Board -> tables: GitHub Markdown, LaTeX booktabs, HTML (tabulate), CSV (pandas), JSON.

Cells are built once as plain text with two markers (bold on/off) and the symbols ± ≈ —; each
format then swaps them for its own spelling after tabulate has escaped the text.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from bench.report.aggregate import TIMING, Board, cost_view, key_mask
from bench.report.records import MAJORITY_LABEL
from bench.report.significance import format_p

DEGENERATE = "[degenerate]"
FEW = "†"

BOLD_ON, BOLD_OFF = "\x01", "\x02"
SPELLING = {
    "md": {BOLD_ON: "**", BOLD_OFF: "**"},
    "latex": {BOLD_ON: r"\textbf{", BOLD_OFF: "}", "±": r"$\pm$", "≈": r"$\approx$", "—": "--", "×": r"$\times$",
              "†": r"$^\dagger$", "−": "$-$", "Δ": r"$\Delta$"},
    "html": {BOLD_ON: "<b>", BOLD_OFF: "</b>"},
}
TABLEFMT = {"md": "github", "latex": "latex_booktabs", "html": "unsafehtml"}


def _num(v, digits: int = 3) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def p_text(v, prefix: str = "", resamples: int | None = None) -> str:
    """A p-value as text: significance.format_p, the one formatter (kept under this name for callers)."""
    return format_p(v, resamples, prefix)


def _key(values) -> str:
    return " / ".join(str(v) for v in values)


def cell_text(c: pd.Series) -> str:
    if c["status"] != "ok":
        return c["status"]
    text = _num(c["mean"]) + (f" ± {_num(c['std'])}" if c["n"] > 1 else "") + f" (n={int(c['n'])}{FEW if c['few_seeds'] else ''})"
    if c["degenerate"]:
        text += " " + DEGENERATE
    if c["best"]:
        text = BOLD_ON + text + BOLD_OFF
    elif c["tie_best"] is True:
        text += " ≈"
    return text


def overall_text(o: pd.Series) -> tuple[str, str, str]:
    """(mean win rate (tasks), mean rank, overall rank) of one row of ``Board.overall``."""
    if math.isnan(o["overall_rank"]):
        why = f"{int(o['present'])} of {int(o['of'])} present" if o["present"] < 2 else f"rests on {int(o['n_tasks'])}"
        return f"— ({why})", "—", "—"
    return f"{o['mean_win_rate']:.2f} ({int(o['n_tasks'])})", _num(o["mean_rank"], 2), str(int(o["overall_rank"]))


def baseline_row(board: Board, width: int) -> list[str] | None:
    """The majority-class baseline as a table row: label, then the values of the column keys."""
    if not board.baseline:
        return None
    vals = [_num(board.baseline[ck]) if ck in board.baseline else "—" for ck in board.col_keys()]
    return [MAJORITY_LABEL, *([""] * (len(board.rows) - 1)), *vals] + ["—"] * (width - len(board.rows) - len(vals))


def pivot(board: Board) -> tuple[list[str], list[list[str]]]:
    """Rows x column keys, plus each row's mean win rate (tasks it rests on), mean rank and overall
    rank (only rows compared on >= 2 columns), and the majority-class baseline row last."""
    cols = board.col_keys()
    ranked = has_overall(board)  # no row rests on >= 2 columns: the three columns would be "—" everywhere
    headers = [*board.rows, *(_key(ck) for ck in cols), *(["mean win rate (tasks)", "mean rank", "overall rank"]
                                                          if ranked else [])]
    ov = board.overall.set_index(board.rows)
    out, order = [], []
    for rk in board.row_keys():
        g = board.cells[key_mask(board.cells, board.rows, rk)]
        by_col = {tuple(r[board.cols]): r for _, r in g.iterrows()}
        o = ov.loc[rk if len(rk) > 1 else rk[0]]
        out.append([*map(str, rk), *(cell_text(by_col[ck]) for ck in cols), *(overall_text(o) if ranked else ())])
        ranks = g["rank"].dropna()  # unranked rows: by their mean rank in the columns they have
        order.append((math.isnan(o["overall_rank"]), o["overall_rank"] if o["overall_rank"] == o["overall_rank"] else 0,
                      float(ranks.mean()) if len(ranks) else math.inf))
    out = [row for _, row in sorted(zip(order, out, strict=True), key=lambda t: t[0])]
    base = baseline_row(board, len(headers))
    return headers, out + ([base] if base else [])


def has_overall(board: Board) -> bool:
    """Whether any row has an overall rank (a win rate resting on >= 2 columns)."""
    return bool(len(board.overall)) and bool(board.overall["overall_rank"].notna().any())


def tie_groups(board: Board) -> list[str]:
    """Per column, in words: the best configuration and those not significantly different from it."""
    out = []
    for ck in board.col_keys():
        g = board.cells[key_mask(board.cells, board.cols, ck) & (board.cells["status"] == "ok")]
        best = [_key(r) for r in g.loc[g["best"].astype(bool), board.rows].itertuples(index=False)]
        tied = [_key(r) for r in g.loc[g["tie_best"].apply(lambda v: v is True), board.rows].itertuples(index=False)]
        if best:
            out.append(f"{_key(ck)}: best {', '.join(best)}; not significantly different from the best: "
                       f"{', '.join(tied) if tied else 'none'}.")
    return out


def details(board: Board) -> tuple[list[str], list[list[str]]]:
    headers = [*board.cols, *board.rows, "n", "mean", "std", f"{_level(board)} CI", "rank", "p vs best", "p Holm",
               "degenerate",
               *TIMING.values()]
    if "config" not in board.rows:
        headers.insert(len(board.cols) + len(board.rows), "config")
    rows = []
    for _, c in board.cells[board.cells["status"] == "ok"].sort_values([*board.cols, "rank"]).iterrows():
        ci = "—" if math.isnan(c["ci_low"]) else f"[{_num(c['ci_low'])}, {_num(c['ci_high'])}]" + (
            " (t, clipped)" if c["ci_method"] == "t, clipped" else "")
        mean = BOLD_ON + _num(c["mean"]) + BOLD_OFF if c["best"] else _num(c["mean"]) + (" ≈" if c["tie_best"] is True else "")
        p = "best" if c["best"] else p_text(c["p_vs_best"], resamples=board.resamples)
        p_adj = "best" if c["best"] else p_text(c["p_vs_best_adj"], resamples=board.resamples)
        deg = f"yes ({int(c['degenerate_seeds'])}/{int(c['n'])} seeds): {c['degenerate_reason']}" if c["degenerate"] else ""
        row = [*(str(c[k]) for k in board.cols), *(str(c[k]) for k in board.rows)]
        if "config" not in board.rows:
            row.append(c["config"])
        row += [str(int(c["n"])) + (FEW if c["few_seeds"] else ""), mean, _num(c["std"]), ci, str(int(c["rank"])), p,
                p_adj, deg, *(_num(c[k], 1) for k in TIMING)]
        rows.append(row)
    for ck, v in board.baseline.items():
        label = [MAJORITY_LABEL, *([""] * (len(board.rows) - ("config" in board.rows)))]
        rows.append([*map(str, ck), *label, "—", _num(v), *(["—"] * (len(headers) - len(ck) - len(label) - 2))])
    return headers, rows


def costs(board: Board) -> tuple[list[str], list[list[str]]]:
    view = cost_view(board)
    headers = [*board.cols, "config", board.metric, "train s", "× cheapest", "latency p50 ms", "Pareto front"]
    rows = [[*(str(c[k]) for k in board.cols), c["config"] + (f" {DEGENERATE}" if c["degenerate"] else ""),
             _num(c["mean"]), _num(c["train_seconds"], 1),
             _num(c["relative_cost"], 2), _num(c["latency_p50_ms"], 1), "yes" if c["pareto"] else ""]
            for _, c in view.iterrows()]
    return headers, rows


def failed(board: Board) -> tuple[list[str], list[list[str]]]:
    return ["task", "config", "seed", "cell", "error"], [
        [r.task, r.config, str(r.seed), r.cell_id, (r.error or "")[:160]] for r in board.failed.itertuples()]


def missing(board: Board) -> tuple[list[str], list[list[str]]]:
    rows = board.missing if board.missing is not None else pd.DataFrame(columns=["task", "config", "seed"])
    return ["task", "config", "seed"], [[r.task, r.config, str(r.seed)] for r in rows.itertuples()]


def table(headers: list[str], rows: list[list[str]], fmt: str) -> str:
    from tabulate import tabulate

    text = tabulate(rows, headers, tablefmt=TABLEFMT[fmt], disable_numparse=True)
    for token, spelled in SPELLING[fmt].items():
        text = text.replace(token, spelled)
    return text


def _level(board: Board) -> str:
    return f"{100 * (1 - board.alpha):g}%"


def legend(board: Board) -> str:
    better = "higher" if board.direction > 0 else "lower"
    return (f"Metric: {board.metric} ({better} is better). Cells: mean ± sample std over seeds (n seeds; "
            f"{FEW} fewer than 3 seeds). Bold: best per column. ≈: not significantly worse than the best "
            f"(paired bootstrap over test documents and seeds, seeds as the unit; each column's comparisons with "
            f"its best are one family, Holm-corrected: ≈ unless the adjusted p < {board.alpha:g}; details show "
            f"raw and adjusted p). {DEGENERATE}: a seed predicts one class "
            f"or does not beat the majority-class baseline; ranked after every other configuration, never "
            f"bold. {_level(board)} CI: bootstrap over documents and seeds (inside the metric's range). missing: planned "
            f"but never run; not planned: excluded by the matrix; failed: only failed runs. "
            + ("Mean win rate: share of head-to-head comparisons won per column, averaged (HELM), over "
               "configurations present in >= 2 columns, with the number of columns it rests on; overall rank "
               "by it, only when it rests on >= 2. " if has_overall(board) else "")
            + board.plan_note).rstrip()


def markdown(board: Board, title: str, plots: list[str] | None = None) -> str:
    pointers = [f"- `bench report --axis {a}` compares the {a} values paired (configurations that differ only "
                f"in {a}, paired bootstrap)" for a in board.axes]
    ties = tie_groups(board)
    parts = [f"# {title}", "", legend(board), "", "## Leaderboard", "", table(*pivot(board), "md"), "",
             *([*(f"- {t}" for t in ties), ""] if ties else []),
             *([*pointers, ""] if pointers else []), "## Per configuration", "", table(*details(board), "md"), "",
             "## Cost-normalised view", "",
             "Quality next to training cost; × cheapest = train seconds relative to the cheapest configuration "
             "of the column; Pareto front = no other configuration is both better and cheaper.", "",
             table(*costs(board), "md")]
    parts += per_class_parts(board, "md")
    if len(board.failed):
        parts += ["", "## Failed cells", "", table(*failed(board), "md")]
    if board.missing is not None and len(board.missing):
        parts += ["", "## Planned cells without a record", "", table(*missing(board), "md")]
    if board.notes:
        parts += ["", "## Notes", "", *(f"- {n}" for n in board.notes)]
    if plots:
        parts += ["", "## Plots", "", *(f"![{p}]({p})" for p in plots)]
    return "\n".join(parts) + "\n"


def latex(board: Board) -> str:
    parts = [f"% DomainBench leaderboard. {legend(board)}", table(*pivot(board), "latex"), "",
             table(*details(board), "latex"), "", table(*costs(board), "latex"), *per_class_parts(board, "latex")]
    return "\n".join(parts) + "\n"


def per_class_parts(board: Board, fmt: str) -> list[str]:
    """The per-class F1 tables (bench.report.per_class), one per task; none without per-class scores."""
    from bench.report.per_class import LEGEND, f1_tables

    if board.per_class is None or board.per_class.empty:
        return []
    if fmt == "latex":
        return [f"% Per-class F1. {LEGEND}",
                *(f"% {task}\n" + table(h, r, fmt) for task, h, r in f1_tables(board.per_class))]
    parts = ["", "## Per-class F1", "", LEGEND]
    for task, headers, rows in f1_tables(board.per_class):
        parts += ["", f"### {task}", "", table(headers, rows, fmt)]
    return parts


def frame(board: Board) -> pd.DataFrame:
    """The long table: one row per (row key, column key), every statistic as a number."""
    cells = board.cells.drop(columns=["tie_best"]).assign(
        not_significantly_worse_than_best=board.cells["tie_best"])
    ov = board.overall[[*board.rows, "n_tasks", "mean_win_rate", "mean_rank", "overall_rank"]]
    cells = cells.merge(ov, on=board.rows, how="left")
    if board.per_class is not None and not board.per_class.empty:  # per_class.<class>.<score>; empty: n/a
        from bench.report.per_class import wide

        cells = cells.merge(wide(board.per_class), on="config_id", how="left")
    base = [{**dict(zip(board.cols, ck, strict=True)), board.rows[0]: MAJORITY_LABEL, "config": MAJORITY_LABEL,
             "status": "baseline", "mean": v} for ck, v in board.baseline.items()]
    return pd.concat([cells, pd.DataFrame(base)], ignore_index=True) if base else cells


def csv(board: Board) -> str:
    return frame(board).to_csv(index=False)


def to_json(board: Board) -> str:
    def records(df: pd.DataFrame) -> list[dict]:
        return json.loads(df.to_json(orient="records"))

    return json.dumps({"metric": board.metric, "direction": board.direction, "rows": board.rows,
                       "cols": board.cols, "cells": records(frame(board)), "overall": records(board.overall),
                       "failed": records(board.failed), "notes": board.notes, "plan": board.plan_note,
                       "planned_missing": None if board.missing is None else records(board.missing)},
                      indent=1) + "\n"


def render(board: Board, fmt: str, title: str = "DomainBench report", plots: list[str] | None = None) -> str:
    if fmt == "md":
        return markdown(board, title, plots)
    if fmt == "latex":
        return latex(board)
    if fmt == "csv":
        return csv(board)
    if fmt == "json":
        return to_json(board)
    if fmt == "html":
        return table(*pivot(board), "html")
    raise ValueError(fmt)
