"""Issue 18: length-grouped batches. ``group_by_length`` is refused where it would be silently
ignored (a weighted sampler or a window stream draws the batches, or the fitter has no trainer
sampler) when asked for, and resolves to off there when it is only a default; the sampler's
batches change from epoch to epoch."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bench.fit.trainer import LengthBucketSampler
from bench.spec.cell import Cell, TrainParams
from tests.conftest import balanced_rows

REFUSED = [(["--model", "tiny-bert", "--imbalance", "balanced_sampler"], "balanced_sampler"),
           (["--model", "tiny-bert", "--context", "random_window"], "random_window"),
           (["--model", "tiny-bert", "--method", "probe"], "probe"),
           (["--model", "tfidf-logreg", "--context", "full"], "tf-idf")]


@pytest.mark.parametrize("flags,word", REFUSED, ids=[w for _, w in REFUSED])
def test_cli_refuses_explicit_grouping_that_would_be_ignored(flags, word, capsys, tmp_path):
    from bench.cli import main

    code = main(["run", "--task", "drugs-sentiment", *flags, "--group-by-length", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "group_by_length cannot be honoured" in err and word in err.lower()
    assert not (tmp_path / "records").exists()


def test_explicit_grouping_is_accepted_where_the_trainer_honours_it():
    from bench.run.worker import validate_cell

    for imb in ("none", "oversample", "class_weight"):
        validate_cell(Cell(task="drugs-sentiment", model="tiny-bert", imbalance=imb,
                           train=TrainParams(group_by_length=True)))


def test_matrix_planning_names_the_cells_that_cannot_group(tmp_path, capsys):
    from bench.cli import main

    m = tmp_path / "m.yaml"
    m.write_text("name: m\ntasks: [drugs-sentiment]\nmodels: [tiny-bert]\n"
                 "imbalance: [none, balanced_sampler]\ncontext: [head, random_window]\nseeds: [0, 1]\n"
                 "train: {group_by_length: true}\n")
    code = main(["run", "--matrix", str(m), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "3 configuration(s) cannot run" in err  # all but (none, head); seeds counted once
    assert "imbalance=balanced_sampler context=head" in err and "imbalance=none context=random_window" in err
    assert not (tmp_path / "out" / "records").exists()


def test_unset_grouping_resolves_off_at_planning_where_ignored(csv_task, monkeypatch):
    """A grouping the user did not ask for (here the model's recipe; later perhaps the default,
    GROUP_BY_LENGTH_DEFAULT) never fails a cell: planning turns it off where it would be ignored."""
    import bench.components.models as models
    from bench.run.ids import plan_cell
    from bench.run.worker import validate_cell

    task = str(csv_task(balanced_rows(20)))
    real = models.get_model
    monkeypatch.setattr(models, "get_model", lambda name: replace(real(name), recipe={"group_by_length": True}))
    base = Cell(task=task, model="tiny-bert", train=TrainParams(epochs=1))
    assert plan_cell(base).cell.train.group_by_length is True  # honoured: kept
    for cell in (base.with_(imbalance="balanced_sampler"), base.with_(context="random_window"),
                 base.with_(method="probe")):
        validate_cell(cell)  # not refused: the user did not ask for it
        planned = plan_cell(cell)
        assert planned.cell.train.group_by_length is False
        assert planned.cell.train.epochs == 1  # what the user set is kept
        validate_cell(planned.cell)
    explicit = base.with_(imbalance="balanced_sampler", train=TrainParams(epochs=1, group_by_length=True))
    assert plan_cell(explicit).cell.train.group_by_length is True  # explicit: kept, so validation refuses it
    with pytest.raises(Exception, match="group_by_length cannot be honoured"):
        validate_cell(explicit)


def _batches(sampler: LengthBucketSampler) -> list[list[int]]:
    order = list(iter(sampler))
    bs = sampler.batch_size
    return [order[i : i + bs] for i in range(0, len(order), bs)]


def _padding(batches, lengths) -> int:
    return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)


LENGTHS = np.random.default_rng(7).integers(8, 129, 200).tolist()


def test_sampler_batches_change_between_epochs_and_stay_grouped():
    s = LengthBucketSampler(LENGTHS, 16, seed=3)
    first, second = _batches(s), _batches(s)
    for batches in (first, second):
        assert sorted(i for b in batches for i in b) == list(range(200))  # each window once per epoch
        assert [len(b) for b in batches] == [16] * 12 + [8]  # the partial batch last
    same = {frozenset(b) for b in first} & {frozenset(b) for b in second}
    assert len(same) <= 1, f"{len(same)} of 13 batches identical in epochs 0 and 1"
    rng = np.random.default_rng(0)
    random_pad = np.mean([_padding([p[i : i + 16] for i in range(0, 200, 16)], LENGTHS)
                          for p in (rng.permutation(200).tolist() for _ in range(20))])
    for batches in (first, second):
        assert _padding(batches, LENGTHS) < 0.4 * random_pad, (_padding(batches, LENGTHS), random_pad)


def test_sampler_is_deterministic_per_seed_and_epoch():
    a, b = LengthBucketSampler(LENGTHS, 16, seed=3), LengthBucketSampler(LENGTHS, 16, seed=3)
    assert list(a) == list(b) and list(a) == list(b)  # same seed: same order, epoch after epoch
    c = LengthBucketSampler(LENGTHS, 16, seed=3)
    c.set_epoch(1)  # the Trainer's set_epoch picks the same epoch as counting iterations
    assert list(c) == _second(LENGTHS) != list(LengthBucketSampler(LENGTHS, 16, seed=3))
    assert list(LengthBucketSampler(LENGTHS, 16, seed=4)) != list(LengthBucketSampler(LENGTHS, 16, seed=3))


def _second(lengths) -> list[int]:
    s = LengthBucketSampler(lengths, 16, seed=3)
    list(s)
    return list(s)


def test_large_sets_use_full_mega_batches_small_sets_smaller_ones():
    assert LengthBucketSampler([1] * 200, 16, 0).batches_per_mega() == 4
    assert LengthBucketSampler([1] * 1600, 16, 0).batches_per_mega() == 12
    assert LengthBucketSampler([1] * 100_000, 16, 0).batches_per_mega() == 50
