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
    ``[W, C, 1 + P]``, for each window the index of its recording, and each window's rhythm descriptors
    ``[C, RHYTHM_SIZE]`` (the feature extractor's ``rhythm_values``, which a head with rhythm reads)."""

    hidden: list[torch.Tensor]
    mask: list[torch.Tensor]
    recording: np.ndarray
    rhythm: list[torch.Tensor]

    def select(self, picks: Sequence[int]) -> WindowTokens:
        """The windows ``picks`` (their recording indices kept)."""
        return WindowTokens(
            [self.hidden[i] for i in picks],
            [self.mask[i] for i in picks],
            self.recording[np.asarray(picks, dtype=np.int64)],
            [self.rhythm[i] for i in picks],
        )

    def batch(self, picks: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The windows ``picks`` stacked for the aggregator: :func:`pad_windows` of hidden, mask and rhythm."""
        return pad_windows(
            [self.hidden[i] for i in picks], [self.mask[i] for i in picks], [self.rhythm[i] for i in picks]
        )


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
    hidden, mask, recording, rhythm = [], [], [], []
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
            return_rhythm=True,
        )
        for features, outputs in forward_window_batches(backbone, batches):
            for window, owner in enumerate(features["recording_index"].tolist()):
                real = features["channel_mask"][window].bool()
                hidden.append(outputs.last_hidden_state[window, real].to(torch.float16).cpu())
                mask.append(outputs.token_mask[window, real].cpu())
                rhythm.append(features["rhythm_values"][window, real].float().cpu())
                recording.append(start + owner)
        bar.update(len(chunk))
    bar.close()
    return WindowTokens(hidden, mask, np.asarray(recording, dtype=np.int64), rhythm)


def first_windows(tokens: WindowTokens) -> WindowTokens:
    """Only the first window of each recording, renumbered 0..n-1 (training views are single windows; a longer
    row, e.g. a resampled one that rounds past 6 s, contributes its first)."""
    seen: dict[int, int] = {}
    for index, owner in enumerate(tokens.recording.tolist()):
        seen.setdefault(owner, index)
    first = tokens.select([seen[owner] for owner in sorted(seen)])
    first.recording = np.arange(len(first.hidden), dtype=np.int64)
    return first


def pad_windows(
    hidden: Sequence[torch.Tensor], mask: Sequence[torch.Tensor], rhythm: Sequence[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stack windows with different channel counts: ``[B, C_max, L, D]`` float32, ``[B, C_max, L]`` and the
    rhythm descriptors ``[B, C_max, R]`` (zeros for padded channels)."""
    channels = max(h.shape[0] for h in hidden)
    length, width = hidden[0].shape[1:]
    out = torch.zeros(len(hidden), channels, length, width)
    out_mask = torch.zeros(len(hidden), channels, length, dtype=torch.bool)
    out_rhythm = torch.zeros(len(hidden), channels, rhythm[0].shape[-1])
    for i, (h, m, r) in enumerate(zip(hidden, mask, rhythm)):
        out[i, : h.shape[0]] = h.float()
        out_mask[i, : m.shape[0]] = m
        out_rhythm[i, : r.shape[0]] = r.float()
    return out, out_mask, out_rhythm


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
        hidden, mask, rhythm = tokens.batch(range(start, min(start + batch_size, len(tokens.hidden))))
        embeds, _ = model.aggregate(hidden.to(device), mask.to(device), question_embeds.to(device), rhythm.to(device))
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
