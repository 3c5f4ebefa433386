"""A sequence classifier on a sentence-transformers checkpoint's own pooling.

Sentence-transformers checkpoints (a model folder with ``modules.json``) were trained to produce
one vector per text by the pooling their ``1_Pooling/config.json`` declares (mean of the token
states for all-MiniLM-L6-v2 and all-mpnet-base-v2); their BERT-style pooler (CLS -> dense -> tanh)
was never trained. ``AutoModelForSequenceClassification`` classifies from that untrained pooler,
so this model classifies from the declared pooling instead, through a small head:

    encoder (AutoModel) -> pooling over the attention mask -> dropout -> linear -> logits

It is a ``transformers.PreTrainedModel``: the HF Trainer, peft (LoRA inside the wrapped encoder),
``num_parameters`` and ``save_pretrained`` work unchanged. ``save_pretrained`` writes ``auto_map``
into config.json and copies THIS FILE next to the weights, so

    AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True)

loads it again anywhere, without DomainBench installed. Keep this module self-contained: it may
import only torch and transformers.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

POOLINGS = ("mean", "cls", "max", "mean_sqrt_len")


def pool_hidden(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """(batch, hidden) from (batch, tokens, hidden) token states and the attention mask, as
    sentence-transformers' Pooling module computes it."""
    if pooling == "cls":
        return hidden[:, 0]
    m = mask.unsqueeze(-1).to(hidden.dtype)
    if pooling == "max":
        return hidden.masked_fill(m == 0, torch.finfo(hidden.dtype).min).max(dim=1).values
    summed, n = (hidden * m).sum(1), m.sum(1).clamp(min=1)
    if pooling == "mean":
        return summed / n
    if pooling == "mean_sqrt_len":
        return summed / n.sqrt()
    raise ValueError(f"unknown pooling {pooling!r} (choices: {', '.join(POOLINGS)})")


class PooledConfig(PretrainedConfig):
    """The wrapped encoder's config (as a dict, under ``encoder``) plus the pooling and head settings."""

    model_type = "bench-pooled"

    def __init__(self, encoder: dict | None = None, pooling: str = "mean", classifier_dropout: float = 0.1,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.encoder = dict(encoder or {})
        self.pooling = pooling
        self.classifier_dropout = classifier_dropout

    def encoder_config(self) -> PretrainedConfig:
        enc = dict(self.encoder)
        return AutoConfig.for_model(enc.pop("model_type"), **enc)

    @property
    def encoder_model_type(self) -> str:
        return str(self.encoder.get("model_type", ""))

    @property
    def max_position_embeddings(self) -> int:
        return int(self.encoder.get("max_position_embeddings", 512))

    @property
    def initializer_range(self) -> float:
        return float(self.encoder.get("initializer_range", 0.02))


class PooledForSequenceClassification(PreTrainedModel):
    """encoder -> declared pooling -> dropout -> linear. The encoder's own pooler (if any) is dropped."""

    config_class = PooledConfig
    base_model_prefix = "encoder"
    _no_split_modules: list[str] = []

    def __init__(self, config: PooledConfig, encoder: PreTrainedModel | None = None) -> None:
        super().__init__(config)
        self.encoder = encoder if encoder is not None else AutoModel.from_config(config.encoder_config())
        if getattr(self.encoder, "pooler", None) is not None:
            self.encoder.pooler = None  # untrained in sentence-transformers checkpoints; never used here
        hidden = int(config.encoder.get("hidden_size") or self.encoder.config.hidden_size)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(hidden, int(config.num_labels or 2))
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """Only the head is ours: N(0, initializer_range) weights, zero bias (what HF heads do)."""
        if module is getattr(self, "classifier", None):
            module.weight.data.normal_(0.0, self.config.initializer_range)
            module.bias.data.zero_()

    def get_input_embeddings(self):
        return self.encoder.get_input_embeddings()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **kwargs):
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra,
                           **{k: v for k, v in kwargs.items() if k in ("inputs_embeds", "position_ids")})
        pooled = pool_hidden(out.last_hidden_state, attention_mask, self.config.pooling)
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.float(), labels.view(-1))
        return SequenceClassifierOutput(loss=loss, logits=logits)


PooledConfig.register_for_auto_class()
PooledForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")


def pooled_classifier(path: str, pooling: str, num_labels: int, id2label: dict, label2id: dict,
                      revision: str | None = None, **load_kwargs) -> PooledForSequenceClassification:
    """Pretrained encoder weights from ``path`` and a NEW head (initialised from the current RNG state)."""
    encoder = AutoModel.from_pretrained(path, revision=revision, **load_kwargs)
    enc_cfg = encoder.config.to_dict()
    config = PooledConfig(encoder=enc_cfg, pooling=pooling, num_labels=num_labels, id2label=id2label,
                          label2id=label2id)
    return PooledForSequenceClassification(config, encoder=encoder)
