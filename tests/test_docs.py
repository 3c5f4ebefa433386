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


# -- generated blocks ------------------------------------------------------------------------------

import generate  # noqa: E402  (scripts/docs/generate.py)
import run_block  # noqa: E402  (scripts/docs/run_block.py)
from blocks import blocks, inputs_line  # noqa: E402


def test_generated_blocks_are_current():
    assert generate.run(ROOT, check=True) == []


@pytest.fixture
def tree(tmp_path):
    """A copy of what the repository blocks are made from."""
    import re
    import shutil

    pages = [str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")]
    run_inputs = {f for page in ["README.md", *pages]  # what the run blocks recorded
                  for f in re.findall(r"(\S+) sha256:[0-9a-f]+", (ROOT / page).read_text())}
    for rel in ("README.md", "matrices/smoke.yaml", ".ci/run", "tox.ini", *pages, *run_inputs):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    assert generate.run(tmp_path, check=True) == []
    return tmp_path


@pytest.mark.parametrize("rel, old, new, block_text", [
    ("matrices/smoke.yaml", "seeds: [0, 1, 2]", "seeds: [0, 1]", "| 0, 1 |"),
    (".ci/run", "--baseline baselines/smoke.json\n", "--baseline baselines/smoke.json --time-factor 4\n",
     "--time-factor 4"),
    ("tox.ini", "--baseline baselines/smoke.json\n", "--baseline baselines/smoke.json --time-factor 3\n",
     "--time-factor 3"),
])
def test_a_changed_input_makes_the_page_stale(tree, rel, old, new, block_text):
    path = tree / rel
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    problems = generate.run(tree, check=True)
    stale = [p for p in problems if p.startswith("docs/CHECK.md: generated blocks are stale")]
    assert len(stale) == 1 and block_text in stale[0], problems  # the diff shows what the page would say now
    # a measured block that read the same file (docs/CHECK.md's gate example) is stale too, by its hash:
    # generate.py cannot rerun a measurement, it names it
    assert all("changed since the run" in p for p in problems if p not in stale), problems
    assert [p for p in generate.run(tree) if "changed since the run" not in p] == []
    assert block_text in (tree / "docs/CHECK.md").read_text()
    assert [p for p in generate.run(tree, check=True) if "changed since the run" not in p] == []


def test_removed_markers_and_hand_edits_are_caught(tree):
    page = tree / "docs" / "CHECK.md"
    text = page.read_text()
    page.write_text(text.replace("| bbc-news · tiny-bert", "| bbc-news · tiny-bertt", 1))
    assert "stale" in generate.run(tree, check=True)[0]
    page.write_text(text.replace("<!-- END generated:smoke-matrix -->", ""))
    assert "unbalanced generated-block markers" in generate.run(tree, check=True)[0]


def test_run_blocks_record_their_inputs(tree):
    (tree / "matrices" / "x.yaml").write_text("name: x\n")
    page = tree / "docs" / "X.md"
    body = f"{inputs_line(['matrices/x.yaml'], tree)}\nnumbers\n"
    page.write_text(f"# X\n<!-- BEGIN generated:t (by scripts/docs/run_block.py) -->\n{body}<!-- END generated:t -->\n")
    assert generate.run(tree, check=True) == []
    (tree / "matrices" / "x.yaml").write_text("name: x\nseeds: [0]\n")
    problems = generate.run(tree, check=True)
    assert len(problems) == 1 and "matrices/x.yaml changed since the run" in problems[0]
    page.write_text("<!-- BEGIN generated:t (pending) -->\nold numbers\n<!-- END generated:t -->\n")
    assert "does not say" in generate.run(tree, check=True)[0]
    page.write_text("<!-- BEGIN generated:t -->\nby hand\n<!-- END generated:t -->\n")
    assert "not made by any known script" in generate.run(tree, check=True)[0]


def test_run_block_writes_output_with_provenance(tmp_path):
    page = tmp_path / "P.md"
    page.write_text("intro\n<!-- BEGIN generated:ctx (pending) -->\nold\n<!-- END generated:ctx -->\nend\n")
    assert run_block.main([str(page), "ctx", "--inputs", "matrices/smoke.yaml", "--show", "bench ls context",
                           "--max-load", "1000"]) == 0
    body = blocks(page.read_text())["ctx"]["body"]
    assert "$ bench ls context" in body and "head_tail" in body  # the command's real output
    for part in ("inputs: matrices/smoke.yaml sha256:", "Machine: ", "cores", "Date: 20", "load average",
                 "Budget: matrices/smoke.yaml: budget {'limit_train': 150"):
        assert part in body, body
    assert page.read_text().startswith("intro\n") and page.read_text().endswith("end\n")
    assert generate._other_block(blocks(page.read_text())["ctx"], ROOT) == []


def test_run_block_refuses_a_busy_machine_and_unknown_blocks(tmp_path, capsys):
    page = tmp_path / "P.md"
    text = "<!-- BEGIN generated:ctx (pending) -->\nold\n<!-- END generated:ctx -->\n"
    page.write_text(text)
    assert run_block.main([str(page), "ctx", "--show", "bench ls", "--max-load", "0", "--wait", "0"]) == 2
    assert run_block.main([str(page), "nope", "--show", "bench ls"]) == 2
    assert run_block.main([str(page), "ctx", "--show", "bench nosuchcommand", "--max-load", "1000"]) == 2
    assert page.read_text() == text
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "not an idle machine" in err[0] and "no generated block 'nope'" in err[1], err


def test_gate_defaults_quoted_in_prose_match_the_code():
    import re

    from bench.gate.baseline import DEFAULT_MAX_SPREAD, DEFAULT_TIME_FACTOR

    for rel in ("README.md", "docs/CHECK.md"):
        text = " ".join((ROOT / rel).read_text().split())
        factors = re.findall(r"default ×(\d+(?:\.\d+)?)", text)
        spreads = re.findall(r"spread[^.]{0,40}?[\s(](?:above|exceeds|default) (0\.\d+)", text)
        assert factors and {float(f) for f in factors} == {DEFAULT_TIME_FACTOR}, (rel, factors)
        assert spreads and {float(s) for s in spreads} == {DEFAULT_MAX_SPREAD}, (rel, spreads)


def policies_recommended(text: str) -> list[str]:
    """Names a description recommends as policies: 'use chunk or hierarchical policies', 'the chunk context policy'."""
    import re

    out = []
    for m in re.finditer(r"((?:`?[\w]+`?(?:,| or| and)?\s+)+)(?:context[- ]length |context )?polic(?:y|ies)", text):
        out += [w.strip("`,") for w in m.group(1).split() if w.strip("`,") not in {"or", "and", "the", "use", "a", "context"}]
    return out


def test_task_descriptions_recommend_only_existing_policies():
    from bench.components.context import CONTEXT
    from bench.spec.task import all_tasks

    assert policies_recommended("Very long documents: use chunk or hierarchical policies.") == ["chunk", "hierarchical"]
    for name, spec in all_tasks().items():
        named = policies_recommended(spec.description or "")
        assert set(named) <= set(CONTEXT.names()), (name, named)
