"""One call from raw recordings to embeddings: feature extraction, batched forward passes, pooling."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .configuration_normwear import NormWearConfig
from .feature_extraction_normwear import NormWearFeatureExtractor
from .modeling_normwear import NormWearModel, channel_summaries, check_pooling, finish_pooling

DEFAULT_MODEL_DESCRIPTION = (
    "the bundled checkpoint normwear_hf.DEFAULT_CHECKPOINT: NormWear small (256 wide, 6 blocks, patch 13 x 13), "
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
) -> np.ndarray:
    """Embed recordings of any length, channel count and sampling rate.

    Long recordings are split into 6 s windows whose embeddings are averaged, so one row comes back per
    input recording. ``pooling`` is as in [`NormWearModel.get_embeddings`]: ``"recording"`` ``[N, D]``,
    ``"channel"`` / ``"cls"`` ``[N, C, D]``, ``"probe"`` ``[N, C * D]``, ``"probe_level"`` ``[N, C * (D + 1)]``
    (each channel's level, log10 mean |x| averaged over its windows, after its D values).

    Args:
        signals: one recording ``[C, T]``, a batch ``[B, C, T]``, or a list of recordings (see the feature
            extractor for every accepted form).
        sampling_rate: Hz; one number, one per channel, or one entry per recording.
        dtype: e.g. ``torch.bfloat16`` to run the model under autocast (about 2-3x faster on recent CPUs).
        progress: show a progress bar (default: when there is more than one batch).
    """
    check_pooling(pooling)
    if model is None or feature_extractor is None:
        default_model, default_extractor = load_default_model()
        model = model or default_model
        feature_extractor = feature_extractor or default_extractor
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.to(device).eval()

    # Scalograms are built one batch of windows at a time: memory stays bounded for hours of signal.
    batches = feature_extractor.iter_batches(
        signals,
        sampling_rate=sampling_rate,
        channel_types=channel_types,
        max_windows=batch_size,
        return_tensors="pt",
        progress=progress,
        desc="embedding",
    )
    summaries, present, owners = [], [], []
    with torch.no_grad():
        for features in batches:
            batch = {name: features[name].to(device) for name in ("input_values", "channel_mask", "time_mask")}
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                outputs = model(**batch, return_dict=True)
                per_channel, real = channel_summaries(outputs, pooling, features["input_levels"])
            summaries.append(per_channel.float())
            present.append(real)
            owners.append(features["recording_index"])
    if len({tuple(s.shape[1:]) for s in summaries}) > 1:  # pieces padded to different channel counts
        width = max(s.shape[1] for s in summaries)
        summaries = [torch.nn.functional.pad(s, (0, 0, 0, width - s.shape[1])) for s in summaries]
        present = [torch.nn.functional.pad(p, (0, width - p.shape[1])) for p in present]
    pooled = finish_pooling(torch.cat(summaries), torch.cat(present), pooling, torch.cat(owners))
    return pooled.cpu().numpy()
