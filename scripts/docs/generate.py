"""Write (or ``--check``) the docs' generated blocks that depend only on the repository.

    python scripts/docs/generate.py            # rewrite every repository block in place
    python scripts/docs/generate.py --check    # exit 1 and say which block is stale (and how)

Repository blocks (page, name -> what makes them):

* docs/CHECK.md ``smoke-matrix``: the cells of matrices/smoke.yaml (its expansion, as ``bench run``
  plans it), its budget and training parameters;
* docs/CHECK.md ``gate-options``: the options of ``bench baseline`` and ``bench check`` with their
  defaults, from the real parser;
* docs/CHECK.md ``ci-gate``: the gate's commands as .ci/run and tox.ini run them;
* README.md ``tasks``: ``bench ls tasks``.

``--check`` also checks every other generated block of README.md and docs/*.md: a run block's
recorded inputs must be unchanged since its run (scripts/docs/run_block.py), and a pending block
must say visibly that it is to be regenerated.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import re
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from blocks import PENDING_NOTE, ROOT, blocks, replace, sha, stale_inputs, write_page  # noqa: E402

SCRIPT = "scripts/docs/generate.py"
RUN_SCRIPTS = ("run_block.py", "stats_calibration.py")  # their blocks carry an inputs line (blocks.stale_inputs)


def smoke_matrix(root: Path) -> str:
    from bench.components import axis_types
    from bench.record.frame import config_label
    from bench.spec.matrix import load_matrix

    path = root / "matrices" / "smoke.yaml"
    spec = load_matrix(path)
    cells = spec.expand(axis_types())
    configs: dict[str, list[int]] = {}
    for c in cells:
        configs.setdefault(f"{c.task} · {config_label(c.to_dict())}", []).append(c.seed)
    rows = [f"| {label} | {', '.join(map(str, seeds))} |" for label, seeds in configs.items()]
    t = cells[0].train
    return "\n".join([
        f"`matrices/smoke.yaml` (sha256 {sha(path)}): **{len(cells)} cells** in {len(configs)} configurations.",
        "",
        "| task · configuration | seeds |", "|---|---|", *rows, "",
        f"Budget: {t.limit_train} training / {t.limit_eval} evaluation documents, {t.epochs:g} epochs, batch "
        f"{t.batch_size}, learning rate {t.learning_rate:g}; the gated timing is `train_seconds`.",
    ])


def gate_options(root: Path) -> str:
    from commands import _parser, _subparsers

    subs = _subparsers(_parser())
    lines = []
    for name in ("baseline", "check"):
        lines += [f"`bench {name}`:", "", "| option | default | meaning |", "|---|---|---|"]
        for a in subs[name]._actions:
            if not a.option_strings or a.dest == "help":
                continue
            default = "required" if a.required else ("—" if a.default is None else f"`{a.default}`")
            lines.append(f"| `{a.option_strings[-1]}` | {default} | {(a.help or '').replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def ci_gate(root: Path) -> str:
    ci = [ln.strip() for ln in (root / ".ci" / "run").read_text().splitlines() if re.search(r"bench\"? (run|check)", ln)]
    tox = (root / "tox.ini").read_text()
    smoke = re.search(r"\[testenv:smoke\].*?commands =\n(.*?)\n(?=\S)", tox, re.S)
    tox_cmds = [ln.strip() for ln in (smoke.group(1) if smoke else "").splitlines() if ln.strip()]
    return "\n".join(["`.ci/run`:", "", "```bash", *ci, "```", "", "`tox -e smoke`:", "", "```bash", *tox_cmds, "```"])


def tasks(root: Path) -> str:
    from bench.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["ls", "tasks"])
    return "\n".join(["```", "$ bench ls tasks", out.getvalue().rstrip(), "```"])


GENERATORS: dict[tuple[str, str], Callable[[Path], str]] = {
    ("docs/CHECK.md", "smoke-matrix"): smoke_matrix,
    ("docs/CHECK.md", "gate-options"): gate_options,
    ("docs/CHECK.md", "ci-gate"): ci_gate,
    ("README.md", "tasks"): tasks,
}


def pages(root: Path) -> list[Path]:
    return sorted([root / "README.md", *(root / "docs").glob("*.md")])


def run(root: Path = ROOT, check: bool = False) -> list[str]:
    """Regenerate (or, with ``check``, compare) every block; the problems found."""
    problems = []
    for page in pages(root):
        rel = str(page.relative_to(root))
        text = page.read_text(encoding="utf-8")
        try:
            found = blocks(text)
        except ValueError as err:
            problems.append(f"{rel}: {err}")
            continue
        new = text
        for (where, name), make in GENERATORS.items():
            if where != rel:
                continue
            if name not in found:
                problems.append(f"{rel}: generated block {name!r} is missing (its markers were removed?)")
                continue
            new = replace(new, name, make(root), f"(by {SCRIPT}; do not edit by hand)")
        for name, block in found.items():
            if (rel, name) not in GENERATORS:
                problems += [f"{rel}: block {name!r}: {p}" for p in _other_block(block, root)]
        if new != text and check:
            diff = "".join(difflib.unified_diff(text.splitlines(True), new.splitlines(True), rel, f"{rel} (now)", n=1))
            problems.append(f"{rel}: generated blocks are stale; run python {SCRIPT}\n{diff}")
        elif new != text:
            write_page(page, new)
    return problems


def _other_block(block: dict[str, str], root: Path) -> list[str]:
    if "pending" in block["attrs"]:
        return [] if PENDING_NOTE in block["body"] else [f"pending, but does not say '{PENDING_NOTE} ...' visibly"]
    if not any(script in block["attrs"] for script in RUN_SCRIPTS):
        return [f"not made by any known script (scripts/docs/generate.py or {' / '.join(RUN_SCRIPTS)})"]
    return [f"stale: {p}; rerun the command in the block" for p in stale_inputs(block["body"], root)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 when a block is stale")
    ap.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    problems = run(args.root, check=args.check)
    print("\n".join(problems) or ("generated blocks are current" if args.check else "generated blocks written"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
