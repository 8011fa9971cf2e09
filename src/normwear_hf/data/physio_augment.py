"""Augmentations that teach physiological invariances: what changes between devices, not between people.

A recording's physiology (heart rate, breathing, movement) should give the same embedding whatever the device
that measured it. Each transform below changes only what a device would change, so every label that the
generator or a measurement attached to the row stays true (the one exception, ``noise_level``, is dropped
when noise is added, with the class ``noise``):

- **rate jitter** (:func:`jitter_rate`): the channel is resampled (polyphase, anti-aliased) to its rate times a
  factor between 2/3 and 3/2 and the new rate is declared, as a device at an odd rate would record it. Below the model's
  65 Hz this also removes the content above the new Nyquist frequency, as a slow device does.
- **amplitude and polarity** (:func:`scale_and_flip`): a log-uniform gain (units: mV against uV, a looser
  electrode, a dimmer LED), an offset, and a sign flip for the modalities whose sign depends on the electrode
  or axis orientation (ECG lead, EMG, respiration belt, accelerometer axis, PPG transmission vs reflection);
  never for EDA, whose conductance has one sign.
- **channel dropout** (:func:`drop_channels`): a sensor missing from the recording; at least one stays.
- **sensor noise** (:func:`add_sensor_noise`): broadband noise and, for electrical sensors, mains hum, at a
  random signal-to-noise ratio.
- **chunk swap** (:func:`~normwear_hf.data.augment.chunk_swap_example`): the paper's augmentation.

:func:`physiological_augment` draws each with its probability from one ``numpy.random.Generator``, so a row
is augmented the same way in every process (the collator seeds it from the row's id and epoch). Shapes may
change (resampling), so it runs before feature extraction, in the collator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..signal_processing import resample
from .augment import chunk_swap_example
from .schema import validate_example

__all__ = [
    "AugmentProbabilities",
    "add_sensor_noise",
    "drop_channels",
    "jitter_rate",
    "physiological_augment",
    "scale_and_flip",
]

FLIPPABLE = frozenset({"ecg", "emg", "resp", "acc", "ppg", "eeg", "eog"})
"""Modalities whose sign is a matter of electrode placement, axis orientation or sensing mode."""
ELECTRICAL = frozenset({"ecg", "emg", "eeg", "eog"})
"""Modalities that pick up mains hum (50 or 60 Hz)."""
NOISE_LABELS = frozenset({"noise_level", "noise"})
"""Labels that describe the recording's noise: added noise makes them false."""
RATE_FACTORS = (2 / 3, 3 / 4, 4 / 5, 5 / 4, 4 / 3, 3 / 2)
"""Rate jitter factors: ratios of small integers keep polyphase resampling fast (an arbitrary factor of a
2,048 Hz channel made collation 7x slower)."""
MIN_RATE_HZ = 16.0
"""A channel that jitter would take below this rate keeps its own (EDA at 4 Hz stays at 4 Hz)."""


@dataclass(frozen=True)
class AugmentProbabilities:
    """How often each transform is applied to a row, and how strong it may be."""

    rate: float = 0.5
    rate_factors: tuple[float, ...] = RATE_FACTORS
    amplitude: float = 0.8
    gain_range: tuple[float, float] = (0.25, 4.0)
    flip: float = 0.3
    drop: float = 0.3
    noise: float = 0.3
    snr_db_range: tuple[float, float] = (10.0, 35.0)
    chunk_swap: float = 0.3


def _with_channels(row: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    out = {**row, **fields}
    validate_example(out)
    return out


def jitter_rate(row: Mapping[str, Any], rng: np.random.Generator, factors: tuple[float, ...] = RATE_FACTORS) -> dict:
    """Every channel resampled to its rate x one factor drawn from ``factors`` (the same for all channels, so they
    stay synchronous); the new rates are declared and the duration is kept (never a sample longer). Channels
    that would fall below :data:`MIN_RATE_HZ` keep their rate."""
    factor = float(rng.choice(factors))
    rates, signals = [], []
    for signal, rate in zip(row["signals"], row["sampling_rate"]):
        rate = float(rate)
        new_rate = rate * factor if rate * factor >= MIN_RATE_HZ else rate
        x = np.asarray(signal, dtype=np.float32)
        y = resample(x, rate, new_rate)[: int(x.size * new_rate / rate)]
        signals.append(y.astype(np.float32))
        rates.append(new_rate)
    return _with_channels(row, signals=signals, sampling_rate=rates)


def scale_and_flip(
    row: Mapping[str, Any], rng: np.random.Generator, gain_range: tuple[float, float], flip_prob: float
) -> dict:
    """Per channel: a log-uniform gain, an offset of up to one standard deviation, and a sign flip with
    ``flip_prob`` where the modality's sign is arbitrary (:data:`FLIPPABLE`)."""
    signals = []
    for signal, kind in zip(row["signals"], row["channel_types"]):
        x = np.asarray(signal, dtype=np.float32)
        gain = float(np.exp(rng.uniform(np.log(gain_range[0]), np.log(gain_range[1]))))
        if kind in FLIPPABLE and rng.random() < flip_prob:
            gain = -gain
        offset = float(rng.normal(0.0, 1.0) * (np.std(x) if x.size else 0.0))
        signals.append((x * gain + offset).astype(np.float32))
    return _with_channels(row, signals=signals)


def drop_channels(row: Mapping[str, Any], rng: np.random.Generator) -> dict:
    """A random non-empty proper subset of the channels (unchanged when the row has one channel)."""
    count = len(row["signals"])
    if count < 2:
        return dict(row)
    keep = np.sort(rng.choice(count, size=int(rng.integers(1, count)), replace=False))
    pick = lambda values: [values[i] for i in keep]  # noqa: E731
    fields = ("signals", "sampling_rate", "channel_types", "channel_names")
    return _with_channels(row, **{name: pick(row[name]) for name in fields})


def add_sensor_noise(row: Mapping[str, Any], rng: np.random.Generator, snr_db_range: tuple[float, float]) -> dict:
    """Per channel, white noise (plus 50 or 60 Hz hum on :data:`ELECTRICAL` channels when the rate allows) at a
    signal-to-noise ratio drawn from ``snr_db_range``. The row's noise labels (``noise_level``, class ``noise``)
    no longer hold and are dropped; every other label does."""
    mains = 50.0 if rng.random() < 0.5 else 60.0
    signals = []
    for signal, rate, kind in zip(row["signals"], row["sampling_rate"], row["channel_types"]):
        x = np.asarray(signal, dtype=np.float32)
        power = float(np.var(x)) if x.size else 0.0
        noise_power = power / 10 ** (rng.uniform(*snr_db_range) / 10)
        noise = rng.normal(0.0, 1.0, size=x.shape)
        if kind in ELECTRICAL and float(rate) > 2 * mains:
            t = np.arange(x.size) / float(rate)
            noise = noise + 2.0 * np.sin(2 * np.pi * mains * t + rng.uniform(0, 2 * np.pi))
        noise *= np.sqrt(noise_power / max(float(np.var(noise)), 1e-12))
        signals.append((x + noise).astype(np.float32))
    numeric = [entry for entry in row.get("numeric_labels", []) if entry["name"] not in NOISE_LABELS]
    classes = [entry for entry in row.get("class_labels", []) if entry["name"] not in NOISE_LABELS]
    return _with_channels(row, signals=signals, numeric_labels=numeric, class_labels=classes)


def physiological_augment(
    row: Mapping[str, Any], rng: np.random.Generator, probabilities: AugmentProbabilities | None = None
) -> dict:
    """Each transform of this module with its probability, in a fixed order (chunk swap, channel dropout, rate
    jitter, amplitude / polarity, noise): ``f(row, rng) -> row`` as the collator's ``augment`` expects."""
    p = probabilities or AugmentProbabilities()
    out: dict[str, Any] = dict(row)
    if rng.random() < p.chunk_swap:
        out = chunk_swap_example(out, rng, (2, 6), id_suffix="")
    if rng.random() < p.drop:
        out = drop_channels(out, rng)
    if rng.random() < p.rate:
        out = jitter_rate(out, rng, p.rate_factors)
    if rng.random() < p.amplitude:
        out = scale_and_flip(out, rng, p.gain_range, p.flip)
    if rng.random() < p.noise:
        out = add_sensor_noise(out, rng, p.snr_db_range)
    return out
