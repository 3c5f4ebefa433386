"""The CLI: listings, data cards, and one clear line + exit 2 + nothing written on bad input."""

import subprocess
import sys

import pytest

from bench.cli import main
from tests.conftest import balanced_rows


def run_cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ls_lists_everything(capsys):
    for what, expect in (("tasks", "bbc-news"), ("models", "tiny-bert (random-init)"), ("imbalance", "none"),
                         ("context", "head"), ("methods", "full")):
        code, out, _ = run_cli(capsys, "ls", what)
        assert code == 0 and expect in out


def test_ls_does_not_import_torch():
    code = "import sys; from bench.cli import main; main(['ls']); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)


def test_data_card(capsys):
    code, out, _ = run_cli(capsys, "data", "drugs-sentiment")
    assert code == 0
    assert "neutral:46" in out and "tok p50" in out and "imb. ratio" in out


def _bad(capsys, tmp_path, args, message):
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, *args, "--out", str(out_dir)) if args[0] == "run" else run_cli(capsys, *args)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert not out_dir.exists() or not any(out_dir.rglob("*.json"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--task", "bbc-nwes", "--model", "tiny-bert"], "did you mean 'bbc-news'"),
        (["run", "--task", "bbc-news", "--model", "minilm-l7"], "did you mean 'minilm-l6'"),
        (["run", "--task", "bbc-news", "--model", "tiny-bert", "--imbalance", "nonee"], "did you mean 'none'"),
        (["run", "--task", "bbc-news", "--model", "tiny-bert", "--context", "hed"], "did you mean 'head'"),
        (["run", "--task", "bbc-news", "--model", "tiny-bert", "--max-length", "2048", "--limit-train", "20",
          "--limit-eval", "10"], "above model 'tiny-bert'"),
        (["run", "--task", "bbc-news", "--model", "tiny-bert", "--batch-size", "0"], "batch_size must be >= 1"),
        (["data", "nope"], "unknown task 'nope'"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(capsys, tmp_path, args, message):
    _bad(capsys, tmp_path, args, message)


def test_bad_task_files_through_the_cli(capsys, tmp_path, csv_task):
    one_class = csv_task(balanced_rows(10, labels=("a",)), name="oneclass")
    _bad(capsys, tmp_path, ["run", "--task", str(one_class), "--model", "tiny-bert"], "only one class")
    bad_label = csv_task(balanced_rows(10), name="badlabel", extra="label_names: [a, z]\n")
    _bad(capsys, tmp_path, ["run", "--task", str(bad_label), "--model", "tiny-bert"], "label 'b'")
    empty = csv_task(balanced_rows(10) + [("", "a")], name="empty")
    _bad(capsys, tmp_path, ["run", "--task", str(empty), "--model", "tiny-bert"], "empty or null texts")
    nocol = csv_task(balanced_rows(10), name="nocol")
    nocol.write_text(nocol.read_text().replace("label_column: label", "label_column: category"))
    _bad(capsys, tmp_path, ["run", "--task", str(nocol), "--model", "tiny-bert"], "column 'category' not found")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    _bad(capsys, tmp_path, ["run", "--task", str(broken), "--model", "tiny-bert"], "YAML syntax error")


def test_unwritable_output_folder(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = run_cli(capsys, "run", "--task", "drugs-sentiment", "--model", "tiny-bert",
                           "--out", str(blocker / "out"))
    assert code == 2 and "cannot be written" in err and err.count("\n") == 1


def test_run_one_cell_prints_summary_and_writes_record(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "run", "--task", "example-support-tickets", "--model", "tiny-bert",
                           "--epochs", "1", "--max-length", "32", "--out", str(tmp_path))
    assert code == 0 and "macro_f1" in out and "record:" in out
    assert len(list((tmp_path / "records").glob("*.json"))) == 1
