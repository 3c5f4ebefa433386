"""A task's main_score is a registered metric (did-you-mean at load) and its direction picks the
Trainer's best checkpoint (issue 28)."""

import dataclasses

import numpy as np
import pytest

from bench.errors import ConfigError
from bench.metrics import classification_metrics, softmax
from bench.spec.cell import TrainParams
from bench.spec.task import load_task_file
from tests.conftest import TASK_TEMPLATE, write


def test_unknown_main_score_is_refused_at_load_with_a_did_you_mean(tmp_path):
    path = write(tmp_path / "t.yaml", TASK_TEMPLATE.format(name="t", train="x.csv") + "main_score: macro_f2\n")
    with pytest.raises(ConfigError) as err:
        load_task_file(path)
    msg = str(err.value)
    assert "main_score 'macro_f2' is not a metric" in msg and "macro_f1" in msg and "\n" not in msg
    for name in ("log_loss", "ece", "accuracy"):  # registered, lower- and higher-is-better
        ok = write(tmp_path / f"{name}.yaml", TASK_TEMPLATE.format(name="t", train="x.csv") + f"main_score: {name}\n")
        assert load_task_file(ok).main_score == name
    needs_train = write(tmp_path / "m.yaml", TASK_TEMPLATE.format(name="t", train="x.csv") + "main_score: mcc\n")
    with pytest.raises(ConfigError, match="not computed on every split"):
        load_task_file(needs_train)


def test_log_loss_main_score_keeps_the_lowest_loss_checkpoint(tiny_cell):
    from bench.components.context import CONTEXT
    from bench.components.imbalance import IMBALANCE
    from bench.components.methods import METHODS
    from bench.components.models import get_model
    from bench.fit.base import FitJob, fitter_for
    from bench.run.worker import cell_data
    from bench.spec.named import build

    cell = tiny_cell.with_(train=TrainParams(epochs=3, batch_size=8, learning_rate=3e-3, limit_train=48,
                                             limit_eval=30, latency_docs=2, early_stopping_patience=None))
    data = cell_data(cell)
    data = dataclasses.replace(data, spec=data.spec.model_copy(update={"main_score": "log_loss"}))
    job = FitJob(cell, data, get_model("tiny-bert"), build(IMBALANCE, "none"), build(CONTEXT, "head"),
                 build(METHODS, "full"), precision="fp32")
    fit = fitter_for(job.model, job.method)(job)
    curve = fit.timing["val_curve"]
    assert len(curve) == 3 and max(curve) > min(curve)  # the epochs differ, so a wrong direction would show
    assert fit.timing["best_val_score"] == pytest.approx(min(curve))
    val = data.splits["validation"]
    kept = classification_metrics(val.labels, softmax(fit.val_logits), data.label_names)["log_loss"]
    assert kept == pytest.approx(min(curve), rel=1e-4)
    assert not np.isclose(kept, max(curve))
