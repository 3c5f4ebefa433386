"""The imbalance results table: one row per configuration (the board's grouping: a cell minus its
seed, ``bench.record.frame.config_id``), mean ± std over seeds of macro-F1, minority-class recall,
balanced accuracy and training seconds. Configurations that differ in anything (context, length,
epochs, ...) are separate rows, never averaged together; one seed shows its value and n=1, no spread.

    python -m bench.report.imbalance_table RESULTS_DIR [--task drugs-sentiment]
"""

from __future__ import annotations

import argparse
import sys

from bench.components.imbalance.base import IMBALANCE
from bench.errors import BenchError

COLUMNS = {"metrics.macro_f1": "macro-F1", "metrics.minority_recall": "minority recall",
           "metrics.balanced_accuracy": "balanced acc.", "timing.train_seconds": "train s"}


def strategy_table(results_dir: str, task: str | None = None):
    """A DataFrame with ``<column> mean`` / ``<column> std`` / ``<column> n`` per configuration,
    its label (``config``) and ``seeds``."""
    import pandas as pd

    from bench.report.aggregate import seed_stats
    from bench.report.records import load_record_set

    df = load_record_set(results_dir).ok
    if task is not None:
        df = df[df["task"] == task]
    if df.empty:
        raise BenchError(f"no successful records{f' for task {task!r}' if task else ''} in {results_dir}")
    rows = []
    for cid, g in df.groupby("config_id", sort=False):
        first = g.iloc[0]
        row = {"task": first["task"], "model": first["model"], "method": first["method"],
               "imbalance": first["imbalance"], "config": first["config"], "config_id": cid,
               "seeds": int(g["seed"].nunique())}
        for col, name in COLUMNS.items():
            s = seed_stats(g[col].dropna() if col in g else [])
            row.update({f"{name} mean": s["mean"], f"{name} std": s["std"], f"{name} n": s["n"]})
        rows.append(row)
    out = pd.DataFrame(rows)
    order = {name: i for i, name in enumerate(IMBALANCE.names())}
    out["_order"] = out["imbalance"].map(lambda s: (order.get(str(s).split(":")[0], len(order)), str(s)))
    return out.sort_values(["task", "model", "method", "_order", "config"]).drop(columns="_order").reset_index(drop=True)


def cell(mean: float, std: float, n: int, seeds: int, digits: int) -> str:
    """'0.412 ± 0.030'; one seed: '0.412 (n=1)', no spread; fewer seeds than the row: '(n=k)'; none: n/a."""
    if n == 0 or mean != mean:
        return "n/a"  # NaN seeds skipped; none left (bench.metrics)
    text = f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if n > 1 else "")
    return text + (f" (n={n})" if n == 1 or n < seeds else "")


def to_markdown(table) -> str:
    from tabulate import tabulate

    rows = []
    for _, r in table.iterrows():
        cells = [r["model"], r["method"], r["imbalance"], r["config"]]
        for name in COLUMNS.values():
            cells.append(cell(r[f"{name} mean"], r[f"{name} std"], int(r[f"{name} n"]), int(r["seeds"]),
                              1 if name == "train s" else 3))
        cells.append(int(r["seeds"]))
        rows.append(cells)
    return tabulate(rows, ["model", "method", "imbalance", "configuration", *COLUMNS.values(), "seeds"],
                    tablefmt="github", disable_numparse=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.report.imbalance_table", description=__doc__.splitlines()[0])
    ap.add_argument("results_dir")
    ap.add_argument("--task", default=None)
    args = ap.parse_args(argv)
    try:
        print(to_markdown(strategy_table(args.results_dir, args.task)))
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
