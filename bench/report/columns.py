"""Per configuration, mean ± std over seeds of any numeric record fields, named by their dotted path
in the record (``metrics.minority_recall``, ``context.train.tokens_seen``,
``context.test.truncated_share``, ``cost.params_trainable``, ``timing.train_seconds``,
``adapt.cost.seconds``): the columns a results page shows next to the axis view (``bench report
--axis``), which tests differences but shows one metric at a time.

    bench columns --results RESULTS --fields metrics.macro_f1,context.train.tokens_seen [--task T]
    python -m bench.report.columns RESULTS --fields ...   (the same)

One row per configuration (its label, and the source domains of a cross-domain one), in the order
of the labels; a field no ok record has is one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.errors import BenchError, ConfigError
from bench.record.frame import mean_std
from bench.registry import suggest


def field_value(rec: dict, path: str):
    """The value at a dotted path of a record (None when any part is missing or not a number)."""
    value = rec
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _paths(rec: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in rec.items():
        if isinstance(v, dict):
            out += _paths(v, f"{prefix}{k}.")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(prefix + k)
    return out


def fmt(mean: float | None, std: float | None, n: int) -> str:
    """3 decimals below 10, 1 below 1000, else a whole number with thousands separators."""
    if mean is None:
        return "—"
    digits = "{:.3f}" if abs(mean) < 10 else "{:.1f}" if abs(mean) < 1000 else "{:,.0f}"
    return digits.format(mean) + (f" ± {digits.format(std)}" if n > 1 and std is not None else "")


def column_table(results: str | Path, fields: list[str], task: str | None = None) -> tuple[list[str], list[list[str]]]:
    """(headers, rows): task, configuration, seeds, then ``mean ± std`` of every field."""
    from bench.report.records import load_record_set

    res = load_record_set(results)
    ok = res.ok if task is None else res.ok[res.ok["task"] == task]
    if ok.empty:
        raise ConfigError(f"no successful records{f' of task {task!r}' if task else ''} in {results}")
    recs = [res.records[c] for c in ok["cell_id"]]
    for f in fields:
        if all(field_value(r, f) is None for r in recs):
            known = sorted({p for r in recs[:5] for p in _paths(r) if not p.startswith(("predictions", "roc", "per_class"))})
            raise ConfigError(f"--fields: no record has a number at {f!r}{suggest(f, known)}")
    rows = []
    for (t, label, _), g in ok.groupby(["task", "config", "config_id"], sort=True):
        group = [res.records[c] for c in g["cell_id"]]
        domains = group[0]["cell"].get("train_domains") or []
        name = label + (f" · trained on {'+'.join(domains)}" if domains else "")
        cells = [fmt(*_stats(group, f)) for f in fields]
        rows.append([t, name, str(g["seed"].nunique()), *cells])
    return ["task", "configuration", "seeds", *fields], rows


def _stats(group: list[dict], path: str) -> tuple[float | None, float | None, int]:
    n, mean, std = mean_std([field_value(r, path) for r in group])
    return mean, std, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.report.columns", description=__doc__.splitlines()[0])
    ap.add_argument("results", help="results folder (holds records/)")
    ap.add_argument("--fields", required=True, help="comma list of dotted record paths, e.g. metrics.ece,cost.params_trainable")
    ap.add_argument("--task", default=None, help="only this task")
    args = ap.parse_args(argv)
    return run(args.results, args.fields, args.task)


def run(results: str | Path, fields_arg: str, task: str | None = None) -> int:
    """Print the table (``fields_arg``: the comma list); a bad field or folder is one line, exit 2.
    Shared by ``bench columns`` and ``python -m bench.report.columns``."""
    fields = [f.strip() for f in fields_arg.split(",") if f.strip()]
    try:
        if not fields:
            raise ConfigError("--fields: give at least one dotted record path")
        from tabulate import tabulate

        headers, rows = column_table(results, fields, task)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    print(tabulate(rows, headers, tablefmt="github", disable_numparse=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
