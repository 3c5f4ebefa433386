"""``bench check``: did this run make any configuration worse than the baseline?

Quality: a metric regresses only when its drop (signed by ``bench.metrics.DIRECTION``) exceeds
its tolerance *and* is beyond noise at level ``alpha`` after Holm's correction over the family of
every quality check of the run (configurations x metrics; ``correct``):

* both sides have >= 2 seeds -> one-sided Welch t-test over the per-seed values
  (``scipy.stats.ttest_ind(equal_var=False)``): the noise a re-run would see is seed noise;
* otherwise -> paired bootstrap over test documents (and seeds) on the stored per-document
  predictions (``bench.report.stats.paired_bootstrap``), one-sided: with one seed, seed noise
  cannot be estimated, but test-set sampling noise can, paired on the same documents.

Speed: a timing regresses when its median over seeds got slower in raw seconds *and* its
slowdown, divided by the calibration workload's (``bench.gate.calibrate``: tiny-bert training
steps, timed when the baseline was made and again now, on the machine at hand), exceeds
``time_factor`` (rates such as samples/s are inverted first). A slower machine slows the workload
too, so it does not fail the gate; a raw speed-up never does. When either calibration is too
noisy (spread of its repeats above ``max_spread``), missing, or of another workload, timings are
not judged (said in the output; quality is still judged).

Degenerate results (``bench.record.quality``): a configuration none of whose baseline seeds was
degenerate and any of whose seeds now is, is a REGRESSION whatever the tolerance says; one that
stays degenerate is listed (not failing), one that recovers is listed as better.

Exit codes: 0 clean, 1 regression (or a failed / missing configuration), 2 bad input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError
from bench.gate.baseline import (
    DEFAULT_TIME_FACTOR,
    as_records,
    config_stats,
    read_baseline,
    read_records,
    tolerance,
)
from bench.gate.calibrate import MAX_SPREAD, NAME, calibrate
from bench.gate.noise import bootstrap, correct, welch
from bench.metrics import DIRECTION
from bench.report.tables import p_text


@dataclass
class Row:
    config: str
    metric: str
    baseline: str
    now: str
    delta: str
    verdict: str
    evidence: str = ""
    failing: bool = False
    p: float | None = None  # a quality check's one-sided p (1.0 within tolerance); None: not a quality check


@dataclass
class CheckResult:
    rows: list[Row]
    header: list[str]

    @property
    def failing(self) -> list[Row]:
        return [r for r in self.rows if r.failing]

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0

    def render(self) -> str:
        from tabulate import tabulate

        table = tabulate([[r.config, r.metric, r.baseline, r.now, r.delta, r.verdict, r.evidence] for r in self.rows],
                         ["configuration", "metric", "baseline", "now", "delta", "verdict", "evidence"],
                         disable_numparse=True)
        counts = {v: sum(r.verdict == v for r in self.rows) for v in ("REGRESSION", "FAILED", "missing", "new")}
        tail = (f"bench check: {'FAIL' if self.failing else 'PASS'} — {counts['REGRESSION']} regression(s), "
                f"{counts['FAILED']} failed, {counts['missing']} missing, {counts['new']} new configuration(s)"
                + ("; timings not judged" if any(r.verdict == "not judged" for r in self.rows) else ""))
        return "\n".join([*self.header, table, tail])


def _fmt(s: dict, digits: int = 4) -> str:
    if not s or s.get("mean") is None:
        return "—"
    return f"{s['mean']:.{digits}f}±{s['std']:.{digits}f} (n={s['n']})"


def _comparable(base: dict, now: dict[str, dict], source: str) -> None:
    """Refuse (exit 2) results of other tasks, task versions or data than the baseline's."""
    def tasks(configs: dict[str, dict]) -> dict[str, set]:
        out: dict[str, set] = {}
        for c in configs.values():
            if c["task_version"] is None:  # no successful record to say which version ran
                continue
            out.setdefault(c["task"], set()).add((str(c["task_version"]), c.get("fingerprint")))
        return out

    tb, tn = tasks(base["configs"]), tasks(now)
    common = sorted(set(tb) & set(tn))
    if not common:
        raise BenchError(f"results are on task(s) {sorted(tn)} but baseline {source} is on {sorted(tb)}: "
                         "not comparable, nothing checked")
    for task in common:
        vb, vn = {v for v, _ in tb[task]}, {v for v, _ in tn[task]}
        if vb != vn:
            raise BenchError(f"task {task}: results are version {sorted(vn)}, baseline {source} is version "
                             f"{sorted(vb)}: not comparable (make a new baseline)")
        fb, fn = {f for _, f in tb[task]}, {f for _, f in tn[task]}
        if None not in fb | fn and fb != fn:
            raise BenchError(f"task {task} v{sorted(vb)[0]}: the data fingerprint differs between results and "
                             f"baseline {source}: not comparable (the data changed without a version bump)")


def quality_row(base: dict, cid: str, b: dict, n: dict, now_recs: list[dict], metric: str, alpha: float) -> Row:
    sb, sn = b["metrics"].get(metric), n["metrics"].get(metric)
    if not sb or sb.get("mean") is None or not sn or sn.get("mean") is None:
        return Row(b["label"], metric, _fmt(sb), _fmt(sn), "—", "n/a", "not measured on both sides")
    direction = DIRECTION[metric]
    delta = sn["mean"] - sb["mean"]
    drop = -delta * direction
    tol = tolerance(base, cid, metric)
    row = Row(b["label"], metric, _fmt(sb), _fmt(sn), f"{delta:+.4f}", "ok", f"drop ≤ tol {tol:g}", p=1.0)
    if drop <= tol:
        if -drop > tol:
            row.verdict = "better"
        return row
    if sb["n"] >= 2 and sn["n"] >= 2:
        p, how = welch(sn["values"], sb["values"], direction), f"Welch t over seeds ({sn['n']} vs {sb['n']})"
    else:
        p, how = bootstrap(now_recs, as_records(cid, b), metric, alpha)
    row.p, row.verdict, row.evidence = p, "noise", f"drop > tol {tol:g}; {how} {p_text(p, 'p')}"
    return row


def baseline_degenerate(base: dict, b: dict, now_recs: list[dict]) -> tuple[dict[str, str], bool]:
    """A configuration's degenerate baseline seeds, and whether both rules were applied. A file
    upgraded from schema < 3 knows the one-class rule only; the margin rule is replayed on its gated
    main-score values against the majority score of the same test split (the records now: the
    task version and data fingerprint are the same, or the check stops before)."""
    from bench.record.quality import judge

    was = dict(b.get("degenerate") or {})
    if not base.get("degenerate_upgraded"):
        return was, True
    q = next((r["quality"] for r in now_recs if r.get("quality")), None)
    main = next(((r.get("task") or {}).get("main_score") for r in now_recs), None)
    stats = b["metrics"].get(main) if main else None
    if main is None or q is None or not stats or len(stats["values"]) != len(b["seeds"]):
        return was, False
    for seed, value in zip(b["seeds"], stats["values"], strict=True):
        if why := judge(main, value, q["majority_score"], [], [], [], q["margin"]):
            was.setdefault(str(seed), why)
    return was, True


def degenerate_rows(b: dict, n: dict, was: dict[str, str], exact: bool = True) -> list[Row]:
    """The 'degenerate' row of a configuration (module docstring); none while neither side is.
    ``was``/``exact``: from baseline_degenerate; when not exact only the one-class rule counts now."""
    now = {s: why for s, why in (n.get("degenerate") or {}).items() if exact or why.startswith("predicts one class")}
    if not was and not now:
        return []

    def seeds(d: dict) -> str:
        return f"seed(s) {', '.join(sorted(d, key=int))}" if d else "no"

    row = Row(b["label"], "degenerate", seeds(was), seeds(now), "—", "better", "no longer degenerate")
    if now and not was:
        row.verdict, row.failing = "REGRESSION", True
        row.evidence = f"turned degenerate (fails inside any tolerance): {now[min(now, key=int)]}"
    elif now:
        row.verdict, row.evidence = "still degenerate", f"degenerate in the baseline too: {now[min(now, key=int)]}"
    return [row]


def timing_row(b: dict, n: dict, name: str, scale: float | None, factor: float) -> Row:
    """One timing's verdict; ``scale`` is the calibration's now/baseline time, None when not judged."""
    sb, sn = b["timing"].get(name), n["timing"].get(name)
    if not sb or sb.get("median") is None or not sn or sn.get("median") is None or not sb["median"] or not sn["median"]:
        return Row(b["label"], name, "—", "—", "—", "n/a", "not measured on both sides")
    raw = sn["median"] / sb["median"]
    slowdown = raw if DIRECTION.get(name, -1) < 0 else 1 / raw
    row = Row(b["label"], name, f"{sb['median']:.4g} (median)", f"{sn['median']:.4g} (median)", f"×{raw:.2f} raw",
              "not judged", f"raw slowdown ×{slowdown:.2f}; see the calibration line")
    if scale is None:
        return row
    calibrated = slowdown / scale
    row.failing = slowdown > 1 and calibrated > factor
    row.verdict = "REGRESSION" if row.failing else "ok"
    why = "" if slowdown > 1 or calibrated <= factor else " (faster in raw seconds: never a regression)"
    row.evidence = f"slowdown ×{calibrated:.2f} calibrated {'>' if calibrated > factor else '≤'} ×{factor:g}{why}"
    return row


def _cal_line(side: str, cal: dict) -> str:
    reps = " ".join(f"{t:.3f}" for t in cal.get("repeats") or [])
    return (f"calibration {side}: median {cal['seconds']:.3f} s of [{reps}] s, spread {cal.get('spread', math.nan):.2f} "
            f"({(cal.get('workload') or {}).get('threads', '?')} torch thread(s))")


def calibration_scale(base_cal: dict | None, now_cal: dict | None, max_spread: float) -> tuple[float | None, list[str]]:
    """(now / baseline calibration time, header lines), or (None, lines saying why timings are not judged)."""
    if not base_cal or not isinstance(base_cal.get("workload"), dict) or base_cal["workload"].get("name") != NAME:
        return None, ["timings not judged: the baseline has no calibration of the current workload "
                      "(regenerate the baseline: bench baseline --results DIR --out FILE)"]
    if not now_cal:
        return None, ["timings not judged: no calibration was measured now"]
    lines = [_cal_line("baseline", base_cal), _cal_line("now", now_cal)]
    if base_cal["workload"] != now_cal.get("workload"):
        diff = sorted(k for k in {**base_cal["workload"], **now_cal["workload"]}
                      if base_cal["workload"].get(k) != now_cal["workload"].get(k))
        return None, lines + [f"timings not judged: calibration workloads differ in {', '.join(diff)} "
                              "(same thread settings as the baseline, or regenerate it)"]
    worst = max(float(base_cal["spread"]), float(now_cal["spread"]))
    if worst > max_spread:
        return None, lines + [f"timings not judged: calibration too noisy (spread {worst:.2f} > {max_spread:g})"]
    scale = now_cal["seconds"] / base_cal["seconds"]
    return scale, lines + [f"this machine now takes ×{scale:.2f} the baseline's calibration time"]


def check(results_dir: str | Path, baseline_path: str | Path, time_factor: float | None = None,
          alpha: float | None = None, calibration: dict | None = None,
          max_spread: float | None = None) -> CheckResult:
    """Compare a results folder with a baseline file. Raises BenchError on bad input (exit 2)."""
    base = read_baseline(baseline_path)
    if time_factor is not None and (not math.isfinite(time_factor) or time_factor < 1):
        raise BenchError(f"--time-factor must be a number >= 1, got {time_factor}")
    if alpha is not None and not 0 < alpha < 1:
        raise BenchError(f"--alpha must be in (0, 1), got {alpha}")
    if max_spread is not None and not max_spread > 0:  # inf: judge timings however noisy
        raise BenchError(f"--max-spread must be a number > 0, got {max_spread}")
    factor = float(time_factor if time_factor is not None else base.get("time_factor", DEFAULT_TIME_FACTOR))
    alpha = float(alpha if alpha is not None else base.get("alpha", 0.05))
    max_spread = float(max_spread if max_spread is not None else base.get("max_spread", MAX_SPREAD))
    records = read_records(results_dir)
    now = config_stats(records, base["metrics"], base["timings"])
    _comparable(base, now, str(baseline_path))
    header = [f"bench check: {results_dir} against {baseline_path} ({len(base['configs'])} configurations, "
              f"made {base.get('created_at', '?')}); alpha {alpha:g}, time factor ×{factor:g}, "
              f"max calibration spread {max_spread:g}"]
    scale = None
    if base["timings"]:
        scale, lines = calibration_scale(base.get("calibration"), calibration or calibrate(), max_spread)
        header += lines
    from bench.record.frame import config_id, effective_cell

    by_config: dict[str, list[dict]] = {}
    for r in records:
        if r["status"] == "ok":
            by_config.setdefault(config_id(effective_cell(r)), []).append(r)
    rows: list[Row] = []
    for cid, b in base["configs"].items():
        n = now.get(cid)
        if n is None:
            rows.append(Row(b["label"], "—", f"{len(b['seeds'])} seed(s)", "—", "—", "missing",
                            "configuration not in the results", True))
            continue
        if n["failed_seeds"]:
            rows.append(Row(b["label"], "status", "ok", f"failed seed(s) {n['failed_seeds']}", "—", "FAILED",
                            "see the failed record's error", True))
        if not n["seeds"]:
            continue
        rows += degenerate_rows(b, n, *baseline_degenerate(base, b, by_config.get(cid, [])))
        rows += [quality_row(base, cid, b, n, by_config.get(cid, []), m, alpha) for m in base["metrics"]]
        rows += [timing_row(b, n, t, scale, factor) for t in base["timings"]]
    correct(rows, alpha)
    for cid, n in now.items():
        if cid not in base["configs"]:
            rows.append(Row(n["label"], "—", "—", f"{len(n['seeds'])} seed(s)", "—", "new",
                            f"not in the baseline (config {cid})"))
    return CheckResult(rows, header)
