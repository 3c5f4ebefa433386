"""Strategies that keep the training rows as they are and change the loss or the logits:
``none``, ``class_weight``, ``focal`` and ``logit_adjust``."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from bench.components.imbalance.base import (
    IMBALANCE,
    WEIGHT_SCHEMES,
    ImbalanceStrategy,
    Resampling,
    WeightScheme,
    class_weights,
    per_class_param,
)


@IMBALANCE.register("none")
class NoStrategy(ImbalanceStrategy):
    summary = "train on the split as it is, plain cross-entropy"


@IMBALANCE.register("class_weight")
class ClassWeight(ImbalanceStrategy):
    summary = "weighted cross-entropy: inverse / sqrt inverse frequency or effective number (Cui et al. 2019)"
    needs = frozenset({"class_weights"})
    needs_two_classes = True
    scheme: WeightScheme = "inverse"
    beta: float = Field(0.999, ge=0, lt=1, description="for scheme=effective")

    def _fit_resample(self, labels, counts, rng) -> Resampling:
        return Resampling(indices=np.arange(len(labels)), class_weights=class_weights(counts, self.scheme, self.beta))


@IMBALANCE.register("focal")
class Focal(ImbalanceStrategy):
    summary = "focal loss -alpha_y (1-p_y)^gamma log p_y (Lin et al. 2017); alpha: per-class list a/b/c or a scheme"
    needs = frozenset({"loss_hook"})
    gamma: float = Field(2.0, ge=0)
    alpha: list[float] | str | None = None
    beta: float = Field(0.999, ge=0, lt=1, description="for alpha=effective")

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, v):
        if isinstance(v, str) and v not in WEIGHT_SCHEMES:
            raise ValueError(f"must be a per-class list a/b/c or one of {', '.join(WEIGHT_SCHEMES)}")
        if isinstance(v, list) and any(a <= 0 for a in v):
            raise ValueError("per-class alpha values must be > 0")
        return v

    def _fit_resample(self, labels, counts, rng) -> Resampling:
        if self.alpha is None:
            alpha = None
        elif isinstance(self.alpha, str):
            alpha = class_weights(counts, self.alpha, self.beta)
        else:
            alpha = per_class_param(self.name, self.alpha, counts, "alpha")
        return Resampling(indices=np.arange(len(labels)), class_weights=alpha, info={"gamma": self.gamma})

    def loss(self, logits, labels, resampling: Resampling):
        """Mean focal loss; with alpha, normalised by the batch's alpha sum exactly like weighted
        cross-entropy, so gamma=0 reproduces (weighted) cross-entropy."""
        import torch

        logp = torch.log_softmax(logits.float(), dim=-1).gather(1, labels.view(-1, 1)).squeeze(1)
        loss = -((1 - logp.exp()) ** self.gamma) * logp
        if resampling.class_weights is None:
            return loss.mean()
        a = torch.as_tensor(resampling.class_weights, dtype=loss.dtype, device=loss.device)[labels]
        return (a * loss).sum() / a.sum()


DEFAULT_TAUS = tuple(round(0.25 * i, 2) for i in range(13))  # 0, 0.25, ..., 3


@IMBALANCE.register("logit_adjust")
class LogitAdjust(ImbalanceStrategy):
    summary = "post-hoc logit adjustment f(x) - tau log prior (Menon et al. 2021), tau tuned on validation"
    changes_training = False  # trains like `none`; only adjust() differs
    tau: float | None = Field(None, ge=0, description="fixed tau; None = tune over `taus` on validation")
    taus: tuple[float, ...] = Field(DEFAULT_TAUS, min_length=1)
    metric: Literal["macro_f1", "balanced_accuracy"] = "macro_f1"

    @field_validator("taus")
    @classmethod
    def _taus(cls, v):
        if any(t < 0 for t in v):
            raise ValueError("taus must be >= 0")
        return v

    def adjust(self, val_logits, val_labels, test_logits, train_counts) -> tuple[np.ndarray, dict]:
        from sklearn.metrics import balanced_accuracy_score, f1_score

        counts = np.asarray(train_counts, dtype=np.float64)
        log_prior = np.log(np.maximum(counts, 0.5) / counts.sum())  # an empty class counts as half a row

        def score(tau: float) -> float:
            pred = (np.asarray(val_logits) - tau * log_prior).argmax(axis=1)
            if self.metric == "macro_f1":
                return float(f1_score(val_labels, pred, labels=list(range(len(counts))), average="macro",
                                      zero_division=0))
            return float(balanced_accuracy_score(val_labels, pred))

        if self.tau is not None:
            tau, scores = self.tau, {}
        else:  # best validation score; ties go to the tau nearest 1 (the Bayes-optimal value)
            scores = {t: score(t) for t in self.taus}
            tau = max(scores, key=lambda t: (scores[t], -abs(t - 1.0)))
        info = {"tau": tau, "log_prior": [round(float(x), 6) for x in log_prior],
                f"validation_{self.metric}_by_tau": {str(t): round(s, 6) for t, s in scores.items()}}
        return np.asarray(test_logits) - tau * log_prior, info
