"""Loading tokenizers and classifiers; pretrained weights cached once per worker process."""

from __future__ import annotations

import copy
import os
from pathlib import Path

from bench.components.models import ModelSpec, model_path
from bench.fit.options import RuntimeOptions


def load_tokenizer(spec: ModelSpec):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_path(spec), revision=spec.revision, use_fast=True)


def tiny_config(vocab_size: int, num_labels: int):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=128, max_position_embeddings=512, num_labels=num_labels,  # type: ignore[call-arg]
    )


def load_classifier(spec: ModelSpec, label_names: list[str], vocab_size: int, **load_kwargs):
    """A sequence classifier with a fresh head of ``len(label_names)`` outputs: on the model's declared
    pooling (:mod:`bench.fit.pooled`) when it has one, else the checkpoint's own sequence-classification
    head. ``load_kwargs`` go to
    ``from_pretrained`` (e.g. ``attn_implementation``, ``output_loading_info``; random-init models
    take ``attn_implementation`` only)."""
    from transformers import AutoModelForSequenceClassification, logging

    id2label = dict(enumerate(label_names))
    label2id = {v: k for k, v in id2label.items()}
    if spec.random_init:
        cfg = tiny_config(vocab_size, len(label_names))
        cfg.id2label, cfg.label2id = id2label, label2id
        return AutoModelForSequenceClassification.from_config(
            cfg, **{k: v for k, v in load_kwargs.items() if k == "attn_implementation"})
    prev = logging.get_verbosity()
    logging.set_verbosity_error()  # "newly initialized head" is expected
    try:
        if spec.pooling is not None:  # a sentence-transformers checkpoint: its declared pooling -> new head
            from bench.fit.pooled import pooled_classifier

            info = load_kwargs.pop("output_loading_info", False)
            model = pooled_classifier(model_path(spec), spec.pooling, len(label_names), id2label, label2id,
                                      revision=spec.revision, **load_kwargs)
            return (model, {"missing_keys": ["classifier.weight", "classifier.bias"]}) if info else model
        return AutoModelForSequenceClassification.from_pretrained(
            model_path(spec), revision=spec.revision, num_labels=len(label_names),
            id2label=id2label, label2id=label2id, **load_kwargs,
        )
    finally:
        logging.set_verbosity(prev)


def model_config(spec: ModelSpec, num_labels: int = 2):
    from transformers import AutoConfig

    if spec.random_init:
        return tiny_config(30522, num_labels)
    return AutoConfig.from_pretrained(model_path(spec), revision=spec.revision)


_PRETRAINED: dict[tuple, tuple[object, list[str]]] = {}


def classifier(spec, label_names: list[str], vocab_size: int, opts: RuntimeOptions | None = None):
    """A fresh classifier for one cell. Pretrained weights come from a per-process cache (deep
    copy); the new head is initialised from the caller's RNG state (``set_seed`` first), so a cache
    hit and a miss give the same model for the same seed."""
    import torch

    opts = opts or RuntimeOptions.from_env()
    kwargs = {"attn_implementation": opts.attn_implementation} if opts.attn_implementation else {}
    if spec.random_init:
        return load_classifier(spec, label_names, vocab_size, **kwargs)
    key = (spec.name, spec.source, spec.revision, spec.pooling, tuple(label_names), opts.attn)
    if key not in _PRETRAINED or not opts.weight_cache:
        with torch.random.fork_rng(devices=[]):  # loading must not consume the cell's RNG stream
            model, info = load_classifier(spec, label_names, vocab_size, output_loading_info=True, **kwargs)
        if not opts.weight_cache:
            _init_new(model, info["missing_keys"])
            return model
        _PRETRAINED.clear()  # keep one model per process: a worker runs one model at a time
        _PRETRAINED[key] = (model, list(info["missing_keys"]))
    base, missing = _PRETRAINED[key]
    model = copy.deepcopy(base)
    _init_new(model, missing)
    return model


def _init_new(model, missing: list[str]) -> None:
    """Initialise the parameters the checkpoint lacks (the classification head) like HF does:
    weights ~ N(0, initializer_range), biases zero. Deterministic given the RNG state."""
    import torch

    std = float(getattr(model.config, "initializer_range", 0.02) or 0.02)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name in sorted(missing):
            p = params.get(name)
            if p is None:
                continue
            if p.dim() >= 2:
                p.normal_(0.0, std)
            else:
                p.zero_()


def loadable_config(mspec):
    """The model's config, or one ConfigError line: a missing folder, a folder without
    config.json, an id that is neither cached nor reachable (offline), a bad revision."""
    from bench.errors import ConfigError

    ref = mspec.source
    if mspec.name.startswith("hf:") and (ref.startswith((".", "/", "~")) or os.path.exists(ref)):
        folder = Path(ref).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"model {mspec.name!r}: no such folder {folder}")
        if not (folder / "config.json").is_file():
            raise ConfigError(f"model {mspec.name!r}: {folder} has no config.json (not a Hugging Face model folder)")
    try:
        return model_config(mspec)
    except Exception as err:  # noqa: BLE001 - transformers raises OSError/ValueError/HTTP errors here
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        offline = " (HF_HUB_OFFLINE is set: only cached models load)" if _offline() else ""
        raise ConfigError(f"cannot load model {mspec.name!r}{offline}: {msg}") from None


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
