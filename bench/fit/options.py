"""Runtime options, and every environment-variable switch bench reads (this is the list).

Options that change the numbers a cell produces live in the cell (``TrainParams.precision``,
``TrainParams.group_by_length``) and so in its id. Options that leave predictions unchanged
within float noise are runtime settings read from the environment, because a CLI flag cannot
reach a matrix worker (a spawned process, a Ray task) except through the environment it
inherits; ``bench run --attn/--compile`` set them for the workers. They stay out of the cell id.

- ``BENCH_ATTN=auto|sdpa|eager`` -- attention kernel (``--attn``; auto = the library's default,
  except while training in bf16 on a CPU: bench.fit.attention);
- ``BENCH_COMPILE=1`` -- ``torch.compile`` the model inside the Trainer (``--compile``);
- ``BENCH_WEIGHT_CACHE=0`` -- load pretrained weights from disk for every cell instead of once
  per worker (a debugging switch: same model either way);
- ``BENCH_DEVICE=cpu|cuda`` -- the device a worker trains on (bench.fit.device.pick_device;
  tests and CI force ``cpu``);
- ``BENCH_BF16=0|1`` -- what precision ``auto`` resolves to, on any device (resolve_precision);
- ``BENCH_CACHE`` -- the cache root (bench.store.cache_root; default ``~/.cache/domainbench``);
- ``BENCH_TASKS_DIR`` / ``BENCH_CORPORA_DIR`` -- where task / corpus YAML files are found
  (bench.spec.task.repo_dir; default the repository's ``tasks/`` and ``corpora/``);
- ``BENCH_REPORT_TO=tensorboard,wandb,...`` -- the Trainer's own logging integrations
  (``bench run --report-to``; :func:`report_to`; default none);
- ``BENCH_LOCK_STALE_S`` -- seconds after which a cell lock without heartbeat is stale
  (bench.run.lock; default 180; shared by every runner on a results folder);
- ``BENCH_LATENCY_DOCS=N`` -- documents the latency probe times one at a time (``bench run
  --latency-docs N``); unset = the cell's ``latency_docs`` capped at 8 (:func:`latency_docs`);
- ``BENCH_SHARE_TRAINING=0`` -- cells with the same training identity train again instead of
  reusing the stored logits (``bench run --no-share-training``; bench.run.share);
- ``BENCH_STOP_GRACE_S`` -- seconds an interrupted run waits for its workers to stop before it
  kills them (bench.run.interrupt; default 30);
- ``BENCH_HUB_DIR`` -- a folder of local copies of hub tasks' repos, ``<org>/<name>`` at the
  task's pinned commit, loaded instead of the Hub (bench.data.sources; docs/HUB.md).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from bench.errors import ConfigError

ATTN = ("auto", "sdpa", "eager")


@dataclass(frozen=True)
class RuntimeOptions:
    attn: str = "auto"
    compile: bool = False
    weight_cache: bool = True

    @classmethod
    def from_env(cls) -> RuntimeOptions:
        attn = os.environ.get("BENCH_ATTN", "auto") or "auto"
        if attn not in ATTN:
            raise ConfigError(f"BENCH_ATTN={attn!r}: expected one of {', '.join(ATTN)}")
        return cls(attn=attn, compile=os.environ.get("BENCH_COMPILE", "0") == "1",
                   weight_cache=os.environ.get("BENCH_WEIGHT_CACHE", "1") != "0")

    @property
    def attn_implementation(self) -> str | None:
        return None if self.attn == "auto" else self.attn


@contextlib.contextmanager
def runtime_env(**values: str | None):
    """Set BENCH_* runtime variables for a block (None = leave unset), then restore them."""
    def put(items) -> None:
        for k, v in items:
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    saved = {k: os.environ.get(k) for k in values}
    try:
        put(values.items())
        yield
    finally:
        put(saved.items())


def report_to() -> str | list[str]:
    """``BENCH_REPORT_TO=tensorboard,wandb`` (``bench run --report-to``): the Trainer's own logging
    integrations (TrainingArguments.report_to); unset or ``none`` = none. A runtime option: logging
    changes no prediction. The Trainer's output folder is temporary: point the integration at a
    lasting place (e.g. ``TENSORBOARD_LOGGING_DIR``, ``WANDB_PROJECT``)."""
    names = [v.strip() for v in os.environ.get("BENCH_REPORT_TO", "").split(",") if v.strip()]
    return "none" if not names or names == ["none"] else names


DEFAULT_LATENCY_DOCS = 8  # the cheap default probe; --latency-docs N asks for more


def latency_docs(cell_value: int) -> int:
    """Documents the latency probe times: ``BENCH_LATENCY_DOCS`` when set (a runtime option: the
    probe changes no prediction), else the cell's ``latency_docs`` capped at 8 (0 = no probe)."""
    env = os.environ.get("BENCH_LATENCY_DOCS", "")
    if env.strip():
        try:
            n = int(env)
        except ValueError:
            n = -1
        if n < 0:
            raise ConfigError(f"BENCH_LATENCY_DOCS={env!r}: expected a whole number >= 0")
        return n
    return min(cell_value, DEFAULT_LATENCY_DOCS)


# -- pretrained weights: loaded once per worker, copied per cell ---------------------------------


# -- length-grouped batches -----------------------------------------------------------------------


# -- hardware limit and model FLOPs ---------------------------------------------------------------


# -- command line ----------------------------------------------------------------------------------


