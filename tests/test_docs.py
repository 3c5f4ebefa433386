"""Docs that cannot go stale: every ``bench ...`` command in README.md and docs/*.md parses with the
real command line (``bench.cli.build_parser``) and names tasks, matrices and models that exist
(scripts/docs/commands.py), and every generated block of the docs matches what its script makes
from the repository now (scripts/docs/generate.py --check)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "docs"))

import commands  # noqa: E402  (scripts/docs/commands.py)

from bench.cli import build_parser  # noqa: E402


def _sub(parser, name: str):
    return commands._subparsers(parser)[name]


def test_every_documented_command_parses():
    found, problems = 0, []
    for page in commands.pages():
        text = page.read_text(encoding="utf-8")
        found += len(commands.commands_in(text))
        problems += commands.check_text(text, str(page.relative_to(ROOT)))
    assert not problems, "\n".join(problems)
    assert found > 50  # the extraction finds the docs' commands (104 when this was written)


@pytest.mark.parametrize("snippet, message", [
    ("```bash\nbench check --results R --baseline B --time-factr 2\n```", "bench check has no option --time-factr"),
    ("Run `bench run --limit-trains 5` first.", "bench run has no option --limit-trains"),
    ("```bash\nbench chekc --results R\n```", "unknown subcommand 'chekc'"),
    ("```bash\nbench run --matrix M.yaml --workers many\n```", "does not parse: bench run: error: argument --workers"),
    ("```bash\nbench check --baseline B\n```", "the following arguments are required: --results"),
    ("```bash\nbench run --task bbc-newz --model tiny-bert\n```", "no task 'bbc-newz'"),
    ("```bash\nbench run --task bbc-news --model tiny-bertt\n```", "no model 'tiny-bertt'"),
    ("```bash\nHF_HUB_OFFLINE=1 .venv/bin/bench run --matrix matrices/smoky.yaml\n```", "no file matrices/smoky.yaml"),
    ("```\n$ bench data bbc-nws\n```", "no task 'bbc-nws'"),
    ("```bash\nbench run --matrix M.yaml && bench check --results R --baseline B --alfa 0.1\n```", "no option --alfa"),
    ("```bash\nbench baseline --results R --out F \\\n    --tolernce accuracy=0.1\n```", "no option --tolernce"),
])
def test_checker_reports_bad_commands(snippet, message):
    problems = commands.check_text(snippet)
    assert len(problems) == 1 and message in problems[0], problems


@pytest.mark.parametrize("snippet", [
    "```bash\nbench transfer --results DIR --metric M --min-n N --csv   # N, DIR: placeholders\n```",
    "```bash\nbench run --matrix M.yaml --only \"task=bbc-news seed=0|1\"\n```",
    "```bash\nbench baseline --results R --out baselines/NAME.json [--tolerance macro_f1=0.03]\n```",
    "```\nbench check: FAIL — 1 regression(s)\nbench bf16 41.1 25.7\n```",  # shown output, not commands
    "```bash\nbench run --task my-task.yaml --model hf:/path/to/model\nbench run ... --seed 1\n```",
])
def test_placeholders_and_output_are_not_problems(snippet):
    assert commands.check_text(snippet) == []


def test_renaming_a_documented_flag_fails_the_docs():
    """The real docs against a parser where ``bench run --limit-train`` became ``--train-limit``."""
    parser = build_parser()
    run = _sub(parser, "run")
    action = run._option_string_actions.pop("--limit-train")
    action.option_strings = ["--train-limit"]
    run._option_string_actions["--train-limit"] = action
    problems = [p for page in commands.pages()
                for p in commands.check_text(page.read_text(encoding="utf-8"), page.name, parser)]
    assert problems and all("--limit-train" in p for p in problems), problems
    assert any(p.startswith("README.md:") for p in problems)
