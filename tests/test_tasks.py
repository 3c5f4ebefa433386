"""Task registry: every shipped task validates; broken task files are rejected clearly."""

from pathlib import Path

import pytest

from bench.errors import ConfigError, UnknownNameError
from bench.spec.task import all_tasks, get_task, load_task_file
from tests.conftest import ROOT, write

SHIPPED = sorted((ROOT / "tasks").rglob("*.yaml"))


def test_registry_has_the_promised_tasks():
    names = set(all_tasks(ROOT / "tasks"))
    assert {"bbc-news", "drugs-sentiment", "drugs-condition", "lexglue-scotus", "lexglue-ledgar",
            "financial-phrasebank", "banking77", "ag-news", "imdb", "pubmed-rct20k",
            "example-support-tickets", "bbc-news-lt10"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_task_file_validates(path):
    spec = load_task_file(path)
    assert spec.name and spec.version and spec.license
    if spec.source.type == "hub":
        assert len(spec.source.revision) == 40 and int(spec.source.revision, 16) >= 0  # a pinned commit
        assert spec.label_names, "hub tasks with integer labels must list label names in index order"


def test_hub_label_counts_match_the_datasets():
    counts = {"lexglue-ledgar": 100, "banking77": 77, "lexglue-scotus": 13, "ag-news": 4, "imdb": 2}
    for name, k in counts.items():
        assert len(get_task(name).label_names) == k


GOOD = Path(ROOT / "tasks" / "examples" / "support-tickets.yaml").read_text()


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\n  bad: [unclosed\n", "YAML syntax error"),
        (GOOD + "\nsurprise: 1\n", "unknown field 'surprise'"),
        (GOOD.replace("text_column: text\n", ""), "missing field 'text_column'"),
        (GOOD.replace("type: files", "type: ftp"), "source"),
        (GOOD.replace("label_names: [account, billing, technical]", "label_names: [a, a]"), "duplicates"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_broken_task_files_are_rejected(tmp_path, text, message):
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError, match=message) as err:
        load_task_file(path)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_duplicate_task_names_are_rejected(tmp_path):
    write(tmp_path / "a.yaml", GOOD)
    write(tmp_path / "sub" / "b.yaml", GOOD)
    with pytest.raises(ConfigError, match="duplicate task name 'example-support-tickets'"):
        all_tasks(tmp_path)


def test_unknown_task_suggests_a_close_name():
    with pytest.raises(UnknownNameError, match="did you mean 'bbc-news'"):
        get_task("bbc-nwes")


def test_registered_tasks_found_from_any_working_directory(tmp_path):
    """The tasks/ folder is located from the package, not the cwd (regression of the bench/ move)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "BENCH_TASKS_DIR"}
    out = subprocess.run([sys.executable, "-m", "bench", "ls", "tasks"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "bbc-news" in out.stdout and "drugs-sentiment" in out.stdout
