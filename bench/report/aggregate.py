"""Records -> a leaderboard: seed statistics per configuration, ranks with ties, missing cells.

A *configuration* is a cell minus its seed (``bench.record.frame.config_id``). Every number shown for a
configuration is an aggregate over its seeds: mean, sample std, number of seeds and a 95%
Student-t confidence interval of the mean. Nothing is averaged across configurations: a table
layout (``rows`` x ``cols``) that would put two configurations into one cell is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchError, ConfigError, SchemaError
from bench.metrics import DIRECTION
from bench.record.frame import frame_of, mean_std
from bench.record.io import iter_records
from bench.registry import suggest

DIMS = ("task", "model", "method", "imbalance", "context", "adapt", "max_length")
GROUP_COLUMNS = (*DIMS, "config")
TIMING = {  # record timing key -> column title
    "train_seconds": "train s", "train_samples_per_s": "train samples/s",
    "latency_p50_ms": "latency p50 ms", "peak_memory_mb": "peak MB",
}


@dataclass
class RecordSet:
    """Every record of a results folder: ``frame`` (a row per record, failed ones too) and the
    full ok records by cell id (predictions, per-class scores, ROC points, manifest)."""

    folder: Path
    frame: pd.DataFrame
    records: dict[str, dict]

    @property
    def ok(self) -> pd.DataFrame:
        return self.frame[self.frame["status"] == "ok"]

    def config_records(self, cid: str) -> list[dict]:
        ids = self.ok.loc[self.ok["config_id"] == cid, "cell_id"]
        return sorted((self.records[i] for i in ids), key=lambda r: r["cell"]["seed"])

    def metrics(self) -> list[str]:
        return sorted(c[len("metrics."):] for c in self.ok.columns
                      if c.startswith("metrics.") and self.ok[c].notna().any())

    def main_metric(self) -> str:
        names = [n for r in self.records.values() if (n := (r.get("task") or {}).get("main_score"))]
        return max(set(names), key=names.count) if names else "macro_f1"


def load_record_set(folder: str | Path) -> RecordSet:
    """Read every record under ``folder/records``; refuse empty folders and unreadable schemas."""
    folder = Path(folder)
    recs = list(iter_records(folder, "records to report"))
    frame = frame_of(recs, folder / "records")
    random_init = {r["cell_id"] for r in recs if (r.get("model") or {}).get("random_init")}
    m = frame["config_id"].isin(frame.loc[frame["cell_id"].isin(random_init), "config_id"])
    frame.loc[m, "config"] = frame.loc[m, "config"] + " [random-init]"
    _disambiguate_labels(frame)
    _check_task_versions(frame)
    return RecordSet(folder, frame, {r["cell_id"]: r for r in recs if r.get("status") == "ok"})


def _disambiguate_labels(frame: pd.DataFrame) -> None:
    """Configurations differing only in training parameters share a label: add their id."""
    labels = frame.drop_duplicates("config_id").groupby(["task", "config"])["config_id"].nunique()
    clash = {lab for (_, lab), k in labels.items() if k > 1}
    m = frame["config"].isin(clash)
    frame.loc[m, "config"] = frame.loc[m, "config"] + " #" + frame.loc[m, "config_id"].str[:6]


def _check_task_versions(frame: pd.DataFrame) -> None:
    versions = frame.dropna(subset=["task_version"]).groupby("config_id")["task_version"].unique()
    for cid, vs in versions.items():
        if len(vs) > 1:
            task = frame.loc[frame["config_id"] == cid, "task"].iloc[0]
            raise SchemaError(f"records of task {task!r} with different task versions {sorted(vs)} in one "
                              f"results folder (configuration {cid}); keep each version in its own folder")


def seed_stats(values) -> dict[str, float]:
    """n, mean, sample std (ddof 1) and the 95% Student-t confidence interval of the mean."""
    from scipy.stats import t

    n, mean, std = mean_std(values)
    if n == 0:
        return {"n": 0, "mean": np.nan, "std": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if n == 1:
        return {"n": 1, "mean": mean, "std": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    half = float(t.ppf(0.975, n - 1) * std / np.sqrt(n))
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def rank_with_ties(values: pd.Series, direction: int) -> pd.Series:
    """Competition ranking ("1224"): equal scores share the best rank. NaN stays NaN."""
    return values.round(10).rank(method="min", ascending=direction < 0)


def pareto_mask(quality: np.ndarray, cost: np.ndarray, direction: int = 1) -> np.ndarray:
    """True where no other point is at least as good on both and strictly better on one."""
    q = np.asarray(quality, float) * direction
    c = np.asarray(cost, float)
    out = np.ones(len(q), bool)
    for i in range(len(q)):
        dominated = (q >= q[i]) & (c <= c[i]) & ((q > q[i]) | (c < c[i]))
        out[i] = not dominated.any()
    return out & ~np.isnan(q) & ~np.isnan(c)


@dataclass
class Board:
    metric: str
    direction: int
    rows: list[str]
    cols: list[str]
    cells: pd.DataFrame  # one row per (row key, column key): status ok | failed | missing
    overall: pd.DataFrame  # one row per row key: tasks present, mean rank, overall rank
    failed: pd.DataFrame  # the failed records
    notes: list[str] = field(default_factory=list)

    def col_keys(self) -> list[tuple]:
        return list(dict.fromkeys(map(tuple, self.cells[self.cols].itertuples(index=False))))

    def row_keys(self) -> list[tuple]:
        return list(dict.fromkeys(map(tuple, self.cells[self.rows].itertuples(index=False))))


def check_columns(names: list[str], flag: str) -> None:
    for n in names:
        if n not in GROUP_COLUMNS:
            raise ConfigError(f"{flag}: unknown grouping column {n!r}{suggest(n, GROUP_COLUMNS)}")


def check_metric(res: RecordSet, metric: str) -> int:
    avail = res.metrics()
    if metric not in avail:
        raise ConfigError(f"--metric: unknown metric {metric!r}{suggest(metric, avail)}")
    return DIRECTION.get(metric, 1)


def build_board(res: RecordSet, metric: str | None = None, rows: list[str] | None = None,
                cols: list[str] | None = None, task: str | None = None, resamples: int = 1000,
                alpha: float = 0.05, seed: int = 0) -> Board:
    metric = metric or res.main_metric()
    rows, cols = list(rows or ["config"]), list(cols or ["task"])
    check_columns(rows, "--rows")
    check_columns(cols, "--cols")
    if set(rows) & set(cols):
        raise ConfigError(f"--rows and --cols share {sorted(set(rows) & set(cols))}; a column can be used once")
    direction = check_metric(res, metric)
    frame = res.frame
    if task is not None:
        tasks = sorted(frame["task"].unique())
        if task not in tasks:
            raise ConfigError(f"--task: no records of task {task!r} in {res.folder}{suggest(task, tasks)}")
        frame = frame[frame["task"] == task]
    _check_layout(frame, rows + cols)
    configs = frame.drop_duplicates("config_id").set_index(rows + cols)["config_id"]
    row_keys = sorted(set(map(tuple, frame[rows].astype(object).itertuples(index=False))), key=_natural)
    col_keys = sorted(set(map(tuple, frame[cols].astype(object).itertuples(index=False))), key=_natural)
    cells = pd.DataFrame(_board_rows(frame, configs, rows, cols, row_keys, col_keys, metric))
    for c in ("n", "mean", "std", "ci_low", "ci_high", *TIMING):
        if c not in cells:
            cells[c] = np.nan
    cells["rank"] = np.nan
    cells["best"] = False
    cells["tie_best"] = None
    cells["p_vs_best"] = np.nan
    notes = _rank_and_test(res, cells, cols, col_keys, metric, direction, resamples, seed, alpha)
    overall = _overall(cells, rows, col_keys)
    failed = frame[frame["status"] != "ok"][["task", "config", "seed", "cell_id", "error"]].reset_index(drop=True)
    return Board(metric, direction, rows, cols, cells, overall, failed, notes)


def _board_rows(frame: pd.DataFrame, configs: pd.Series, rows: list[str], cols: list[str], row_keys: list,
                col_keys: list, metric: str) -> list[dict]:
    """One row per (row key, column key): seed statistics of the metric and mean timings."""
    ok = frame[frame["status"] == "ok"]
    cells = []
    for ck in col_keys:
        for rk in row_keys:
            key = rk + ck
            cid = configs.get(key if len(key) > 1 else key[0])
            row = dict(zip(rows + cols, key, strict=True), config_id=cid, status="missing")
            if cid is not None:
                mine = ok[ok["config_id"] == cid]
                row["config"] = frame.loc[frame["config_id"] == cid, "config"].iloc[0]
                if len(mine) and mine[f"metrics.{metric}"].notna().any():
                    row.update(seed_stats(mine[f"metrics.{metric}"]), status="ok")
                    for k in TIMING:
                        col = f"timing.{k}"
                        row[k] = float(mine[col].mean()) if col in mine and mine[col].notna().any() else np.nan
                else:
                    row["status"] = "n/a" if len(mine) else "failed"
            cells.append(row)
    return cells


def _rank_and_test(res: RecordSet, cells: pd.DataFrame, cols: list[str], col_keys: list, metric: str, direction: int,
                   resamples: int, seed: int, alpha: float) -> list[str]:
    """Rank each column's configurations and test each against the best (paired bootstrap)."""
    from bench.report.stats import paired_bootstrap

    notes: list[str] = []
    for ck in col_keys:
        m = key_mask(cells, cols, ck) & (cells["status"] == "ok")
        cells.loc[m, "rank"] = rank_with_ties(cells.loc[m, "mean"], direction)
        cells.loc[m, "best"] = cells.loc[m, "rank"] == 1
        if not m.any():
            continue
        best_cid = cells.loc[m & cells["best"], "config_id"].iloc[0]
        best_recs = res.config_records(best_cid)
        for i in cells.index[m & ~cells["best"]]:
            try:
                r = paired_bootstrap(res.config_records(cells.at[i, "config_id"]), best_recs, metric,
                                     resamples=resamples, seed=seed, alpha=alpha)
            except BenchError as err:
                notes.append(f"{cells.at[i, 'config']} vs best on {', '.join(map(str, ck))}: not tested ({err})")
                continue
            cells.at[i, "tie_best"] = not r["significant"]
            cells.at[i, "p_vs_best"] = r["p_value"]
    return notes


def key_mask(df: pd.DataFrame, columns: list[str], key: tuple) -> pd.Series:
    """Rows of ``df`` whose ``columns`` equal ``key``."""
    m = pd.Series(True, index=df.index)
    for c, v in zip(columns, key, strict=True):
        m &= df[c] == v
    return m


def _natural(key: tuple) -> tuple:
    return tuple((0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v)) for v in key)


def _check_layout(frame: pd.DataFrame, keys: list[str]) -> None:
    per = frame.groupby(keys, dropna=False)["config_id"].nunique()
    if (per <= 1).all():
        return
    bad = per[per > 1].index[0]
    sub = frame.set_index(keys).loc[[bad]] if len(keys) > 1 else frame[frame[keys[0]] == bad]
    varying = [d for d in DIMS if d not in keys and sub[d].nunique() > 1]
    what = ", ".join(varying) if varying else "training parameters (use --rows config)"
    raise ConfigError(f"--rows/--cols {','.join(keys)} would average different configurations in one cell "
                      f"({what} vary); add {varying[0] if varying else 'config'} to --rows or --cols, "
                      f"or choose one with --task")


def _overall(cells: pd.DataFrame, rows: list[str], col_keys: list[tuple]) -> pd.DataFrame:
    out = []
    for rk, g in cells.groupby(rows, sort=False, dropna=False):
        rk = rk if isinstance(rk, tuple) else (rk,)
        present = int((g["status"] == "ok").sum())
        complete = present == len(col_keys)
        out.append(dict(zip(rows, rk, strict=True), present=present, of=len(col_keys),
                        mean_rank=float(g["rank"].mean()) if complete else np.nan))
    overall = pd.DataFrame(out)
    overall["overall_rank"] = rank_with_ties(overall["mean_rank"], -1)
    return overall


def cost_view(board: Board, cost: str = "train_seconds") -> pd.DataFrame:
    """Per column key: quality next to cost, cost relative to the cheapest, and the Pareto front."""
    parts = []
    for ck in board.col_keys():
        g = board.cells[key_mask(board.cells, board.cols, ck) & (board.cells["status"] == "ok")].copy()
        if g.empty:
            continue
        g["relative_cost"] = g[cost] / g[cost].min()
        g["pareto"] = pareto_mask(g["mean"].to_numpy(), g[cost].to_numpy(), board.direction)
        parts.append(g.sort_values(cost))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
