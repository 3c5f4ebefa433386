"""The static HTML leaderboard: ``index.html`` (sortable, filterable leaderboard, matrix view,
plots, failed cells) and ``configs/<config_id>.html`` (configuration, metrics per seed, per-class
table, manifest, plots). Self-contained: inline CSS and JS, no CDN, works from the file system."""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path

import numpy as np

from bench.metrics import mean_applicable
from bench.report.aggregate import TIMING, Board, RecordSet
from bench.report.per_class import NA
from bench.report.records import MAJORITY_LABEL, class_scores
from bench.report.tables import DEGENERATE, FEW, _key, has_overall, legend, missing, pivot, table, tie_groups

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3}#leaderboard th{cursor:pointer;user-select:none}
#leaderboard th[aria-sort=ascending]::after{content:" \\25B2"}#leaderboard th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.best td{background:#eaf7ea}
tr.missing td,tr.failed td,tr.not-planned td{color:#999}tr.degenerate td{background:#fdecea}
tr.baseline td{font-style:italic;background:#f6f6ff}.deg{color:#b00;font-weight:bold}.tie{color:#2a7}.legend{color:#555;max-width:70em}
.plots img{max-width:100%;border:1px solid #eee;margin:4px}.plots{display:flex;flex-wrap:wrap;gap:8px}
pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:12px}.controls{margin:.5em 0}
.controls input,.controls select{font-size:14px;padding:3px 6px;margin-right:1em}
"""

JS = """
(function () {
  const table = document.getElementById('leaderboard');
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const heads = Array.from(table.tHead.rows[0].cells);
  function value(row, i, numeric) {
    const cell = row.cells[i];
    const raw = cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    const v = parseFloat(raw);
    return isNaN(v) ? null : v;
  }
  heads.forEach(function (th, i) {
    th.addEventListener('click', function () {
      const numeric = th.dataset.type === 'num';
      const asc = th.getAttribute('aria-sort') !== 'ascending';
      heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      const sorted = Array.from(body.rows).sort(function (a, b) {
        const x = value(a, i, numeric), y = value(b, i, numeric);
        if (x === null && y === null) return 0;
        if (x === null) return 1;
        if (y === null) return -1;
        const c = x < y ? -1 : x > y ? 1 : 0;
        return asc ? c : -c;
      });
      sorted.forEach(function (r) { body.appendChild(r); });
    });
  });
  const text = document.getElementById('filter');
  const column = document.getElementById('column-filter');
  const shown = document.getElementById('shown');
  if (!text || !column || !shown) return;  // axis pages: sorting only
  function apply() {
    const q = text.value.trim().toLowerCase();
    const col = column.value;
    let n = 0;
    rows.forEach(function (r) {
      const ok = (!q || r.textContent.toLowerCase().indexOf(q) >= 0) && (!col || r.dataset.col === col);
      r.hidden = !ok;
      if (ok) n += 1;
    });
    shown.textContent = n + ' of ' + rows.length + ' rows shown';
  }
  text.addEventListener('input', apply);
  column.addEventListener('change', apply);
  apply();
})();
"""


def _page(title: str, body: str, script: str = "") -> str:
    js = f"<script>{script}</script>" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<link rel="icon" href="data:,"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{CSS}</style></head><body>\n{body}\n{js}</body></html>\n")


def _fmt(v, digits: int = 3) -> tuple[str, str]:
    """(data value, shown text) of a number; NaN -> ('', '—')."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "", "—"
    return repr(float(v)), f"{v:.{digits}f}"


def _td(v, digits: int = 3) -> str:
    data, text = _fmt(v, digits)
    return f'<td class="num" data-v="{data}">{text}</td>'


def _img(src: str, alt: str) -> str:
    return f'<img src="{escape(src)}" alt="{escape(alt)}" loading="eager">'


def leaderboard_html(board: Board) -> str:
    ov = board.overall.set_index(board.rows)
    ranked = has_overall(board)  # hidden when no configuration has an overall rank
    heads = [("column", "text"), ("configuration", "text"), ("n seeds", "num"), (f"{board.metric} mean", "num"),
             ("± std", "num"), ("95% CI", "num"), ("rank", "num"), ("vs best", "text"),
             *([("overall rank", "num")] if ranked else []), *((t, "num") for t in TIMING.values())]
    th = "".join(f'<th data-type="{t}" scope="col">{escape(h)}</th>' for h, t in heads)
    out = []
    for _, c in board.cells.sort_values([*board.cols, "rank"], na_position="last").iterrows():
        col = " / ".join(str(c[k]) for k in board.cols)
        rk = tuple(c[k] for k in board.rows)
        o = ov.loc[rk if len(rk) > 1 else rk[0]]
        label = escape(str(c.get("config") if isinstance(c.get("config"), str) else " / ".join(map(str, rk))))
        name = f'<a href="configs/{c["config_id"]}.html">{label}</a>' if isinstance(c["config_id"], str) else label
        if c["degenerate"]:
            name += f' <span class="deg" title="{escape(str(c["degenerate_reason"]))}">{DEGENERATE}</span>'
        cls = ("best" if c["best"] else "degenerate" if c["degenerate"] else c["status"].replace(" ", "-")
               if c["status"] != "ok" else "")
        vs = "best" if c["best"] else ('<span class="tie">≈ not sig. worse</span>' if c["tie_best"] is True
                                       else f"worse (Holm p<{board.alpha:g})" if c["tie_best"] is False else "")
        ci = "—" if c["status"] != "ok" or math.isnan(c["ci_low"]) else f"[{c['ci_low']:.3f}, {c['ci_high']:.3f}]" + (
            " (t, clipped)" if c["ci_method"] == "t, clipped" else "")
        n = f'<td class="num" data-v="{_fmt(c["n"])[0]}">{_fmt(c["n"], 0)[1]}{FEW if c["few_seeds"] else ""}</td>'
        mean = _td(c["mean"]) if c["status"] == "ok" else f'<td class="num" data-v="">{c["status"]}</td>'
        out.append(f'<tr class="{cls}" data-col="{escape(col)}"><td>{escape(col)}</td><td>{name}</td>'
                   f'{n}{mean}{_td(c["std"])}<td class="num" data-v="{_fmt(c["ci_low"])[0]}">{ci}</td>'
                   f'{_td(c["rank"], 0)}<td>{vs}</td>{_td(o["overall_rank"], 0) if ranked else ""}'
                   + "".join(_td(c[k], 1) for k in TIMING) + "</tr>")
    empty = '<td class="num" data-v="">—</td>'
    out += [f'<tr class="baseline" data-col="{escape(_key(ck))}"><td>{escape(_key(ck))}</td><td>{MAJORITY_LABEL}</td>'
            f'{empty}{_td(v)}' + empty * (4 + ranked + len(TIMING)) + "</tr>" for ck, v in board.baseline.items()]
    options = "".join(f'<option value="{escape(k)}">{escape(k)}</option>'
                      for k in dict.fromkeys(" / ".join(map(str, ck)) for ck in board.col_keys()))
    return (f'<div class="controls"><label>Filter <input id="filter" type="search" placeholder="text in any column">'
            f'</label><label>{escape(" / ".join(board.cols))} <select id="column-filter"><option value="">all</option>'
            f'{options}</select></label><span id="shown"></span></div>'
            f'<table id="leaderboard"><thead><tr>{th}</tr></thead><tbody>\n' + "\n".join(out) + "\n</tbody></table>")


def index_html(board: Board, plots: dict, title: str, axes: list[str] | tuple = (),
               forests: dict[str, str] | None = None, race: list[str] | None = None) -> str:
    """The site's first page; ``forests``: axis -> its forest plot (shown, each linking its axis page);
    ``race``: a raced folder's outcome in lines (winner sets, eliminations), shown after the leaderboard."""
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="legend">{escape(legend(board))} '
             "Click a column header to sort; type to filter.</p>"]
    if axes:
        parts.append('<p id="axes">Axis views (each value vs a reference, paired): ' + " · ".join(
            f'<a href="axis-{a}.html">{escape(a)}</a>' for a in axes) + "</p>")
    ties = tie_groups(board)
    parts += ["<h2>Leaderboard</h2>", *(['<ul id="ties">' + "".join(f"<li>{escape(t)}</li>" for t in ties) + "</ul>"]
                                        if ties else []), leaderboard_html(board)]
    if race:
        parts += ['<h2 id="race">Race: what ran, what was eliminated and why</h2><ul>'
                  + "".join(f"<li>{escape(x)}</li>" for x in race) + "</ul>"]
    if forests:
        parts += ['<h2 id="forest">Which value of each axis wins, by how much, how sure</h2><div class="plots">'
                  + "".join(f'<a href="axis-{escape(a)}.html">{_img(src, f"forest plot {a}")}</a>'
                            for a, src in forests.items()) + "</div>"]
    parts += ["<h2>Matrix view</h2>", table(*pivot(board), "html")]
    if board.missing is not None and len(board.missing):
        parts += ["<h2>Planned cells without a record</h2>", table(*missing(board), "html")]
    for task, entry in plots.get("tasks", {}).items():
        imgs = "".join(_img(src, f"{kind} {task}") for kind, src in entry.items())
        parts.append(f"<h2>Plots: {escape(task)}</h2><div class=\"plots\">{imgs}</div>")
    if len(board.failed):
        rows = "".join(f"<tr><td>{escape(r.task)}</td><td>{escape(r.config)}</td><td>{r.seed}</td>"
                       f"<td>{escape(str(r.error or ''))}</td></tr>" for r in board.failed.itertuples())
        parts.append(f"<h2>Failed cells</h2><table><tr><th>task</th><th>configuration</th><th>seed</th>"
                     f"<th>error</th></tr>{rows}</table>")
    if board.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in board.notes) + "</ul>")
    return _page(title, "\n".join(parts), JS)


def config_html(res: RecordSet, cid: str, plots: dict) -> str:
    recs = res.config_records(cid)
    rows = res.frame[res.frame["config_id"] == cid]
    label = rows["config"].iloc[0]
    task = rows["task"].iloc[0]
    cell = dict(rows.iloc[0][["task", "model", "method", "imbalance", "context", "adapt", "max_length"]])
    full = {k: v for k, v in (recs[0]["cell"] if recs else {}).items() if k != "seed"}
    parts = ['<p><a href="../index.html">← leaderboard</a></p>', f"<h1>{escape(task)} · {escape(label)}</h1>",
             f"<p>configuration id <code>{cid}</code></p>", "<h2>Configuration</h2>",
             f"<pre>{escape(json.dumps(full or {k: str(v) for k, v in cell.items()}, indent=1, default=str))}</pre>"]
    metric_names = sorted({k for r in recs for k in r.get("metrics", {})})
    if recs:
        head = "".join(f"<th>seed {r['cell']['seed']}</th>" for r in recs)
        body = ""
        for key, title, digits in [*((m, m, 4) for m in metric_names), *((k, t, 1) for k, t in TIMING.items())]:
            vals = [(r["metrics"] if key in metric_names else r.get("timing", {})).get(key) for r in recs]
            vals = [np.nan if v is None else v for v in vals]
            body += (f"<tr><th>{escape(title)}</th>" + "".join(_td(v, digits) for v in vals)
                     + _td(float(np.nanmean(vals)) if not np.isnan(vals).all() else np.nan, digits) + "</tr>")
        parts += ["<h2>Metrics per seed</h2>", f"<table><tr><th></th>{head}<th>mean</th></tr>{body}</table>"]
        qs = [(r["cell"]["seed"], r.get("quality") or {}) for r in recs]
        if any(q for _, q in qs):
            parts.append('<h2>Trust</h2><ul id="quality">' + "".join(
                f"<li>seed {sd}: " + (f'<span class="deg">{DEGENERATE}</span> {escape(str(q.get("reason")))}'
                                      if q.get("degenerate") else "not degenerate")
                + f"; {MAJORITY_LABEL}: {_fmt(q.get('majority_score'), 4)[1]}</li>" for sd, q in qs) + "</ul>")
        if all(r.get("per_class") for r in recs):
            scores = [class_scores(r) for r in recs]  # n/a: absent from the test split, never predicted
            body = "".join(
                f"<tr><td>{escape(k)}</td>" + "".join(
                    _td(v, 3) if (v := mean_applicable(s[k][f] for s in scores)) is not None
                    else f'<td class="num" data-v="">{NA}</td>' for f in ("precision", "recall", "f1"))
                + _td(scores[0][k]["support"], 0) + "</tr>" for k in scores[0])
            parts += [f"<h2>Per class (mean over {len(recs)} seed(s); {NA}: not applicable)</h2>",
                      f"<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
                      f"{body}</table>"]
    mine = plots.get("configs", {}).get(cid, {})
    if mine:
        parts.append('<h2>Plots</h2><div class="plots">'
                     + "".join(_img("../" + src, f"{k} {label}") for k, src in mine.items()) + "</div>")
    failed = rows[rows["status"] != "ok"]
    if len(failed):
        parts.append("<h2>Failed seeds</h2><ul>" + "".join(
            f"<li>seed {r.seed}: {escape(str(r.error))}</li>" for r in failed.itertuples()) + "</ul>")
    if recs:
        parts += ["<h2>Manifest (first seed)</h2>",
                  f"<pre>{escape(json.dumps(recs[0].get('manifest', {}), indent=1, default=str))}</pre>"]
    return _page(f"{task} · {label}", "\n".join(parts))


def write_site(res: RecordSet, board: Board, out: Path, plots: dict, title: str, views: dict | None = None,
               race: list[str] | None = None) -> list[Path]:
    """Write index.html, one page per configuration and one per axis view (``views``: axis ->
    (AxisView, forest plot path)) into ``out``; return the written paths. ``race``: the race's outcome
    lines of a raced folder (bench.report.race_report), shown on the index."""
    from bench.report.axis_site import axis_html

    (out / "configs").mkdir(parents=True, exist_ok=True)
    written = [out / "index.html"]
    forests = {axis: plot for axis, (_, plot) in (views or {}).items() if plot}
    written[0].write_text(index_html(board, plots, title, list(views or {}), forests, race), encoding="utf-8")
    for axis, (view, plot) in (views or {}).items():
        written.append(out / f"axis-{axis}.html")
        written[-1].write_text(_page(f"{title} · axis {axis}", axis_html(view, plot), JS), encoding="utf-8")
    for cid in board.cells["config_id"].dropna().unique():
        path = out / "configs" / f"{cid}.html"
        path.write_text(config_html(res, cid, plots), encoding="utf-8")
        written.append(path)
    return written
