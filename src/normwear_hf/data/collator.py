"""Turns schema rows into model batches: variable channel counts are padded and masked, never forced to 4."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..feature_extraction_normwear import NormWearFeatureExtractor
from .auxiliary_targets import auxiliary_values, check_auxiliary_targets


def stable_seed(*parts: Any) -> int:
    """A 64-bit seed from any printable parts, identical across processes and Python runs (unlike hash())."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class NormWearCollator:
    """Schema rows (``signals``, ``sampling_rate``, ...) -> ``input_values`` / ``channel_mask`` / ``time_mask``.

    Each row may have its own channels and per-channel rates; the feature extractor pads to the largest channel
    count of the batch and masks the rest. Everything random here (channel subsets, augmentation) is seeded from
    the row's ``recording_id``, the collator's ``seed`` and the row's ``epoch`` (when present), so batches are
    the same in every process and after a resume.

    Args:
        feature_extractor: preprocessing + CWT.
        max_channels: keep at most this many channels per row (a seeded random subset) to bound memory.
        return_signal: also return ``signal_values`` (for signal reconstruction targets).
        augment: optional ``f(row, rng) -> row`` applied before feature extraction (e.g. chunk swap).
        seed: base seed of the collator's randomness.
        auxiliary_targets: numeric label names (see ``auxiliary_targets.AUXILIARY_TARGETS``) to return as
            ``auxiliary_values`` ``[batch, channels, targets]``: standardised, NaN where a row lacks the label or
            a channel cannot show it (pretraining objective "d").
    """

    def __init__(
        self,
        feature_extractor: NormWearFeatureExtractor,
        max_channels: int | None = None,
        return_signal: bool = False,
        augment: Callable[[Mapping[str, Any], np.random.Generator], Mapping[str, Any]] | None = None,
        seed: int = 0,
        auxiliary_targets: Sequence[str] = (),
    ) -> None:
        check_auxiliary_targets(auxiliary_targets)
        if max_channels is not None and max_channels < 1:
            raise ValueError(f"max_channels must be at least 1, got {max_channels}.")
        self.feature_extractor = feature_extractor
        self.max_channels = max_channels
        self.return_signal = return_signal
        self.augment = augment
        self.seed = seed
        self.auxiliary_targets = tuple(auxiliary_targets)

    def _prepare(self, row: Mapping[str, Any]) -> tuple[list[np.ndarray], list[float], np.ndarray]:
        """The row's (augmented, subsampled) channels, their rates and their auxiliary targets."""
        rng = np.random.default_rng(stable_seed(self.seed, row.get("recording_id", ""), row.get("epoch", 0)))
        if self.augment is not None:
            row = self.augment(row, rng)
        signals = [np.asarray(channel, dtype=np.float32) for channel in row["signals"]]
        rates = [float(rate) for rate in row["sampling_rate"]]
        chosen = np.arange(len(signals))
        if self.max_channels is not None and len(signals) > self.max_channels:
            chosen = np.sort(rng.choice(len(signals), size=self.max_channels, replace=False))
            signals = [signals[i] for i in chosen]
            rates = [rates[i] for i in chosen]
        targets = np.zeros((len(signals), 0), dtype=np.float32)
        if self.auxiliary_targets:
            kinds = [row["channel_types"][i] for i in chosen]
            targets = auxiliary_values(row, kinds, self.auxiliary_targets)
        return signals, rates, targets

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if len(rows) == 0:
            raise ValueError("Cannot collate an empty batch.")
        prepared = [self._prepare(row) for row in rows]
        features = self.feature_extractor(
            [signals for signals, _, _ in prepared],
            sampling_rate=[rates for _, rates, _ in prepared],
            long_input="truncate",
            return_signal=self.return_signal,
            return_tensors="pt",
        )
        names = ["input_values", "channel_mask", "time_mask"] + (["signal_values"] if self.return_signal else [])
        batch = {name: features[name] for name in names}
        if self.auxiliary_targets:
            padded = np.full((len(rows), batch["channel_mask"].shape[1], len(self.auxiliary_targets)), np.nan)
            for index, (_, _, targets) in enumerate(prepared):
                padded[index, : len(targets)] = targets
            batch["auxiliary_values"] = torch.from_numpy(padded.astype(np.float32))
        return batch
