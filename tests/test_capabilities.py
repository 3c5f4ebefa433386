"""Issue 12: components never pretend. One contract test over EVERY registry (imbalance, context,
methods, adaptations) x EVERY fitter (transformer full / LoRA, probe, classical): each combination
is either refused at validation with a one-line ConfigError, or honoured: on tiny imbalanced data
with long documents its test predictions differ from the base component's (imbalance none,
context head/full, method full, adapt none).

The classical fit and the probe (cached features, a linear head) run every combination they
accept; tiny-bert full fine-tuning runs only what only the Trainer implements (a loss hook,
training windows that change per epoch) and LoRA is checked at validation, to stay fast.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.components.adapt import ADAPT
from bench.components.capabilities import CAPABILITIES, CapabilityError, unknown_capabilities
from bench.components.context import CONTEXT
from bench.components.imbalance import IMBALANCE
from bench.components.methods import METHODS
from bench.errors import ConfigError
from bench.fit.base import FITTERS
from bench.spec.cell import Cell, TrainParams

REGISTRIES = {"imbalance": IMBALANCE, "context": CONTEXT, "method": METHODS, "adapt": ADAPT}
PARAMS = {("imbalance", "logit_adjust"): {"tau": 1.0},  # a tuned tau may be 0 (= none) on tiny data
          ("imbalance", "ensemble"): {"k": 2},
          ("adapt", "tapt"): {"steps": 2, "batch_size": 8, "max_length": 32},
          ("adapt", "dapt"): {"steps": 2, "batch_size": 8, "max_length": 32, "corpus": "drug-reviews"}}
FITTER_CELL = {"hf/full": ("tiny-bert", "full"), "hf/lora": ("tiny-bert", "lora"), "hf/probe": ("tiny-bert", "probe"),
               "classical/full": ("tfidf-logreg", "full"), "keras/full": ("tiny-bert", "full")}
FRAMEWORK = {"keras/full": "keras"}  # fitters chosen by the cell's framework (default hf)
WORDS = "alpha beta gamma delta epsilon zeta theta iota kappa lambda sigma omega".split()


def _rows():
    """Imbalanced (40/12/6), long documents: the label's word near the start, noise, another near the end."""
    rng = np.random.default_rng(0)
    rows = []
    for lab, n in (("red", 40), ("green", 12), ("blue", 6)):
        for i in range(n):
            noise = " ".join(rng.choice(WORDS, 30))
            cue = lab if rng.random() < 0.8 else str(rng.choice(["red", "green", "blue"]))
            rows.append((f"{cue} {lab}ish report {i} {noise} closing {rng.choice(WORDS)} {lab if i % 2 else ''}", lab))
    return rows


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    from tests.conftest import TASK_TEMPLATE, write

    folder = tmp_path_factory.mktemp("cap")
    import csv

    with open(folder / "data.csv", "w", newline="") as f:
        csv.writer(f).writerows([("text", "label"), *_rows()])
    return str(write(folder / "cap.yaml", TASK_TEMPLATE.format(name="cap", train="data.csv")))


def _cell(task, fitter: str, axis: str = "", name: str = "", **extra) -> Cell:
    model, method = FITTER_CELL[fitter]
    fields = {"task": task, "model": model, "method": method, "max_length": 16, "seed": 0,
              "context": "full" if model == "tfidf-logreg" else "head",
              "train": TRAIN, "framework": FRAMEWORK.get(fitter, "hf")}
    if axis:
        key = {"method": "method", "adapt": "adapt", "imbalance": "imbalance", "context": "context"}[axis]
        fields[key], fields[f"{key}_params"] = name, dict(PARAMS.get((axis, name), {}))
    return Cell(**{**fields, **extra})


TRAIN = TrainParams(epochs=1, batch_size=16, limit_eval=None, latency_docs=0, early_stopping_patience=None)
COMBOS = [(f, axis, name) for f in FITTERS.names() for axis, reg in REGISTRIES.items() for name in reg.names()]


def test_declarations_use_known_capabilities():
    for reg in REGISTRIES.values():
        for name in reg.names():
            assert not unknown_capabilities(reg.get(name).needs), name
    for name in FITTERS.names():
        assert not unknown_capabilities(FITTERS.get(name).supports) and FITTERS.get(name).label, name
    assert set(CAPABILITIES) >= {"loss_hook", "whole_text", "token_windows"}


_RESULTS: dict[tuple, np.ndarray] = {}


def _proba(cell: Cell) -> np.ndarray:
    from bench.run.ids import plan_cell
    from bench.run.worker import run_cell

    key = json.dumps(cell.to_dict(), sort_keys=True, default=str)
    if key not in _RESULTS:
        _RESULTS[key] = np.asarray(run_cell(plan_cell(cell))["predictions"]["proba"])
    return _RESULTS[key]


BASE = {"imbalance": "none", "context": None, "method": "full", "adapt": "none"}
# run end to end only where it stays fast: classical and probe everything (dapt: validation only, it
# is tapt's MLM on a corpus); the Trainer only what no other fitter implements; LoRA at validation
# (its fitter is the Trainer's, tested in test_methods)
RUN = {"classical/full": lambda axis, name: True,
       "hf/probe": lambda axis, name: axis != "method" and name != "dapt",  # dapt: tapt's path on a corpus
       "hf/full": lambda axis, name: (axis, name) in {("imbalance", "focal"), ("context", "random_window"),
                                                      ("context", "hierarchical")},
       "hf/lora": lambda axis, name: False,
       "keras/full": lambda axis, name: (axis, name) == ("imbalance", "class_weight")}  # fit(class_weight=...)


@pytest.mark.parametrize("fitter,axis,name", COMBOS, ids=[f"{f}-{a}-{n}" for f, a, n in COMBOS])
def test_every_combination_is_honoured_or_refused(task, fitter, axis, name, tmp_path_factory, monkeypatch):
    from bench.run.worker import validate_cell

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    cell = _cell(task, fitter, axis, name)
    supports = FITTERS.get(fitter).supports
    component = REGISTRIES[axis].get(name)
    if axis == "method" and fitter not in ("classical/full", "keras/full") and FITTER_CELL[fitter][1] != name:
        pytest.skip("for transformers the method picks the fitter: checked under its own fitter")
    if fitter in FRAMEWORK:
        from bench.fit.frameworks import missing_keras

        if missing_keras():
            pytest.skip("the [keras] extra is not installed (tests/test_keras.py checks that refusal)")
    try:
        validate_cell(cell)
    except ConfigError as err:
        assert "\n" not in str(err) and name in str(err)
        assert not set(component.needs) <= supports, str(err)  # refused only for a capability it lacks
        assert isinstance(err, CapabilityError) or fitter == "classical/full"  # (or: not a transformer)
        return
    assert set(component.needs) <= supports  # accepted => declared supported
    base_name = BASE[axis] or ("full" if fitter == "classical/full" else "head")
    if name == base_name or not RUN[fitter](axis, name):
        return
    base = _cell(task, fitter, axis, base_name)
    got, want = _proba(cell), _proba(base)
    assert got.shape == want.shape
    assert not np.allclose(got, want, atol=1e-6), f"{axis} {name!r} on {fitter} gives exactly the base's predictions"


@pytest.mark.parametrize("flag", [["--imbalance", "focal"], ["--imbalance", "focal:gamma=5"], ["--context", "tail"]])
def test_cli_refuses_what_tfidf_cannot_honour(flag, capsys, tmp_path):
    from bench.cli import main

    code = main(["run", "--task", "drugs-sentiment", "--model", "tfidf-logreg", *flag, "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "cannot be honoured" in err
    assert flag[1].split(":")[0] in err and "tfidf" in err.lower() or "TF-IDF" in err
    assert not (tmp_path / "records").exists()  # nothing written


def test_cli_context_full_is_for_whole_text_models_only(capsys, tmp_path):
    from bench.cli import main

    code = main(["run", "--task", "drugs-sentiment", "--model", "tiny-bert", "--context", "full", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "'full'" in err and "whole text" in err


def test_matrix_planning_names_every_refused_cell_before_running(tmp_path, capsys, task):
    from bench.cli import main

    m = tmp_path / "m.yaml"
    m.write_text(f"name: m\ntasks: [{task}]\nmodels: [tfidf-logreg]\nimbalance: [none, focal, 'focal:gamma=5']\n"
                 "context: [full, tail]\nseeds: [0, 1]\n")
    code = main(["run", "--matrix", str(m), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "5 configuration(s) cannot run" in err  # focal x2 x full, and tail x3 (seeds counted once)
    assert "imbalance=focal:gamma=5 context=full" in err and "imbalance=none context=tail" in err
    assert not (tmp_path / "out" / "records").exists()


def test_console_command_refuses_focal_and_tail_for_tfidf(tmp_path):
    """The same through the installed command line (python -m bench), as a user types it."""
    import subprocess
    import sys

    for flag in (["--imbalance", "focal"], ["--context", "tail"]):
        out = subprocess.run([sys.executable, "-m", "bench", "run", "--task", "drugs-sentiment", "--model",
                              "tfidf-logreg", *flag, "--out", str(tmp_path)], capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "cannot be honoured" in out.stderr and flag[1] in out.stderr
    assert not (tmp_path / "records").exists()
