"""The paper's optimisation recipe: scaled learning rate, warm-up + half-cosine, no decay on biases and norms."""

from __future__ import annotations

import math

import torch
from torch import nn


def scaled_learning_rate(base_lr: float, effective_batch: int) -> float:
    """MAE's linear scaling rule: ``lr = base_lr x effective batch / 256``."""
    return base_lr * effective_batch / 256


def warmup_cosine(warmup_steps: int, total_steps: int):
    """Multiplier for ``LambdaLR``: linear warm-up to 1, then half a cosine down to 0 at ``total_steps``."""

    def factor(step: int) -> float:
        if warmup_steps > 0 and step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only: biases, norms, [CLS] and mask tokens (all < 2-D, or tokens) are exempt."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        exempt = parameter.ndim < 2 or name.endswith(("cls_token", "mask_token"))
        (no_decay if exempt else decay).append(parameter)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(
    model: nn.Module, lr: float, weight_decay: float = 0.05, betas: tuple[float, float] = (0.9, 0.95)
) -> torch.optim.AdamW:
    return torch.optim.AdamW(parameter_groups(model, weight_decay), lr=lr, betas=betas)
