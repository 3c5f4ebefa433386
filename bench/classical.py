"""The classical baseline (TF-IDF + logistic regression) through the same cell path."""

from __future__ import annotations

import time

import numpy as np

from bench.cell import Cell
from bench.data import TaskData
from bench.imbalance import ImbalanceStrategy
from bench.metrics import classification_metrics, softmax
from bench.train import FitResult


def fit_predict_classical(cell: Cell, data: TaskData, strategy: ImbalanceStrategy) -> FitResult:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train, val, test = (data.splits[s] for s in ("train", "validation", "test"))
    members, val_logits, test_logits = [], [], []
    t_train = t_eval = 0.0
    n_seen = 0
    for m in range(strategy.n_members()):
        seed = cell.seed if strategy.n_members() == 1 else cell.seed * 1000 + m
        plan = strategy.fit_resample(train.labels, data.num_labels, seed)
        texts = [train.texts[i] for i in plan.indices]
        y = train.labels[plan.indices]
        n_seen += len(y)
        weights = None
        if plan.class_weights is not None:
            weights = np.asarray(plan.class_weights)[y]
        if plan.sample_weights is not None:  # a weighted sampler's expectation = sample weights
            weights = np.asarray(plan.sample_weights) * (1 if weights is None else weights)
        t0 = time.perf_counter()
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, max_features=200_000)
        x = vec.fit_transform(texts)
        clf = LogisticRegression(max_iter=2000, C=10.0, random_state=seed)
        clf.fit(x, y, sample_weight=weights)
        t_train += time.perf_counter() - t0
        t0 = time.perf_counter()
        vl = _full_logits(clf, vec.transform(val.texts), data.num_labels)
        tl = _full_logits(clf, vec.transform(test.texts), data.num_labels)
        t_eval += time.perf_counter() - t0
        val_logits.append(vl)
        test_logits.append(tl)
        members.append({"member": m, "seed": seed, "plan": plan.summary(),
                        "test_metrics": classification_metrics(test.labels, softmax(tl), data.label_names)})
    n_params = int(clf.coef_.size + clf.intercept_.size)
    timing = {"train_seconds": t_train, "eval_seconds": t_eval, "train_samples": n_seen,
              "train_real_tokens": None, "train_tokens": None}
    info = {"device": {"kind": "cpu", "bf16": False}, "params_total": n_params, "params_trainable": n_params,
            "context": {"note": "tfidf-logreg reads whole texts; context policy and max_length do not apply"},
            "plan": members[0]["plan"]}
    return FitResult(strategy.combine(val_logits), strategy.combine(test_logits), timing, info,
                     members if len(members) > 1 else [], test_logits)


def _full_logits(clf, x, k: int) -> np.ndarray:
    """Log-probabilities over all K classes (columns for classes absent from training get -inf-ish)."""
    proba = np.full((x.shape[0], k), 1e-12)
    proba[:, clf.classes_] = clf.predict_proba(x)
    return np.log(proba / proba.sum(axis=1, keepdims=True))
