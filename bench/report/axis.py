"""The axis view: does one value of an axis (an imbalance strategy, a context policy, a method, an
adaptation, a model, a max length) beat the axis's reference value?

Pairs: within a task, a configuration with value V and the one with the reference value that
differs from it ONLY in this axis (same cell otherwise: every other component and its parameters,
training parameters, domains; seeds are paired by value). Configurations without such a partner
are listed as unmatched, never paired with something else. One exception, the model axis: the
context may also differ when one side's model honours only one context policy (tfidf-logreg reads
whole texts: ``full``), or when each side uses its model's default context; the pair's ``note``
says so (``_partner``).

Per pair: the paired bootstrap of ``bench compare`` (``stats.bootstrap_diffs`` + ``stats.summarize``,
the code behind ``paired_bootstrap``), V - reference. Per task: the pairs' resampled differences
averaged resample by resample (one seed per task, so pairs on the same test documents are resampled
together). Pooled: the tasks' resampled differences averaged, each task weighing the same. Each row
has its percentile CI, two-sided bootstrap p, matched pairs, and win/tie/loss over its pairs.

Corrections (Holm, ``bench.report.significance.holm``): each task's pairs are one family, each task's
summary rows (its values against the reference) one family, the pooled rows one family. Every p is
shown raw and adjusted with its family; a row is significant, a pair a win (in V's favour) or a loss,
only when its adjusted p is below alpha (tie otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench.errors import BenchError, ConfigError
from bench.hashing import json_hash
from bench.metrics import DIRECTION
from bench.registry import suggest
from bench.report.records import MAJORITY_LABEL, RecordSet

FIELDS = {"imbalance": ("imbalance", "imbalance_params"), "context": ("context", "context_params"),
          "method": ("method", "method_params"), "adapt": ("adapt", "adapt_params"), "model": ("model",),
          "max_length": ("max_length",), "framework": ("framework",)}
DEFAULT_REFERENCE = {"imbalance": "none", "context": "head", "method": "full", "adapt": "none", "framework": "hf"}
POOLED = "pooled"


@dataclass
class AxisView:
    axis: str
    reference: str
    metric: str
    direction: int
    alpha: float
    resamples: int
    rows: pd.DataFrame  # per (value, task) and (value, pooled); kind "pairs" or "baseline"
    pairs: pd.DataFrame  # one per matched pair
    unmatched: pd.DataFrame  # task, config, value, why
    notes: list[str] = field(default_factory=list)

    def values(self) -> list[str]:
        return list(dict.fromkeys(self.rows.loc[self.rows["kind"] == "pairs", "value"]))


def axis_values(res: RecordSet, axis: str) -> list[str]:
    vals = res.ok[axis].drop_duplicates().tolist()
    return [str(v) for v in sorted(vals, key=lambda v: (isinstance(v, str), v))]


def pick_reference(res: RecordSet, axis: str, reference: str | None, first_model: str | None = None) -> str:
    """The reference value: ``reference``, else the axis default (none, head, full, none, the first
    model, the smallest length); one ConfigError line when the records lack it or the axis is flat."""
    if axis not in FIELDS:
        raise ConfigError(f"--axis: unknown axis {axis!r}{suggest(axis, list(FIELDS))} (one of {', '.join(FIELDS)})")
    values = axis_values(res, axis)
    if len(values) < 2:
        raise ConfigError(f"--axis {axis}: the records hold one value ({values[0]}); nothing to compare")
    want = reference or DEFAULT_REFERENCE.get(axis) or (first_model if axis == "model" else None) or values[0]
    found = [v for v in values if v == want] or [v for v in values if v.startswith(f"{want}:")]
    if len(found) != 1:
        flag = "--reference" if reference else f"--axis {axis} (default reference {want!r}; give --reference)"
        raise ConfigError(f"{flag}: no single {axis} value {want!r} in the records "
                          f"(values: {', '.join(values)}){suggest(want, values)}")
    return found[0]


def _rest_key(cell: dict, axis: str) -> str:
    skip = {*FIELDS[axis], *(("context", "context_params") if axis == "model" else ())}  # model: _partner
    return json_hash({k: v for k, v in cell.items() if k != "seed" and k not in skip}, 12)


def only_context(cell: dict) -> str | None:
    """The one context policy the cell's model and method can honour: the only registered policy
    whose ``needs`` its fitter ``supports`` (tfidf-logreg: ``full``); None when several or unknown."""
    from bench.components.context import CONTEXT
    from bench.components.models import MODELS
    from bench.fit.base import FITTERS, fitter_key

    name = cell["model"]
    kind = "hf" if name.startswith("hf:") else MODELS.get(name).kind if name in MODELS else None
    key = fitter_key(str(kind), cell.get("method", "full"), cell.get("framework", "hf"))
    if kind is None or key not in FITTERS:
        return None
    honoured = [n for n in CONTEXT.names() if set(CONTEXT.get(n).needs) <= FITTERS.get(key).supports]
    return honoured[0] if len(honoured) == 1 else None


def _reads(context: str) -> str:
    from bench.components.capabilities import CAPABILITIES
    from bench.components.context import CONTEXT

    return "; ".join(CAPABILITIES.get(n, n) for n in sorted(CONTEXT.get(context).needs))


def default_context(model: str) -> str:
    from bench.components.models import MODELS, ModelSpec

    return MODELS.get(model).context if model in MODELS else ModelSpec.context


def _partner(o, refs: pd.DataFrame, axis: str, ref: str) -> tuple[pd.Series | None, str]:
    """The reference configuration ``o`` pairs with and a note (or None and why not). On the model
    axis the contexts may differ when a side's model honours only one context policy, or when each
    side uses its model's default context; among several such references, the default's."""
    if axis != "model":
        return refs.iloc[0], ""
    same = refs[refs["value_context"] == o.value_context]
    if len(same):
        return same.iloc[0], ""
    ok = refs[[bool(o.only or r.only or (o.is_default and r.is_default)) for r in refs.itertuples()]]
    ok = ok if len(ok) < 2 else ok[ok["is_default"]]
    if len(ok) != 1:
        return None, f"no {axis}={ref} configuration with otherwise the same settings and a context to pair with"
    r0 = ok.iloc[0]
    side = (o.value, o.only) if o.only else (r0["value"], r0["only"]) if r0["only"] else None
    why = f"{side[0]} honours only context {side[1]}: {_reads(side[1])}" if side else "each model's default context"
    return r0, f"context: {o.value_context} vs {r0['value_context']} ({why})"


def build_axis(res: RecordSet, axis: str, reference: str | None = None, metric: str | None = None,
               task: str | None = None, resamples: int = 1000, alpha: float = 0.05, seed: int = 0,
               first_model: str | None = None) -> AxisView:
    """Every value of ``axis`` against the reference, per task and pooled (module docstring)."""
    from bench.report.aggregate import check_metric

    metric = metric or res.main_metric()
    direction = check_metric(res, metric)
    ref = pick_reference(res, axis, reference, first_model)
    configs = res.ok.drop_duplicates("config_id")
    if task is not None:
        configs = configs[configs["task"] == task]
    cells = [res.records[c]["cell"] for c in configs["cell_id"]]
    configs = configs.assign(rest=[_rest_key(c, axis) for c in cells], value=configs[axis].astype(str),
                             value_context=configs["context"].astype(str))
    if axis == "model":
        configs = configs.assign(only=pd.Series([only_context(c) or "" for c in cells], index=configs.index),
                                 is_default=[str(v) == default_context(c["model"])
                                             for v, c in zip(configs["context"], cells, strict=True)])
    pairs: list[dict] = []
    unmatched: list[dict] = []
    notes: list[str] = []
    per_task: dict[tuple, list] = {}
    for ti, (t, g) in enumerate(sorted(configs.groupby("task"), key=lambda kv: kv[0])):
        for _, grp in g.groupby("rest"):
            refs = grp[grp["value"] == ref]
            others = grp[grp["value"] != ref]
            if refs.empty:
                unmatched += [_unmatched(r, f"no {axis}={ref} configuration with otherwise the same settings")
                              for r in others.itertuples()]
                continue
            if others.empty:
                unmatched += [_unmatched(r, f"reference only: no other {axis} value with otherwise the same settings")
                              for r in refs.itertuples()]
                continue
            used: set[str] = set()
            for o in others.itertuples():
                r0, note = _partner(o, refs, axis, ref)
                if r0 is None:
                    unmatched.append(_unmatched(o, note))
                    continue
                used.add(r0["config_id"])
                p = _pair(res, o, r0, metric, resamples, seed + ti, alpha, notes)
                if p is None:
                    unmatched.append(_unmatched(o, "not tested: " + notes[-1].split(": ", 1)[-1]))
                    continue
                per_task.setdefault((o.value, t), []).append(p.pop("_diffs"))
                pairs.append({**p, "note": note})
            unmatched += [_unmatched(r, f"reference only: no other {axis} value paired with it")
                          for r in refs.itertuples() if r.config_id not in used]
    _correct_pairs(pairs, alpha)
    rows = _correct_rows(_summary_rows(res, pairs, per_task, metric, alpha, ref), alpha)
    return AxisView(axis, ref, metric, direction, alpha, resamples, rows, pd.DataFrame(pairs, columns=PAIR_COLUMNS),
                    pd.DataFrame(unmatched, columns=["task", "config", "value", "why"]), notes)


PAIR_COLUMNS = ["task", "value", "config", "reference_config", "n_seeds", "n_docs", "mean_value", "mean_reference",
                "diff", "ci_low", "ci_high", "p_value", "p_adjusted", "family", "outcome", "degenerate", "note"]


def _correct_pairs(pairs: list[dict], alpha: float) -> None:
    """Holm over each task's pairs (one family per task); a pair is a win or a loss only when its
    adjusted p is below alpha."""
    from bench.report.significance import holm

    for t in dict.fromkeys(p["task"] for p in pairs):
        mine = [p for p in pairs if p["task"] == t]
        for p, adj in zip(mine, holm([p["p_value"] for p in mine], alpha), strict=True):
            better = p["diff"] * p.pop("_direction") > 0
            p.update(p_adjusted=float(adj), family=f"{t}: {len(mine)} pair(s)",
                     outcome="tie" if not adj < alpha else "win" if better else "loss")


def _correct_rows(rows: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Holm over the summary rows: one family per task (its values against the reference) and one of
    the pooled rows; ``significant`` is adjusted p < alpha."""
    from bench.report.significance import holm

    rows = rows.copy()
    rows["p_adjusted"], rows["family"] = np.nan, None
    tested = rows["kind"] == "pairs"
    for t in rows.loc[tested, "task"].unique():
        m = tested & (rows["task"] == t)
        rows.loc[m, "p_adjusted"] = holm(rows.loc[m, "p_value"].to_numpy(float), alpha)
        what = "pooled rows" if t == POOLED else f"task {t}"
        rows.loc[m, "family"] = f"{what}: {int(m.sum())} value(s)"
    rows["significant"] = tested & (rows["p_adjusted"] < alpha)
    return rows[ROW_COLUMNS]


def _unmatched(r, why: str) -> dict:
    return {"task": r.task, "config": r.config, "value": r.value, "why": why}


def _pair(res: RecordSet, o, r0: pd.Series, metric: str, resamples: int, seed: int, alpha: float,
          notes: list[str]) -> dict | None:
    from bench.report.stats import bootstrap_diffs, summarize

    try:
        diffs, mean_v, mean_r, P = bootstrap_diffs(res.config_records(o.config_id), res.config_records(r0["config_id"]),
                                                   metric, resamples, seed)
    except BenchError as err:
        notes.append(f"{o.task} · {o.config} vs {r0['config']}: {err}")
        return None
    s = summarize(diffs, mean_v - mean_r, metric, alpha)
    deg = [x for cid, x in ((o.config_id, "value"), (r0["config_id"], "reference")) if res.degenerate(cid)[0]]
    return {"task": o.task, "value": o.value, "config": o.config, "reference_config": r0["config"],
            "n_seeds": len(P.seeds), "n_docs": int(P.y.shape[0]), "mean_value": mean_v, "mean_reference": mean_r,
            "diff": s["diff"], "ci_low": s["ci_low"], "ci_high": s["ci_high"], "p_value": s["p_value"],
            "degenerate": ", ".join(deg), "_diffs": diffs, "_direction": DIRECTION.get(metric, 1)}


def _summary_rows(res: RecordSet, pairs: list[dict], per_task: dict, metric: str, alpha: float,
                  ref: str) -> pd.DataFrame:
    from bench.report.stats import summarize

    pf = pd.DataFrame(pairs, columns=PAIR_COLUMNS)
    out = []
    for value in dict.fromkeys(v for v, _ in sorted(per_task, key=lambda k: (k[0], k[1]))):
        tasks = sorted(t for v, t in per_task if v == value)
        task_diffs = {t: np.mean(per_task[(value, t)], axis=0) for t in tasks}
        for t in [*tasks, POOLED]:
            mine = pf[(pf["value"] == value) & ((pf["task"] == t) if t != POOLED else True)]
            d = np.mean([task_diffs[x] for x in tasks], axis=0) if t == POOLED else task_diffs[t]
            point = float(mine.groupby("task")["diff"].mean().mean())
            s = summarize(d, point, metric, alpha)
            counts = mine["outcome"].value_counts()
            out.append({"kind": "pairs", "value": value, "task": t, "n_tasks": len(tasks) if t == POOLED else 1,
                        "n_pairs": len(mine), "mean_value": float(mine.groupby("task")["mean_value"].mean().mean()),
                        "mean_reference": float(mine.groupby("task")["mean_reference"].mean().mean()),
                        "diff": point, "ci_low": s["ci_low"], "ci_high": s["ci_high"], "p_value": s["p_value"],
                        "significant": s["significant"], "wins": int(counts.get("win", 0)),
                        "ties": int(counts.get("tie", 0)), "losses": int(counts.get("loss", 0)),
                        "degenerate_pairs": int((mine["degenerate"] != "").sum())})
    for t in sorted(pf["task"].unique()):
        refs = pf.loc[pf["task"] == t].drop_duplicates("reference_config")
        base = res.majority(t, metric, configs=refs["reference_config"])  # on the reference's test documents
        if not np.isnan(base):
            ref_mean = float(refs["mean_reference"].mean())
            out.append({"kind": "baseline", "value": MAJORITY_LABEL, "task": t, "mean_value": base,
                        "mean_reference": ref_mean, "diff": base - ref_mean})
    return pd.DataFrame(out, columns=ROW_COLUMNS)


ROW_COLUMNS = ["kind", "value", "task", "n_tasks", "n_pairs", "mean_value", "mean_reference", "diff", "ci_low",
               "ci_high", "p_value", "p_adjusted", "family", "significant", "wins", "ties", "losses", "degenerate_pairs"]


def varying_axes(res: RecordSet) -> list[str]:
    """The axes with at least two values among the records (one axis page each)."""
    return [a for a in FIELDS if len(axis_values(res, a)) >= 2]
