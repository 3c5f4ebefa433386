"""Records -> a leaderboard: seed statistics per configuration, ranks with ties, missing cells.

A *configuration* is a cell minus its seed (``bench.record.frame.config_id``). Every number shown for a
configuration is an aggregate over its seeds: mean, sample std, number of seeds (fewer than 3
marked) and a (1 - alpha) interval of the mean that stays inside the metric's range (``_trust``).
Each column's "≈ best" marks come from one family of tests (every configuration against the best),
Holm-corrected: ``p_vs_best`` raw, ``p_vs_best_adj`` adjusted. Nothing is
averaged across configurations: a table layout (``rows`` x ``cols``) that would put two
configurations into one cell is refused. Degenerate results (``quality.degenerate``) rank after every
other one and are never best; the cross-column aggregate is ``bench.report.winrate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench.errors import BenchError, ConfigError
from bench.metrics import DIRECTION, metric_range  # noqa: F401 - metric_range: a view of the registry
from bench.record.frame import mean_std, precision_notes
from bench.registry import suggest
from bench.report import winrate
from bench.report.records import RecordSet, load_record_set  # noqa: F401 - re-exported

DIMS = ("task", "model", "method", "imbalance", "context", "adapt", "max_length", "framework")
GROUP_COLUMNS = (*DIMS, "config")
TIMING = {  # record timing key -> column title
    "train_seconds": "train s", "train_samples_per_s": "train samples/s",
    "latency_p50_ms": "latency p50 ms", "peak_memory_mb": "peak MB",
}


def seed_stats(values, alpha: float = 0.05) -> dict[str, float]:
    """n, mean, sample std (ddof 1) and the (1 - alpha) Student-t confidence interval of the mean."""
    from scipy.stats import t

    n, mean, std = mean_std(values)
    if n == 0 or mean is None or std is None:
        return {"n": 0, "mean": np.nan, "std": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if n == 1:
        return {"n": 1, "mean": mean, "std": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    half = float(t.ppf(1 - alpha / 2, n - 1) * std / np.sqrt(n))
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


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
    cells: pd.DataFrame  # one row per (row key, column key): status ok | failed | missing | not planned
    overall: pd.DataFrame  # one row per row key: present, n_tasks, mean win rate, mean rank, overall rank
    failed: pd.DataFrame  # the failed records
    notes: list[str] = field(default_factory=list)
    baseline: dict = field(default_factory=dict)  # column key -> the majority-class baseline's metric
    missing: pd.DataFrame | None = None  # planned cells without a record (None: plan unknown)
    plan_note: str = ""
    per_class: pd.DataFrame | None = None  # bench.report.per_class.per_class_frame of the ok cells
    axes: list[str] = field(default_factory=list)  # axes with >= 2 values: `bench report --axis` pointers (cli)
    alpha: float = 0.05  # level of the intervals and of the (Holm-corrected) "≈ best" tests
    resamples: int = 1000  # bootstrap resamples behind the intervals and p (p >= 2 / (resamples + 1))

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
                alpha: float = 0.05, seed: int = 0, planned=None, plan_note: str = "") -> Board:
    """The leaderboard of ``res``: ``rows`` x ``cols`` (default config x task); ``planned``
    (bench.report.planned.Planned) tells never-planned combinations from missing cells."""
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
    cells = pd.DataFrame(_board_rows(frame, configs, rows, cols, row_keys, col_keys, metric, alpha))
    _trust(res, cells, metric, resamples, seed, alpha)
    if planned is not None:
        absent = cells["status"] == "missing"
        keys = rows + cols + (["task"] if task is not None and "task" not in rows + cols else [])
        cells.loc[absent, "status"] = [
            "missing" if planned.has(keys, tuple(task if c == "task" and c not in r else r[c] for c in keys))
            else "not planned" for _, r in cells[absent].iterrows()]
    notes = _rank_and_test(res, cells, cols, col_keys, metric, direction, resamples, seed, alpha)
    notes += precision_notes(frame)
    overall = winrate.overall(cells, rows, cols, len(col_keys), direction)
    failed = frame[frame["status"] != "ok"][["task", "config", "seed", "cell_id", "error"]].reset_index(drop=True)
    tasks = sorted(frame["task"].unique())
    baseline = {ck: res.majority(ck[cols.index("task")] if "task" in cols else tasks[0], metric)
                for ck in col_keys if "task" in cols or len(tasks) == 1}
    missing = planned.missing(res) if planned is not None else None
    if missing is not None and task is not None:
        missing = missing[missing["task"] == task].reset_index(drop=True)
    from bench.report.per_class import per_class_frame

    return Board(metric, direction, rows, cols, cells, overall, failed, notes,
                 {k: v for k, v in baseline.items() if not np.isnan(v)}, missing, plan_note,
                 per_class_frame(res, cells), alpha=alpha, resamples=resamples)


def _trust(res: RecordSet, cells: pd.DataFrame, metric: str, resamples: int, seed: int, alpha: float) -> None:
    """Columns every view needs beside the mean: the seed interval (bootstrap over documents and
    seeds, inside the metric's range; when a record lacks predictions a t interval, clipped to the
    metric's range and marked), fewer than 3 seeds, and the degenerate flag of ``quality``."""
    from bench.report.stats import seed_interval

    for c in ("n", "mean", "std", "ci_low", "ci_high", *TIMING):
        if c not in cells:
            cells[c] = np.nan
    cells["ci_method"] = None
    cells["few_seeds"] = False
    cells["degenerate"] = False
    cells["degenerate_seeds"] = 0
    cells["degenerate_reason"] = None
    for i in cells.index[cells["status"] == "ok"]:
        cid = cells.at[i, "config_id"]
        k, _, reason = res.degenerate(cid)
        cells.loc[i, ["degenerate", "degenerate_seeds", "degenerate_reason"]] = [k > 0, k, reason]
        cells.at[i, "few_seeds"] = cells.at[i, "n"] < 3
        ci = seed_interval(res.config_records(cid), metric, resamples, seed, alpha) if cells.at[i, "n"] > 1 else None
        rng = metric_range(metric)
        if ci is not None:  # the seed part's small-sample rescaling can step outside the range: clipped
            lo, hi = ci if rng is None else (max(ci[0], rng[0]), min(ci[1], rng[1]))
            cells.loc[i, ["ci_low", "ci_high", "ci_method"]] = [lo, hi, "bootstrap"]
        elif not np.isnan(cells.at[i, "ci_low"]):
            lo, hi = cells.at[i, "ci_low"], cells.at[i, "ci_high"]
            clip = rng is not None and (lo < rng[0] or hi > rng[1])
            cells.loc[i, ["ci_low", "ci_high", "ci_method"]] = [max(lo, rng[0]), min(hi, rng[1]), "t, clipped"] \
                if rng is not None and clip else [lo, hi, "t"]
    cells["rank"] = np.nan
    cells["best"] = False
    cells["tie_best"] = None
    cells["p_vs_best"] = np.nan
    cells["p_vs_best_adj"] = np.nan


def _board_rows(frame: pd.DataFrame, configs: pd.Series, rows: list[str], cols: list[str], row_keys: list,
                col_keys: list, metric: str, alpha: float = 0.05) -> list[dict]:
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
                    row.update(seed_stats(mine[f"metrics.{metric}"], alpha), status="ok")
                    for k in TIMING:
                        col = f"timing.{k}"
                        row[k] = float(mine[col].mean()) if col in mine and mine[col].notna().any() else np.nan
                else:
                    row["status"] = "n/a" if len(mine) else "failed"
            cells.append(row)
    return cells


def _rank_and_test(res: RecordSet, cells: pd.DataFrame, cols: list[str], col_keys: list, metric: str, direction: int,
                   resamples: int, seed: int, alpha: float) -> list[str]:
    """Rank each column's configurations and test each against the best (paired bootstrap); the
    column's tests are one family, Holm-corrected: "≈ best" unless the adjusted p is below alpha."""
    from bench.report.significance import holm
    from bench.report.stats import paired_bootstrap

    notes: list[str] = []
    for ck in col_keys:
        m = key_mask(cells, cols, ck) & (cells["status"] == "ok")
        cells.loc[m, "rank"] = winrate.ranks_degenerate_last(cells.loc[m, "mean"], cells.loc[m, "degenerate"], direction)
        cells.loc[m, "best"] = (cells.loc[m, "rank"] == 1) & ~cells.loc[m, "degenerate"].astype(bool)
        if not (m & cells["best"]).any():
            continue
        best_cid = cells.loc[m & cells["best"], "config_id"].iloc[0]
        best_recs = res.config_records(best_cid)
        tested = []
        for i in cells.index[m & ~cells["best"]]:
            try:
                r = paired_bootstrap(res.config_records(cells.at[i, "config_id"]), best_recs, metric,
                                     resamples=resamples, seed=seed, alpha=alpha)
            except BenchError as err:
                notes.append(f"{cells.at[i, 'config']} vs best on {', '.join(map(str, ck))}: not tested ({err})")
                continue
            cells.at[i, "p_vs_best"] = r["p_value"]
            tested.append(i)
        if tested:  # one family per column: every configuration against the (post-hoc) best
            adjusted = holm(cells.loc[tested, "p_vs_best"].to_numpy(float), alpha)
            for i, adj in zip(tested, adjusted, strict=True):
                cells.at[i, "p_vs_best_adj"] = float(adj)
                cells.at[i, "tie_best"] = not adj < alpha
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
