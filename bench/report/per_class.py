"""Per-class scores of a leaderboard's configurations: precision, recall and F1 of each class, the
mean over seeds of the applicable values. A class absent from both the test truth and the
predictions is not applicable (bench.metrics): ``n/a`` in Markdown, LaTeX and HTML, empty in CSV,
null in JSON; never a 0, and never averaged as one."""

from __future__ import annotations

import math

import pandas as pd

from bench.metrics import mean_applicable
from bench.record.frame import task_name
from bench.report.records import RecordSet, class_scores

NA = "n/a"
SCORES = ("precision", "recall", "f1")
COLUMNS = ["task", "config_id", "config", "class", "support", *SCORES]


def per_class_frame(res: RecordSet, cells: pd.DataFrame) -> pd.DataFrame:
    """One row per (configuration with results, class): support and the mean scores (NaN: n/a)."""
    rows = []
    for c in cells[cells["status"] == "ok"].drop_duplicates("config_id").itertuples():
        recs = [r for r in res.config_records(c.config_id) if r.get("per_class")]
        if not recs:
            continue
        scores, task = [class_scores(r) for r in recs], task_name(recs[0])
        for name in scores[0]:
            means = {f: mean_applicable(s.get(name, {}).get(f) for s in scores) for f in SCORES}
            rows.append({"task": task, "config_id": c.config_id, "config": c.config, "class": name,
                         "support": scores[0][name].get("support"),
                         **{f: math.nan if v is None else v for f, v in means.items()}})
    return pd.DataFrame(rows, columns=COLUMNS)


def text(v, digits: int = 3) -> str:
    return NA if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def f1_tables(frame: pd.DataFrame) -> list[tuple[str, list[str], list[list[str]]]]:
    """Per task: (task, headers, rows): a row per configuration, a column per class (its F1)."""
    out = []
    for task, g in frame.groupby("task", sort=True):
        classes = list(dict.fromkeys(g["class"]))
        support = g.drop_duplicates("class").set_index("class")["support"]
        headers = ["config", *(f"{k} (n={int(support[k])})" for k in classes)]
        rows = [[cfg, *(text(v) for v in grp.set_index("class")["f1"].reindex(classes))]
                for cfg, grp in g.groupby("config", sort=False)]
        out.append((task, headers, rows))
    return out


def wide(frame: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: one column ``per_class.<class>.<score>`` per class and score (CSV, JSON)."""
    if frame.empty:
        return pd.DataFrame(columns=["config_id"])
    w = frame.set_index(["config_id", "class"])[list(SCORES)].unstack("class")
    w.columns = [f"per_class.{k}.{f}" for f, k in w.columns]
    return w.reset_index()


LEGEND = (f"F1 per class, mean over seeds (n = test documents of the class). {NA}: the class is absent from the "
          f"test split and never predicted, so it has no precision, recall or F1; macro averages skip it "
          f"(scikit-learn's default: they run over the classes in the truth or the predictions).")
