"""The attention kernel per phase (bench.fit.attention): eager while training under bf16 on a CPU
(with attention dropout), SDPA for predictions; the library's default everywhere else; explicit
``BENCH_ATTN`` kept. Tiny random BERTs: no download, a second or two."""

from __future__ import annotations

import copy

import pytest

from bench.fit import attention
from bench.fit.device import Device
from bench.fit.loading import tiny_config
from bench.fit.options import RuntimeOptions

CPU_BF16, CPU_FP32, CUDA_BF16 = Device("cpu", True), Device("cpu", False), Device("cuda", True)


def tiny(attention_dropout: float = 0.1, seed: int = 0):
    import torch
    from transformers import AutoModelForSequenceClassification

    cfg = tiny_config(100, 3)
    cfg.attention_probs_dropout_prob = attention_dropout
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(cfg, attn_implementation="sdpa")


def batch():
    import torch

    g = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 100, (4, 24), generator=g)
    mask = torch.ones_like(ids)
    mask[0, 15:] = 0  # one padded row: the mask path of both kernels
    return ids, mask, torch.tensor([0, 1, 2, 0])


def train_losses(model, device: Device, steps: int = 3) -> list[float]:
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids, mask, y = batch()
    model.train()
    torch.manual_seed(123)  # the same dropout draws for both kernels
    out = []
    for _ in range(steps):
        with device.autocast():
            logits = model(input_ids=ids, attention_mask=mask).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        out.append(loss.item())
    return out


@pytest.mark.parametrize(("device", "dropout", "opts", "want"), [
    (CPU_BF16, 0.1, RuntimeOptions(), (attention.KERNEL, "sdpa")),
    (CPU_FP32, 0.1, RuntimeOptions(), ("default", "default")),  # fp32: SDPA's math path is eager's math
    (CUDA_BF16, 0.1, RuntimeOptions(), ("default", "default")),  # CUDA's SDPA has fused dropout kernels
    (CPU_BF16, 0.0, RuntimeOptions(), ("default", "default")),  # no dropout: SDPA's fused kernel trains
    (CPU_BF16, 0.1, RuntimeOptions(attn="sdpa"), ("sdpa", "sdpa")),  # explicit: kept for both phases
    (CPU_BF16, 0.1, RuntimeOptions(compile=True), ("default", "default")),
])
def test_plan_per_device_precision_and_option(device, dropout, opts, want):
    got = attention.plan(tiny(dropout), device, opts)
    assert (got["train"], got["predict"]) == want and got["why"]


def test_kernel_follows_train_and_eval_mode_and_copies_switch_their_own():
    import torch

    model = tiny()
    assert attention.apply(model, CPU_BF16, RuntimeOptions())["train"] == attention.KERNEL
    ids, mask, _ = batch()
    model.train()
    model(input_ids=ids, attention_mask=mask)
    assert model.config._attn_implementation == attention.KERNEL
    model.eval()
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=mask)
    assert model.config._attn_implementation == "sdpa"
    twin = copy.deepcopy(model)
    twin.train()
    twin(input_ids=ids, attention_mask=mask)
    assert twin.config._attn_implementation == attention.KERNEL and model.config._attn_implementation == "sdpa"


def test_library_default_left_alone_on_fp32():
    model = tiny()
    attention.apply(model, CPU_FP32, RuntimeOptions())
    model.train()
    ids, mask, _ = batch()
    model(input_ids=ids, attention_mask=mask)
    assert model.config._attn_implementation == "sdpa" and not model._forward_pre_hooks


@pytest.mark.parametrize("kernel", ["eager", attention.KERNEL])
def test_fp32_training_identical_with_every_kernel(kernel):
    """Why fp32 keeps the default: eager, the bf16 training kernel (its mask cast a no-op in fp32)
    and SDPA give the very same training (same dropout draws, padded row included)."""
    sdpa = train_losses(tiny(), CPU_FP32)
    other = tiny()
    attention.register()
    other.config._attn_implementation = kernel
    assert train_losses(other, CPU_FP32) == sdpa


def test_bf16_kernel_keeps_the_mask_in_bf16_and_masks_the_padding():
    """Under bf16 autocast the training kernel adds the padding mask in bf16 (no fp32 scores) and
    still ignores padded keys: a padded row scores as the same row without its padding."""
    import torch

    model = tiny(attention_dropout=0.1).eval()
    attention.register()
    model.config._attn_implementation = attention.KERNEL
    ids, mask, _ = batch()
    seen = []
    orig = attention._own_eager(model.bert.encoder.layer[0].attention.self)

    def spy(module, query, key, value, attention_mask, *args, **kwargs):
        seen.append(None if attention_mask is None else attention_mask.dtype)  # all ones: no mask at all
        return orig(module, query, key, value, attention_mask, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp, torch.inference_mode(), CPU_BF16.autocast():
        mp.setattr(attention, "_own_eager", lambda module: spy)
        padded = model(input_ids=ids, attention_mask=mask).logits[0].float()
        alone = model(input_ids=ids[:1, :15], attention_mask=mask[:1, :15]).logits[0].float()
    assert set(seen) == {torch.bfloat16, None}  # the padded batch's mask in bf16; the unpadded row without one
    assert torch.allclose(padded, alone, atol=3e-2)


def test_bf16_training_with_the_plan_matches_sdpa_at_rounding_level():
    sdpa = train_losses(tiny(), CPU_BF16)
    planned = tiny()
    assert attention.apply(planned, CPU_BF16, RuntimeOptions())["train"] == attention.KERNEL
    got = train_losses(planned, CPU_BF16)
    assert got == pytest.approx(sdpa, abs=2e-2) and got != sdpa  # bf16 rounding, not another model
