"""Stratified cuts keep rare classes; label choice and deduplication never use test rows (issue 28)."""

import csv

import numpy as np
import pytest

from bench.data import prepare
from bench.data.prepare import _stratified_cut, load_task_data, stratified_subset
from bench.errors import DataError
from bench.spec.task import load_task_file
from tests.conftest import balanced_rows, write


def test_cutting_28_of_30_rows_with_3_classes_works():
    labels = np.repeat([0, 1, 2], 10)
    first, second = _stratified_cut(labels, 28, seed=1)
    assert len(first) == 28 and len(second) == 2 and not set(first) & set(second)
    assert sorted(set(labels[first])) == [0, 1, 2]
    assert sorted(np.bincount(labels[second], minlength=3)) == [0, 1, 1]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_a_20_3_1_split_cut_to_12_keeps_every_class(seed):
    labels = np.repeat([0, 1, 2], [20, 3, 1])
    keep = stratified_subset(labels, 12, seed)
    assert len(keep) == 12
    assert (np.bincount(labels[keep], minlength=3) >= 1).all()  # the singleton is placed, class 1 kept
    assert (keep == stratified_subset(labels, 12, seed)).all()  # deterministic


def test_clean_cuts_are_scikit_learns_stratified_split():
    from sklearn.model_selection import train_test_split

    labels = np.repeat([0, 1, 2], [30, 12, 8])
    first, _ = _stratified_cut(labels, 40, seed=3)
    ref, _ = train_test_split(np.arange(50), train_size=40, random_state=3, stratify=labels)
    assert (first == np.sort(ref)).all()  # existing tasks' splits are unchanged


def test_impossible_cut_is_one_line_data_error():
    with pytest.raises(DataError, match="cannot cut 3 rows into 3 and 0") as err:
        _stratified_cut(np.array([0, 1, 1]), 3, seed=0)
    assert "\n" not in str(err.value)


def test_top_k_labels_are_chosen_without_the_test_rows(csv_task, monkeypatch):
    seen = {}
    original = prepare._label_names

    def spy(spec, frames):
        seen.update({name: set(df["text"]) for name, df in frames.items()})
        return original(spec, frames)

    monkeypatch.setattr(prepare, "_label_names", spy)
    rows = balanced_rows(12, labels=("a", "b", "c")) + balanced_rows(3, labels=("d",))
    data = prepare._prepare(load_task_file(csv_task(rows, extra="top_k_labels: 3\n")))
    assert "test" in seen and not seen["train"] & seen["test"]  # test carved before labels were chosen
    assert data.label_names == ["a", "b", "c"]
    assert set(data.splits["test"].texts) <= seen["test"]


def test_validation_rows_duplicating_test_are_removed_and_counted(tmp_path):
    splits = {"train": balanced_rows(8), "validation": [("Shared  TEXT here", "a"), ("only in validation", "b")],
              "test": [("shared text here", "a"), ("only in test", "b")]}
    for name, rows in splits.items():
        with open(tmp_path / f"{name}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows(rows)
    path = write(tmp_path / "t.yaml", """
name: t
description: d
domain: x
version: "1"
license: CC0
source: {type: files, train: train.csv, validation: validation.csv, test: test.csv}
text_column: text
label_column: label
""")
    data = load_task_data(load_task_file(path))
    assert data.splits["validation"].texts == ["only in validation"]
    assert data.splits["test"].texts == ["shared text here", "only in test"]
    assert data.stats["duplicates_removed"] == 1
