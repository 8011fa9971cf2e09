"""Which channel windows of a real recording carry a signal: constant, stuck or gappy ones are dropped."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["SLOW_CHANNEL_TYPES", "drop_bad_channels"]


SLOW_CHANNEL_TYPES = frozenset({"temp", "eda"})
"""Types that may legitimately stay at one ADC value for seconds (slow drift at coarse resolution)."""


def _longest_run(values: np.ndarray) -> int:
    """Longest run of identical consecutive values (NaN never equals NaN, so NaN runs do not count here)."""
    if values.size == 0:
        return 0
    changes = np.flatnonzero(values[1:] != values[:-1])
    bounds = np.concatenate(([-1], changes, [values.size - 1]))
    return int(np.diff(bounds).max())


def _longest_true_run(mask: np.ndarray) -> int:
    if not mask.any():
        return 0
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


def _bad_channel_reason(values: np.ndarray, rate: float, kind: str, max_flat_s: float) -> str | None:
    finite = np.isfinite(values)
    if not finite.any():
        return "no finite sample"
    if _longest_true_run(~finite) > max_flat_s * rate:
        return f"a gap longer than {max_flat_s:g} s"
    real = values[finite]
    if real.max() == real.min():
        return "constant"
    if kind not in SLOW_CHANNEL_TYPES and _longest_run(values) >= max_flat_s * rate:
        return f"stuck at one value for {max_flat_s:g} s or more (dropout or saturation)"
    return None


def drop_bad_channels(example: Mapping[str, Any], max_flat_s: float = 1.0) -> dict[str, Any] | None:
    """Remove the channels of one window that carry no signal; ``None`` when none is left.

    A channel is dropped when it is constant, holds a gap (NaN run) longer than ``max_flat_s`` (the feature
    extractor refuses those), or - except for slow types (``temp``, ``eda``) - repeats one value for
    ``max_flat_s`` or more, which in a fast signal means a dropout or a saturated sensor.
    """
    keep = []
    for index, (channel, rate, kind) in enumerate(
        zip(example["signals"], example["sampling_rate"], example["channel_types"])
    ):
        reason = _bad_channel_reason(np.asarray(channel, dtype=np.float64), float(rate), kind, max_flat_s)
        if reason is None:
            keep.append(index)
        else:
            logger.debug(
                "window %s: dropped channel %r (%s)", example["recording_id"], example["channel_names"][index], reason
            )
    if not keep:
        return None
    if len(keep) == len(example["signals"]):
        return dict(example)
    out = dict(example)
    for field in ("signals", "sampling_rate", "channel_types", "channel_names"):
        out[field] = [example[field][i] for i in keep]
    return out
