"""The summary of ``scripts/gpu_check.sh``: one JSON and one Markdown file from what its steps wrote.

``python -m bench.perf.summary OUT`` reads ``OUT/steps.tsv`` (step, exit code, seconds), every
``OUT/perf_*.json`` (``bench perf --json`` reports) and the records under ``OUT/matrix/``, and
writes ``OUT/summary.json`` and ``OUT/summary.md``: per side-by-side run the medians, MFU against
the measured matmul peak and the ratios (or why they were withheld); per matrix cell its main
score, training seconds, samples/s, padding share, peak memory and whether its training was reused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.store import write_atomic, write_json_atomic


def collect(out: Path) -> dict:
    steps = []
    if (out / "steps.tsv").is_file():
        for line in (out / "steps.tsv").read_text().splitlines():
            name, rc, secs = (line.split("\t") + ["", ""])[:3]
            steps.append({"step": name, "exit_code": int(rc) if rc.lstrip("-").isdigit() else None,
                          "seconds": float(secs) if secs else None})
    perf = {}
    for path in sorted(out.glob("perf_*.json")):
        rep = json.loads(path.read_text())
        perf[path.stem] = {"config": rep["config"], "machine": rep["machine"], "peak_gflops": rep["peak_gflops"],
                           "rows": {k: {f: r.get(f) for f in ("precision", "wall_seconds", "train_seconds",
                                                               "samples_per_s", "real_tokens_per_s", "padding_share",
                                                               "mfu", "macro_f1")}
                                    for k, r in rep["rows"].items()},
                           "ratios": rep.get("ratios", {}), "load_verdict": rep.get("load_verdict")}
    cells = []
    for path in sorted((out / "matrix" / "records").glob("*.json")):
        rec = json.loads(path.read_text())
        c, t = rec["cell"], rec.get("timing", {})
        cells.append({"cell_id": rec["cell_id"], "status": rec["status"], "task": c["task"], "model": c["model"],
                      "imbalance": c["imbalance"], "max_length": c["max_length"], "precision": rec.get("precision"),
                      "main_score": rec.get("main_score"), "train_seconds": t.get("train_seconds"),
                      "samples_per_s": t.get("train_samples_per_s"), "padding_share": t.get("padding_share"),
                      "peak_cuda_memory_mb": t.get("peak_cuda_memory_mb"), "wall_seconds": t.get("wall_seconds"),
                      "training_reused": t.get("training_reused")})
    return {"steps": steps, "perf": perf, "matrix": cells}


def _num(v, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


def markdown(s: dict) -> str:
    lines = ["# scripts/gpu_check.sh summary", "", "| step | exit code | seconds |", "|---|---|---|"]
    lines += [f"| {x['step']} | {x['exit_code']} | {_num(x['seconds'], '.0f')} |" for x in s["steps"]]
    for name, p in s["perf"].items():
        c, m = p["config"], p["machine"]
        lines += ["", f"## {name}: {c['task']} · {c['model']} · L={c['max_length']} · {c['limit_train']} training "
                      f"docs · {c['repeats']} repeat(s)", "",
                  f"GPU {m.get('gpu') or 'none'} · measured matmul peak fp32 {p['peak_gflops']['fp32']:.0f} / bf16 "
                  f"{p['peak_gflops']['bf16']:.0f} GFLOP/s", "",
                  "| run | precision | wall s | train s | samples/s | real tok/s | padding | MFU | macro-F1 |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for k, r in p["rows"].items():
            lines.append(f"| {k} | {r['precision']} | {_num(r['wall_seconds'], '.1f')} | "
                         f"{_num(r['train_seconds'], '.1f')} | {_num(r['samples_per_s'], '.1f')} | "
                         f"{_num(r['real_tokens_per_s'], '.0f')} | {_num(r['padding_share'], '.1%')} | "
                         f"{_num(r['mfu'], '.1%')} | {' '.join(f'{v:.3f}' for v in r['macro_f1'] or [])} |")
        verdict = p.get("load_verdict") or {}
        ratios = "  ".join(f"{k} {v:.2f}x" for k, v in p["ratios"].items())
        lines += ["", f"ratios: {ratios or '—'}" + (f" ({verdict['why']})" if verdict.get("why") else "")]
    if s["matrix"]:
        lines += ["", "## bf16 matrix", "", "| task | model | imbalance | L | precision | main score | train s | "
                  "samples/s | padding | peak CUDA MB | training |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for c in s["matrix"]:
            lines.append(f"| {c['task']} | {c['model']} | {c['imbalance']} | {c['max_length']} | {c['precision']} | "
                         f"{_num(c['main_score'], '.3f')} | {_num(c['train_seconds'], '.1f')} | "
                         f"{_num(c['samples_per_s'], '.1f')} | {_num(c['padding_share'], '.1%')} | "
                         f"{_num(c['peak_cuda_memory_mb'], '.0f')} | {'reused' if c['training_reused'] else 'trained'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(f"usage: python -m bench.perf.summary OUT_FOLDER (got {' '.join(argv) or 'nothing'})", file=sys.stderr)
        return 2
    out = Path(argv[0])
    s = collect(out)
    write_json_atomic(out / "summary.json", s)
    write_atomic(out / "summary.md", markdown(s).encode())
    print(f"summary: {out / 'summary.json'} and {out / 'summary.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
