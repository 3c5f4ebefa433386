"""bench run --matrix M --race: the matrix in rounds of seeds through the usual executors, the racing
policy (bench.report.race) between rounds, OUT/race.json after each round.

Round k runs seed k of every configuration still racing, as one sub-plan of the matrix (same cell
ids, same records folder, same locks: any executor). The race is a deterministic function of the
records (the bootstrap is seeded), so rerunning the same command resumes mid-race: finished
cells are skipped and the same eliminations follow. A cell the race did not run is listed in
OUT/race.json under ``not_run`` (planned, not run, why, at which round, the evidence); it is
neither missing nor failed (``bench report`` reads that file).
"""

from __future__ import annotations

from dataclasses import replace

from bench.record.frame import config_id, config_label
from bench.record.io import read_record, record_path


def _ok_record(out, cid: str) -> dict | None:
    path = record_path(out, cid)
    if not path.exists():
        return None
    rec = read_record(path)
    return rec if rec.get("status") == "ok" else None


def not_run(race, plan, index: dict[tuple[str, int], int]) -> list[dict]:
    """Every planned cell the race did not run, with why (eliminated: the evidence; settled: alone)."""
    out = []
    for (cfg, seed), i in sorted(index.items(), key=lambda kv: kv[1]):
        if seed in race.ran.get(cfg, []):
            continue
        e = race.eliminated.get(cfg)
        if e is not None:
            why = {"why": "eliminated", "round": e.round, "evidence": e.to_dict()}
        elif race.rounds < len(race.seeds) and race.ran.get(cfg):
            why = {"why": "settled: no other configuration left in its groups", "round": race.rounds}
        else:
            continue  # not run yet (the race stopped early by an interrupt or failed cells)
        out.append({"cell_id": plan.ids[i], "config": cfg, "seed": seed, "label": config_label(plan.cells[i].to_dict()),
                    **why})
    return out


def run_race(plan, args, progress_factory, on_record=None) -> tuple[int, list[str]]:
    """Run ``plan`` as a race; returns (exit code, the race's report lines)."""
    from bench.report.race import new_race, race_round, still_running
    from bench.report.race_report import race_lines, write_race
    from bench.run.matrix import run_matrix

    index = {(config_id(c.to_dict()), c.seed): i for i, c in enumerate(plan.cells)}
    cells = {cfg: plan.cells[i].to_dict() for (cfg, _), i in index.items()}
    labels = {cfg: config_label(cell) for cfg, cell in cells.items()}
    seeds = sorted({s for _, s in index})
    metric = args.metric or _main_score(plan)
    race = new_race(cells, seeds, metric, args.alpha, args.min_seeds)
    running, code = list(cells), 0
    for k, s in enumerate(seeds):
        keep = [index[(c, s)] for c in running if (c, s) in index]
        sub = replace(plan, cells=[plan.cells[i] for i in keep], ids=[plan.ids[i] for i in keep],
                      precisions=[plan.precisions[i] for i in keep],
                      state={plan.ids[i]: plan.state[plan.ids[i]] for i in keep})
        outcome = run_matrix(sub, executor=args.executor, workers=args.workers, address=args.address,
                             retry_failed=args.retry_failed, progress=progress_factory(), on_record=on_record)
        code = max(code, outcome.exit_code)
        for c in running:
            if (c, s) in index and _ok_record(plan.out, plan.ids[index[(c, s)]]) is not None:
                race.ran.setdefault(c, []).append(s)
        race.rounds = k + 1
        if race.rounds >= race.min_seeds:
            records_of = _reader(race, plan, index)
            race_round(race, records_of, args.race_resamples, seed=k)
        running = still_running(race, running)
        done = not running or k == len(seeds) - 1
        write_race(plan.out, race, labels, {"not_run": not_run(race, plan, index),
                                            "status": "finished" if done else "running"})
        if not running:
            break
    return code, race_lines(race, labels)


def _reader(race, plan, index: dict[tuple[str, int], int]):
    """config -> its ok records of the seeds it ran so far (read once per round)."""
    cache: dict[str, list[dict]] = {}

    def records_of(c: str) -> list[dict]:
        if c not in cache:
            found = (_ok_record(plan.out, plan.ids[index[(c, x)]]) for x in race.ran.get(c, []))
            cache[c] = [r for r in found if r is not None]
        return cache[c]

    return records_of


def _main_score(plan) -> str:
    from bench.spec.task import get_task

    names = [get_task(t).main_score for t in sorted({c.task for c in plan.cells})]
    return max(set(names), key=names.count)


def run_raced(plan, args, progress, finish) -> int:
    from bench.cli.race import check_race_args

    check_race_args(args)
    code, lines = run_race(plan, args, progress, on_record=finish.written if finish else None)
    print("\n".join(lines))
    return code
