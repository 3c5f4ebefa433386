"""Reference results: run one reference matrix and write its results page's generated block.

    python scripts/docs/reference.py NAME --run     # bench run the matrix, then write the block
    python scripts/docs/reference.py NAME           # write the block from the records already there
    python scripts/docs/reference.py NAME --print   # only print the commands

NAME is one of REFERENCES (imbalance, context, methods, keras): its matrix (matrices/reference-NAME.yaml),
its page and block, and the commands whose output the block shows — ``bench report --axis ...``
(paired differences with CIs and p, the majority baseline), ``bench compare`` / ``bench transfer``
where the question needs them, and ``bench columns`` for the per-configuration
columns the axis view does not show (minority recall, tokens seen, trainable parameters, ...).
The block is written by scripts/docs/run_block.py, so it states the commands, the machine, the date,
the load average (refused above ``--max-load``), the budget, the matrix's sha256 and, with ``--run``,
the matrix's wall time (``--run`` refuses a results folder that already holds records, which bench
run would resume, unless ``--resume``); without ``--run``, the span of the records' start and finish
times. Disk caches (``$BENCH_CACHE``: probe features, adapted encoders) also shorten a rerun.
Run the reference matrices one after another on an idle machine, never side by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_block  # noqa: E402
from blocks import ROOT  # noqa: E402

SCRIPT = "scripts/docs/reference.py"


@dataclass(frozen=True)
class Reference:
    page: str
    shows: tuple[str, ...]  # {R}: the results folder

    def matrix(self, name: str) -> str:
        return f"matrices/reference-{name}.yaml"


def _columns(*fields: str) -> str:
    return "bench columns --results {R} --fields " + ",".join(fields)


REFERENCES = {
    "imbalance": Reference("docs/IMBALANCE.md", (
        "bench report --results {R} --axis imbalance",
        *(f"bench report --results {{R}} --axis imbalance --metric {m}"
          for m in ("minority_recall", "minority_f1", "balanced_accuracy", "ece")),
        "bench report --results {R} --axis model --reference tfidf-logreg",
        # undersample / ensemble train more epochs than `none` (equal steps): the axis view lists them
        # unmatched, bench compare pairs them over the same test documents and seeds all the same
        "bench compare imbalance=undersample imbalance=none --results {R}",
        "bench compare imbalance=ensemble imbalance=none --results {R}",
        _columns("metrics.macro_f1", "metrics.minority_recall", "metrics.minority_f1", "metrics.balanced_accuracy",
                 "metrics.ece", "timing.train_seconds", "timing.wall_seconds"),
    )),
    "context": Reference("docs/CONTEXT.md", (
        "bench report --results {R} --axis context",
        "bench report --results {R} --axis context --metric accuracy",
        "bench report --results {R} --axis max_length",
        _columns("metrics.macro_f1", "metrics.accuracy", "context.train.tokens_seen", "context.test.tokens",
                 "context.test.windows_per_doc", "context.test.truncated_share", "timing.train_seconds"),
    )),
    "methods": Reference("docs/ADAPTATION.md", (
        "bench report --results {R} --axis method",
        "bench report --results {R} --axis method --metric accuracy",
        "bench compare method=lora method=full --results {R}",
        "bench report --results {R} --axis adapt",
        "bench transfer --results {R}",
        _columns("metrics.macro_f1", "metrics.accuracy", "cost.params_trainable", "cost.params_total",
                 "timing.train_seconds", "timing.wall_seconds", "adapt.cost.seconds", "adapt.mlm_loss_before",
                 "adapt.mlm_loss_after"),
    )),
    "keras": Reference("docs/KERAS.md", (
        "bench report --results {R} --axis framework",
        "bench report --results {R} --axis framework --metric accuracy",
        "bench compare --task bbc-news framework=keras framework=hf --results {R}",
        "bench compare --task drugs-sentiment framework=keras framework=hf --results {R}",
        _columns("metrics.macro_f1", "metrics.accuracy", "timing.train_seconds", "timing.train_samples_per_s",
                 "timing.latency_p50_ms", "timing.wall_seconds", "cost.params_total"),
    )),
}


def block_name(name: str) -> str:
    return f"reference-{name}"


def shows(ref: Reference, results: str, resamples: int | None) -> list[str]:
    """The commands whose output the block shows, for this results folder."""
    out = []
    for cmd in ref.shows:
        cmd = cmd.replace("{R}", shlex.quote(results))
        if resamples is not None and cmd.startswith(("bench report", "bench compare")):
            cmd += f" --resamples {resamples}"
        out.append(cmd)
    return out


def budget(matrix: Path, rel: str, results: Path | None) -> str:
    """The matrix's budget and training parameters; the records' time span when they exist."""
    import yaml

    spec = yaml.safe_load(matrix.read_text()) or {}
    text = f"{rel}: budget {spec.get('budget', {})}, train {spec.get('train', {})}"
    if spec.get("overrides"):
        text += f", overrides {spec['overrides']}"
    text += " (the rest: each model's recipe)"
    span = records_span(results) if results is not None else None
    return text + (f"; {span}" if span else "")


def records_span(results: Path) -> str | None:
    """'N ok records, first start to last finish M min, cells' wall times summed S min' of a results folder
    (None without records). The span is the matrix's wall time when it ran in one go; the sum is what
    one sequential run costs when it did not (resumed, or cells rerun later)."""
    starts, ends, n, walls = [], [], 0, 0.0
    for f in sorted((results / "records").glob("*.json")):
        try:
            rec = json.loads(f.read_text())
            starts.append(dt.datetime.fromisoformat(rec["started_at"]))
            ends.append(dt.datetime.fromisoformat(rec["finished_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        n += rec.get("status") == "ok"
        walls += float((rec.get("timing") or {}).get("wall_seconds") or 0.0)
    if not starts:
        return None
    minutes = (max(ends) - min(starts)).total_seconds() / 60
    return (f"{n} ok records, first start to last finish {minutes:.1f} min, cells' wall times summed "
            f"{walls / 60:.1f} min")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help=f"the reference: {', '.join(REFERENCES)}")
    ap.add_argument("--run", action="store_true", help="bench run the matrix first (into --results), timed")
    ap.add_argument("--results", default=None, help="results folder (default records/reference-NAME: the shipped records)")
    ap.add_argument("--matrix", default=None, help="matrix file (default matrices/reference-NAME.yaml)")
    ap.add_argument("--page", default=None, help="docs page holding the block (default: the reference's page)")
    ap.add_argument("--resamples", type=int, default=None, help="bootstrap resamples of bench report/compare")
    ap.add_argument("--max-load", type=float, default=0.5, help="refuse above this 1-minute load average")
    ap.add_argument("--wait", type=float, default=600, help="seconds to wait for the load to drop")
    ap.add_argument("--resume", action="store_true", help="with --run: let bench run resume a results folder that "
                    "already holds records (the wall time is then not the matrix's; the block says so)")
    ap.add_argument("--print", action="store_true", help="print the commands, run nothing")
    args = ap.parse_args(argv)
    if args.name not in REFERENCES:
        print(f"error: no reference {args.name!r} (one of {', '.join(REFERENCES)})", file=sys.stderr)
        return 2
    ref = REFERENCES[args.name]
    matrix = args.matrix or ref.matrix(args.name)
    results = args.results or f"records/reference-{args.name}"
    matrix_path = Path(matrix) if Path(matrix).is_absolute() else ROOT / matrix
    if not matrix_path.is_file():
        print(f"error: no matrix file {matrix}", file=sys.stderr)
        return 2
    run = [f"bench run --matrix {shlex.quote(matrix)} --out {shlex.quote(results)}"] if args.run else []
    show = shows(ref, results, args.resamples)
    if args.print:
        print("\n".join([*run, *show]))
        return 0
    results_path = Path(results) if Path(results).is_absolute() else ROOT / results
    earlier = len(list((results_path / "records").glob("*.json")))
    if args.run and earlier and not args.resume:
        print(f"error: {results} already holds {earlier} records: bench run would resume and the wall time would "
              "not be the matrix's (use a new --results folder, or --resume and say so)", file=sys.stderr)
        return 2
    text = budget(matrix_path, matrix, None if args.run else results_path)
    if args.run and earlier:
        text += f"; resumed: {earlier} records existed before the run, so the wall time is not the whole matrix's"
    argv_block = [args.page or ref.page, block_name(args.name), "--inputs", matrix, "--budget", text,
                  "--max-load", str(args.max_load), "--wait", str(args.wait), "--by", f"python {SCRIPT} {args.name} --run",
                  *(x for c in run for x in ("--run", c)), *(x for c in show for x in ("--show", c))]
    return run_block.main(argv_block)


if __name__ == "__main__":
    sys.exit(main())
