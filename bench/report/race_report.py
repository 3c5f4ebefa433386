"""A race told in plain lines: winners per group, eliminations (round, p, evidence), what ran and its
share of the full matrix's training seconds (``bench race``, ``bench run --race``, ``bench report``)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.record.frame import config_id, config_label
from bench.report.race import Race

RACE_FILE = "race.json"


def train_seconds(records: list[dict]) -> dict[tuple[str, int], float]:
    """(configuration id, seed) -> the record's training seconds (0 when it has none)."""
    return {(config_id(r["cell"]), r["cell"]["seed"]): float((r.get("timing") or {}).get("train_seconds") or 0.0)
            for r in records if r.get("status") == "ok"}


def cost_share(race: Race, records: list[dict]) -> tuple[float, float]:
    """(training seconds of the runs the race made, of all the records' runs over the race's seeds)."""
    secs = {k: v for k, v in train_seconds(records).items() if k[1] in race.seeds}
    used = sum(secs.get((c, s), 0.0) for c, seeds in race.ran.items() for s in seeds)
    return used, sum(secs.values())


def race_lines(race: Race, labels: dict[str, str], records: list[dict] | None = None) -> list[str]:
    """The race outcome as lines of text (``labels``: configuration id -> readable label)."""
    def name(c: str) -> str:
        return labels.get(c) or c

    runs = sum(len(v) for v in race.ran.values())
    planned = len(labels) * len(race.seeds)
    out = [f"race on {race.metric}: seeds {race.seeds}, alpha {race.alpha} (Holm within each group, "
           f"{race.alpha / race.looks():.4g} per look over {race.looks()} looks), tests from {race.min_seeds} seed(s); "
           f"{runs} of {planned} planned runs"]
    if records is not None:
        used, total = cost_share(race, records)
        if total > 0:
            out.append(f"training seconds: {used:.1f} of {total:.1f} ({used / total:.0%} of the full matrix)")
    for g in race.groups:
        win = race.winners(g)
        out.append(f"[{g.task} · {g.axis}] winner set ({len(win)} of {len(g.members)}): "
                   + "; ".join(name(c) for c in win))
    for c, e in sorted(race.eliminated.items(), key=lambda kv: (kv[1].round, kv[1].p_holm)):
        out.append(f"eliminated after round {e.round} (seeds {list(e.seeds)}): {name(c)} — worse than "
                   f"{name(e.best)} on {e.axis} by {e.diff:.4f} {e.metric} (CI {e.ci_low:.4f}..{e.ci_high:.4f}), "
                   f"p {e.p_value:.4f}, Holm p {e.p_holm:.4f} <= {e.level:.4g}")
    not_run = [(c, s) for c in labels for s in race.seeds if s not in race.ran.get(c, [])]
    if not_run:
        out.append(f"not run ({len(not_run)}): " + "; ".join(f"{name(c)} seed {s}" for c, s in not_run))
    return out


def labels_of(records: list[dict]) -> dict[str, str]:
    return {config_id(r["cell"]): config_label(r["cell"]) for r in records}


def write_race(out: str | Path, race: Race, labels: dict[str, str], extra: dict | None = None) -> Path:
    """OUT/race.json, atomically: the race, readable labels, and per planned-but-not-run cell why."""
    from bench.store import write_atomic

    data = {**race.to_dict(), "labels": labels, **(extra or {})}
    path = Path(out) / RACE_FILE
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True).encode())
    return path


def read_race(out: str | Path) -> dict | None:
    path = Path(out) / RACE_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def race_lines_from_file(data: dict) -> list[str]:
    """The lines of ``race_lines`` from OUT/race.json (the plain report of a raced results folder)."""
    from bench.report.race import Elimination, Group

    race = Race(data["seeds"], data["metric"], data["alpha"], data["min_seeds"],
                [Group(g["task"], g["axis"], tuple(g["members"])) for g in data["groups"]], data["ran"],
                {c: Elimination(**{**e, "seeds": tuple(e["seeds"])}) for c, e in data["eliminated"].items()},
                data["rounds"])
    return race_lines(race, data.get("labels") or {})
