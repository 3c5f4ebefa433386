"""The README's "Your data in five commands", run as printed (parsed from the README) on a small CSV
this test writes, with the README's own one-minute trial flags appended to the matrix run: from the
CSV to an axis view, nothing outside the README."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys

from tests.conftest import ROOT

SECTION = "## Your data in five commands"


def readme_path() -> tuple[str, str]:
    """The section's bash block and its trial flags."""
    text = (ROOT / "README.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    trial = re.search(r"append `([^`]+)`\s+to step 4", section).group(1)
    return block, trial


def test_readme_own_data_path(tmp_path):
    block, trial = readme_path()
    steps = [line for line in block.splitlines() if line.startswith("bench ")]
    assert [s.split()[1] for s in steps] == ["data", "run", "report"] and "--task my-task.yaml" in steps[1]
    words = {"good": "great lovely", "bad": "awful broken", "meh": "average fine"}
    with open(tmp_path / "my-data.csv", "w", newline="") as f:  # 3 classes, the last one rare
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for label, n in (("good", 30), ("bad", 24), ("meh", 10)):
            w.writerows((f"review {i} says {words[label]} {words[label].split()[i % 2]} item {i % 7}", label)
                        for i in range(n))
    (tmp_path / "matrices").symlink_to(ROOT / "matrices")  # the repository root, as the README assumes
    script = block.replace(steps[1], f"{steps[1]} {trial}")
    script = re.sub(r"^bench ", f'"{sys.executable}" -m bench ', script, flags=re.M)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "BENCH_DEVICE": "cpu"}
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "text,label" in out  # step 1
    axis = out.split("## Axis view: imbalance")[1]  # step 5
    assert "class_weight" in axis and "my-task" in axis and "my-task.yaml" not in axis  # the task by its name
    recs = list((tmp_path / "results" / "my-task" / "records").glob("*.json"))
    assert len(recs) == 3  # tiny-bert none and class_weight, TF-IDF none (the matrix's include), seed 0
