"""Prose cannot drift from the numbers it reads: every decimal number quoted in a "What it shows"
paragraph of a page (README.md, docs/*.md) appears in the generated block above it (scripts/docs),
at the precision quoted (0.056 reads a block's +0.0560; 100.7k reads 100,676). The block is the one
above the reading, and one the reading introduces in its own section. Code spans are not prose
(parameters such as ``sampling_strategy=0.5``) and are skipped; whole numbers (seeds, counts,
percentages) and ratios written with × (0.95×) are not checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BEGIN = re.compile(r"^<!-- BEGIN generated:(?P<name>[\w.-]+)[^>]*-->\n(?P<body>.*?)^<!-- END generated:(?P=name) -->",
                   re.S | re.M)
NUMBER = re.compile(r"(?<![\w.])[+\-−]?(\d[\d,]*\.\d+)(k?)(?![\w.]*\d|×)")
READING = re.compile(r"^\**What it shows\b", re.M)
STOP = re.compile(r"^(#|<!-- BEGIN generated|What it does not show|\*\*What it does not show)", re.M)


def readings(text: str) -> list[tuple[str, str, str]]:
    """(block name, block body, reading text) of every "What it shows" reading after a block."""
    blocks = list(BEGIN.finditer(text))
    out = []
    for m in READING.finditer(text):
        before = [b for b in blocks if b.end() <= m.start()]
        after = [b for b in blocks if b.start() > m.start() and not re.search(r"^#", text[m.start():b.start()], re.M)]
        read = before[-1:] + after[:1]  # the block above, and one the reading introduces in its section
        if not read:
            continue
        stop = STOP.search(text, m.end())
        out.append((" + ".join(b["name"] for b in read), "\n".join(b["body"] for b in read),
                    text[m.start():stop.start() if stop else len(text)]))
    return out


def numbers(text: str) -> list[tuple[str, float, int]]:
    """(as written, value, decimals) of every decimal number outside code spans."""
    text = re.sub(r"`[^`]*`", " ", text)
    out = []
    for m in NUMBER.finditer(text):
        digits = m.group(1).replace(",", "")
        value = float(digits) * (1000 if m.group(2) else 1)
        out.append((m.group(0), value, len(digits.split(".")[1]) - (3 if m.group(2) else 0)))
    return out


def quoted_in(value: float, decimals: int, block: str) -> bool:
    """Whether a number of the block, rounded to ``decimals``, is ``value`` (sign aside)."""
    for b in (float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", block)):
        if abs(round(b, max(decimals, 0)) - value) < 10 ** -(decimals + 3) if decimals >= 0 else abs(b - value) < 500:
            return True
    return False


def drift(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    where = page.relative_to(ROOT) if page.is_relative_to(ROOT) else page.name
    return [f"{where}: {written} in the reading of block {name!r} is not in the block"
            for name, body, reading in readings(text) for written, value, decimals in numbers(reading)
            if not quoted_in(value, decimals, body)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_readings_quote_only_their_block(page):
    assert drift(page) == []


def test_a_number_the_block_lacks_is_caught(tmp_path):
    page = tmp_path / "X.md"
    block = "<!-- BEGIN generated:t (by scripts/docs/run_block.py) -->\n| chunk | +0.0560 | 25,600 |\n<!-- END generated:t -->\n"
    page.write_text(f"{block}\n**What it shows**: chunk +0.056 for 25.6k tokens; `lr=0.5` is a parameter.\n\n## Next\n"
                    "0.999 is outside the reading.\n")
    assert drift(page) == []
    page.write_text(f"{block}\n**What it shows**: chunk +0.028 per extra 25.0k tokens.\n")
    assert [p.split(": ")[1] for p in drift(page)] == ["+0.028 in the reading of block 't' is not in the block",
                                                       "25.0k in the reading of block 't' is not in the block"]
