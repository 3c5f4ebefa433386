"""The imbalance results table: one row per (model, method, strategy with params), mean ± std over
seeds of macro-F1, minority-class recall, balanced accuracy and training seconds.

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
    """A DataFrame with ``<column> mean`` / ``<column> std`` per configuration and ``seeds``."""
    from bench.record.frame import load_frame

    df = load_frame(results_dir, include_failed=False)
    if task is not None:
        df = df[df["task"] == task]
    if df.empty:
        raise BenchError(f"no successful records{f' for task {task!r}' if task else ''} in {results_dir}")
    keys = ["task", "model", "method", "imbalance"]
    grouped = df.groupby(keys, sort=False)
    out = grouped[list(COLUMNS)].agg(["mean", "std"])
    out.columns = [f"{COLUMNS[c]} {stat}" for c, stat in out.columns]
    out["seeds"] = grouped["seed"].nunique()
    out = out.reset_index()
    order = {name: i for i, name in enumerate(IMBALANCE.names())}
    out["_order"] = out["imbalance"].map(lambda s: (order.get(s.split(":")[0], len(order)), s))
    return out.sort_values(["task", "model", "method", "_order"]).drop(columns="_order").reset_index(drop=True)


def to_markdown(table) -> str:
    from tabulate import tabulate

    rows = []
    for _, r in table.iterrows():
        cells = [r["model"], r["method"], r["imbalance"]]
        for name in COLUMNS.values():
            fmt = "{:.1f} ± {:.1f}" if name == "train s" else "{:.3f} ± {:.3f}"
            mean, std = r[f"{name} mean"], r[f"{name} std"]  # NaN seeds skipped; none left: n/a (bench.metrics)
            cells.append("n/a" if mean != mean else fmt.format(mean, 0.0 if std != std else std))
        cells.append(int(r["seeds"]))
        rows.append(cells)
    return tabulate(rows, ["model", "method", "imbalance", *COLUMNS.values(), "seeds"], tablefmt="github",
                    disable_numparse=True)


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
