"""The fitter contract: one cell's data -> validation and test logits per document.

A fitter is a function ``fit(job: FitJob) -> FitResult``. :data:`FITTERS` picks it by
``"<model kind>/<method>"`` (``hf/full``, ``hf/lora``, ``hf/probe``, ``classical/full``); the
function is looked up in its module when called, so fitters import torch only when they run.
:func:`fit_members` is the one ensemble loop: an imbalance strategy with several members (e.g.
``balanced_bagging``) trains one model per member, each on its own resampling, and the
strategy combines their logits.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.components.context import ContextPolicy
from bench.components.imbalance import ImbalanceStrategy, Resampling
from bench.components.methods import Method
from bench.components.models import ModelSpec
from bench.data.prepare import TaskData
from bench.metrics import classification_metrics, softmax
from bench.registry import Registry
from bench.spec.cell import Cell


@dataclass(frozen=True)
class FitJob:
    """Everything a fitter needs: the cell, its data and its built components."""

    cell: Cell
    data: TaskData
    model: ModelSpec  # the encoder to fine-tune (an adapted one after TAPT/DAPT)
    strategy: ImbalanceStrategy
    policy: ContextPolicy
    method: Method
    precision: str  # resolved at planning: "fp32" or "bf16"
    save_model: str | None = None


@dataclass
class FitResult:
    """What a fitter returns; the worker turns it into the record's sections."""

    val_logits: np.ndarray  # per validation document, members combined
    test_logits: np.ndarray
    timing: dict[str, Any]  # -> record "timing" (the worker adds wall time and memory)
    resampling: dict[str, Any]  # the first member's Resampling.record_section() -> record "imbalance"
    context: dict[str, Any]  # window statistics per split -> record "context"
    cost: dict[str, Any]  # device, parameter counts, FLOPs, fitter extras -> record "cost"
    precision: str  # the precision actually used: "fp32" or "bf16"
    members: list[dict] = field(default_factory=list)  # per member, only for ensembles
    member_test_logits: list[np.ndarray] = field(default_factory=list)  # not recorded; for checks


@dataclass
class Members:
    """The outputs of :func:`fit_members`."""

    records: list[dict]
    val_logits: list[np.ndarray]
    test_logits: list[np.ndarray]

    def combine(self, strategy: ImbalanceStrategy) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        """Combined validation and test logits, and the member records (only for ensembles)."""
        recorded = self.records if len(self.records) > 1 else []
        return strategy.combine(self.val_logits), strategy.combine(self.test_logits), recorded


# fit_one(member, seed, resampling) -> (validation doc logits, test doc logits, extra member fields)
FitOne = Callable[[int, int, Resampling], tuple[np.ndarray, np.ndarray, dict]]


def fit_members(job: FitJob, fit_one: FitOne) -> Members:
    """Train every member of the cell's imbalance strategy: member ``m`` gets seed ``seed`` (one
    member) or ``seed * 1000 + m`` and its own resampling of the training split."""
    cell, data, strategy = job.cell, job.data, job.strategy
    train, test = data.splits["train"], data.splits["test"]
    out = Members([], [], [])
    n = strategy.n_members()
    for m in range(n):
        seed = cell.seed if n == 1 else cell.seed * 1000 + m
        resampling = strategy.fit_resample(train.labels, data.num_labels, seed)
        vdoc, tdoc, extra = fit_one(m, seed, resampling)
        out.val_logits.append(vdoc)
        out.test_logits.append(tdoc)
        out.records.append({"member": m, "seed": seed, "plan": resampling.record_section(), **extra,
                            "test_metrics": classification_metrics(test.labels, softmax(tdoc), data.label_names)})
    return out


def val_score(job: FitJob, val_doc_logits: np.ndarray) -> float:
    """The task's main score on the validation split."""
    data = job.data
    metrics = classification_metrics(data.splits["validation"].labels, softmax(val_doc_logits), data.label_names)
    return metrics[data.spec.main_score]


class Clock:
    """Seconds per named phase of a fit (-> ``timing.phases``): ``lap(name)`` books the time since
    the previous lap to ``name`` (repeated names add up)."""

    def __init__(self) -> None:
        import time

        self._now = time.perf_counter
        self._last = self._now()
        self.phases: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = self._now()
        self.phases[name] = self.phases.get(name, 0.0) + now - self._last
        self._last = now


@dataclass(frozen=True)
class Fitter:
    module: str
    function: str
    label: str = ""  # how a refusal names it
    supports: frozenset[str] = frozenset()  # capabilities (bench.components.capabilities) it honours

    def __call__(self, job: FitJob) -> FitResult:
        return getattr(importlib.import_module(self.module), self.function)(job)


# What each fitter really implements (checked against the code by tests/test_capabilities.py):
# the Trainer takes a loss hook, class weights, resampled rows, a weighted sampler, members and
# per-epoch training windows, and length-grouped batches (bench.fit.trainer.LengthBucketSampler,
# unless a weighted sampler or a window stream draws the batches); the probe head trains with the
# strategy's loss on resampled / sampler-drawn rows of fixed windows; the Trainer also trains a hierarchical
# model end to end (bench.fit.hierarchical: segments of a document aggregated inside the model; LoRA on its
# shared encoder); TF-IDF + logistic regression takes resampled rows and
# sample weights (class weights x sampler weights) and reads whole texts. The Keras fit (bench.fit.keras) takes class
# weights (``fit(class_weight=...)``), resampled rows, sampler weights as ``fit(sample_weight=...)``, members and
# fixed token windows; it has no loss hook, no per-epoch window stream, no length grouping and no torch encoder
# (LoRA, the probe, TAPT/DAPT).
_TRAINER = frozenset({"loss_hook", "class_weights", "row_indices", "sample_weights", "members", "token_windows",
                      "train_stream", "encoder", "length_grouping", "segments"})
_PROBE = frozenset({"loss_hook", "class_weights", "row_indices", "sample_weights", "members", "token_windows",
                    "encoder"})
_KERAS = frozenset({"class_weights", "row_indices", "sample_weights", "members", "token_windows"})
_CLASSICAL = frozenset({"class_weights", "row_indices", "sample_weights", "members", "whole_text"})
FITTERS: Registry[Fitter] = Registry("fitter (model kind/method)")
for _key, _fitter in (("hf/full", Fitter("bench.fit.transformer", "fit_transformer", "transformer fine-tuning",
                                         _TRAINER)),
                      ("hf/lora", Fitter("bench.fit.transformer", "fit_transformer", "transformer LoRA", _TRAINER)),
                      ("hf/probe", Fitter("bench.fit.probe", "fit_probe", "the frozen-encoder probe", _PROBE)),
                      ("classical/full", Fitter("bench.fit.classical", "fit_classical",
                                                "the classical TF-IDF + logistic regression fit", _CLASSICAL)),
                      ("keras/full", Fitter("bench.fit.keras", "fit_keras", "the Keras fit", _KERAS))):
    FITTERS.add(_key, _fitter)


def fitter_key(kind: str, method: str, framework: str = "hf") -> str:
    """``<model kind>/<method>`` for the Trainer path and the classical fit; ``keras/<method>`` for a
    transformer cell with ``framework: keras``."""
    return f"{framework}/{method}" if framework != "hf" and kind == "hf" else f"{kind}/{method}"


def fitter_for(model: ModelSpec, method: Method, framework: str = "hf") -> Fitter:
    return FITTERS.get(fitter_key(model.kind, method.name, framework))
