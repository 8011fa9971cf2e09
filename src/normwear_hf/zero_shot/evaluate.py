"""Zero-shot scoring of labelled views: AUROC and accuracy per task, and the calibration temperature fit."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._lazy import moved_getattr
from ..evaluation.bootstrap import check_bootstrap_arguments, percentile_interval, resample
from ..evaluation.metrics.auroc import auroc_score
from ..modeling_normwear_zero_shot import NormWearForZeroShotClassification
from .engine import WindowTokens, label_sentences, recording_logits
from .prompts import DEFAULT_HYPOTHESIS_TEMPLATE, PromptTask
from .text_encoder import SentenceEncoder
from .views import View


def zero_shot_auroc(probabilities: np.ndarray, targets: np.ndarray) -> float:
    """Macro one-vs-rest AUROC over the classes present in ``targets`` (binary: AUROC of the second class); NaN
    when fewer than two classes are present. :func:`~normwear_hf.evaluation.metrics.auroc.auroc_score` computes it."""
    if len(np.unique(targets)) < 2:
        return float("nan")
    return auroc_score(targets, probabilities, multi_class="ovr")


def canonical_prompts(task: PromptTask, encoder: SentenceEncoder) -> tuple[torch.Tensor, torch.Tensor]:
    """What a user would type: the first question and each class's first phrase in the default template."""
    question = encoder.encode([task.questions[0]])[0]
    sentences = label_sentences(task.canonical_labels(), DEFAULT_HYPOTHESIS_TEMPLATE)
    return question, encoder.encode(sentences)


def task_logits(
    model: NormWearForZeroShotClassification,
    encoder: SentenceEncoder,
    task: PromptTask,
    views: Sequence[View],
    tokens: WindowTokens,
) -> tuple[torch.Tensor, np.ndarray]:
    """Uncalibrated logits ``[views, classes]`` with the canonical prompts, and the class index of each view."""
    question, text = canonical_prompts(task, encoder)
    logits = recording_logits(model, tokens, len(views), question, text)
    targets = np.asarray([task.classes.index(key) for _, key in views])
    return logits, targets


def score_task(logits: torch.Tensor, targets: np.ndarray, temperature: float) -> dict[str, Any]:
    probabilities = (logits / temperature).softmax(dim=-1).numpy()
    return {
        "n": int(len(targets)),
        "num_classes": int(logits.shape[1]),
        "auroc": zero_shot_auroc(probabilities, targets),
        "accuracy": float((probabilities.argmax(axis=1) == targets).mean()) if len(targets) else float("nan"),
        "chance_accuracy": float(np.bincount(targets).max() / len(targets)) if len(targets) else float("nan"),
        "mean_max_score": float(probabilities.max(axis=1).mean()) if len(targets) else float("nan"),
        "nll": float(F.cross_entropy(logits / temperature, torch.as_tensor(targets)).item()) if len(targets) else 0.0,
    }


def bootstrap_auroc(
    blocks: Mapping[str, tuple[np.ndarray, np.ndarray]], n: int = 1000, seed: int = 0, confidence: float = 0.95
) -> dict[str, Any]:
    """Percentile bootstrap intervals of each task's AUROC and of their macro mean, from ``{task: (probabilities
    [n, classes], targets [n])}``. Each resample redraws every task's recordings independently (the tasks are
    separate test sets), so the macro interval shows how far a small held-out set lets one trust the mean.

    Returns ``{"tasks": {task: [low, high]}, "macro": [low, high], "confidence", "n_resamples"}``.
    """
    if not blocks:
        raise ValueError("bootstrap_auroc needs at least one task.")
    check_bootstrap_arguments(n, confidence)
    names = list(blocks)
    arrays = [(np.asarray(blocks[name][0]), np.asarray(blocks[name][1])) for name in names]

    def auroc(index: int, rows: np.ndarray) -> float:
        probabilities, targets = arrays[index]
        return auroc_score(targets[rows], probabilities[rows], multi_class="ovr")

    per_task, macro = resample([len(targets) for _, targets in arrays], auroc, n, seed)

    def interval(values: Sequence[float]) -> list[float]:
        return list(percentile_interval(values, confidence))

    return {
        "tasks": {name: interval(values) for name, values in zip(names, per_task)},
        "macro": interval(macro),
        "confidence": confidence,
        "n_resamples": n,
    }


def fit_temperature(logits: Sequence[torch.Tensor], targets: Sequence[np.ndarray]) -> float:
    """The temperature ``T`` minimising the mean negative log-likelihood of ``softmax(logits / T)``.

    One scalar over all held-in validation tasks (logit blocks may differ in class count): a 1-D search over
    log T on a fine grid, then refined around the best point; robust and deterministic.
    """
    blocks = [(block.float(), torch.as_tensor(target)) for block, target in zip(logits, targets) if len(target)]
    if not blocks:
        raise ValueError("fit_temperature needs at least one labelled validation example.")
    count = sum(len(target) for _, target in blocks)

    def nll(log_t: float) -> float:
        t = math.exp(log_t)
        return sum(F.cross_entropy(b / t, y, reduction="sum").item() for b, y in blocks) / count

    grid = np.linspace(-4.0, 4.0, 161)
    best = min(grid, key=nll)
    fine = np.linspace(best - 0.05, best + 0.05, 41)
    return float(math.exp(min(fine, key=nll)))


# Moved to normwear_hf.evaluation.zero_shot_report (the benchmark and the model card print these tables, and
# evaluation does not import zero_shot); the old path works for one more release, with a DeprecationWarning.
__getattr__ = moved_getattr(
    __name__,
    dict.fromkeys(
        ("INTERVAL_NOTE", "has_interval", "held_out_table", "with_interval"), "..evaluation.zero_shot_report"
    ),
)
