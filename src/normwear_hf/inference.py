"""One call from raw recordings to embeddings: feature extraction, batched forward passes, pooling."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .configuration_normwear import NormWearConfig
from .feature_extraction_normwear import NormWearFeatureExtractor
from .modeling_normwear import (
    NormWearModel,
    channel_summaries,
    check_pooling,
    finish_pooling,
    forward_window_batches,
)
from .quality import DEFAULT_QUALITY_THRESHOLD, WindowQuality, check_threshold, score_windows

DEFAULT_MODEL_DESCRIPTION = (
    "the bundled checkpoint normwear_hf.DEFAULT_CHECKPOINT: NormWear tiny (128 wide, 4 blocks, patch 13 x 13), "
    "pretrained on 35 h of real + synthetic segments, with the MSiTF zero-shot head (see its README.md)"
)


def seeded_model(config: NormWearConfig, seed: int) -> NormWearModel:
    """A model with random weights drawn from ``seed``, leaving the caller's global random state untouched."""
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return NormWearModel(config).eval()
    finally:
        torch.random.set_rng_state(generator_state)


def load_default_model() -> tuple[NormWearModel, NormWearFeatureExtractor]:
    """The backbone of the checkpoint that ships in the package (``normwear_hf.DEFAULT_CHECKPOINT``) and its
    feature extractor; loaded once per process and shared (the model is in eval mode: do not train it in place,
    load your own copy with ``NormWearModel.from_pretrained(normwear_hf.DEFAULT_CHECKPOINT)`` for that)."""
    return _default_model()


@functools.lru_cache(maxsize=1)
def _default_model() -> tuple[NormWearModel, NormWearFeatureExtractor]:
    from .checkpoint import DEFAULT_CHECKPOINT, load_quietly

    model, extractor = load_quietly(DEFAULT_CHECKPOINT, backbone=True)  # no progress bars for a library call
    return model.eval(), extractor


@dataclass
class EmbedOutput:
    """What ``embed(..., return_quality=True)`` returns: the embeddings and, per input recording, the quality of
    each channel in each 6 s window and whether the model used it (per-recording lists: channel counts differ)."""

    embeddings: np.ndarray  # what embed returns without return_quality
    quality: list[np.ndarray]  # per recording [windows, C] scores in [0, 1] (quality.py)
    channels_used: list[np.ndarray]  # per recording [windows, C] bool: the channel windows the model saw
    problems: list[list[list[str]]]  # per recording and window: the failed check of each channel below the threshold


def embed(
    signals: Any,
    sampling_rate: float | Sequence[Any],
    model: NormWearModel | None = None,
    feature_extractor: NormWearFeatureExtractor | None = None,
    pooling: str = "recording",
    channel_types: Sequence[Any] | None = None,
    batch_size: int = 8,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    progress: bool | None = None,
    quality_threshold: float | None = DEFAULT_QUALITY_THRESHOLD,
    return_quality: bool = False,
) -> np.ndarray | EmbedOutput:
    """Embed recordings of any length, channel count and sampling rate.

    Long recordings are split into 6 s windows whose embeddings are averaged, so one row comes back per
    input recording. ``pooling`` is as in [`NormWearModel.get_embeddings`]: ``"recording"`` ``[N, D]``,
    ``"channel"`` / ``"cls"`` ``[N, C, D]``, ``"probe"`` ``[N, C * D]``, ``"probe_level"`` ``[N, C * (D + 1)]``
    (each channel's level, log10 mean |x| averaged over its windows, after its D values).

    Each channel of each window is scored for quality first (flatline, clipping, broadband noise, heart-rate
    plausibility for ECG / PPG: ``normwear_hf.quality``, the checks a timeline runs), and channels below
    ``quality_threshold`` are left out of that window, so a detached sensor does not pull the recording's
    embedding through the fusion blocks. A channel left out of every window of a recording gets zeros under the
    per-channel poolings; a window whose channels all fail keeps its best one.

    Args:
        signals: one recording ``[C, T]``, a batch ``[B, C, T]``, or a list of recordings (see the feature
            extractor for every accepted form).
        sampling_rate: Hz; one number, one per channel, or one entry per recording.
        dtype: e.g. ``torch.bfloat16`` to run the model under autocast (about 2-3x faster on recent CPUs).
        progress: show a progress bar (default: when there is more than one batch).
        quality_threshold: channels scoring below it (0-1) are masked in that window; ``None`` feeds every
            channel (embeddings of a fixed layout, e.g. features for a probe that must see noisy channels).
        return_quality: return an :class:`EmbedOutput` (embeddings, quality, channels used) instead of the array.
    """
    check_pooling(pooling)
    threshold = check_threshold(quality_threshold)
    if model is None or feature_extractor is None:
        default_model, default_extractor = load_default_model()
        model = model or default_model
        feature_extractor = feature_extractor or default_extractor
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.to(device).eval()
    scored = threshold is not None or return_quality

    # Scalograms are built one batch of windows at a time: memory stays bounded for hours of signal.
    batches = feature_extractor.iter_batches(
        signals,
        sampling_rate=sampling_rate,
        channel_types=channel_types,
        max_windows=batch_size,
        return_tensors="pt",
        progress=progress,
        desc="embedding",
        return_windows=scored,
    )
    checks: list[WindowQuality] = []
    if scored:
        batches = _quality_masked(batches, feature_extractor.sampling_rate, threshold, checks)
    summaries, present, owners = [], [], []
    with torch.no_grad():
        for features, outputs in forward_window_batches(model, batches, device, dtype):
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                per_channel, real = channel_summaries(outputs, pooling, features["input_levels"])
            summaries.append(per_channel.float())
            present.append(real)
            owners.append(features["recording_index"])
    owner = torch.cat(owners)
    pooled = finish_pooling(*_same_width(summaries, present), pooling, owner).cpu().numpy()
    if not return_quality:
        return pooled
    return EmbedOutput(pooled, *_per_recording(checks, owner.numpy(), len(pooled)))


def _quality_masked(
    batches: Iterator[Any], rate: float, threshold: float | None, checks: list[WindowQuality]
) -> Iterator[Any]:
    """``batches`` with each window's channels below ``threshold`` taken out of ``channel_mask`` (the timeline's
    rule, ``quality.score_windows``); the scores of every batch are appended to ``checks``."""
    for features in batches:
        checked = score_windows(
            features["raw_windows"], rate, features["channel_mask"].numpy(), threshold, features.get("channel_types")
        )
        features["channel_mask"] = torch.from_numpy(checked.channel_mask)
        checks.append(checked)
        yield features


def _same_width(summaries: list[torch.Tensor], present: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The batches' per-channel summaries in one tensor; batches padded to fewer channels are padded to the most."""
    width = max(s.shape[1] for s in summaries)
    summaries = [torch.nn.functional.pad(s, (0, 0, 0, width - s.shape[1])) for s in summaries]
    present = [torch.nn.functional.pad(p, (0, width - p.shape[1])) for p in present]
    return torch.cat(summaries), torch.cat(present)


def _per_recording(
    checks: list[WindowQuality], owner: np.ndarray, count: int
) -> tuple[list[np.ndarray], list[np.ndarray], list[list[list[str]]]]:
    """The window-major quality of ``embed``'s pieces regrouped per recording, without the padded channels."""
    problems = [row for checked in checks for row in checked.problems]
    scores = [row for checked in checks for row in checked.score]
    used = [row for checked in checks for row in checked.channel_mask]
    quality, channels_used, named = [], [], []
    for recording in range(count):
        rows = np.flatnonzero(owner == recording)
        width = len(problems[rows[0]])
        quality.append(np.stack([scores[i][:width] for i in rows]).astype(np.float32))
        channels_used.append(np.stack([used[i][:width] for i in rows]).astype(bool))
        named.append([problems[i] for i in rows])
    return quality, channels_used, named
