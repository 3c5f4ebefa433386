"""Report plots (matplotlib, Agg, PNG): ROC curves (macro and per class), quality vs cost with the
Pareto front, a per-class F1 heat map, confusion matrices and the forest plot of an axis view.
Seeds are averaged: ROC curves are interpolated on a common false-positive-rate grid (dense near 0,
where the x axis is logarithmic so close curves separate), confusion matrices are summed. Titles
wrap to the figure's width."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np

from bench.metrics import DIRECTION, mean_applicable
from bench.report.aggregate import RecordSet, pareto_mask
from bench.report.records import class_scores

GRID = np.unique(np.concatenate([[0.0], np.logspace(-3, 0, 151), np.linspace(0, 1, 201)]))
FPR_MIN = 1e-3  # the ROC plots' left edge (log scale)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "x"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def mean_roc(recs: list[dict]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(macro TPR, per-class TPR) on ``GRID``, averaged over the records (seeds)."""
    per: dict[str, list[np.ndarray]] = {}
    for r in recs:
        for name, c in (r.get("roc_curves") or {}).items():
            fpr, tpr = np.asarray(c["fpr"]), np.asarray(c["tpr"])
            per.setdefault(name, []).append(np.interp(GRID, fpr, tpr))
    classes = {name: np.mean(v, axis=0) for name, v in per.items()}
    macro = np.mean(list(classes.values()), axis=0) if classes else np.full_like(GRID, np.nan)
    return macro, classes


def _auc(tpr: np.ndarray) -> float:
    from scipy.integrate import trapezoid

    return float(trapezoid(tpr, GRID))


def _title(ax, text: str, fontsize: float = 9, inches: float | None = None) -> None:
    """A title wrapped to ``inches`` (default: the figure's width; about 0.55 em per character), never cut."""
    width = (inches or ax.figure.get_figwidth()) * 72 / (0.55 * fontsize)
    lines = [textwrap.fill(line, max(int(width), 20)) for line in text.split("\n")]
    ax.set_title("\n".join(lines), fontsize=fontsize)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)


def _diagonal(ax) -> None:
    """Chance line, a log-scaled FPR axis (from FPR_MIN) and the axis labels."""
    ax.plot(GRID[GRID >= FPR_MIN], GRID[GRID >= FPR_MIN], ls=":", c="grey", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("false positive rate (log scale)")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(FPR_MIN, 1)
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="major", lw=0.4, alpha=0.5)


def roc_config(recs: list[dict], title: str, path: Path) -> None:
    plt = _pyplot()
    macro, classes = mean_roc(recs)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    for name, tpr in classes.items():
        ax.plot(GRID, tpr, lw=1, alpha=0.8, label=f"{name} (AUC {_auc(tpr):.3f})")
    ax.plot(GRID, macro, lw=2.5, c="black", label=f"macro (AUC {_auc(macro):.3f})")
    _diagonal(ax)
    _title(ax, f"{title}\nROC, one-vs-rest, mean of {len(recs)} seed(s)", 8)
    ax.legend(fontsize=7, loc="best")
    _save(fig, path)


def roc_task(task: str, configs: list[tuple[str, list[dict]]], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    for label, recs in configs:
        macro, _ = mean_roc(recs)
        ax.plot(GRID, macro, lw=1.5, label=f"{label} (AUC {_auc(macro):.3f})")
    _diagonal(ax)
    _title(ax, f"{task}: macro ROC per configuration (mean over seeds)")
    ax.legend(fontsize=6, loc="best")
    _save(fig, path)


def pareto(task: str, metric: str, points: list[tuple[str, float, float, float]], path: Path) -> None:
    """points: (label, mean quality, std quality, train seconds)."""
    plt = _pyplot()
    labels = [p[0] for p in points]
    q, s, c = (np.array([p[i] for p in points], float) for i in (1, 2, 3))
    front = pareto_mask(q, c, DIRECTION.get(metric, 1))
    fig, ax = plt.subplots(figsize=(7, 4.8))
    ax.errorbar(c, q, yerr=np.nan_to_num(s), fmt="o", c="tab:blue", ecolor="lightgrey", capsize=3, label="configuration")
    order = np.argsort(c[front])
    ax.step(c[front][order], q[front][order], where="post", c="tab:red", lw=1.5, label="Pareto front")
    ax.scatter(c[front], q[front], c="tab:red", zorder=3)
    for x, y, lab in zip(c, q, labels, strict=True):
        ax.annotate(lab, (x, y), fontsize=6, xytext=(4, 3), textcoords="offset points")
    ax.ticklabel_format(axis="both", style="plain", useOffset=False)  # 85, 90, 95 s; never 8.6×10¹
    ax.margins(x=0.12, y=0.08)
    ax.grid(True, lw=0.4, alpha=0.5)
    ax.set_xlabel("train seconds (mean over seeds)")
    ax.set_ylabel(f"{metric} (mean ± std over seeds)")
    _title(ax, f"{task}: quality vs training cost")
    ax.legend(fontsize=7)
    _save(fig, path)


def f1_heatmap(task: str, configs: list[tuple[str, list[dict]]], path: Path) -> None:
    plt = _pyplot()
    scores = [[class_scores(r) for r in recs] for _, recs in configs]  # None: n/a (absent, never predicted)
    classes = list(scores[0][0])
    m = np.array([[np.nan if (v := mean_applicable(s[k]["f1"] for s in ss)) is None else v for k in classes]
                  for ss in scores])
    labels = 0.05 * max(len(lab) for lab, _ in configs)  # inches the row labels take at fontsize 6
    cells = max(0.9 * len(classes), 2.4)
    fig, ax = plt.subplots(figsize=(labels + cells + 1.2, 1.6 + 0.35 * len(configs)))
    im = ax.imshow(np.ma.masked_invalid(m), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(configs)), [lab for lab, _ in configs], fontsize=6)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            na = np.isnan(m[i, j])
            ax.text(j, i, "n/a" if na else f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6,
                    c="black" if na or m[i, j] >= 0.6 else "white")
    fig.colorbar(im, ax=ax, fraction=0.04)
    _title(ax, f"{task}: per-class F1 (mean over seeds)", 8, inches=cells)
    _save(fig, path)


def confusion(recs: list[dict], title: str, path: Path) -> None:
    plt = _pyplot()
    names = recs[0]["task"]["label_names"]
    cm = np.sum([np.asarray(r["confusion_matrix"]) for r in recs], axis=0)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.6 + 0.7 * len(names), 1.4 + 0.6 * len(names)))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7, c="white" if norm[i, j] > 0.5 else "black")
    _title(ax, f"{title}\nconfusion, summed over {len(recs)} seed(s)", 7)
    _save(fig, path)


def make_plots(res: RecordSet, metric: str, out: Path, tasks: list[str] | None = None, per_config: bool = True) -> dict:
    """Write the plots under ``out`` (a folder): per task, and per configuration if ``per_config``.
    Return their paths relative to ``out``'s parent."""
    out.mkdir(parents=True, exist_ok=True)
    rel = out.name
    index: dict = {"tasks": {}, "configs": {}}
    ok = res.ok
    for task in tasks or sorted(ok["task"].unique()):
        sub = ok[ok["task"] == task]
        configs = [(label, res.config_records(cid)) for (cid, label), _ in sub.groupby(["config_id", "config"])]
        configs = sorted(((lab, recs) for lab, recs in configs if recs), key=lambda c: c[0])
        if not configs:
            continue
        entry = {}
        name = slug(task)
        if any(r.get("roc_curves") for _, recs in configs for r in recs):
            roc_task(task, configs, out / f"roc_{name}.png")
            entry["roc"] = f"{rel}/roc_{name}.png"
        g = sub.groupby("config")
        pts = [(lab, float(v[f"metrics.{metric}"].mean()), float(v[f"metrics.{metric}"].std(ddof=1)),
                float(v["timing.train_seconds"].mean()) if "timing.train_seconds" in v else np.nan) for lab, v in g]
        pts = [p for p in pts if not np.isnan(p[1]) and not np.isnan(p[3])]
        if pts:
            pareto(task, metric, pts, out / f"pareto_{name}.png")
            entry["pareto"] = f"{rel}/pareto_{name}.png"
        if all(r.get("per_class") for _, recs in configs for r in recs):
            f1_heatmap(task, configs, out / f"f1_{name}.png")
            entry["f1"] = f"{rel}/f1_{name}.png"
        index["tasks"][task] = entry
        for (cid, label), _ in (sub.groupby(["config_id", "config"]) if per_config else []):
            recs, e = res.config_records(cid), {}
            title = f"{task} · {label}"
            if any(r.get("roc_curves") for r in recs):
                roc_config(recs, title, out / f"roc_{cid}.png")
                e["roc"] = f"{rel}/roc_{cid}.png"
            if all(r.get("confusion_matrix") for r in recs):
                confusion(recs, title, out / f"confusion_{cid}.png")
                e["confusion"] = f"{rel}/confusion_{cid}.png"
            index["configs"][cid] = e
    return index


def forest(view, path: Path) -> None:
    """Axis view (bench.report.axis.AxisView): Δ vs the reference with its CI, per value and task;
    pooled rows (only when they pool two or more tasks) as black diamonds; a value's verdict row is
    filled when its CI excludes 0."""
    plt = _pyplot()
    rows = view.rows[view.rows["kind"] == "pairs"]
    rows = rows[~((rows["task"] == "pooled") & (rows["n_tasks"] == 1))].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 1.6 + 0.32 * max(len(rows), 1)))
    for i, r in rows.iterrows():
        pooled = r["task"] == "pooled"
        err = [[max(r["diff"] - r["ci_low"], 0)], [max(r["ci_high"] - r["diff"], 0)]]
        color = "black" if pooled else "tab:blue"
        ax.errorbar([r["diff"]], [i], xerr=err, fmt="D" if pooled else "o", c=color, capsize=3, ms=6 if pooled else 5,
                    mfc=color if r["significant"] else "white")
    if rows.empty:
        ax.text(0.5, 0.5, "no matched pairs", ha="center", va="center", transform=ax.transAxes)
    ax.axvline(0, ls=":", c="grey", lw=1)
    one_task = rows["task"].nunique() == 1
    ax.set_yticks(range(len(rows)), [str(r.value) if one_task else f"{r.value} · {r.task}" for r in rows.itertuples()],
                  fontsize=7)
    ax.set_ylim(len(rows) - 0.5 if len(rows) else 0.5, -0.5)
    ax.grid(True, axis="x", lw=0.4, alpha=0.5)
    level = round(100 * (1 - view.alpha))
    ax.set_xlabel(f"Δ {view.metric} vs {view.axis}={view.reference} ({level}% CI, paired bootstrap; "
                  "filled: CI excludes 0)", fontsize=8)
    where = f" on {rows['task'].iloc[0]}" if one_task and len(rows) else ", per task and pooled"
    _title(ax, f"{view.axis}: which value beats {view.reference}{where}, by how much, how sure")
    _save(fig, path)
