"""Statistical racing over a matrix's configurations: pure functions over records (docs/RACING.md).

* Rounds are seeds: round k runs seed ``seeds[k]`` of every configuration still in the race.
* Groups are the axis views' pairing: within a task, the configurations that differ along ONE axis
  only (``bench.report.axis.FIELDS``; the model axis ignores the context, as the axis view does,
  so TF-IDF on whole texts races the transformers). A configuration may sit in several groups.
* After each round from ``min_seeds`` on, within each group: the current best (mean metric over
  the seeds so far) is compared with every other survivor by the suite's paired bootstrap over
  test documents and the seeds so far (``bench.report.stats.paired_bootstrap``, one call per
  comparison, so the statistics helper's corrections apply here too); the group's p-values are
  Holm-adjusted (statsmodels ``multipletests``) at ``alpha / looks`` (Bonferroni over the rounds that
  test: the race looks several times, and each look may reject). A survivor whose adjusted
  p-value is below that level and which is worse than the best is eliminated, with the evidence.
* A configuration stops running when every group it belongs to has one survivor left (F-Race's
  stop), or at the last seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from bench.hashing import json_hash
from bench.metrics import DIRECTION

RACE_AXES = ("imbalance", "context", "method", "adapt", "model", "max_length")


@dataclass(frozen=True)
class Group:
    task: str
    axis: str
    members: tuple[str, ...]  # configuration ids


@dataclass(frozen=True)
class Elimination:
    config: str
    round: int  # 1-based: after how many seeds
    seeds: tuple[int, ...]
    axis: str
    best: str  # the configuration it lost to
    metric: str
    diff: float  # best - eliminated, in the metric's units
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float
    level: float  # the level the Holm-adjusted p was held to (alpha / looks)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["seeds"] = list(self.seeds)
        return d


@dataclass
class Race:
    """What a race did: which (configuration, seed) ran, what was eliminated and why, the winners."""

    seeds: list[int]
    metric: str
    alpha: float
    min_seeds: int
    groups: list[Group]
    ran: dict[str, list[int]] = field(default_factory=dict)  # config -> seeds it ran
    eliminated: dict[str, Elimination] = field(default_factory=dict)
    rounds: int = 0

    def alive(self, configs) -> list[str]:
        return [c for c in configs if c not in self.eliminated]

    def winners(self, group: Group) -> list[str]:
        """The group's tie group: its members no test separated from the best."""
        return self.alive(group.members)

    def looks(self) -> int:
        return max(1, len(self.seeds) - self.min_seeds + 1)

    def to_dict(self) -> dict:
        return {"seeds": self.seeds, "metric": self.metric, "alpha": self.alpha, "min_seeds": self.min_seeds,
                "rounds": self.rounds, "ran": self.ran,
                "eliminated": {c: e.to_dict() for c, e in self.eliminated.items()},
                "groups": [{"task": g.task, "axis": g.axis, "members": list(g.members),
                            "winners": self.winners(g)} for g in self.groups]}


def _axis_fields() -> dict[str, tuple[str, ...]]:
    from bench.report.axis import FIELDS

    return FIELDS


def group_key(cell: dict, axis: str) -> str:
    """What must be equal for two configurations to race on ``axis``: everything but the seed and the
    axis's own fields (and, on the model axis, the context: as the axis view pairs them)."""
    skip = {*_axis_fields()[axis], *(("context", "context_params") if axis == "model" else ())}
    return json_hash({k: v for k, v in cell.items() if k != "seed" and k not in skip}, 12)


def race_groups(cells: dict[str, dict]) -> list[Group]:
    """The groups of configurations (id -> cell) that differ along one axis only."""
    fields = _axis_fields()
    groups = []
    for axis in RACE_AXES:
        by: dict[tuple, list[str]] = {}
        for cid, cell in cells.items():
            by.setdefault((cell["task"], group_key(cell, axis)), []).append(cid)
        for (task, _), members in sorted(by.items()):
            values = {json_hash([cells[m].get(f) for f in fields[axis]], 8) for m in members}
            if len(members) >= 2 and len(values) >= 2:
                groups.append(Group(task, axis, tuple(sorted(members))))
    return groups


def paired_test(recs_best: list[dict], recs_other: list[dict], metric: str, level: float, resamples: int,
                seed: int) -> dict:
    """The one call into the suite's statistics: best - other by the paired bootstrap over test
    documents and the seeds both have (``diff``, ``ci_low``, ``ci_high``, ``p_value``)."""
    from bench.report.stats import paired_bootstrap

    return paired_bootstrap(recs_best, recs_other, metric, resamples=resamples, seed=seed, alpha=level)


def _mean(recs: list[dict], metric: str) -> float:
    vals = [v for r in recs if isinstance(v := (r.get("metrics") or {}).get(metric), (int, float))]
    return float(np.mean(vals)) if vals else float("nan")


def race_round(race: Race, records_of: Callable[[str], list[dict]], resamples: int = 1000, seed: int = 0,
               test: Callable[..., dict] = paired_test) -> list[Elimination]:
    """One look: eliminate, within every group, the survivors significantly worse than its best
    (Holm over the group at ``alpha / looks``). ``records_of(config)`` gives the records so far."""
    from statsmodels.stats.multitest import multipletests

    direction = DIRECTION.get(race.metric, 1)
    level = race.alpha / race.looks()
    found: dict[str, Elimination] = {}
    for gi, g in enumerate(race.groups):
        alive = [c for c in race.alive(g.members) if records_of(c)]
        if len(alive) < 2:
            continue
        means = {c: direction * _mean(records_of(c), race.metric) for c in alive}
        best = max(alive, key=lambda c: (np.nan_to_num(means[c], nan=-np.inf), c))
        others = [c for c in alive if c != best]
        # enough resamples that the bootstrap's floor p = 2/(B+1) can pass Holm's smallest threshold
        b = max(resamples, int(np.ceil(4 * len(others) / level)))
        results = [test(records_of(best), records_of(c), race.metric, level, b, seed + gi) for c in others]
        p_holm = multipletests([r["p_value"] for r in results], alpha=level, method="holm")[1]
        for c, r, q in zip(others, results, p_holm, strict=True):
            worse = r["diff"] * direction > 0
            if q <= level and worse and (c not in found or q < found[c].p_holm):
                found[c] = Elimination(c, race.rounds, tuple(race.seeds[:race.rounds]), g.axis, best, race.metric,
                                       float(r["diff"]), float(r["ci_low"]), float(r["ci_high"]),
                                       float(r["p_value"]), float(q), level)
    race.eliminated.update(found)
    return list(found.values())


def still_running(race: Race, configs) -> list[str]:
    """The survivors that need the next seed: those in a group with another survivor, and those
    in no group at all (nothing to race them against: they run every seed)."""
    grouped = {c for g in race.groups for c in g.members}
    out = []
    for c in race.alive(configs):
        mine = [g for g in race.groups if c in g.members]
        if c not in grouped or any(len(race.alive(g.members)) > 1 for g in mine):
            out.append(c)
    return out


def new_race(cells: dict[str, dict], seeds: list[int], metric: str, alpha: float = 0.05,
             min_seeds: int = 2) -> Race:
    return Race(sorted(seeds), metric, alpha, max(1, min(min_seeds, len(seeds))), race_groups(cells))


def replay(records: list[dict], seeds: list[int], metric: str, alpha: float = 0.05, min_seeds: int = 2,
           resamples: int = 1000, test: Callable[..., dict] = paired_test) -> Race:
    """Run the race over finished ok records (no training): round by round, only the survivors'
    records of the seeds so far are shown to the test."""
    from bench.record.frame import config_id

    by: dict[str, dict[int, dict]] = {}
    cells: dict[str, dict] = {}
    for r in records:
        if r.get("status") == "ok" and r["cell"]["seed"] in seeds:
            cid = config_id(r["cell"])
            cells[cid] = r["cell"]
            by.setdefault(cid, {})[r["cell"]["seed"]] = r
    race = new_race(cells, seeds, metric, alpha, min_seeds)
    running = list(cells)
    for k, s in enumerate(race.seeds):
        for c in running:
            if s in by[c]:
                race.ran.setdefault(c, []).append(s)
        race.rounds = k + 1
        if race.rounds >= race.min_seeds:
            race_round(race, lambda c: [by[c][x] for x in race.ran.get(c, [])], resamples, seed=k, test=test)
        running = still_running(race, running)
        if not running:
            break
    return race
