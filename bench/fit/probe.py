"""The ``probe`` method: a frozen encoder's pooled features, cached on disk, and a linear head.

Features are content-addressed: one cache file per (encoder identity, context policy, max_length,
pooling) maps ``sha1(text)`` to the pooled vectors of that text's windows. A second cell on the
same encoder (another seed, imbalance strategy, limit or domain split) finds its rows there and
never runs the encoder; only texts not seen before are encoded. The head is a multinomial
logistic regression trained full-batch in torch with the imbalance strategy's own loss, so every
strategy (class weights, focal loss, resampling, weighted sampling, ensembles) applies unchanged.
"""

from __future__ import annotations

import hashlib
import io
import time
from typing import Any, cast

import numpy as np

from bench.components.context import ContextPolicy, Windows, special_affixes
from bench.components.imbalance import ImbalanceStrategy
from bench.components.methods import Probe
from bench.components.models import ModelSpec, model_path
from bench.errors import ConfigError
from bench.fit.base import FitJob, FitResult, fit_members, val_score
from bench.fit.device import pick_device
from bench.fit.loading import tiny_config
from bench.fit.options import latency_docs
from bench.fit.tokens import tokenize, tokenizer_for
from bench.hashing import canonical_json, short_hash
from bench.spec.cell import Cell
from bench.store import cache_root, write_atomic


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def load_encoder(spec: ModelSpec, vocab_size: int):
    """The bare encoder (no task head). Random-init models use a fixed seed so features are stable."""
    import torch
    from transformers import AutoModel, logging

    if spec.random_init:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            return AutoModel.from_config(tiny_config(vocab_size, 2))
    prev = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        return AutoModel.from_pretrained(model_path(spec), revision=spec.revision)
    except (OSError, ValueError) as err:
        raise ConfigError(f"method 'probe': cannot load {spec.name!r} as an encoder: {err}") from None
    finally:
        logging.set_verbosity(prev)


def pool(outputs, mask, pooling: str, model_name: str):
    """(batch, hidden) pooled representation, or a one-line error if the model has none."""
    hidden = getattr(outputs, "last_hidden_state", None)
    if pooling == "pooler":
        pooled = getattr(outputs, "pooler_output", None)
        if pooled is None:
            raise ConfigError(f"method 'probe': model {model_name!r} has no pooler output; use probe:pooling=mean")
        return pooled
    if hidden is None or hidden.dim() != 3:
        raise ConfigError(f"method 'probe': model {model_name!r} gives no token representations to pool")
    from bench.fit.pooled import pool_hidden

    return pool_hidden(hidden, mask, pooling)


class FeatureCache:
    """Pooled window features of texts under one (encoder, policy, max_length, pooling) key."""

    def __init__(self, spec: ModelSpec, policy: ContextPolicy, max_length: int, pooling: str) -> None:
        ident = {"model": spec.identity(), "random_init": spec.random_init, "policy": policy.name,
                 "policy_params": policy.params(), "max_length": max_length, "pooling": pooling}
        self.key = short_hash(canonical_json(ident))
        self.path = cache_root() / "features" / f"{self.key}.npz"
        self.rows: dict[str, np.ndarray] = {}
        self.meta: dict[str, float] = {}
        if self.path.exists():
            z = np.load(self.path, allow_pickle=False)
            offsets = z["offsets"]
            feats = z["feats"]
            for i, k in enumerate(z["keys"].tolist()):
                self.rows[k] = feats[offsets[i]:offsets[i + 1]]
            self.meta = {"params_total": int(z["params_total"])}

    def save(self) -> None:
        keys = sorted(self.rows)
        offsets = np.cumsum([0] + [len(self.rows[k]) for k in keys])
        feats = np.concatenate([self.rows[k] for k in keys]).astype(np.float32)
        buf = io.BytesIO()
        np.savez(buf, keys=np.asarray(keys), offsets=offsets, feats=feats, params_total=self.meta.get("params_total", 0))
        write_atomic(self.path, buf.getvalue())


def _forward(encoder, batch: dict):
    return encoder(**batch)


def split_features(cache: FeatureCache, texts: list[str], tokenizer, policy: ContextPolicy, max_length: int,
                   pooling: str, get_encoder, device, batch_size: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Features for every window of ``texts`` (cached ones reused) and the window -> doc index."""
    import torch

    keys = [text_key(t) for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cache.rows}.items())
    info = {"docs": len(texts), "encoded_docs": len(missing), "encode_seconds": 0.0, "encoded_tokens": 0}
    if missing:
        if pooling == "cls" and not special_affixes(tokenizer)[0]:
            raise ConfigError("method 'probe': pooling=cls needs a tokenizer that puts a [CLS]-like token first; "
                              "use probe:pooling=mean")
        encoder = get_encoder()
        w = policy.encode(tokenize(tokenizer, [t for _, t in missing]), max_length, tokenizer, train=False)
        out = np.zeros((len(w.input_ids), encoder.config.hidden_size), dtype=np.float32)
        order = np.argsort([len(x) for x in w.input_ids], kind="stable")
        t0 = time.perf_counter()
        with torch.inference_mode(), device.autocast():
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                batch = tokenizer.pad({"input_ids": [w.input_ids[i] for i in idx]}, return_tensors="pt")
                batch = {k: v.to(device.torch) for k, v in batch.items()}
                pooled = pool(_forward(encoder, batch), batch["attention_mask"], pooling, cache_name(cache))
                out[idx] = pooled.float().cpu().numpy()
        info["encode_seconds"] = time.perf_counter() - t0
        info["encoded_tokens"] = int(sum(map(len, w.input_ids)))
        for d, (k, _) in enumerate(missing):
            cache.rows[k] = out[w.doc_index == d]
    feats = [cache.rows[k] for k in keys]
    doc_index = np.concatenate([np.full(len(f), d) for d, f in enumerate(feats)]).astype(np.int64)
    return np.concatenate(feats), doc_index, info


def cache_name(cache: FeatureCache) -> str:
    return cache.path.stem


def train_head(x: np.ndarray, y: np.ndarray, num_labels: int, method: Probe, strategy: ImbalanceStrategy,
               resampling, seed: int):
    """A standardised linear head, full-batch AdamW for ``method.steps`` steps with the strategy's loss."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    xt = torch.as_tensor((x - mu) / sd, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    head = torch.nn.Linear(x.shape[1], num_labels)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=gen) * 0.01)
        head.bias.zero_()
    opt = torch.optim.AdamW(head.parameters(), lr=method.lr, weight_decay=method.l2)
    losses = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matmuls: thread hand-offs would cost more than the work
    try:
        for _ in range(method.steps):
            opt.zero_grad()
            loss = strategy.loss(head(xt), yt, resampling)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    finally:
        torch.set_num_threads(threads)
    curve = losses[:: max(1, method.steps // 20)]

    def predict(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return head(torch.as_tensor((z - mu) / sd, dtype=torch.float32)).numpy()

    return predict, curve, sum(p.numel() for p in head.parameters())


def fit_probe(job: FitJob) -> FitResult:
    """Frozen encoder features (cached on disk) + a linear head per ensemble member."""
    cell, data, policy, method = job.cell, job.data, job.policy, cast(Probe, job.method)
    if job.save_model:
        raise ConfigError("--save-model: method 'probe' trains only a head on cached features; nothing to export")
    device = pick_device(precision=job.precision)
    tokenizer = tokenizer_for(job.model)  # once per worker process
    pooling = method.pooling_for(job.model)  # given, else the model's declared pooling
    cache = FeatureCache(job.model, policy, cell.max_length, pooling)
    holder: list = []

    def get_encoder():
        if not holder:
            holder.append(load_encoder(job.model, len(tokenizer)).to(device.torch).eval())
            cache.meta["params_total"] = sum(p.numel() for p in holder[0].parameters())
        return holder[0]

    feats, feat_info = _features(job, cache, tokenizer, get_encoder, device, pooling)
    (xtr, dtr, _), (xv, dv, _), (xte, dte, _) = feats["train"], feats["validation"], feats["test"]
    train, val, test = (data.splits[s] for s in ("train", "validation", "test"))
    head: dict[str, Any] = {"seconds": 0.0, "curve": [], "params": 0}

    def fit_one(m, seed, resampling):
        rows = np.concatenate([np.flatnonzero(dtr == d) for d in resampling.epoch_rows(seed)])
        t0 = time.perf_counter()
        predict, head["curve"], head["params"] = train_head(
            xtr[rows], train.labels[dtr[rows]], data.num_labels, method, job.strategy, resampling, seed)
        head["seconds"] += time.perf_counter() - t0
        vdoc = policy.aggregate(predict(xv), dv, len(val))
        tdoc = policy.aggregate(predict(xte), dte, len(test))
        return vdoc, tdoc, {"loss_curve": head["curve"], "best_val_score": val_score(job, vdoc)}

    members = fit_members(job, fit_one)
    timing = {"train_seconds": head["seconds"], "train_samples": method.steps * len(dtr) * len(members.records),
              "train_real_tokens": 0, "train_tokens": 0, "eval_seconds": 0.0,
              "feature_seconds": feat_info["encode_seconds"]}
    timing["phases"] = {"features": feat_info["encode_seconds"], "train": head["seconds"]}
    n_latency = latency_docs(cell.train.latency_docs)
    if n_latency:
        t0 = time.perf_counter()
        timing.update(_latency(get_encoder(), tokenizer, policy, cell, test.texts[:n_latency], device, pooling))
        timing["phases"]["latency"] = time.perf_counter() - t0
    n_enc = cache.meta.get("params_total", 0)
    cost = {"device": device.describe(), "params_total": n_enc + head["params"], "params_trainable": head["params"],
            "flops_estimate": 2 * n_enc * feat_info["encoded_tokens"],
            "features": {"cache_key": cache.key, **feat_info}, "loss_curve": head["curve"]}
    val_logits, test_logits, recorded = members.combine(job.strategy)
    return FitResult(val_logits, test_logits, timing, resampling=members.records[0]["plan"],
                     context={s: _window_stats(feats[s][1], len(data.splits[s])) for s in ("test", "validation")},
                     cost=cost, precision="bf16" if device.bf16 else "fp32", members=recorded,
                     member_test_logits=members.test_logits)


def _features(job: FitJob, cache: FeatureCache, tokenizer, get_encoder, device, pooling: str) -> tuple[dict, dict]:
    """Pooled features of every split (cached ones read, missing ones encoded and saved)."""
    cell = job.cell
    feats, feat_info = {}, {"encoded_docs": 0, "docs": 0, "encode_seconds": 0.0, "encoded_tokens": 0}
    for name in ("train", "validation", "test"):
        feats[name] = split_features(cache, job.data.splits[name].texts, tokenizer, job.policy, cell.max_length,
                                     pooling, get_encoder, device, cell.train.eval_batch_size)
        for k in feat_info:
            feat_info[k] += feats[name][2][k]
    if feat_info["encoded_docs"]:
        cache.save()
    return feats, feat_info


def _window_stats(doc_index: np.ndarray, n_docs: int) -> dict:
    return {"windows": len(doc_index), "windows_per_doc": len(doc_index) / max(n_docs, 1)}


def _latency(encoder, tokenizer, policy, cell: Cell, texts: list[str], device, pooling: str) -> dict:
    """Per-document latency of encoder + pooling (the head's matmul is negligible)."""
    import torch

    w: Windows = policy.encode(tokenize(tokenizer, texts), cell.max_length, tokenizer, train=False)
    times = []
    with torch.inference_mode(), device.autocast():
        for d in range(w.n_docs):
            batch = tokenizer.pad({"input_ids": [w.input_ids[i] for i in np.flatnonzero(w.doc_index == d)]},
                                  return_tensors="pt")
            batch = {k: v.to(device.torch) for k, v in batch.items()}
            t0 = time.perf_counter()
            pool(encoder(**batch), batch["attention_mask"], pooling, "")
            device.synchronize()
            times.append((time.perf_counter() - t0) * 1000)
    return {"latency_p50_ms": float(np.percentile(times, 50)), "latency_p95_ms": float(np.percentile(times, 95)),
            "latency_docs_timed": len(times)}
