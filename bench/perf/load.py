"""How busy the machine was around each ``bench perf`` run, and whether ratios may be printed.

Around every run :class:`LoadWatch` records the 1-minute load average before, during (sampled
once a second; mean and max) and after, and what the *other* processes used: the machine's busy
CPU seconds minus this process's own, over the run's wall time (``others_cores``). The run
itself keeps its torch threads busy, which raises the load average by about that many, so the
load it is judged by is the **excess**: the mean load average during the run minus the cores this
process kept busy, or the other processes' measured CPU use, whichever is higher.

:func:`ratio_verdict` refuses ratios when that excess, per core, was above ``max_load``
(``bench perf --max-load``, default :data:`DEFAULT_MAX_LOAD` = 0.25 per core: on 2 cores, half a
core's worth of other work). Timings on a shared machine move by 2-3x with contention
(docs/PERFORMANCE.md), so a ratio from a busy machine is withheld rather than printed.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

DEFAULT_MAX_LOAD = 0.25  # other processes' load per core above which ratios are withheld


class SystemProbe:
    """The real readings (tests pass a fake with the same three methods)."""

    def loadavg(self) -> float:
        return os.getloadavg()[0]

    def busy_seconds(self) -> float:
        """CPU seconds all processes spent busy (every core), since boot."""
        import psutil

        t = psutil.cpu_times()
        return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)

    def own_seconds(self) -> float:
        """CPU seconds this process spent (all its threads) and its waited-for children."""
        import psutil

        t = psutil.Process().cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    def cores(self) -> int:
        return os.cpu_count() or 1


@dataclass
class Load:
    """The load readings of one run."""

    before: float = 0.0
    after: float = 0.0
    samples: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    own_cores: float = 0.0  # this process's CPU seconds / wall seconds
    others_cores: float = 0.0  # the other processes' CPU seconds / wall seconds

    @property
    def during_mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else self.after

    @property
    def during_max(self) -> float:
        return max(self.samples) if self.samples else self.after

    @property
    def excess(self) -> float:
        """Load not caused by this run (see the module docstring)."""
        return max(0.0, self.during_mean - self.own_cores, self.others_cores)

    def as_dict(self) -> dict:
        return {"before": self.before, "during_mean": self.during_mean, "during_max": self.during_max,
                "after": self.after, "own_cores": self.own_cores, "others_cores": self.others_cores,
                "excess": self.excess}


class LoadWatch:
    """``with LoadWatch(probe) as w: ...`` -> ``w.load``: readings before, during and after."""

    def __init__(self, probe=None, interval: float = 1.0) -> None:
        self.probe = probe or SystemProbe()
        self.interval = interval
        self.load = Load()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.load.samples.append(self.probe.loadavg())

    def __enter__(self) -> LoadWatch:
        p = self.probe
        self.load.before = p.loadavg()
        self._t0, self._busy0, self._own0 = time.perf_counter(), p.busy_seconds(), p.own_seconds()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        p, ld = self.probe, self.load
        ld.after = p.loadavg()
        ld.wall_seconds = max(time.perf_counter() - self._t0, 1e-9)
        own = max(0.0, p.own_seconds() - self._own0)
        ld.own_cores = own / ld.wall_seconds
        ld.others_cores = max(0.0, p.busy_seconds() - self._busy0 - own) / ld.wall_seconds


def ratio_verdict(loads: list[dict], cores: int, max_load: float) -> tuple[bool, str]:
    """(ratios may be printed, why). Refused when any run's excess load per core was above ``max_load``."""
    if not loads:
        return False, "no load readings"
    worst = max(loads, key=lambda d: d["excess"])
    per_core = worst["excess"] / max(cores, 1)
    if per_core > max_load:
        return False, (f"ratios withheld: the load during a run was {per_core:.2f} per core above this run's own "
                       f"(load average {worst['during_mean']:.2f}, other processes {worst['others_cores']:.2f} "
                       f"cores; limit --max-load {max_load:g} per core on {cores} cores); rerun on an idle machine")
    return True, f"load ok: at most {per_core:.2f} per core from other processes (limit {max_load:g})"
