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
from ..modeling_normwear import NormWearModel, average_windows, forward_window_batches
from ..modeling_normwear_zero_shot import NormWearForZeroShotClassification
from ..zero_shot_labels_normwear import (  # noqa: F401  (their home before the remote-code pipeline needed them)
    check_candidate_labels,
    check_template,
    has_zero_shot_head,
    label_sentences,
)


@dataclass
class WindowTokens:
    """Frozen backbone outputs of windows: ``hidden`` ``[W, C, 1 + P, D]`` (float16 to save memory), ``mask``
    ``[W, C, 1 + P]``, and for each window the index of its recording."""

    hidden: list[torch.Tensor]
    mask: list[torch.Tensor]
    recording: np.ndarray


#: Rows resampled at a time by :func:`backbone_tokens`: bounds the memory of the prepared signals, not the batches.
ROWS_PER_PREPARE = 256


@torch.no_grad()
def backbone_tokens(
    backbone: NormWearModel,
    extractor: NormWearFeatureExtractor,
    rows: Sequence[Mapping[str, Any]],
    batch_size: int = 32,
    progress: bool = True,
    desc: str = "backbone tokens",
) -> WindowTokens:
    """Tokens of every 6 s window of every row (long rows split), computed once with the frozen backbone.

    The windows go through the package's one path (the extractor's ``iter_batches``, ``batch_size`` windows per
    forward, and ``forward_window_batches``), as ``embed`` and the pipeline run them."""
    hidden, mask, recording = [], [], []
    bar = tqdm(total=len(rows), desc=desc, unit="row", disable=not progress)
    for start in range(0, len(rows), ROWS_PER_PREPARE):
        chunk = rows[start : start + ROWS_PER_PREPARE]
        signals, rates, types = extractor_inputs(chunk)
        batches = extractor.iter_batches(
            signals,
            sampling_rate=rates,
            channel_types=types,
            max_windows=batch_size,
            return_tensors="pt",
            progress=False,
        )
        for features, outputs in forward_window_batches(backbone, batches):
            for window, owner in enumerate(features["recording_index"].tolist()):
                real = features["channel_mask"][window].bool()
                hidden.append(outputs.last_hidden_state[window, real].to(torch.float16).cpu())
                mask.append(outputs.token_mask[window, real].cpu())
                recording.append(start + owner)
        bar.update(len(chunk))
    bar.close()
    return WindowTokens(hidden, mask, np.asarray(recording, dtype=np.int64))


def first_windows(tokens: WindowTokens) -> WindowTokens:
    """Only the first window of each recording, renumbered 0..n-1 (training views are single windows; a longer
    row, e.g. a resampled one that rounds past 6 s, contributes its first)."""
    seen: dict[int, int] = {}
    for index, owner in enumerate(tokens.recording.tolist()):
        seen.setdefault(owner, index)
    keep = [seen[owner] for owner in sorted(seen)]
    return WindowTokens(
        [tokens.hidden[i] for i in keep], [tokens.mask[i] for i in keep], np.arange(len(keep), dtype=np.int64)
    )


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
    """Mean of the windows' rows per recording ``[count, ...]`` (the backbone's :func:`average_windows`, every
    window weighing one)."""
    weights = window_values.new_ones(window_values.shape[0])
    return average_windows(window_values, weights, torch.as_tensor(recording, dtype=torch.long), count)[0]


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
