"""The imbalance table groups by configuration (as the board), not by label, and one seed shows no spread."""

from __future__ import annotations

import numpy as np

from bench.record.io import write_record
from bench.report.imbalance_table import strategy_table, to_markdown


def _write(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_report_stats import classifier, synth_record

    y = np.random.default_rng(0).integers(0, 3, 60)
    recs = [synth_record(imbalance="oversample", seed=s, labels=y, proba=classifier(y, 0.8, s)) for s in range(2)]
    other = synth_record(imbalance="oversample", seed=0, labels=y, proba=classifier(y, 0.5, 9))
    other["cell"]["max_length"] = 64  # same strategy, another configuration: its own row
    other["cell_id"] += "L64"
    for r in [*recs, other]:
        write_record(tmp_path, r)


def test_rows_are_configurations_and_one_seed_has_no_spread(tmp_path):
    _write(tmp_path)
    table = strategy_table(str(tmp_path))
    assert len(table) == 2 and sorted(table["seeds"]) == [1, 2]
    assert table["config"].nunique() == 2
    one = table[table["seeds"] == 1].iloc[0]
    assert np.isnan(one["macro-F1 std"]) and one["macro-F1 n"] == 1
    text = to_markdown(table)
    line = next(x for x in text.splitlines() if "64" in x and "oversample" in x)
    assert "(n=1)" in line and "±" not in line and "± 0.000" not in text
