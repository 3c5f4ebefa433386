"""What a matrix planned: its cells expanded from the matrix file, as the report's frame rows, so the
report can tell a planned cell without a record (missing) from one the matrix never planned
(excluded on purpose). The matrix comes from ``--matrix FILE`` or from the ``matrix`` section the
runner writes into every record ({name, path}); neither -> the plan is unknown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.errors import BenchError, ConfigError
from bench.record.frame import frame_of
from bench.report.records import RecordSet


@dataclass
class Planned:
    names: list[str]  # the matrices' names
    frame: pd.DataFrame  # one row per planned cell: the report frame's columns (task ... config, seed)

    def has(self, columns: list[str], key: tuple) -> bool:
        m = pd.Series(True, index=self.frame.index)
        for c, v in zip(columns, key, strict=True):
            m &= self.frame[c].astype(str) == str(v)
        return bool(m.any())

    def missing(self, res: RecordSet) -> pd.DataFrame:
        """Planned cells with no record at all (failed records are failed, not missing)."""
        # a planned cell's id carries the precision as requested: "auto" matches a record's id as planned
        # (whatever auto resolved to on the machine that ran it), an explicit one the record's id with the
        # precision it ran in (one computation: a rerun with that precision skips the cell)
        have = set()
        for col in ("config_id", "config_as_planned", "config_resolved"):
            if col in res.frame:
                have |= set(zip(res.frame[col], res.frame["seed"], strict=True))
        have |= raced_away(res.folder)  # a race's eliminated / settled cells were planned, not run: not missing
        keep = [(c, s) not in have for c, s in zip(self.frame["config_id"], self.frame["seed"], strict=True)]
        return self.frame[keep][["task", "config", "seed", "config_id"]].reset_index(drop=True)


def raced_away(folder: Path) -> set[tuple[str, int]]:
    """(configuration id, seed) of the cells a race chose not to run (OUT/race.json, bench.cli.race_run)."""
    from bench.report.race_report import read_race

    data = read_race(folder) or {}
    return {(r["config"], int(r["seed"])) for r in data.get("not_run", [])}


def planned_from(path: str | Path, overrides: dict | None = None) -> Planned:
    """The matrix file's cells (with the run's command-line ``overrides``) as the runner plans them
    (bench.run.plan.expand_planned: recipe and precision resolved, so they match the records')."""
    from bench.run.plan import expand_planned
    from bench.spec.matrix import load_matrix
    from bench.spec.matrix_overrides import with_overrides
    from bench.spec.task import get_task

    overrides = dict(overrides or {})
    only = overrides.pop("only", None)  # the run's --only: the cells it left out were not planned
    spec = with_overrides(load_matrix(path), overrides)
    planned = expand_planned(spec)
    if only:
        from bench.components import axis_types
        from bench.spec.matrix import only_filter, select

        keep = select([p.cell for p in planned], [p.cell_id for p in planned], only_filter(only), axis_types())
        planned = [planned[i] for i in keep]
    cells = [p.cell for p in planned]
    names = {t: get_task(t).name for t in {c.task for c in cells}}  # a task file is labelled by its name
    frame = frame_of([{"cell_id": f"planned-{i}", "status": "planned", "cell": c.to_dict(),
                       "task": {"name": names[c.task]}} for i, c in enumerate(cells)], path)
    return Planned([spec.name], frame)


def resolve_plan(res: RecordSet, matrix: str | None) -> tuple[Planned | None, str]:
    """The plan and one line saying where it came from (or why it is unknown)."""
    if matrix is not None:
        if not Path(matrix).is_file():
            raise ConfigError(f"--matrix: no such matrix file {matrix!r}")
        return planned_from(matrix), f"planned cells: matrix file {matrix}"
    found = res.matrices()
    if not found:
        return None, "planned cells: unknown (records name no matrix; give --matrix FILE)"
    parts, names = [], []
    for m in found:
        path = next((p for p in (m.get("path"), f"matrices/{m.get('name')}.yaml") if p and Path(p).is_file()), None)
        if path is None:
            return None, f"planned cells: unknown (matrix {m.get('name')!r} of the records not found; give --matrix FILE)"
        try:
            p = planned_from(path, m.get("overrides"))
        except BenchError as err:  # the file changed since the run: the report goes on without a plan
            return None, f"planned cells: unknown (matrix file {path}: {err}; give --matrix FILE)"
        parts.append(p.frame)
        names += p.names
    frame = pd.concat(parts, ignore_index=True).drop_duplicates(["config_id", "seed"])
    return Planned(names, frame), f"planned cells: matrix {', '.join(names)} (named in the records)"
