"""Known physiology of generated rows as per-channel regression targets for pretraining (objective "d").

The synthetic generator records what it drew (heart rate, breathing rate, cadence, noise, ...) as numeric
labels. Asking each channel's pooled embedding to predict the quantities *that channel can show* (heart rate
from ECG / PPG, cadence from acceleration, ...) pushes physiology into the per-channel vectors the linear
probe reads. A target that the channel cannot show, or that the row does not carry (real recordings), is NaN
and does not count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class AuxiliaryTarget:
    """How one numeric label becomes a standardised target: ``(f(value) - center) / scale``, with ``f`` = log
    for heavy-tailed quantities. ``channel_types``: the channels that can show it (empty = every channel)."""

    channel_types: tuple[str, ...]
    center: float
    scale: float
    log: bool = False

    def standardise(self, value: float) -> float:
        if self.log:
            value = math.log(max(value, 1e-3))
        return (value - self.center) / self.scale


# Centers and scales follow the generator's ranges (synthetic.py), so targets are about unit-sized.
AUXILIARY_TARGETS: dict[str, AuxiliaryTarget] = {
    "heart_rate_bpm": AuxiliaryTarget(("ecg", "ppg"), center=100.0, scale=30.0),
    "hrv_rmssd_ms": AuxiliaryTarget(("ecg", "ppg"), center=math.log(25.0), scale=0.7, log=True),
    "respiration_rate_bpm": AuxiliaryTarget(("resp",), center=18.0, scale=5.5),
    "cadence_spm": AuxiliaryTarget(("acc",), center=70.0, scale=70.0),
    "activity_level": AuxiliaryTarget(("acc", "emg"), center=0.4, scale=0.3),
    "noise_level": AuxiliaryTarget((), center=0.3, scale=0.3),
}


def check_auxiliary_targets(names: Sequence[str]) -> None:
    unknown = [name for name in names if name not in AUXILIARY_TARGETS]
    if unknown:
        raise ValueError(f"Unknown auxiliary targets {unknown}; choose from {sorted(AUXILIARY_TARGETS)}.")


def auxiliary_values(row: Mapping[str, Any], channel_types: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """``[channels, len(names)]`` standardised targets of one row's (kept) channels; NaN where not shown."""
    labels = {entry["name"]: entry["value"] for entry in row.get("numeric_labels") or ()}
    values = np.full((len(channel_types), len(names)), np.nan, dtype=np.float32)
    for column, name in enumerate(names):
        target = AUXILIARY_TARGETS[name]
        value = labels.get(name)
        if value is None or not math.isfinite(value):
            continue
        shows = [not target.channel_types or kind in target.channel_types for kind in channel_types]
        values[np.asarray(shows, dtype=bool), column] = target.standardise(float(value))
    return values
