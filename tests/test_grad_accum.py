"""Gradient accumulation: grad_accum 2 at batch 8 takes the same step as batch 16 (issue 28)."""

import numpy as np


def _first_step_grads(batch_size: int, grad_accum: int, tmp_path) -> dict[str, np.ndarray]:
    import torch
    from transformers import DataCollatorWithPadding, TrainerCallback, TrainingArguments

    from bench.components.context import Windows
    from bench.components.imbalance import IMBALANCE
    from bench.components.models import get_model
    from bench.fit.loading import load_classifier, load_tokenizer
    from bench.fit.trainer import WindowDataset, trainer_class
    from bench.spec.named import build

    torch.manual_seed(0)
    spec = get_model("tiny-bert")
    tok = load_tokenizer(spec)
    model = load_classifier(spec, ["a", "b", "c"], len(tok))
    for m in model.modules():  # dropout off: both runs see the same forward
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    labels = np.array([0, 1, 2, 0] * 4)
    windows = Windows([[101, 7 + 3 * i, 20 + i, 102] for i in range(16)], np.arange(16), 16, 0, 0)
    strategy = build(IMBALANCE, "none")
    grads: dict[str, np.ndarray] = {}

    class Grab(TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
            grads.update({n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()
                          if p.grad is not None})

    args = TrainingArguments(output_dir=str(tmp_path / f"b{batch_size}"), per_device_train_batch_size=batch_size,
                             gradient_accumulation_steps=grad_accum, max_steps=1, max_grad_norm=0.0,
                             use_cpu=True, seed=0, report_to="none", remove_unused_columns=False,
                             save_strategy="no", disable_tqdm=True)
    trainer = trainer_class()(model=model, args=args, train_dataset=WindowDataset(windows, labels),
                              data_collator=DataCollatorWithPadding(tok), callbacks=[Grab()], strategy=strategy,
                              resampling=strategy.fit_resample(labels, 3, 0))
    trainer.train()
    return grads


def test_grad_accum_2_at_batch_8_equals_batch_16(tmp_path):
    whole = _first_step_grads(16, 1, tmp_path)
    accum = _first_step_grads(8, 2, tmp_path)
    assert whole and set(whole) == set(accum)
    norm_whole = np.sqrt(sum((g ** 2).sum() for g in whole.values()))
    norm_accum = np.sqrt(sum((g ** 2).sum() for g in accum.values()))
    assert norm_whole > 0
    assert abs(norm_accum / norm_whole - 1) < 1e-4  # summed micro-batch means would give 2.0
    for name, g in whole.items():
        np.testing.assert_allclose(accum[name], g, rtol=1e-3, atol=1e-6, err_msg=name)
