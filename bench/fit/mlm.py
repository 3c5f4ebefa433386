"""Domain-adaptive masked-LM pretraining (TAPT/DAPT): train, cache and load the adapted encoder."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.components.adapt import Adaptation, Tapt
from bench.components.models import ModelSpec, model_path
from bench.data.prepare import TaskData
from bench.fit.loading import load_tokenizer, tiny_config
from bench.hashing import canonical_json, sha_parts, short_hash
from bench.spec.cell import Cell
from bench.store import cache_root, publish_dir, staging_dir


@dataclass(frozen=True)
class Adapted:
    spec: ModelSpec  # the adapted encoder as a model spec (a local folder)
    record: dict


def adapt_encoder(cell: Cell, data: TaskData, mspec: ModelSpec, adaptation: Adaptation) -> Adapted | None:
    """Adapt (or reuse a cached adaptation of) ``mspec``; ``None`` for ``none``."""
    if not isinstance(adaptation, Tapt):
        return None
    texts, where = adaptation.texts(cell, data)
    from bench.errors import ConfigError, DataError

    if mspec.kind != "hf":
        raise ConfigError(f"adaptation {adaptation.name!r} needs a transformer model (got {mspec.name!r})")
    if not texts:
        raise DataError(f"adaptation {adaptation.name!r}: the corpus ({where}) holds no documents")
    seed = cell.seed if adaptation.seed is None else adaptation.seed
    max_length = adaptation.max_length or cell.max_length
    fp = corpus_fingerprint(texts)
    settings = {k: v for k, v in adaptation.params().items() if k not in {"seed", "corpus"}}
    key = short_hash(canonical_json({"model": mspec.identity(), "random_init": mspec.random_init, "corpus": fp,
                                     "steps": adaptation.steps, "seed": seed, "max_length": max_length,
                                     "settings": settings}))
    folder = cache_root() / "adapted" / key
    hit = (folder / "adapt.json").exists()
    if not hit:
        _build(folder, mspec, texts, adaptation, seed, max_length, {"corpus": where, "corpus_fingerprint": fp,
                                                                    "corpus_docs": len(texts)})
    record = json.loads((folder / "adapt.json").read_text())
    record.update({"name": adaptation.name, "params": adaptation.params(), "key": key, "cache_hit": hit})
    spec = ModelSpec(f"{mspec.name}+{adaptation.name}", "hf", f"{mspec.label} after {adaptation.name} ({key})",
                     str(folder / "encoder"), pooling=mspec.pooling)  # the classifier keeps the model's pooling
    return Adapted(spec, record)


def corpus_fingerprint(texts: list[str]) -> str:
    return sha_parts(*texts)[:16]


def _build(folder: Path, mspec: ModelSpec, texts: list[str], adaptation: Tapt, seed: int, max_length: int,
           meta: dict) -> None:
    """Train, then publish ``folder`` atomically (a temp folder renamed into place)."""
    with staging_dir(folder) as tmp:
        meta.update(train_mlm(mspec, texts, adaptation, seed, max_length, tmp / "encoder"))
        (tmp / "adapt.json").write_text(json.dumps(meta, indent=1))
        publish_dir(tmp, folder)  # another process finished first: keep theirs


def load_mlm(mspec: ModelSpec, vocab_size: int):
    from transformers import AutoModelForMaskedLM, logging

    if mspec.random_init:
        return AutoModelForMaskedLM.from_config(tiny_config(vocab_size, 2))
    prev = logging.get_verbosity()
    logging.set_verbosity_error()  # sentence-transformers checkpoints have no MLM head: it starts fresh
    try:
        return AutoModelForMaskedLM.from_pretrained(model_path(mspec), revision=mspec.revision)
    finally:
        logging.set_verbosity(prev)


def mlm_loss(model, dataset: list[dict], collator, seed: int, batch_size: int = 32) -> float:
    """Mean MLM loss with masks drawn from a fixed seed (comparable before and after training)."""
    import torch

    model.eval()
    losses, weights = [], []
    with torch.random.fork_rng(), torch.inference_mode():
        torch.manual_seed(seed)
        for s in range(0, len(dataset), batch_size):
            batch = collator(dataset[s:s + batch_size])
            batch = {k: v.to(model.device) for k, v in batch.items()}
            n = int((batch["labels"] != -100).sum())
            if n:
                losses.append(float(model(**batch).loss) * n)
                weights.append(n)
    return float(sum(losses) / max(sum(weights), 1))


def train_mlm(mspec: ModelSpec, texts: list[str], adaptation: Tapt, seed: int, max_length: int,
              out: Path) -> dict:
    from transformers import AutoModel, DataCollatorForLanguageModeling, Trainer, TrainingArguments, set_seed
    from transformers.trainer_callback import PrinterCallback

    from bench.fit import attention
    from bench.fit.device import pick_device

    device = pick_device()
    tokenizer = load_tokenizer(mspec)
    enc = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    dataset = [{"input_ids": ids} for ids in enc]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=adaptation.mlm_probability)
    set_seed(seed)
    model: Any = load_mlm(mspec, len(tokenizer))
    probe_set = [dataset[i] for i in np.random.default_rng(seed).permutation(len(dataset))[:128]]
    kernels = attention.apply(model, device)  # eager while training on a bf16 CPU (bench.fit.attention)
    before = mlm_loss(model.to(device.torch), probe_set, collator, seed)
    with tempfile.TemporaryDirectory(prefix="bench-mlm-") as tmp:
        args = TrainingArguments(
            output_dir=tmp, max_steps=adaptation.steps, learning_rate=adaptation.lr,
            per_device_train_batch_size=adaptation.batch_size, warmup_steps=0.06, weight_decay=0.01,
            logging_steps=max(1, adaptation.steps // 20), save_strategy="no", report_to="none",
            disable_tqdm=True, seed=seed, data_seed=seed, bf16=device.bf16, use_cpu=device.kind == "cpu",
            dataloader_num_workers=0,
        )
        trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
        trainer.remove_callback(PrinterCallback)
        t0 = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - t0
        history = trainer.state.log_history
    model = trainer.model
    after = mlm_loss(model, probe_set, collator, seed)
    # keep the base checkpoint's parts the MLM model lacks (e.g. BERT's pooler) by loading the
    # adapted encoder weights into the original base model
    base = AutoModel.from_config(model.config) if mspec.random_init else AutoModel.from_pretrained(
        model_path(mspec), revision=mspec.revision)
    missing, _ = base.load_state_dict(model.base_model.state_dict(), strict=False)
    base.save_pretrained(out)
    tokenizer.save_pretrained(out)
    n_tokens = sum(min(len(x), max_length) for x in enc)
    seen_tokens = adaptation.steps * adaptation.batch_size * n_tokens / max(len(enc), 1)
    non_embed = base.num_parameters(exclude_embeddings=True)
    return {
        "steps": adaptation.steps, "seed": seed, "max_length": max_length,
        "loss_curve": [h["loss"] for h in history if "loss" in h],
        "mlm_loss_before": before, "mlm_loss_after": after,
        "cost": {"seconds": seconds, "tokens_seen_estimate": int(seen_tokens),
                 "flops_estimate": int(6 * non_embed * seen_tokens), "device": device.describe(),
                 "attention": kernels},
        "base_weights_not_adapted": sorted(missing),
    }
