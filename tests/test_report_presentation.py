"""What a reader sees: forest plots per varying axis in ``bench report --out`` and on the site's
index, no "pooled (1 task)" row repeating a task's row, a short axis legend, tie groups in words,
configuration labels that say what differs, p-values one way, ``bench compare`` naming the metric of
each test, and figures that fit (log-FPR ROC, linear Pareto axis)."""

from __future__ import annotations

import re

import pytest

from tests.test_report_axis import record, write
from tests.test_report_axis_cli import results, run  # noqa: F401 - fixture


@pytest.fixture(scope="module")
def one_task(tmp_path_factory):
    """One task: focal beats none; a second model only on head."""
    root = tmp_path_factory.mktemp("onetask")
    write(root / "res", [record(task="t1", seed=s, imbalance=i, accuracy=0.9 if i == "focal" else 0.55)
                         for i in ("none", "focal") for s in (0, 1)])
    return root


def test_report_out_folder_draws_a_forest_plot_per_varying_axis(results, capsys, tmp_path):  # noqa: F811
    code, _, _ = run(capsys, "report", "--results", results / "res", "--out", tmp_path / "md", "--resamples", 50)
    text = (tmp_path / "md" / "report.md").read_text()
    for axis in ("imbalance", "context"):
        assert (tmp_path / "md" / "plots" / f"axis_{axis}.png").stat().st_size > 1000
        assert f"](plots/axis_{axis}.png)" in text
    assert code == 0 and not (tmp_path / "md" / "plots" / "axis_model.png").exists()  # one model: no axis


def test_site_index_shows_and_links_each_forest_plot(results, capsys, tmp_path):  # noqa: F811
    code, _, _ = run(capsys, "report", "--results", results / "res", "--format", "html", "--out", tmp_path / "site",
                     "--resamples", 50)
    index = (tmp_path / "site" / "index.html").read_text()
    assert code == 0 and 'id="forest"' in index
    for axis in ("imbalance", "context"):
        assert (tmp_path / "site" / "plots" / f"axis_{axis}.png").is_file()
        assert f'<a href="axis-{axis}.html"><img src="plots/axis_{axis}.png"' in index


def test_one_task_axis_view_has_no_pooled_row_and_a_short_legend(one_task, capsys):
    code, out, _ = run(capsys, "report", "--results", one_task / "res", "--axis", "imbalance", "--resamples", 200)
    assert code == 0 and "pooled" not in out
    focal = next(line for line in out.splitlines() if line.startswith("| focal"))
    assert "**+0.3" in focal  # the task row carries the verdict: bold when significant
    legend = out.split("## Axis view")[1].split("|")[0]
    assert len(legend) < 450 and "docs/REPORT.md" in legend


def test_tie_groups_in_words_and_no_all_dash_win_rate_columns(one_task, capsys):
    code, out, _ = run(capsys, "report", "--results", one_task / "res", "--resamples", 50)
    board = out.split("## Leaderboard")[1].split("## Per configuration")[0]
    assert code == 0 and "mean win rate" not in board and "overall rank" not in board
    assert re.search(r"t1: best m1 · full · focal · head · L128; not significantly different from the best: none", board)


def test_labels_name_the_training_parameter_that_differs(tmp_path):
    from bench.report.aggregate import load_record_set

    recs = []
    for lr in (1e-4, 2e-3):
        for s in (0, 1):
            r = record(task="t1", seed=s, accuracy=0.6)
            r["cell"]["train"] = {"learning_rate": lr, "epochs": 4}
            r["cell_id"] = f"{r['cell_id'][:10]}{int(lr * 1e4):06d}"
            recs.append(r)
    write(tmp_path / "res", recs)
    labels = set(load_record_set(tmp_path / "res").frame["config"])
    assert labels == {"m1 · full · none · head · L128 · lr=0.0001", "m1 · full · none · head · L128 · lr=0.002"}


def test_p_values_are_printed_one_way():
    from bench.report.tables import p_text

    assert [p_text(v) for v in (0.0, 0.0004, 0.004, 0.5, 1.0)] == ["<0.001", "<0.001", "0.004", "0.500", "1.000"]
    assert p_text(0.0, "p") == "p<0.001" and p_text(0.0123, "p") == "p=0.012" and p_text(float("nan")) == "—"


def test_compare_names_the_metric_of_each_test(one_task, capsys):
    code, out, _ = run(capsys, "compare", "imbalance=focal", "imbalance=none", "--results", one_task / "res",
                       "--resamples", 200)
    boot = next(line for line in out.splitlines() if "A - B" in line)
    mcn = next(line for line in out.splitlines() if "McNemar" in line)
    assert code == 0 and boot.startswith("macro_f1, paired bootstrap") and mcn.startswith("accuracy")
    assert re.search(r"p(<0\.001|≤0\.\d+|=\d\.\d{3})", boot) and "p=0 " not in out and not out.rstrip().endswith("p=0")


def test_figures_use_a_log_fpr_roc_and_a_linear_pareto_axis(tmp_path, monkeypatch):
    from bench.report import plots

    seen = {}
    plt = plots._pyplot()
    real = plots._save

    def keep(fig, path):
        seen[path.name] = [(ax.get_xscale(), ax.get_title()) for ax in fig.axes]
        real(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    plots.pareto("a-task-with-a-long-name " * 6, "macro_f1", [("a", 0.9, 0.01, 85.0), ("b", 0.92, 0.01, 94.0)],
                 tmp_path / "p.png")
    rec = {"roc_curves": {"x": {"fpr": [0, 0.01, 1], "tpr": [0, 0.8, 1]}}}
    plots.roc_task("t", [("a", [rec])], tmp_path / "r.png")
    assert seen["p.png"][0][0] == "linear" and seen["r.png"][0][0] == "log"
    assert max(len(line) for line in seen["p.png"][0][1].splitlines()) < 100  # wrapped to the figure
    assert (tmp_path / "p.png").stat().st_size > 1000 and plt is not None
