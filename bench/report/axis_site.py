"""One HTML page body per axis view: the forest plot, the per-task and pooled differences as a
sortable table (the site's JS sorts ``#leaderboard``), the matched pairs and the unmatched ones."""

from __future__ import annotations

import math
from html import escape

from bench.report import axis_tables
from bench.report.axis import POOLED, AxisView
from bench.report.records import MAJORITY_LABEL
from bench.report.tables import DEGENERATE, table


def _num(v, digits: int = 4, sign: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return '<td class="num" data-v="">—</td>'
    return f'<td class="num" data-v="{float(v)!r}">{v:+.{digits}f}</td>' if sign else \
        f'<td class="num" data-v="{float(v)!r}">{v:.{digits}f}</td>'


def _row(r, view: AxisView) -> str:
    if r.kind == "baseline":
        return (f'<tr class="baseline"><td>{escape(MAJORITY_LABEL)}</td><td>{escape(r.task)}</td>{_num(None)}'
                f"{_num(r.mean_value)}{_num(r.mean_reference)}{_num(r.diff, sign=True)}{_num(None)}{_num(None)}"
                f"{_num(None)}<td>—</td><td>—</td>{_num(None)}</tr>")
    task = f"{POOLED} ({int(r.n_tasks)} tasks)" if r.task == POOLED else r.task
    cls = "best" if r.significant else ""
    ci = f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]"
    deg = f'<span class="deg">{int(r.degenerate_pairs)} {DEGENERATE}</span>' if r.degenerate_pairs else "0"
    return (f'<tr class="{cls}"><td>{escape(str(r.value))}</td><td>{escape(task)}</td>{_num(r.n_pairs, 0)}'
            f"{_num(r.mean_value)}{_num(r.mean_reference)}{_num(r.diff, sign=True)}"
            f'<td class="num" data-v="{float(r.ci_low)!r}">{ci}</td>'
            f'<td class="num" data-v="{float(r.p_value)!r}">{escape(axis_tables._p(r.p_value, view))}</td>'
            f'<td class="num" data-v="{float(r.p_adjusted)!r}">{escape(axis_tables._p(r.p_adjusted, view))}</td>'
            f"<td>{escape(str(r.family))}</td>"
            f"<td>{int(r.wins)}/{int(r.ties)}/{int(r.losses)}</td>"
            f'<td class="num" data-v="{int(r.degenerate_pairs)}">{deg}</td></tr>')


def axis_html(view: AxisView, plot: str | None) -> str:
    """The body of ``axis-<axis>.html`` (the site wraps it in its page, CSS and JS)."""
    heads = [(view.axis, "text"), ("task", "text"), ("pairs", "num"), (f"{view.metric} ({view.axis})", "num"),
             (f"{view.metric} ({view.reference})", "num"), (f"Δ vs {view.reference}", "num"), ("CI", "num"),
             ("p", "num"), ("p Holm", "num"), ("family", "text"), ("W/T/L", "text"), ("degenerate pairs", "num")]
    th = "".join(f'<th data-type="{t}" scope="col">{escape(h)}</th>' for h, t in heads)
    rows = "\n".join(_row(r, view) for r in axis_tables.shown(view).itertuples())
    parts = ['<p><a href="index.html">← leaderboard</a></p>',
             f"<h1>Axis {escape(view.axis)}: each value vs {escape(view.reference)}</h1>",
             f'<p class="legend">{escape(axis_tables.legend(view))} Click a column header to sort.</p>']
    if plot:
        parts.append(f'<div class="plots"><img src="{escape(plot)}" alt="forest plot {escape(view.axis)}" '
                     'loading="eager"></div>')
    parts += [f'<table id="leaderboard"><thead><tr>{th}</tr></thead><tbody>\n{rows}\n</tbody></table>',
              "<h2>Matched pairs</h2>",
              table(*axis_tables.pairs(view), "html") if len(view.pairs) else "<p>none</p>",
              "<h2>Unmatched configurations</h2>",
              table(*axis_tables.unmatched(view), "html") if len(view.unmatched) else "<p>none</p>"]
    if view.notes:
        parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in view.notes) + "</ul>")
    return "\n".join(parts)
