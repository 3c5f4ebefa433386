"""A Board -> tables: GitHub Markdown, LaTeX booktabs, HTML (tabulate), CSV (pandas), JSON.

Cells are built once as plain text with two markers (bold on/off) and the symbols ± ≈ —; each
format then swaps them for its own spelling after tabulate has escaped the text.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from bench.report.aggregate import TIMING, Board, cost_view, key_mask

BOLD_ON, BOLD_OFF = "\x01", "\x02"
SPELLING = {
    "md": {BOLD_ON: "**", BOLD_OFF: "**"},
    "latex": {BOLD_ON: r"\textbf{", BOLD_OFF: "}", "±": r"$\pm$", "≈": r"$\approx$", "—": "--", "×": r"$\times$"},
    "html": {BOLD_ON: "<b>", BOLD_OFF: "</b>"},
}
TABLEFMT = {"md": "github", "latex": "latex_booktabs", "html": "unsafehtml"}


def _num(v, digits: int = 3) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _key(values) -> str:
    return " / ".join(str(v) for v in values)


def cell_text(c: pd.Series) -> str:
    if c["status"] != "ok":
        return c["status"]
    text = _num(c["mean"]) + (f" ± {_num(c['std'])}" if c["n"] > 1 else "") + f" (n={int(c['n'])})"
    if c["best"]:
        text = BOLD_ON + text + BOLD_OFF
    elif c["tie_best"] is True:
        text += " ≈"
    return text


def pivot(board: Board) -> tuple[list[str], list[list[str]]]:
    """Rows x column keys, plus each row's mean rank and overall rank (complete rows only)."""
    cols = board.col_keys()
    headers = [*board.rows, *(_key(ck) for ck in cols), "mean rank", "overall rank"]
    ov = board.overall.set_index(board.rows)
    out = []
    for rk in board.row_keys():
        g = board.cells[key_mask(board.cells, board.rows, rk)]
        by_col = {tuple(r[board.cols]): r for _, r in g.iterrows()}
        o = ov.loc[rk if len(rk) > 1 else rk[0]]
        if o["present"] < o["of"]:
            mean_rank, overall = f"— ({int(o['present'])}/{int(o['of'])} present)", "—"
        else:
            mean_rank, overall = _num(o["mean_rank"], 2), str(int(o["overall_rank"]))
        out.append([*map(str, rk), *(cell_text(by_col[ck]) for ck in cols), mean_rank, overall])
    out.sort(key=lambda r: (r[-1] == "—", int(r[-1]) if r[-1] != "—" else 0))
    return headers, out


def details(board: Board) -> tuple[list[str], list[list[str]]]:
    headers = [*board.cols, *board.rows, "n", "mean", "std", "95% CI", "rank", "p vs best", *TIMING.values()]
    if "config" not in board.rows:
        headers.insert(len(board.cols) + len(board.rows), "config")
    rows = []
    for _, c in board.cells[board.cells["status"] == "ok"].sort_values([*board.cols, "rank"]).iterrows():
        ci = "—" if math.isnan(c["ci_low"]) else f"[{_num(c['ci_low'])}, {_num(c['ci_high'])}]"
        mean = BOLD_ON + _num(c["mean"]) + BOLD_OFF if c["best"] else _num(c["mean"]) + (" ≈" if c["tie_best"] is True else "")
        p = "best" if c["best"] else "<0.001" if c["p_vs_best"] < 0.001 else _num(c["p_vs_best"])
        row = [*(str(c[k]) for k in board.cols), *(str(c[k]) for k in board.rows)]
        if "config" not in board.rows:
            row.append(c["config"])
        row += [str(int(c["n"])), mean, _num(c["std"]), ci, str(int(c["rank"])), p,
                *(_num(c[k], 1) for k in TIMING)]
        rows.append(row)
    return headers, rows


def costs(board: Board) -> tuple[list[str], list[list[str]]]:
    view = cost_view(board)
    headers = [*board.cols, "config", board.metric, "train s", "× cheapest", "latency p50 ms", "Pareto front"]
    rows = [[*(str(c[k]) for k in board.cols), c["config"], _num(c["mean"]), _num(c["train_seconds"], 1),
             _num(c["relative_cost"], 2), _num(c["latency_p50_ms"], 1), "yes" if c["pareto"] else ""]
            for _, c in view.iterrows()]
    return headers, rows


def failed(board: Board) -> tuple[list[str], list[list[str]]]:
    return ["task", "config", "seed", "cell", "error"], [
        [r.task, r.config, str(r.seed), r.cell_id, (r.error or "")[:160]] for r in board.failed.itertuples()]


def table(headers: list[str], rows: list[list[str]], fmt: str) -> str:
    from tabulate import tabulate

    text = tabulate(rows, headers, tablefmt=TABLEFMT[fmt], disable_numparse=True)
    for token, spelled in SPELLING[fmt].items():
        text = text.replace(token, spelled)
    return text


def legend(board: Board) -> str:
    better = "higher" if board.direction > 0 else "lower"
    return (f"Metric: {board.metric} ({better} is better). Cells: mean ± sample std over seeds (n seeds). "
            f"Bold: best per column. ≈: not significantly different from the best (paired bootstrap over "
            f"test documents and seeds, 95%). missing: never run; failed: only failed runs. Overall rank: "
            f"ranks of the mean per-column rank, ties share a rank, only rows present in every column.")


def markdown(board: Board, title: str, plots: list[str] | None = None) -> str:
    parts = [f"# {title}", "", legend(board), "", "## Leaderboard", "", table(*pivot(board), "md"), "",
             "## Per configuration", "", table(*details(board), "md"), "",
             "## Cost-normalised view", "",
             "Quality next to training cost; × cheapest = train seconds relative to the cheapest configuration "
             "of the column; Pareto front = no other configuration is both better and cheaper.", "",
             table(*costs(board), "md")]
    if len(board.failed):
        parts += ["", "## Failed cells", "", table(*failed(board), "md")]
    if board.notes:
        parts += ["", "## Notes", "", *(f"- {n}" for n in board.notes)]
    if plots:
        parts += ["", "## Plots", "", *(f"![{p}]({p})" for p in plots)]
    return "\n".join(parts) + "\n"


def latex(board: Board) -> str:
    parts = [f"% DomainBench leaderboard. {legend(board)}", table(*pivot(board), "latex"), "",
             table(*details(board), "latex"), "", table(*costs(board), "latex")]
    return "\n".join(parts) + "\n"


def frame(board: Board) -> pd.DataFrame:
    """The long table: one row per (row key, column key), every statistic as a number."""
    cells = board.cells.drop(columns=["tie_best"]).assign(
        not_significantly_worse_than_best=board.cells["tie_best"])
    return cells.merge(board.overall[[*board.rows, "mean_rank", "overall_rank"]], on=board.rows, how="left")


def csv(board: Board) -> str:
    return frame(board).to_csv(index=False)


def to_json(board: Board) -> str:
    def records(df: pd.DataFrame) -> list[dict]:
        return json.loads(df.to_json(orient="records"))

    return json.dumps({"metric": board.metric, "direction": board.direction, "rows": board.rows,
                       "cols": board.cols, "cells": records(frame(board)), "overall": records(board.overall),
                       "failed": records(board.failed), "notes": board.notes}, indent=1) + "\n"


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
