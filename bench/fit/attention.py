"""Which attention kernel a transformer runs while it trains and while it predicts.

``BENCH_ATTN=auto`` (the default; ``bench run --attn``) lets the library pick (``sdpa``,
torch's ``scaled_dot_product_attention``) everywhere except one case: a CPU under bf16
autocast, training a model with attention dropout. There torch has a fused SDPA kernel for
inference but none for training with dropout: SDPA falls back to its math path, which computes
attention in fp32 and allocates large temporaries. ``auto`` then trains with :data:`KERNEL`,
the model's own eager attention with the padding mask cast to the compute dtype (the library's
eager mask is fp32, and adding it to bf16 scores would turn every padded batch's
``[batch, heads, length, length]`` scores, softmax and dropout into fp32), and predicts with
SDPA's fused kernel. The kernel follows the model's train/eval mode through a forward pre-hook,
so the Trainer's training steps, its evaluations, bench's predictions and the latency probe each
get theirs.

In fp32 all of these give identical results (the same dropout draws and products; the cast is a
no-op; tests/test_attention.py). Under bf16 the training kernel keeps the scores in bf16 where
SDPA's math path kept fp32: a difference at bf16's rounding level, which is why the kernel is a
runtime option (out of the cell id), like the kernels a precision runs on a given chip.
``bench perf --ablate attn`` measures the choice against the library's default on the machine at
hand; every record says which kernel trained and which predicted (``cost.attention``).
"""

from __future__ import annotations

import sys
from typing import Any

from bench.fit.options import RuntimeOptions

KERNEL = "bench_eager"  # registered with transformers' AttentionInterface by :func:`register`
WHY_EAGER = ("CPU bf16 training with attention dropout: torch's SDPA has no fused kernel for it (its math "
             "path runs in fp32); the model's eager attention with the mask in bf16 trains, SDPA predicts")


def _own_eager(module) -> Any:
    """The eager attention function of the module's model family (``eager_attention_forward`` in
    its modeling file), or None."""
    return getattr(sys.modules.get(type(module).__module__), "eager_attention_forward", None)


def eager_compute_dtype(module, query, key, value, attention_mask, *args, **kwargs):
    """The model family's eager attention, with a float padding mask in the scores' dtype (its
    masked positions at that dtype's lowest finite value, as the library's own mask)."""
    import torch

    if attention_mask is not None and attention_mask.is_floating_point() and attention_mask.dtype != query.dtype:
        attention_mask = attention_mask.to(query.dtype).clamp(min=torch.finfo(query.dtype).min)
    return _own_eager(module)(module, query, key, value, attention_mask, *args, **kwargs)


def register() -> None:
    """Make :data:`KERNEL` a name transformers resolves: the attention function above, and the
    library's eager mask (idempotent)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(KERNEL, eager_compute_dtype)
    AttentionMaskInterface.register(KERNEL, ALL_MASK_ATTENTION_FUNCTIONS["eager"])


def attention_dropout(config: Any) -> float:
    """The model's attention-probability dropout (BERT-style or the newer ``attention_dropout``)."""
    for name in ("attention_probs_dropout_prob", "attention_dropout", "attn_pdrop"):
        value = getattr(config, name, None)
        if isinstance(value, int | float):
            return float(value)
    return 0.0


def _targets(model) -> list[Any]:
    """The configs of the (sub)models whose attention kernel can be switched at run time and that
    drop out attention probabilities (several submodules may share one config)."""
    from transformers import PreTrainedModel

    seen: dict[int, Any] = {}
    for mod in model.modules():
        if (isinstance(mod, PreTrainedModel) and id(mod.config) not in seen and mod._can_set_attn_implementation()
                and attention_dropout(mod.config) > 0 and _own_eager(mod) is not None):
            seen[id(mod.config)] = mod.config
    return list(seen.values())


def plan(model, device, opts: RuntimeOptions | None = None) -> dict[str, Any]:
    """``{"train", "predict", "why"}``: the kernel for each phase (``default`` = the library's own).
    ``device``: anything with ``kind`` and ``bf16`` (bench.fit.device.Device). An explicit
    ``BENCH_ATTN`` was applied at load time and is kept for both phases."""
    opts = opts or RuntimeOptions.from_env()
    if opts.attn != "auto":
        return {"train": opts.attn, "predict": opts.attn, "why": f"BENCH_ATTN={opts.attn}"}
    if opts.compile:
        return {"train": "default", "predict": "default", "why": "torch.compile: the library's default"}
    if device.kind == "cpu" and device.bf16 and _targets(model):
        return {"train": KERNEL, "predict": "sdpa", "why": WHY_EAGER}
    return {"train": "default", "predict": "default", "why": "the library's default"}


def apply(model, device, opts: RuntimeOptions | None = None) -> dict[str, Any]:
    """Make ``model`` switch kernels with its train/eval mode as :func:`plan` says; returns the plan
    (recorded under ``cost.attention``)."""
    chosen = plan(model, device, opts)
    if chosen["train"] == chosen["predict"]:
        return chosen
    register()
    # kept on the module, not in the hook's closure: a deep copy of the model copies this list with
    # its own configs, so the copy switches its own kernels (no module walk per forward)
    model._bench_attention_configs = _targets(model)

    def by_mode(module, args):
        want = chosen["train"] if module.training else chosen["predict"]
        for cfg in module._bench_attention_configs:
            if cfg._attn_implementation != want:
                cfg._attn_implementation = want

    by_mode(model, ())  # the mode it is in now
    model.register_forward_pre_hook(by_mode)
    return chosen
