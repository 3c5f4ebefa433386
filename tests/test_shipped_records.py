"""Every ``bench report|compare|columns|transfer|race`` command printed in README.md and docs/*.md runs
as printed against the records shipped under ``records/`` and exits 0.

A command reads one of three kinds of folder:

* ``records/NAME``: shipped with the repository; the command runs exactly as printed (an ``--out``
  goes to a temporary folder instead of the repository);
* ``results`` (``bench run``'s default ``--out``) inside a generated block: the default job's output;
  the command runs against the shipped default-job records, ``records/default`` (outside a block it is
  an instruction for the user's own results, like any other folder);
* anything else (a placeholder such as ``R`` or ``DIR``, a user's own folder): an instruction, not a
  published result; nothing to run.

Results that were published without shipped records are listed in UNSHIPPED with why; a docs command
reading any other folder that is not shipped fails this test.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "docs"))

import commands  # noqa: E402
from blocks import blocks  # noqa: E402

READERS = {"report", "compare", "columns", "transfer", "race"}
DEFAULT_JOB = "records/default"
# Published without shipped records, with why and how to rerun them (none today: every published block
# reads a folder under records/).
UNSHIPPED: dict[str, str] = {}


def _block_lines(text: str) -> tuple[set[int], set[int]]:
    """Line numbers inside generated blocks: (measured blocks, pending blocks)."""
    measured: set[int] = set()
    pending: set[int] = set()
    for name, block in blocks(text).items():
        begin = text.index(f"<!-- BEGIN generated:{name}")
        first = text[:begin].count("\n") + 1
        end = text.index(f"<!-- END generated:{name}", begin)
        (pending if "pending" in block["attrs"] else measured).update(range(first, text[:end].count("\n") + 2))
    return measured, pending


def docs_readers() -> list[tuple[str, str, str, bool]]:
    """(page:line, command, results folder, shown in a measured block) of every reader command in the docs."""
    found = []
    subs = set(commands._subparsers(commands._parser()))
    for page in commands.pages(ROOT):
        text = page.read_text(encoding="utf-8")
        measured, pending = _block_lines(text)
        for no, cmd, _ in commands.commands_in(text, subs):
            words = shlex.split(cmd)
            if len(words) < 2 or words[1] not in READERS or no in pending:
                continue
            results = words[words.index("--results") + 1] if "--results" in words[:-1] else "results"
            found.append((f"{page.relative_to(ROOT)}:{no}", cmd, results, no in measured))
    return found


def _shipped(results: str, in_block: bool) -> str | None:
    """The folder of published records a docs command reads (``results``: the default job's), or None when
    the command is an instruction (a placeholder, the user's own folder) outside any measured block."""
    if results == "results":
        return DEFAULT_JOB if in_block else None  # prose: an instruction for the user's own results folder
    if results.startswith("records/") or in_block or results in UNSHIPPED:
        return results
    return None


READS = [(where, cmd, _shipped(results, in_block)) for where, cmd, results, in_block in docs_readers()]


def test_docs_name_shipped_or_listed_folders():
    """A command that reads a published folder reads a shipped one, or one listed as not shipped."""
    assert READS, "no reader commands found in the docs"
    published = [r for r in READS if r[2] is not None]
    assert any(r[2] == DEFAULT_JOB for r in published) or (ROOT / DEFAULT_JOB / "records").is_dir()
    bad = [f"{where}: {cmd} reads {folder}, which is not shipped"
           for where, cmd, folder in published
           if folder not in UNSHIPPED and not (ROOT / folder / "records").is_dir()]
    assert not bad, "\n".join(bad)
    stale = [f for f in UNSHIPPED if (ROOT / f / "records").is_dir()]
    assert not stale, f"shipped now, remove from UNSHIPPED: {stale}"


RUNNABLE = sorted({(cmd, folder) for _, cmd, folder in READS if folder and folder not in UNSHIPPED})


@pytest.mark.slow  # ~50 reports with bootstrap CIs and plots: about 100 s on 2 cores
@pytest.mark.parametrize(("cmd", "folder"), RUNNABLE, ids=[c for c, _ in RUNNABLE])
def test_docs_command_runs_on_shipped_records(cmd, folder, tmp_path, monkeypatch, capsys):
    from bench.cli import main

    words = shlex.split(cmd)[1:]
    if "--results" in words:
        words[words.index("--results") + 1] = folder
    else:
        words += ["--results", folder]
    if "--out" in words:
        words[words.index("--out") + 1] = str(tmp_path / "out")
    for flag in ("--json",):
        if flag in words:
            words[words.index(flag) + 1] = str(tmp_path / "out.json")
    monkeypatch.chdir(ROOT)
    rc = main(words)
    out = capsys.readouterr()
    assert rc == 0, f"{cmd} exited {rc}: {out.err.strip()[-500:]}"
    assert out.out.strip(), f"{cmd} printed nothing"
