"""bench run's console table: a metric the record holds as null (a class absent from the test split)
or NaN prints as n/a instead of crashing the formatter after the record was written."""

from bench.cli.run import print_result


def _record(**metrics):
    return {
        "metrics": {"accuracy": 0.75, "macro_f1": 0.5, **metrics},
        "timing": {"train_seconds": 1.25},
        "cell": {"task": "t", "method": "full", "imbalance": "none", "context": "head", "max_length": 64, "seed": 0},
        "model": {"label": "m"},
        "task": {"main_score": "macro_f1"},
        "quality": {"majority_score": 0.25, "majority_class": "a"},
    }


def test_null_and_nan_metrics_print_as_na(capsys):
    print_result(_record(minority_recall=None, roc_auc=float("nan")))
    out = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in out.splitlines() if line.count("│") == 3}
    assert rows["minority_recall"] == "n/a" and rows["roc_auc"] == "n/a"
    assert rows["accuracy"] == "0.7500" and rows["macro_f1"] == "0.5000" and rows["train_seconds"] == "1.2"
