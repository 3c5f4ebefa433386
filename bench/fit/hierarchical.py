"""The hierarchical model (context policy ``hierarchical``): a document's segments, each encoded by
the shared encoder, aggregated into one document vector, classified once, trained end to end.

    segments [batch, S, L] -> encoder on the real segments -> the model's pooling per segment
    (its declared pooling for sentence-transformers checkpoints, else [CLS]) -> [batch, S, hidden]
    -> mean | max | attention (+ learned segment positions, a 2-layer transformer encoder, max-pooled:
    LexGLUE's hierbert.py) over the real segments only -> dropout -> linear -> logits [batch, labels]

Padding segments never reach the encoder and are masked out of every aggregation, so a document's
prediction does not depend on the other documents of its batch. The collator pads a batch of
documents to [batch, segments, seg_len] with a segment mask; the Trainer runs it like any model.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from bench.components.context import Windows
from bench.fit.pooled import pool_hidden


class HierarchicalClassifier(nn.Module):
    """Wraps a built sequence classifier's encoder (LoRA adapters included: peft's base model)."""

    scores_documents = True  # one logit row per document (bench.fit.transformer.predict_logits asks)

    def __init__(self, classifier: nn.Module, aggregator: str, max_segments: int) -> None:
        super().__init__()
        base: Any = classifier
        inner: Any = base.get_base_model() if hasattr(base, "get_base_model") else base  # peft: LoRA inside
        pooling = getattr(inner.config, "pooling", None)  # bench.fit.pooled: the checkpoint's declared pooling
        encoder: Any = inner.encoder if pooling else getattr(inner, inner.base_model_prefix)
        if getattr(encoder, "pooler", None) is not None:
            encoder.pooler = None  # segments are pooled here
        self.encoder = encoder
        self.pooling, self.aggregator, self.max_segments = pooling or "cls", aggregator, max_segments
        self.config = inner.config  # num_labels, id2label (the Trainer and predict read it)
        enc = encoder.config
        hidden, p = int(enc.hidden_size), float(getattr(enc, "hidden_dropout_prob", 0.1) or 0.1)
        if aggregator == "attention":
            self.segment_positions = nn.Embedding(max_segments + 1, hidden, padding_idx=0)
            act = enc.hidden_act if enc.hidden_act in ("gelu", "relu") else "gelu"
            layer = nn.TransformerEncoderLayer(hidden, int(enc.num_attention_heads), int(enc.intermediate_size), p,
                                               act, layer_norm_eps=float(getattr(enc, "layer_norm_eps", 1e-12)),
                                               batch_first=True)
            self.segment_encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(hidden, int(self.config.num_labels))
        std = float(getattr(enc, "initializer_range", 0.02) or 0.02)
        for module in (self.classifier, getattr(self, "segment_positions", None)):
            if module is not None:
                module.weight.data.normal_(0.0, std)
        self.classifier.bias.data.zero_()
        if aggregator == "attention":
            self.segment_positions.weight.data[0].zero_()

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        skip = {id(p) for m in self.modules() if isinstance(m, nn.Embedding) for p in m.parameters()} \
            if exclude_embeddings else set()
        return sum(p.numel() for p in self.parameters() if id(p) not in skip)

    def forward(self, input_ids, attention_mask, segment_mask, labels=None, **_):
        batch, segs, length = input_ids.shape
        real = segment_mask.reshape(-1).bool()
        mask = attention_mask.reshape(-1, length)[real]
        states = self.encoder(input_ids=input_ids.reshape(-1, length)[real], attention_mask=mask).last_hidden_state
        pooled = pool_hidden(states, mask, self.pooling)
        emb = pooled.new_zeros(batch * segs, pooled.shape[-1])
        emb[real] = pooled
        emb = emb.view(batch, segs, -1)
        seg = segment_mask.bool()
        if self.aggregator == "attention":
            positions = torch.arange(1, segs + 1, device=emb.device).unsqueeze(0) * seg
            emb = self.segment_encoder(emb + self.segment_positions(positions), src_key_padding_mask=~seg)
        if self.aggregator == "mean":
            m = seg.unsqueeze(-1).to(emb.dtype)
            doc = (emb * m).sum(1) / m.sum(1).clamp(min=1)
        else:  # max, and attention's max-pooling over the encoded segments
            doc = emb.masked_fill(~seg.unsqueeze(-1), torch.finfo(emb.dtype).min).max(dim=1).values
        logits = self.classifier(self.dropout(doc))
        loss = None if labels is None else nn.functional.cross_entropy(logits.float(), labels.view(-1))
        return SequenceClassifierOutput(loss=loss, logits=logits)


class SegmentDataset:
    """One item per document: its segments (token id lists) and label."""

    def __init__(self, windows: Windows, labels: np.ndarray | None) -> None:
        self.docs: list[list[list[int]]] = [[] for _ in range(windows.n_docs)]
        for ids, d in zip(windows.input_ids, windows.doc_index, strict=True):
            self.docs[int(d)].append(ids)
        self.labels = None if labels is None else np.asarray(labels)
        self.windows = SimpleNamespace(doc_index=np.arange(windows.n_docs))  # a weighted sampler draws documents

    def __len__(self) -> int:
        return len(self.docs)

    def __getitem__(self, i: int) -> dict:
        item: dict = {"input_ids": self.docs[i]}
        if self.labels is not None:
            item["labels"] = int(self.labels[i])
        return item


class SegmentCollator:
    """Documents -> input_ids / attention_mask [batch, segments, seg_len] and segment_mask [batch, segments]."""

    def __init__(self, pad_token_id: int | None) -> None:
        self.pad = int(pad_token_id or 0)

    def __call__(self, items: list[dict]) -> dict:
        segs = max(len(it["input_ids"]) for it in items)
        length = max(len(s) for it in items for s in it["input_ids"])
        ids = torch.full((len(items), segs, length), self.pad, dtype=torch.long)
        mask = torch.zeros((len(items), segs, length), dtype=torch.long)
        seg_mask = torch.zeros((len(items), segs), dtype=torch.long)
        for b, it in enumerate(items):
            for s, seq in enumerate(it["input_ids"]):
                ids[b, s, : len(seq)] = torch.as_tensor(seq)
                mask[b, s, : len(seq)] = 1
                seg_mask[b, s] = 1
        out = {"input_ids": ids, "attention_mask": mask, "segment_mask": seg_mask}
        if "labels" in items[0]:
            out["labels"] = torch.as_tensor([it["labels"] for it in items], dtype=torch.long)
        return out


def predict_docs(model, windows: Windows, tokenizer, device, batch_size: int) -> tuple[np.ndarray, dict]:
    """Document logits (one row per document, in document order), batched by similar token counts."""
    data, collate = SegmentDataset(windows, None), SegmentCollator(tokenizer.pad_token_id)
    model.eval()
    out = np.zeros((len(data), model.config.num_labels), dtype=np.float32)
    order = np.argsort([sum(map(len, d)) for d in data.docs], kind="stable")
    t0 = time.perf_counter()
    with torch.inference_mode(), device.autocast():
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            batch = {k: v.to(device.torch) for k, v in collate([data[int(i)] for i in idx]).items()}
            out[idx] = model(**batch).logits.float().cpu().numpy()
    return out, {"seconds": time.perf_counter() - t0, "windows": len(windows.input_ids)}


def latency_ms(model, windows: Windows, tokenizer, device, n_docs: int) -> dict:
    """Per-document latency: one document (all its segments) per request, one at a time."""
    from bench.fit.device import request_latency

    data, collate = SegmentDataset(windows, None), SegmentCollator(tokenizer.pad_token_id)
    return request_latency(model, (collate([data[d]]) for d in range(min(n_docs, len(data)))), device)
