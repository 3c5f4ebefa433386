"""Run commands and write what they print into a generated block of a docs page, with provenance.

    python scripts/docs/run_block.py PAGE NAME --inputs FILE [FILE ...] \\
        --run "CMD" [--run "CMD" ...] --show "CMD" [--show "CMD" ...] [--budget TEXT] [--max-load 0.5]

``--run`` commands run first (their output is not shown: e.g. ``bench run --matrix ...``); the
output of each ``--show`` command (e.g. ``bench report ...``, ``bench check ...``) goes into the
block, after a header that states every command, the machine (CPU, cores, GPU, torch threads),
the date, the budget (the ``budget:`` and ``train:`` of each input matrix, or ``--budget``) and the
load average before the first command and the highest seen, the wall time of each ``--run``
command; an ``inputs:`` line records the
sha256 of every input file, so ``scripts/docs/generate.py --check`` (and tests/test_docs.py) fail
when a matrix changes after its numbers were measured.

Timings are only worth printing on an idle machine: before each command the 1-minute load
average must be below ``--max-load`` (default 0.5); the script waits up to ``--wait`` seconds for
it, then refuses (exit 2, page untouched). A failing command also leaves the page untouched (a
``--run`` command fails on any non-zero exit, e.g. ``bench run`` with failed cells; a ``--show``
command on exit codes above 1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from blocks import ROOT, inputs_line, replace, write_page  # noqa: E402

SCRIPT = "scripts/docs/run_block.py"


class Refused(Exception):
    """Bad input or an unfit machine: one line, exit 2, the page untouched."""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
        threads = f"{torch.get_num_threads()} torch threads"
    except ImportError:
        gpu, threads = "GPU unknown", "torch not installed"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, {threads}"


def budget(files: list[str], root: Path) -> str:
    import yaml

    parts = []
    for f in files:
        if f.endswith((".yaml", ".yml")) and f.startswith("matrices/"):
            spec = yaml.safe_load((root / f).read_text()) or {}
            text = f"{f}: budget {spec.get('budget', {})}, train {spec.get('train', {})}"
            overrides = [f"{o.get('match')} -> {o.get('train')}" for o in spec.get("overrides") or [] if o.get("train")]
            parts.append(text + (f", overrides {'; '.join(overrides)}" if overrides else "")
                         + " (unset training parameters: each model's recipe, README *Models*)")
    return "; ".join(parts)


def wait_idle(max_load: float, wait: float) -> float:
    deadline = time.monotonic() + wait
    while (load := os.getloadavg()[0]) >= max_load:
        if time.monotonic() > deadline:
            raise Refused(f"load average {load:.2f} >= {max_load} for {wait:g} s: not an idle machine, "
                             "nothing written (--max-load to override, and say so)")
        time.sleep(5)
    return load


def execute(cmd: str, env: dict[str, str], ok: tuple[int, ...] = (0, 1)) -> str:
    res = subprocess.run(cmd, shell=True, cwd=ROOT, env=env, capture_output=True, text=True)
    if res.returncode not in ok:  # shown: 1 (e.g. bench check found a regression) is still worth showing
        raise Refused(f"{cmd!r} exited {res.returncode}, nothing written: {(res.stderr.strip().splitlines() or [''])[-1]}")
    return res.stdout


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except (Refused, KeyError, ValueError, OSError) as err:
        print(f"error: {str(err).strip(chr(39))}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("page", type=Path, help="docs page, e.g. docs/CHECK.md (the block's markers must exist)")
    ap.add_argument("name", help="block name (the NAME of <!-- BEGIN generated:NAME -->)")
    ap.add_argument("--inputs", nargs="+", default=[], help="files the run reads (hashed), e.g. the matrix")
    ap.add_argument("--run", action="append", default=[], help="command to run first (output not shown)")
    ap.add_argument("--show", action="append", required=True, help="command whose output goes into the block")
    ap.add_argument("--budget", default=None, help="the budget, when no input matrix says it")
    ap.add_argument("--max-load", type=float, default=0.5, help="refuse above this 1-minute load average")
    ap.add_argument("--wait", type=float, default=600, help="seconds to wait for the load to drop")
    ap.add_argument("--by", default=None, help="the command that regenerates the block, named in its marker")
    args = ap.parse_args(argv)
    page = args.page if args.page.is_absolute() else ROOT / args.page
    text = page.read_text(encoding="utf-8")
    replace(text, args.name, "", "")  # the block exists, before spending any time
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes")
    loads, shown, took = [], [], []
    def timed(cmd: str, t0: float) -> None:  # commands of 3 s or more (not e.g. an rm or a cat)
        if time.monotonic() - t0 >= 3:
            took.append(f"`{cmd}` {(time.monotonic() - t0) / 60:.1f} min")

    for cmd in args.run:
        loads.append(wait_idle(args.max_load, args.wait))
        t0 = time.monotonic()
        execute(cmd, env, ok=(0,))  # run: 1 = e.g. failed cells of bench run
        timed(cmd, t0)
    for cmd in args.show:
        loads.append(wait_idle(args.max_load, args.wait))
        t0 = time.monotonic()
        shown += [f"$ {cmd}", execute(cmd, env).rstrip()]
        timed(cmd, t0)
    header = [
        inputs_line(args.inputs),
        f"Commands: {'; '.join(f'`{c}`' for c in [*args.run, *args.show])}  ",
        f"Machine: {machine()}  ",
        f"Date: {started}; load average (1 min) before the first command {loads[0]:.2f}, highest before any "
        f"command {max(loads):.2f}  ",
        f"Budget: {args.budget or budget(args.inputs, ROOT) or 'as in the commands'}" + ("  " if took else ""),
        *([f"Wall time: {'; '.join(took)}"] if took else []),
        "", "```text", *shown, "```",
    ]
    text = page.read_text(encoding="utf-8")  # again: others may have edited the page during the run
    by = f"regenerate with {args.by}" if args.by else "regenerate with the commands below"
    write_page(page, replace(text, args.name, "\n".join(header), f"(by {SCRIPT}; {by})"))
    print(f"{page}: block {args.name!r} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
