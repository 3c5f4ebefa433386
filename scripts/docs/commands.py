"""Check every ``bench ...`` command shown in the docs against the real command line.

Commands come from fenced code blocks (one per line, ``\\`` continuations joined, a leading ``$ ``,
environment assignments and ``.venv/bin/`` dropped, ``# comments`` cut, ``&&`` / ``;`` / ``|``
split; in blocks that are not ``bash``/``sh``/``console``, such as shown output, only ``$ `` lines
and lines starting ``bench <subcommand>``) and from inline code spans that start with ``bench ``. Each one is checked against
``bench.cli.build_parser()``:

* the subcommand exists and every ``--flag`` is one of its options, spelled out in full (no
  argparse abbreviations);
* commands from code blocks must also parse completely (values of the right type and choice,
  required options present); inline spans often name a subcommand and a flag or two in prose, so
  only their subcommand and flags are checked;
* task, matrix and model names exist (``tasks/``, ``matrices/``, the model registry).

Placeholders are substituted knowingly: ``...`` (the flags of the command above) is dropped,
``[--x y]`` (optional) loses its brackets, an ALL-CAPS word or ``<...>`` as an option's value
(``DIR``, ``FILE``, ``NAME``, ``N``, ``M.yaml``, ``my-task.yaml``) becomes a valid value of that
option's type, and such names are not looked up.

    python scripts/docs/commands.py            # every page; exit 1 and one line per problem
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("README.md", "docs/*.md")
PLACEHOLDER = re.compile(r"^(<[^>]*>|[A-Z][A-Z0-9_]*(\.[a-z]+)?|M\.yaml|my-[\w-]+\.yaml|\.\.\.)$")
FENCE = re.compile(r"^(```|~~~)")
INLINE = re.compile(r"`(bench [^`]+)`")


def pages(root: Path = ROOT) -> list[Path]:
    return sorted({p for pattern in PAGES for p in root.glob(pattern)})


SHELL = {"bash", "sh", "shell", "console", "zsh"}


def commands_in(text: str, subcommands: set[str] | None = None) -> list[tuple[int, str, bool]]:
    """(line number, command, from a code block) for every bench command of a Markdown text.

    In ``bash``/``sh``/``console`` blocks every line is a command line; in other blocks (outputs,
    tables) only ``$ `` lines and lines that start with ``bench <a subcommand>``."""
    subcommands = subcommands if subcommands is not None else set(_subparsers(_parser()))
    out: list[tuple[int, str, bool]] = []
    lang, pending, start = None, "", 0
    for no, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line.strip())
        if fence:
            lang, pending = (None if lang is not None else line.strip()[3:].strip().lower()), ""
            continue
        if lang is None:
            out += [(no, cmd, False) for m in INLINE.finditer(line) for cmd in _split(m.group(1))]
            continue
        if not pending:
            start = no
            if lang not in SHELL and not line.startswith("$ ") and not _starts_command(line, subcommands):
                continue
        pending += " " + line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        out += [(start, cmd, True) for cmd in _split(pending)]
        pending = ""
    return out


def _starts_command(line: str, subcommands: set[str]) -> bool:
    m = re.match(r"^\s*(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:\S*/)?bench\s+(\S+)", line)
    return bool(m) and m.group(1) in subcommands


def _split(line: str) -> list[str]:
    """One shell line -> the bench commands in it (quotes respected; comments, ``$ `` and env cut)."""
    line = re.sub(r"^\$\s+", "", line.strip().replace("[", " ").replace("]", " "))
    lex = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lex.whitespace_split = True
    try:
        tokens = list(lex)
    except ValueError:
        return [line]  # reported by check_command
    cmds, words = [], []
    for tok in [*tokens, ";"]:
        if tok and set(tok) <= set(";&|"):
            while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # HF_HUB_OFFLINE=1 bench ...
                words.pop(0)
            if words and re.sub(r"^\S*/", "", words[0]) == "bench":
                cmds.append(shlex.join(["bench", *words[1:]]))
            words = []
        else:
            words.append(tok)
    return cmds


def _parser() -> argparse.ArgumentParser:
    from bench.cli import build_parser

    return build_parser()


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _value(action: argparse.Action) -> str:
    if action.choices:
        return str(next(iter(action.choices)))
    if action.type is int:
        return "1"
    if action.type is float:
        return "1.0"
    return "placeholder"


def check_command(cmd: str, full: bool, parser: argparse.ArgumentParser | None = None) -> list[str]:
    """Problems of one ``bench ...`` command ([] when it is fine)."""
    parser = parser or _parser()
    try:
        words = shlex.split(cmd)[1:]
    except ValueError as err:
        return [f"{cmd!r}: cannot split ({err})"]
    words = [w for w in words if w != "..."]
    subs = _subparsers(parser)
    if len(words) == 1 and "/" in words[0] and set(words[0].split("/")) <= set(subs):
        return []  # prose: `bench baseline/check`
    if not words or words[0] not in subs:
        return [f"{cmd!r}: unknown subcommand {words[0] if words else '(none)'!r} (bench has {', '.join(subs)})"]
    sub = subs[words[0]]
    problems, args = [], [words[0]]
    for i, word in enumerate(words[1:], 1):
        flag = word.split("=", 1)[0]
        if word.startswith("--") and flag not in sub._option_string_actions:
            problems.append(f"{cmd!r}: bench {words[0]} has no option {flag}")
        prev = sub._option_string_actions.get(words[i - 1]) if i > 1 else None
        args.append(_value(prev) if prev is not None and PLACEHOLDER.match(word) else word)
    problems += _names(cmd, words)
    if full and not problems:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                parser.parse_args(args)
            except SystemExit:
                problems.append(f"{cmd!r}: does not parse: {err.getvalue().strip().splitlines()[-1]}")
    return problems


def _names(cmd: str, words: list[str]) -> list[str]:
    from bench.components.models import MODELS
    from bench.spec.task import all_tasks

    problems = []
    pairs = list(zip(words, words[1:], strict=False))
    if words[0] == "data" and len(words) > 1 and not words[1].startswith("-"):
        pairs.append(("--task", words[1]))
    for flag, value in pairs:
        if PLACEHOLDER.match(value) or value.startswith("-"):
            continue
        if flag == "--task" and not value.endswith((".yaml", ".yml")) and value not in all_tasks():
            problems.append(f"{cmd!r}: no task {value!r} (bench ls tasks)")
        elif flag in ("--task", "--matrix") and value.startswith(("tasks/", "matrices/")) and not (ROOT / value).is_file():
            problems.append(f"{cmd!r}: no file {value}")
        elif flag == "--model" and not value.startswith("hf:") and value not in MODELS.names():
            problems.append(f"{cmd!r}: no model {value!r} (bench ls models)")
    return problems


def check_text(text: str, where: str = "<text>", parser: argparse.ArgumentParser | None = None) -> list[str]:
    """Every problem of every bench command in a Markdown text, as ``where:line: problem``."""
    parser = parser or _parser()
    found = commands_in(text, set(_subparsers(parser)))
    return [f"{where}:{no}: {p}" for no, cmd, full in found for p in check_command(cmd, full, parser)]


def main() -> int:
    problems, n = [], 0
    for page in pages():
        text = page.read_text(encoding="utf-8")
        n += len(commands_in(text))
        problems += check_text(text, str(page.relative_to(ROOT)))
    print("\n".join(problems) or f"{n} bench commands in {len(pages())} pages: all parse")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
