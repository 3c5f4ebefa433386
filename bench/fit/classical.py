"""The classical baseline (TF-IDF + logistic regression) through the same cell path."""

from __future__ import annotations

import time

import numpy as np

from bench.fit.base import FitJob, FitResult, fit_members


def fit_classical(job: FitJob) -> FitResult:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    data = job.data
    train, val, test = (data.splits[s] for s in ("train", "validation", "test"))
    totals = {"train_seconds": 0.0, "eval_seconds": 0.0, "train_samples": 0}
    clfs = []

    def fit_one(m, seed, resampling):
        texts = [train.texts[i] for i in resampling.indices]
        y = train.labels[resampling.indices]
        totals["train_samples"] += len(y)
        t0 = time.perf_counter()
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, max_features=200_000)
        x = vec.fit_transform(texts)
        clf = LogisticRegression(max_iter=2000, C=10.0, random_state=seed)
        clf.fit(x, y, sample_weight=resampling.fit_weights(y))
        totals["train_seconds"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        vl = _full_logits(clf, vec.transform(val.texts), data.num_labels)
        tl = _full_logits(clf, vec.transform(test.texts), data.num_labels)
        totals["eval_seconds"] += time.perf_counter() - t0
        clfs.append(clf)
        return vl, tl, {}

    members = fit_members(job, fit_one)
    n_params = int(clfs[-1].coef_.size + clfs[-1].intercept_.size)
    val_logits, test_logits, recorded = members.combine(job.strategy)
    return FitResult(
        val_logits, test_logits,
        timing={**totals, "train_real_tokens": None, "train_tokens": None,
                "phases": {"train": totals["train_seconds"], "predict": totals["eval_seconds"]}},
        resampling=members.records[0]["plan"],
        context={"note": "tfidf-logreg reads whole texts; context policy and max_length do not apply"},
        cost={"device": {"kind": "cpu", "bf16": False}, "params_total": n_params, "params_trainable": n_params},
        precision="fp32", members=recorded, member_test_logits=members.test_logits)


def _full_logits(clf, x, k: int) -> np.ndarray:
    """Log-probabilities over all K classes (columns for classes absent from training get -inf-ish)."""
    proba = np.full((x.shape[0], k), 1e-12)
    proba[:, clf.classes_] = clf.predict_proba(x)
    return np.log(proba / proba.sum(axis=1, keepdims=True))
