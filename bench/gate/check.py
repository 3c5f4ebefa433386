"""``bench check``: did this run make any configuration worse than the baseline?

Quality: a metric regresses only when its drop (signed by ``bench.metrics.DIRECTION``) exceeds
its tolerance *and* is beyond noise at level ``alpha``:

* both sides have >= 2 seeds -> one-sided Welch t-test over the per-seed values
  (``scipy.stats.ttest_ind(equal_var=False)``): the noise a re-run would see is seed noise;
* otherwise -> paired bootstrap over test documents (and seeds) on the stored per-document
  predictions (``bench.report.stats.paired_bootstrap``), one-sided: with one seed, seed noise
  cannot be estimated, but test-set sampling noise can, paired on the same documents.

Speed: a timing regresses when its median over seeds, divided by a calibration workload timed
on the same machine when the baseline was made and again now, grew by more than ``time_factor``
(rates such as samples/s are inverted first). A slower machine slows the workload too, so it
does not fail the gate.

Exit codes: 0 clean, 1 regression (or a failed / missing configuration), 2 bad input.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.gate.baseline import as_records, config_stats, read_baseline, read_records, tolerance
from bench.metrics import DIRECTION

WORKLOAD = "torch MLP 256-256-256-8, batch 32, fwd+bwd+AdamW x10 steps, fp32, median of 5"


def calibrate(repeats: int = 5, steps: int = 10) -> dict[str, Any]:
    """Time a fixed small training workload (the kind of work the gate's cells do) on this machine."""
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.GELU(), torch.nn.Linear(256, 256),
                                    torch.nn.GELU(), torch.nn.Linear(256, 8))
        x, y = torch.randn(32, 256), torch.randint(0, 8, (32,))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def run() -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return time.perf_counter() - t0

    run()  # warm-up
    times = [run() for _ in range(repeats)]
    return {"workload": WORKLOAD, "seconds": statistics.median(times), "threads": torch.get_num_threads()}


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
                f"{counts['FAILED']} failed, {counts['missing']} missing, {counts['new']} new configuration(s)")
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
    row = Row(b["label"], metric, _fmt(sb), _fmt(sn), f"{delta:+.4f}", "ok", f"drop ≤ tol {tol:g}")
    if drop <= tol:
        if -drop > tol:
            row.verdict = "better"
        return row
    if sb["n"] >= 2 and sn["n"] >= 2:
        p, how = _welch(sn["values"], sb["values"], direction), f"Welch t over seeds ({sn['n']} vs {sb['n']})"
    else:
        p, how = _bootstrap(now_recs, as_records(cid, b), metric, alpha)
    significant = p < alpha
    row.verdict = "REGRESSION" if significant else "noise"
    row.failing = significant
    row.evidence = f"drop > tol {tol:g}; {how} p={p:.3g} {'<' if significant else '≥'} {alpha:g}"
    return row


def _welch(now: list[float], base: list[float], direction: int) -> float:
    """One-sided p-value that ``now`` is worse than ``base``."""
    from scipy.stats import ttest_ind

    if statistics.pstdev(now) == 0 and statistics.pstdev(base) == 0:  # no noise observed at all
        return 0.0 if (statistics.fmean(now) - statistics.fmean(base)) * direction < 0 else 1.0
    res = ttest_ind(now, base, equal_var=False, alternative="less" if direction > 0 else "greater")
    return float(res.pvalue)


def _bootstrap(now_recs: list[dict], base_recs: list[dict], metric: str, alpha: float) -> tuple[float, str]:
    from bench.report.stats import paired_bootstrap

    if not base_recs or not now_recs:
        return 0.0, "tolerance only (no stored predictions to test):"
    res = paired_bootstrap(now_recs, base_recs, metric, resamples=2000, seed=0, alpha=alpha)
    worse = res["diff"] * DIRECTION[metric] < 0
    p = res["p_value"] / 2 if worse else 1.0  # one-sided: the share of resamples where now is not worse
    return p, f"paired bootstrap over {res['n_docs']} docs × {res['n_seeds']} seed(s)"


def timing_row(b: dict, n: dict, name: str, scale: float | None, factor: float) -> Row:
    sb, sn = b["timing"].get(name), n["timing"].get(name)
    if not sb or sb.get("median") is None or not sn or sn.get("median") is None or not sb["median"] or not sn["median"]:
        return Row(b["label"], name, "—", "—", "—", "n/a", "not measured on both sides")
    raw = sn["median"] / sb["median"]
    slowdown = raw if DIRECTION.get(name, -1) < 0 else 1 / raw
    normalised = slowdown / scale if scale else slowdown
    how = "calibrated" if scale else "uncalibrated: no calibration on one side"
    failing = normalised > factor
    return Row(b["label"], name, f"{sb['median']:.4g} (median)", f"{sn['median']:.4g} (median)",
               f"×{raw:.2f} raw", "REGRESSION" if failing else "ok",
               f"slowdown ×{normalised:.2f} {how} {'>' if failing else '≤'} ×{factor:g}", failing)


def check(results_dir: str | Path, baseline_path: str | Path, time_factor: float | None = None,
          alpha: float | None = None, calibration: dict | None = None) -> CheckResult:
    """Compare a results folder with a baseline file. Raises BenchError on bad input (exit 2)."""
    base = read_baseline(baseline_path)
    if time_factor is not None and (not math.isfinite(time_factor) or time_factor < 1):
        raise BenchError(f"--time-factor must be a number >= 1, got {time_factor}")
    if alpha is not None and not 0 < alpha < 1:
        raise BenchError(f"--alpha must be in (0, 1), got {alpha}")
    factor = float(time_factor if time_factor is not None else base.get("time_factor", 1.5))
    alpha = float(alpha if alpha is not None else base.get("alpha", 0.05))
    records = read_records(results_dir)
    now = config_stats(records, base["metrics"], base["timings"])
    _comparable(base, now, str(baseline_path))
    cal_b = (base.get("calibration") or {}).get("seconds")
    cal_n = None
    if base["timings"]:
        calibration = calibration or calibrate()
        cal_n = calibration.get("seconds")
    scale = cal_n / cal_b if cal_b and cal_n else None
    header = [f"bench check: {results_dir} against {baseline_path} ({len(base['configs'])} configurations, "
              f"made {base.get('created_at', '?')}); alpha {alpha:g}, time factor ×{factor:g}"]
    if scale:
        header.append(f"calibration workload: baseline {cal_b:.4f} s, now {cal_n:.4f} s "
                      f"(this machine ×{scale:.2f} the baseline's time)")
    from bench.record.frame import config_id

    by_config: dict[str, list[dict]] = {}
    for r in records:
        if r["status"] == "ok":
            by_config.setdefault(config_id(r["cell"]), []).append(r)
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
        rows += [quality_row(base, cid, b, n, by_config.get(cid, []), m, alpha) for m in base["metrics"]]
        rows += [timing_row(b, n, t, scale, factor) for t in base["timings"]]
    for cid, n in now.items():
        if cid not in base["configs"]:
            rows.append(Row(n["label"], "—", "—", f"{len(n['seeds'])} seed(s)", "—", "new",
                            f"not in the baseline (config {cid})"))
    return CheckResult(rows, header)
