"""An AxisView -> tables in every format: Markdown, LaTeX and HTML (through ``tables.table``), CSV
(one long table, a ``section`` column: summary | pair | unmatched) and JSON."""

from __future__ import annotations

import json
import math

import pandas as pd

from bench.report.axis import POOLED, AxisView
from bench.report.records import MAJORITY_LABEL
from bench.report.significance import min_p
from bench.report.tables import BOLD_OFF, BOLD_ON, DEGENERATE, p_text, table


def _n(v, digits: int = 4, sign: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def _p(v, view: AxisView) -> str:
    return p_text(v, resamples=view.resamples)


def shown(view: AxisView) -> pd.DataFrame:
    """The summary rows a reader sees: a pooled row only when it pools two or more tasks (with one
    task it repeats the task's row)."""
    rows = view.rows
    return rows[~((rows["task"] == POOLED) & (rows["n_tasks"] == 1))]


def summary(view: AxisView) -> tuple[list[str], list[list[str]]]:
    """Per value: one row per task, the pooled row when it pools several tasks (the verdict, bold
    when significant), then the baseline rows."""
    level = round(100 * (1 - view.alpha))
    headers = [view.axis, "task", "pairs", f"{view.metric} ({view.axis})", f"{view.metric} ({view.reference})",
               f"Δ vs {view.reference}", f"{level}% CI", "p", "p Holm", "family", "W/T/L", "degenerate pairs"]
    out = []
    for r in shown(view).itertuples():
        if r.kind == "baseline":
            out.append([MAJORITY_LABEL, r.task, "—", _n(r.mean_value), _n(r.mean_reference), _n(r.diff, sign=True),
                        "—", "—", "—", "—", "—", "—"])
            continue
        task = f"{POOLED} ({int(r.n_tasks)} task{'s' if r.n_tasks != 1 else ''})" if r.task == POOLED else r.task
        diff = _n(r.diff, sign=True)
        if r.significant:
            diff = BOLD_ON + diff + BOLD_OFF
        out.append([r.value, task, str(int(r.n_pairs)), _n(r.mean_value), _n(r.mean_reference), diff,
                    f"[{_n(r.ci_low, sign=True)}, {_n(r.ci_high, sign=True)}]", _p(r.p_value, view),
                    _p(r.p_adjusted, view), str(r.family),
                    f"{int(r.wins)}/{int(r.ties)}/{int(r.losses)}",
                    f"{int(r.degenerate_pairs)} {DEGENERATE}" if r.degenerate_pairs else "0"])
    return headers, out


def pairs(view: AxisView) -> tuple[list[str], list[list[str]]]:
    """One row per matched pair; a ``note`` column when a pair differs in more than the axis (the
    model axis across a context one model cannot change, bench.report.axis._partner)."""
    headers = ["task", "configuration", "reference configuration", "seeds × docs", f"Δ {view.metric}", "CI", "p",
               "p Holm", "outcome", "degenerate"]
    rows = [[r.task, r.config, r.reference_config, f"{r.n_seeds} × {r.n_docs}", _n(r.diff, sign=True),
             f"[{_n(r.ci_low, sign=True)}, {_n(r.ci_high, sign=True)}]", _p(r.p_value, view),
             _p(r.p_adjusted, view), r.outcome,
             f"{DEGENERATE} {r.degenerate}" if r.degenerate else ""] for r in view.pairs.itertuples()]
    notes = view.pairs["note"].fillna("").astype(str).tolist() if "note" in view.pairs else []
    if any(notes):
        return [*headers, "note"], [[*row, n] for row, n in zip(rows, notes, strict=True)]
    return headers, rows


def unmatched(view: AxisView) -> tuple[list[str], list[list[str]]]:
    return ["task", "configuration", view.axis, "why unmatched"], [
        [r.task, r.config, r.value, r.why] for r in view.unmatched.itertuples()]


def legend(view: AxisView) -> str:
    """The short legend above an axis view (the long one: docs/REPORT.md, "Reading an axis view")."""
    level = round(100 * (1 - view.alpha))
    better = "higher" if view.direction > 0 else "lower"
    return (f"Each {view.axis} value vs {view.axis}={view.reference} on {view.metric} ({better} is better), "
            f"paired over configurations of one task differing only in {view.axis}{_model_context(view)}. "
            f"Δ = value − reference; {level}% CI and p: paired bootstrap, documents and seeds (p >= "
            f"{min_p(view.resamples):.2g}); p Holm: adjusted in its family; bold: adjusted p < {view.alpha:g}; "
            f"W/T/L: pairs won / tied / lost. Full legend: docs/REPORT.md.")


def _model_context(view: AxisView) -> str:
    return " (or in context too, where a model honours only one: see the pair's note)" if view.axis == "model" else ""


def markdown(view: AxisView, plot: str | None = None) -> str:
    parts = [f"## Axis view: {view.axis} (reference {view.reference})", "", legend(view), "",
             table(*summary(view), "md"), "", "### Matched pairs", "", table(*pairs(view), "md") if len(view.pairs)
             else "No configurations differ only in this axis.", "", "### Unmatched configurations", "",
             table(*unmatched(view), "md") if len(view.unmatched) else "None: every configuration was paired."]
    from bench.report.mde import mde_lines

    parts += ["", *mde_lines(view)] if mde_lines(view) else []
    if view.notes:
        parts += ["", *(f"- {n}" for n in view.notes)]
    if plot:
        parts += ["", f"![forest plot {view.axis}]({plot})"]
    return "\n".join(parts) + "\n"


def latex(view: AxisView) -> str:
    return "\n".join([f"% DomainBench axis view. {legend(view)}", table(*summary(view), "latex"), "",
                      table(*pairs(view), "latex"), "", table(*unmatched(view), "latex")]) + "\n"


def frame(view: AxisView) -> pd.DataFrame:
    meta = {"axis": view.axis, "reference": view.reference, "metric": view.metric}
    parts = [view.rows.assign(section="summary", **meta), view.pairs.assign(section="pair", **meta),
             view.unmatched.assign(section="unmatched", **meta)]
    return pd.concat([p for p in parts if len(p)], ignore_index=True)


def to_json(view: AxisView) -> str:
    def records(df: pd.DataFrame) -> list[dict]:
        return json.loads(df.to_json(orient="records"))

    return json.dumps({"axis": view.axis, "reference": view.reference, "metric": view.metric,
                       "direction": view.direction, "alpha": view.alpha, "resamples": view.resamples,
                       "summary": records(view.rows), "pairs": records(view.pairs),
                       "unmatched": records(view.unmatched), "notes": view.notes}, indent=1) + "\n"


def render(view: AxisView, fmt: str, title: str = "DomainBench axis view", plot: str | None = None) -> str:
    if fmt == "md":
        return f"# {title}\n\n" + markdown(view, plot)
    if fmt == "latex":
        return latex(view)
    if fmt == "csv":
        return frame(view).to_csv(index=False)
    if fmt == "json":
        return to_json(view)
    if fmt == "html":
        return table(*summary(view), "html")
    raise ValueError(fmt)
