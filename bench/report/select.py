"""Selecting one configuration of a results folder by ``key=value`` selectors (bench compare)."""

from __future__ import annotations

import pandas as pd

from bench.errors import ConfigError
from bench.registry import suggest
from bench.report.aggregate import DIMS, GROUP_COLUMNS, RecordSet

# precision: the resolved one (bf16 / fp32) the record trained in; group_by_length: true / false (batches)
SELECT_COLUMNS = (*GROUP_COLUMNS, "precision", "group_by_length")


def parse_selector(text: str) -> dict[str, str]:
    """``k=v,k=v`` (k in the grouping columns, ``precision`` or ``group_by_length``) or a configuration id (prefix)."""
    if "=" not in text:
        return {"config_id": text.strip()}
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ConfigError(f"selector {text!r}: expected key=value[,key=value...], got {part!r}")
        if key not in SELECT_COLUMNS:
            raise ConfigError(f"selector {text!r}: unknown column {key!r}{suggest(key, SELECT_COLUMNS)}")
        out[key] = value
    return out


def _text(value) -> str:
    """A cell of the frame as text, with every missing value (None, NaN) the same."""
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _matches(frame: pd.DataFrame, sel: dict[str, str]) -> pd.Series:
    m = pd.Series(True, index=frame.index)
    for key, value in sel.items():
        col = frame[key].astype(str)
        m &= col.str.startswith(value) if key == "config_id" else (col == value) | col.str.startswith(value + ":")
    return m


def select_config(res: RecordSet, text: str, task: str | None = None, base: pd.Series | None = None) -> pd.Series:
    """One configuration (a row of the frame). With ``base``, dimensions the selector does not
    name narrow to ``base``'s values when the selector alone matches several."""
    sel = parse_selector(text)
    frame = res.ok.drop_duplicates("config_id")
    if task is not None:
        frame = frame[frame["task"] == task]
    found = frame[_matches(frame, sel)]
    if len(found) > 1 and base is not None:
        same = found
        for d in (*DIMS, "precision", "group_by_length"):
            if d not in sel and d in same:
                same = same[same[d].map(_text) == _text(base.get(d))]
        found = same if len(same) else found
    if len(found) == 1:
        return found.iloc[0]
    where = f" (task {task})" if task else ""
    if not len(found):
        raise ConfigError(f"selector {text!r} matches no configuration with successful records in {res.folder}{where}")
    names = "; ".join(f"{r.task} · {r.config}" for r in found.head(4).itertuples())
    more = f" and {len(found) - 4} more" if len(found) > 4 else ""
    raise ConfigError(f"selector {text!r} matches {len(found)} configurations{where}: {names}{more}; "
                      f"name more columns (task=, model=, method=, imbalance=, context=, max_length=, precision=, "
                      f"group_by_length=)")
