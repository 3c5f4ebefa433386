"""``bench advise``'s answer page (OUT/answer.md and OUT/answer.html): forest plots first, then the
recommendation per axis (effect, CI, p, tie group, minimum detectable effect), the eliminations, the
cost, and the commands to reproduce or extend it."""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.errors import BenchError
from bench.report.race_report import read_race

AXES = ("imbalance", "context", "method", "model")


def _f(v, sign: bool = False, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def _tie_group(race: dict, axis: str, labels: dict) -> list[str]:
    wins = [w for g in race.get("groups", []) if g["axis"] == axis for w in g["winners"]]
    return [labels.get(w, w) for w in dict.fromkeys(wins)]


def recommendations(res, race: dict, metric: str, resamples: int = 1000) -> tuple[list, list, dict]:
    """(table headers, rows, axis -> AxisView) of the per-axis recommendation."""
    from bench.report.axis import build_axis, varying_axes
    from bench.report.mde import add_mde, reading

    labels = race.get("labels", {})
    views, rows = {}, []
    for axis in [a for a in AXES if a in varying_axes(res)]:
        try:
            view = build_axis(res, axis, metric=metric, resamples=resamples)
        except BenchError:
            continue
        add_mde(view, res)
        views[axis] = view
        per = view.pairs
        if not len(per):
            continue
        ties = _tie_group(race, axis, labels)
        best = per.loc[(per["mean_value"] * view.direction).idxmax()]  # the best value other than the reference
        ref_mean = float(per["mean_reference"].iloc[0])
        # a value is recommended over the reference only when it wins after Holm; otherwise the reference
        # stays. The row always shows the best other value's evidence against the reference.
        wins = best["outcome"] == "win" and best["mean_value"] * view.direction > ref_mean * view.direction
        pick, score = (str(best["value"]), best["mean_value"]) if wins else (f"{view.reference} (the reference)", ref_mean)
        if best["mean_value"] * view.direction <= ref_mean * view.direction:  # the reference is best: every value's MDE
            mde = "; ".join(dict.fromkeys(f"{r.value}: {reading(r.diff, r.outcome != 'tie', r.mde, r.seeds_needed, int(r.n_seeds))}"
                                          for r in per.itertuples()))
        else:
            mde = reading(best["diff"], best["outcome"] != "tie", best["mde"], best["seeds_needed"], int(best["n_seeds"]))
        rows.append([axis, pick, _f(score), str(best["value"]), _f(best["mean_value"]), _f(best["diff"], True),
                     f"[{_f(best['ci_low'], True)}, {_f(best['ci_high'], True)}]", _f(best["p_value"]),
                     _f(best.get("p_adjusted")), "; ".join(ties) or "—", mde])
    head = ["axis", "recommended", metric, "best other value", f"its {metric}", "Δ (it − reference)", "95% CI", "p",
            "p Holm", "tie group (race winners)", "minimum detectable effect"]
    return head, rows, views


def cost_rows(res, metric: str) -> tuple[list, list]:
    ok = res.ok
    out = []
    def m(g, col: str) -> float | None:
        return float(g[col].mean()) if col in g and g[col].notna().any() else None

    for cfg, g in ok.groupby("config"):
        out.append([cfg, str(len(g)), _f(m(g, f"metrics.{metric}")), _f(m(g, "timing.train_seconds"), digits=1),
                    _f(m(g, "timing.train_samples_per_s"), digits=1), _f(m(g, "timing.latency_p50_ms"), digits=1)])
    out.sort(key=lambda r: -float(r[2]) if r[2] != "—" else 0)
    return ["configuration", "seeds run", metric, "train s", "train samples/s", "latency p50 ms"], out


def eliminated_rows(race: dict) -> tuple[list, list]:
    labels = race.get("labels", {})
    rows = [[labels.get(c, c), str(e["round"]), labels.get(e["best"], e["best"]), e["axis"], _f(e["diff"], True),
             f"[{_f(e['ci_low'], True)}, {_f(e['ci_high'], True)}]", f"{e['p_value']:.4f}", f"{e['p_holm']:.4f}"]
            for c, e in sorted(race.get("eliminated", {}).items(), key=lambda kv: kv[1]["round"])]
    return ["eliminated", "after round", "lost to", "axis", "Δ (best − it)", "CI", "p", "Holm p"], rows


def write_answer(out: Path, plan, commands: list[str], wall_s: float | None, budget_min: float | None) -> Path:
    """Write OUT/answer.md and OUT/answer.html (with OUT/plots/axis_*.png); returns the Markdown path."""
    from bench.report import plots
    from bench.report.aggregate import load_record_set
    from bench.report.tables import table

    race = read_race(out) or {}
    res = load_record_set(out)
    if race.get("labels"):  # this plan's configurations only (an earlier plan may share the folder)
        keep = res.frame["config_as_planned"].isin(list(race["labels"]))  # race ids: precision as planned
        res = replace(res, frame=res.frame[keep].reset_index(drop=True))
    metric = race.get("metric") or res.main_metric()
    head, rows, views = recommendations(res, race, metric)
    imgs = []
    (out / "plots").mkdir(parents=True, exist_ok=True)
    for axis, view in views.items():
        path = out / "plots" / f"axis_{axis}.png"
        plots.forest(view, path)
        imgs.append((axis, f"plots/axis_{axis}.png"))
    runs = sum(len(v) for v in race.get("ran", {}).values())
    planned = len(race.get("labels", {})) * len(race.get("seeds", []))
    budget = (f"Budget: {budget_min:g} min" if budget_min else "Budget: none given") + "; cuts: " + (
        "; ".join(plan.cuts) or "none") + (f"; estimate before racing {plan.estimate_s / 60:.1f} min" if plan.estimate_s
                                           else "")
    facts = [f"Task {plan.task}; metric {metric}; models {', '.join(plan.models)}; max length {plan.max_length}.",
             *plan.reasons, budget,
             f"Ran {runs} of {planned} planned cells (racing at alpha {race.get('alpha')}, from {race.get('min_seeds')} "
             f"seeds, docs/RACING.md)" + (f" in {wall_s / 60:.1f} min" if wall_s else "")
             + (f" ({wall_s / 60 / budget_min:.2f}x the budget)" if wall_s and budget_min else "") + "."]
    sections: list[tuple] = [("h1", f"What works on {plan.task}?"), ("ul", [f for f in facts if f])]
    sections += [("h2", "Forest plots")] + [("img", a, src) for a, src in imgs]
    sections += [("h2", "Recommendation per axis"), ("table", head, rows),
                 ("p", "Tie group: the configurations of that axis the race could not separate from the best. "
                       "Best other value: the axis's best value besides the reference; Δ, CI and p: paired "
                       "bootstrap over test documents and seeds of it against the reference; p Holm: adjusted over "
                       "the axis's values (a value is recommended over the reference only when it is below alpha). "
                       "Train samples/s of a probe: its head's fit over features computed once.")]
    sections += [("h2", "Eliminated by the race"), ("table", *eliminated_rows(race))]
    sections += [("h2", "Cost"), ("table", *cost_rows(res, metric))]
    sections += [("h2", "Reproduce or extend"), ("code", commands)]
    md = _markdown(sections, table)
    (out / "answer.md").write_text(md, encoding="utf-8")
    (out / "answer.html").write_text(_html(sections, table), encoding="utf-8")
    return out / "answer.md"


def _markdown(sections: list[tuple], table) -> str:
    out = []
    for s in sections:
        if s[0] in ("h1", "h2"):
            out += ["#" * int(s[0][1]) + " " + s[1], ""]
        elif s[0] == "ul":
            out += [*(f"- {x}" for x in s[1]), ""]
        elif s[0] == "img":
            out += [f"![forest plot: {s[1]}]({s[2]})", ""]
        elif s[0] == "table":
            out += [table(s[1], s[2], "md") if s[2] else "None.", ""]
        elif s[0] == "p":
            out += [s[1], ""]
        elif s[0] == "code":
            out += ["```", *s[1], "```", ""]
    return "\n".join(out)


def _html(sections: list[tuple], table) -> str:
    e = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>bench advise</title><style>body{font-family:"
           "sans-serif;max-width:70em;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
           "padding:2px 6px}</style></head><body>"]
    for s in sections:
        if s[0] in ("h1", "h2"):
            out.append(f"<{s[0]}>{e(s[1])}</{s[0]}>")
        elif s[0] == "ul":
            out.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in s[1]) + "</ul>")
        elif s[0] == "img":
            out.append(f"<img alt='forest plot: {e(s[1])}' src='{e(s[2])}'>")
        elif s[0] == "table":
            out.append(table(s[1], s[2], "html") if s[2] else "<p>None.</p>")
        elif s[0] == "p":
            out.append(f"<p>{e(s[1])}</p>")
        elif s[0] == "code":
            out.append("<pre>" + e("\n".join(s[1])) + "</pre>")
    return "\n".join(out) + "</body></html>\n"
