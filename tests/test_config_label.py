"""Configuration labels show the speed options that change results (precision, length grouping), so two
configurations that differ only there are told apart by name, not by a hash suffix alone."""

from bench.record.frame import config_id, config_label

CELL = {"task": "t", "model": "minilm-l6", "method": "full", "imbalance": "none", "context": "head",
        "max_length": 128, "seed": 0, "train": {"precision": "auto", "group_by_length": False}}


def test_defaults_add_nothing():
    assert config_label(CELL) == "minilm-l6 · full · none · head · L128"


def test_precision_and_grouping_are_named():
    fast = {**CELL, "train": {"precision": "bf16", "group_by_length": True}}
    assert config_label(fast) == "minilm-l6 · full · none · head · L128 · bf16 · grouped"
    assert config_label({**CELL, "train": {"precision": "fp32"}}).endswith("· fp32")
    assert config_id(fast) != config_id(CELL)
