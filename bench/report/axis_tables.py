"""An AxisView -> tables in every format: Markdown, LaTeX and HTML (through ``tables.table``), CSV
(one long table, a ``section`` column: summary | pair | unmatched) and JSON."""

from __future__ import annotations

import json
import math

import pandas as pd

from bench.report.axis import POOLED, AxisView
from bench.report.records import MAJORITY_LABEL
from bench.report.significance import format_p, min_p
from bench.report.tables import BOLD_OFF, BOLD_ON, DEGENERATE, table


def _n(v, digits: int = 4, sign: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def _p(v, view: AxisView) -> str:
    return format_p(v, view.resamples)


def summary(view: AxisView) -> tuple[list[str], list[list[str]]]:
    """Per value: one row per task, the pooled row (bold when significant), then the baseline rows."""
    level = round(100 * (1 - view.alpha))
    headers = [view.axis, "task", "pairs", f"{view.metric} ({view.axis})", f"{view.metric} ({view.reference})",
               f"Δ vs {view.reference}", f"{level}% CI", "p", "p Holm", "family", "W/T/L", "degenerate pairs"]
    out = []
    for r in view.rows.itertuples():
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
    level = round(100 * (1 - view.alpha))
    return (f"Axis {view.axis}: each value against the reference {view.axis}={view.reference}, metric "
            f"{view.metric} ({'higher' if view.direction > 0 else 'lower'} is better). A pair = two configurations "
            f"of one task that differ only in {view.axis}{_model_context(view)}. Δ = value − reference; {level}% CI and p from the "
            f"paired bootstrap over test documents and seeds, seeds as the replication unit ({view.resamples} "
            f"resamples: p = (1 + k)/({view.resamples} + 1), never below {min_p(view.resamples):.2g}, shown as "
            f"≤{min_p(view.resamples):.2g}; the code of bench compare); per task the pairs are averaged, pooled the "
            f"tasks (equal weight). p Holm: p adjusted by Holm's method within its family (named in the family "
            f"column: each task's values, the pooled rows; each task's pairs for W/T/L); bold: adjusted p < "
            f"{view.alpha:g}. W/T/L: pairs whose Holm-adjusted p is below {view.alpha:g} in the value's favour / "
            f"not / against it; the CI is per comparison, not adjusted. {DEGENERATE}: a side predicts one class or "
            f"does not beat the majority-class baseline. {MAJORITY_LABEL}: predicting the training split's most "
            f"frequent class, Δ vs the reference's mean.")


def _model_context(view: AxisView) -> str:
    if view.axis != "model":
        return ""
    return (" (or also in context, when one side's model honours only one context policy, e.g. tfidf-logreg "
            "reads whole texts, or each side uses its model's default context: the pair's note says so)")


def markdown(view: AxisView, plot: str | None = None) -> str:
    parts = [f"## Axis view: {view.axis} (reference {view.reference})", "", legend(view), "",
             table(*summary(view), "md"), "", "### Matched pairs", "", table(*pairs(view), "md") if len(view.pairs)
             else "No configurations differ only in this axis.", "", "### Unmatched configurations", "",
             table(*unmatched(view), "md") if len(view.unmatched) else "None: every configuration was paired."]
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
