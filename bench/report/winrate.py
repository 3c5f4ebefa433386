"""Cross-column aggregate of a leaderboard, HELM-style: mean win rate beside mean rank.

Only configurations (board rows) with successful results in at least two columns (tasks) take
part. In each column, every such configuration meets every other one present there head to head:
a win when its mean is better (``bench.metrics.DIRECTION``), half a win on a tie, and a degenerate
result (``quality.degenerate``) always loses to a non-degenerate one. Its win rate in the column =
wins / opponents; the mean win rate averages the columns where it had an opponent, and
``n_tasks`` counts them. The overall rank orders by mean win rate (ties share a rank), degenerate
rows after every non-degenerate one, and is given only to rows whose win rate rests on >= 2
columns: a configuration present in one task gets none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def ranks_degenerate_last(means: pd.Series, degenerate: pd.Series, direction: int) -> pd.Series:
    """Competition ranks ("1224") of ``means``; every degenerate entry ranks after every other one."""
    score = means.astype(float).round(10) * direction
    key = score - np.where(degenerate.fillna(False).astype(bool), 1e12, 0.0)
    return key.rank(method="min", ascending=False)


def _head_to_head(g: pd.DataFrame, direction: int) -> pd.Series:
    s = (g["mean"].round(10) * direction).to_numpy()
    d = g["degenerate"].astype(bool).to_numpy()
    wins = np.zeros(len(g))
    for i in range(len(g)):
        for j in range(len(g)):
            if i == j:
                continue
            if d[i] != d[j]:
                wins[i] += float(d[j])
            else:
                wins[i] += 1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0
    return pd.Series(wins / (len(g) - 1), index=g.index)


def overall(cells: pd.DataFrame, rows: list[str], cols: list[str], n_cols: int, direction: int) -> pd.DataFrame:
    """One row per row key: present (columns with results), of, n_tasks, mean_win_rate, mean_rank,
    degenerate (in any column) and overall_rank."""
    ok = cells[cells["status"] == "ok"].copy()
    ok["_row"] = list(map(tuple, ok[rows].astype(object).itertuples(index=False)))
    ok["_col"] = list(map(tuple, ok[cols].astype(object).itertuples(index=False)))
    present = ok.groupby("_row")["_col"].nunique()
    eligible = ok[ok["_row"].map(present) >= 2]
    rates: dict[tuple, list[float]] = {}
    ranks: dict[tuple, list[float]] = {}
    for _, g in eligible.groupby("_col", sort=False):
        if len(g) < 2:
            continue
        for i, rate in _head_to_head(g, direction).items():
            rates.setdefault(g.at[i, "_row"], []).append(rate)
        for i, rank in ranks_degenerate_last(g["mean"], g["degenerate"], direction).items():
            ranks.setdefault(g.at[i, "_row"], []).append(rank)
    out = []
    for rk, g in cells.groupby(rows, sort=False, dropna=False):
        rk = rk if isinstance(rk, tuple) else (rk,)
        r = rates.get(rk, [])
        out.append(dict(zip(rows, rk, strict=True), present=int(present.get(rk, 0)), of=n_cols, n_tasks=len(r),
                        mean_win_rate=float(np.mean(r)) if r else np.nan,
                        mean_rank=float(np.mean(ranks[rk])) if r else np.nan,
                        degenerate=bool(g.get("degenerate", pd.Series(False)).fillna(False).astype(bool).any())))
    ov = pd.DataFrame(out)
    ranked = ov["n_tasks"] >= 2
    ov["overall_rank"] = np.nan
    if ranked.any():
        ov.loc[ranked, "overall_rank"] = ranks_degenerate_last(ov.loc[ranked, "mean_win_rate"],
                                                               ov.loc[ranked, "degenerate"], 1)
    return ov
