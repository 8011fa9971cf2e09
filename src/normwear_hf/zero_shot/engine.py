"""Shared zero-shot mechanics: backbone tokens of recordings, window -> recording logits, label checks.

Training and evaluation cache the frozen backbone's tokens once (the aggregator is all that learns) and score
them with the model's own ``aggregate`` / ``similarity_logits``, as its ``forward`` (the pipeline's path) does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.schema import extractor_inputs
from ..feature_extraction_normwear import NormWearFeatureExtractor
from ..modeling_normwear import NormWearModel
from ..modeling_normwear_zero_shot import NormWearForZeroShotClassification


def has_zero_shot_head(model: torch.nn.Module) -> bool:
    """Whether ``model`` is a zero-shot model (configured aggregator and its weights)."""
    return getattr(model.config, "zero_shot_aggregator", None) is not None and hasattr(model, "aggregator")


def check_candidate_labels(candidate_labels: Any) -> list[str]:
    """The labels as a list of distinct non-empty strings, or a ValueError that says what is wrong."""
    if candidate_labels is None:
        raise ValueError("candidate_labels is required: pass at least two labels, e.g. ['resting', 'running'].")
    if isinstance(candidate_labels, str):
        candidate_labels = [part.strip() for part in candidate_labels.split(",")]
    labels = list(candidate_labels)
    if any(not isinstance(label, str) for label in labels):
        raise ValueError(f"candidate_labels must be strings, got {labels!r}.")
    if any(not label.strip() for label in labels):
        raise ValueError(f"candidate_labels contains an empty label: {labels!r}; every label needs some words.")
    if len(labels) < 2:
        raise ValueError(
            f"Zero-shot classification needs at least two candidate labels to choose between, got {labels!r}."
        )
    normalised = [label.strip().lower() for label in labels]
    duplicates = sorted({label for label, key in zip(labels, normalised) if normalised.count(key) > 1})
    if duplicates:
        raise ValueError(f"candidate_labels has duplicates {duplicates}: each label must appear once.")
    return labels


def check_template(hypothesis_template: str) -> None:
    """Exactly one replacement field, ``{}``, and nothing else for ``str.format`` to interpret.

    ``"this is {{}}"`` contains the characters ``{}`` but formats to a constant sentence (every label would get the
    same score), and other fields (``"{} {}"``, ``"{x}"``, ``"{:>9999999}"``) raise or allocate inside ``format``.
    """
    import string

    if not isinstance(hypothesis_template, str):
        raise ValueError(f"hypothesis_template must be a string with one '{{}}', got {hypothesis_template!r}.")
    try:
        fields = [part[1:] for part in string.Formatter().parse(hypothesis_template) if part[1] is not None]
    except ValueError as error:  # unbalanced braces
        raise ValueError(
            f"hypothesis_template {hypothesis_template!r} is not a valid template ({error}); write one '{{}}' where "
            "the label goes, e.g. 'This signal shows {}.' (write '{{' or '}}' for a literal brace)."
        ) from None
    if fields != [("", "", None)]:
        raise ValueError(
            f"hypothesis_template must contain '{{}}' exactly once, where the label goes, and no other replacement "
            f"field, got {hypothesis_template!r}; e.g. 'This signal shows {{}}.'"
        )


def label_sentences(labels: Sequence[str], hypothesis_template: str) -> list[str]:
    check_template(hypothesis_template)
    return [hypothesis_template.format(label) for label in labels]


@dataclass
class WindowTokens:
    """Frozen backbone outputs of windows: ``hidden`` ``[W, C, 1 + P, D]`` (float16 to save memory), ``mask``
    ``[W, C, 1 + P]``, and for each window the index of its recording."""

    hidden: list[torch.Tensor]
    mask: list[torch.Tensor]
    recording: np.ndarray


@torch.no_grad()
def backbone_tokens(
    backbone: NormWearModel,
    extractor: NormWearFeatureExtractor,
    rows: Sequence[Mapping[str, Any]],
    batch_size: int = 32,
    progress: bool = True,
    desc: str = "backbone tokens",
) -> WindowTokens:
    """Tokens of every 6 s window of every row (long rows split), computed once with the frozen backbone."""
    device = next(backbone.parameters()).device
    hidden, mask, recording = [], [], []
    for start in tqdm(range(0, len(rows), batch_size), desc=desc, unit="batch", disable=not progress):
        chunk = rows[start : start + batch_size]
        signals, rates, types = extractor_inputs(chunk)
        features = extractor(signals, sampling_rate=rates, channel_types=types, long_input="split", return_tensors="pt")
        outputs = backbone(
            features["input_values"].to(device),
            channel_mask=features["channel_mask"].to(device),
            time_mask=features["time_mask"].to(device),
            return_dict=True,
        )
        index = features.get("recording_index")
        index = np.arange(len(chunk)) if index is None else np.asarray(index)
        for window, owner in enumerate(index.tolist()):
            real = features["channel_mask"][window].bool()
            hidden.append(outputs.last_hidden_state[window, real].to(torch.float16).cpu())
            mask.append(outputs.token_mask[window, real].cpu())
            recording.append(start + owner)
    return WindowTokens(hidden, mask, np.asarray(recording, dtype=np.int64))


def pad_windows(hidden: Sequence[torch.Tensor], mask: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack windows with different channel counts: ``[B, C_max, L, D]`` float32 and ``[B, C_max, L]``."""
    channels = max(h.shape[0] for h in hidden)
    length, width = hidden[0].shape[1:]
    out = torch.zeros(len(hidden), channels, length, width)
    out_mask = torch.zeros(len(hidden), channels, length, dtype=torch.bool)
    for i, (h, m) in enumerate(zip(hidden, mask)):
        out[i, : h.shape[0]] = h.float()
        out_mask[i, : m.shape[0]] = m
    return out, out_mask


@torch.no_grad()
def window_logits(
    model: NormWearForZeroShotClassification,
    tokens: WindowTokens,
    question_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    batch_size: int = 256,
) -> torch.Tensor:
    """Logits ``[windows, labels]`` of cached windows."""
    device = next(model.parameters()).device
    parts = []
    for start in range(0, len(tokens.hidden), batch_size):
        hidden, mask = pad_windows(tokens.hidden[start : start + batch_size], tokens.mask[start : start + batch_size])
        embeds, _ = model.aggregate(hidden.to(device), mask.to(device), question_embeds.to(device))
        parts.append(model.similarity_logits(embeds, text_embeds.to(device)).float().cpu())
    return torch.cat(parts) if parts else torch.zeros(0, text_embeds.shape[0])


def average_by_recording(window_values: torch.Tensor, recording: np.ndarray, count: int) -> torch.Tensor:
    """Mean of the windows' rows per recording ``[count, ...]``."""
    index = torch.as_tensor(recording, dtype=torch.long)
    sums = window_values.new_zeros(count, *window_values.shape[1:]).index_add(0, index, window_values)
    totals = torch.bincount(index, minlength=count).clamp_min(1).to(window_values.dtype)
    return sums / totals.reshape(-1, *([1] * (window_values.ndim - 1)))


def recording_logits(
    model: NormWearForZeroShotClassification,
    tokens: WindowTokens,
    recordings: int,
    question_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
) -> torch.Tensor:
    """Logits ``[recordings, labels]`` of cached windows: window logits averaged over each recording's windows."""
    logits = window_logits(model, tokens, question_embeds, text_embeds)
    return average_by_recording(logits, tokens.recording, recordings)
