"""The source x target domain transfer table of cross-domain records."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.errors import DataError


def transfer_table(results_dir: str | Path, metric: str | None = None, min_n: int = 1):
    """Records with a domain plan -> one DataFrame: a row per (configuration, source domains), a
    column per target domain (mean over seeds), then in-domain, out-of-domain, gap (in - out),
    the gap's std over seeds, and the number of seeds."""
    import pandas as pd

    from bench.record.frame import config_label
    from bench.record.io import iter_records

    rows = []
    for rec in iter_records(results_dir):
        dom = rec.get("domains")
        if rec.get("status") != "ok" or not dom:
            continue
        key = metric or rec.get("task", {}).get("main_score", "macro_f1")
        row = {"config": f"{rec['cell']['task']} · {config_label(rec['cell'])}",
               "source": "+".join(dom["train"]), "seed": rec["cell"]["seed"]}
        for d, m in dom["per_domain"].items():
            if m["n"] >= min_n and key in m:
                row[d] = m[key]
        for side in ("in_domain", "out_of_domain"):
            row[side] = (dom.get(side) or {}).get(key, np.nan)
        rows.append(row)
    if not rows:
        raise DataError(f"no cross-domain records in {results_dir} (run with --train-domains / --eval-domains)")
    df = pd.DataFrame(rows)
    df["gap"] = df["in_domain"] - df["out_of_domain"]
    targets = [c for c in df.columns if c not in {"config", "source", "seed", "in_domain", "out_of_domain", "gap"}]
    grouped = df.groupby(["config", "source"], sort=True)
    table = grouped[targets + ["in_domain", "out_of_domain", "gap"]].mean()
    table["gap_std"] = grouped["gap"].std(ddof=1)
    table["seeds"] = grouped["seed"].nunique()
    order = df[targets].notna().sum().sort_values(ascending=False).index.tolist()
    return table[order + ["in_domain", "out_of_domain", "gap", "gap_std", "seeds"]].reset_index()


def format_transfer(table, digits: int = 3) -> str:
    from tabulate import tabulate

    out = []
    for config, part in table.groupby("config", sort=True):
        part = part.drop(columns="config").dropna(axis=1, how="all")
        out.append(f"{config}\n" + tabulate(part.round(digits).values.tolist(), list(part.columns),
                                              floatfmt=f".{digits}f", missingval="-"))
    return "\n\n".join(out)
