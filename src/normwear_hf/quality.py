"""Signal quality of model windows: a score in [0, 1] per window and channel, and masking of bad channels.

Long wearable recordings contain stretches where a sensor is off the skin, saturated or disconnected. Fed to the
model, such a channel still shares its [CLS] token with the clean ones at every fusion block and pulls the
recording's embedding towards noise. Scoring each channel window before the model and dropping the bad ones
through ``channel_mask`` keeps the clean channels' embedding what it would be without the bad channel (the model
never computes a masked channel, see ``NormWearModel.fold_inputs``).

Every check looks at one window of raw signal at the model rate (before detrending and normalisation, which would
hide flatlines and clipping) and gives a score in [0, 1] (1 = clean); a channel's quality is the lowest score:

* ``missing``: the fraction of samples that were NaN (gaps filled before resampling); 20% missing scores 0.5.
* ``clipping``: the fraction of samples at the window's 5th / 95th percentiles (an amplifier at its rails).
* ``flatline``: the fraction of steps that do not move (a disconnected lead, a stuck sensor); skipped for skin
  temperature, which is legitimately flat.
* ``spectrum``: the share of power above 20 Hz (broadband noise, electrode motion); skipped for EEG, EMG and
  PCG, whose content is legitimately broadband.
* ``heart_rate``: for ECG and PPG (``channel_types``), how periodic the window is at a heart rate of 30-210 bpm
  (the highest normalised autocorrelation at lags of 0.29-2 s); a window shorter than 4 s is not judged.

Only numpy is used: this runs on every window of a day-long recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CHECKS = ("missing", "clipping", "flatline", "spectrum", "heart_rate")  # ties name the earlier, more specific
#: Channels whose quality is below this are masked unless the caller passes another threshold (or None).
DEFAULT_QUALITY_THRESHOLD = 0.5
#: Channel types whose spectrum is broadband by nature (no ``spectrum`` check).
BROADBAND_TYPES = frozenset({"eeg", "emg", "pcg"})
#: Channel types that may legitimately not move for 6 s (no ``flatline`` check).
STEADY_TYPES = frozenset({"temp"})
#: Channel types with a heartbeat (``heart_rate`` check).
CARDIAC_TYPES = frozenset({"ecg", "ppg"})
HEART_RATE_BPM = (30.0, 210.0)
HIGH_FREQUENCY_HZ = 20.0

# Score ramps: (value where the score starts to fall from 1, value where it reaches 0).
_MISSING_RAMP = (0.0, 0.4)
_FLAT_RAMP = (0.3, 0.7)
_CLIP_RAMP = (0.25, 0.55)
_SPECTRUM_RAMP = (0.15, 0.45)
_PERIODIC_RAMP = (0.1, 0.5)  # rising: below 0.1 the score is 0, above 0.5 it is 1
_CLIP_BAND = 0.02  # a sample within 2% of the 5-95% range of either percentile is "at the rail"
_FLAT_STEP = 2e-3  # a step below this fraction of the peak |x| does not move (resampling ripple of a constant: 1e-3)


@dataclass
class QualityScores:
    """``score`` ``[K]`` (the lowest check) and ``checks`` name -> ``[K]`` for ``K`` channel windows."""

    score: np.ndarray
    checks: dict[str, np.ndarray]

    def problems(self, threshold: float) -> list[str]:
        """Per channel window: the name of its worst check if the score is below ``threshold``, else ``""``."""
        names = np.array(CHECKS)
        worst = names[np.argmin(np.stack([self.checks[name] for name in CHECKS]), axis=0)]
        return [str(name) if score < threshold else "" for name, score in zip(worst, self.score)]


def _falling(value: np.ndarray, ramp: tuple[float, float]) -> np.ndarray:
    low, high = ramp
    return np.clip(1.0 - (value - low) / (high - low), 0.0, 1.0)


def _rising(value: np.ndarray, ramp: tuple[float, float]) -> np.ndarray:
    low, high = ramp
    return np.clip((value - low) / (high - low), 0.0, 1.0)


def check_threshold(threshold: float | None) -> float | None:
    """``None`` (no masking) or a number in [0, 1]; anything else is a ValueError."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
        raise ValueError(f"quality_threshold must be a number in [0, 1] or None (no masking), got {threshold!r}.")
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"quality_threshold must be in [0, 1] (0 masks nothing), got {threshold!r}.")
    return float(threshold)


def _periodicity(x: np.ndarray, sampling_rate: float) -> np.ndarray:
    """Highest normalised autocorrelation ``[K]`` at heart-beat lags (0.29-2 s) of ``x`` ``[K, L]``."""
    length = x.shape[-1]
    low_lag = int(np.floor(sampling_rate * 60.0 / HEART_RATE_BPM[1]))
    high_lag = int(np.ceil(sampling_rate * 60.0 / HEART_RATE_BPM[0]))
    if length < 2 * high_lag:  # too short for two beats at the slowest rate (embed's last window): not judged
        return np.ones(x.shape[0])
    centred = x - x.mean(axis=-1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * length)))
    spectrum = np.fft.rfft(centred, n=size, axis=-1)
    autocorrelation = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=-1)[:, : high_lag + 1]
    energy = np.maximum(autocorrelation[:, :1], 1e-300)
    # unbiased: each lag's sum covers length - lag products
    overlap = (length - np.arange(high_lag + 1)) / length
    normalised = autocorrelation / energy / overlap
    return normalised[:, low_lag : high_lag + 1].max(axis=-1)


def channel_quality(
    windows: np.ndarray,
    sampling_rate: float,
    channel_types: Sequence[str | None] | None = None,
    missing_fraction: np.ndarray | None = None,
) -> QualityScores:
    """Quality of ``K`` channel windows ``[K, L]`` (raw signal at ``sampling_rate`` Hz, gaps already filled).

    Args:
        channel_types: one type (or None) per row; enables the heart-rate check for ECG / PPG and skips the
            spectrum check for broadband modalities.
        missing_fraction: ``[K]`` fraction of each window that was NaN before filling (default: none).
    """
    x = np.asarray(windows, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 3:
        raise ValueError(f"windows must be [K, L] with L >= 3 samples, got shape {x.shape}.")
    count = x.shape[0]
    types = [None] * count if channel_types is None else [None if t is None else str(t).lower() for t in channel_types]
    if len(types) != count:
        raise ValueError(f"channel_types has {len(types)} entries for {count} windows.")
    missing = np.zeros(count) if missing_fraction is None else np.clip(np.asarray(missing_fraction, float), 0, 1)

    peak = np.max(np.abs(x), axis=-1)
    steps = np.abs(np.diff(x, axis=-1))
    still = steps <= _FLAT_STEP * peak[:, None] + 1e-12
    flat_fraction = np.where([t in STEADY_TYPES for t in types], 0.0, still.mean(axis=-1))

    # rails are where many samples sit: the 5th / 95th percentiles, not the extremes (resampling overshoots them)
    low, high = np.percentile(x, [5, 95], axis=-1)
    band = _CLIP_BAND * (high - low)[:, None]
    at_rail = (np.abs(x - high[:, None]) <= band) | (np.abs(x - low[:, None]) <= band)
    clip_fraction = np.where(high - low > 0, at_rail.mean(axis=-1), 0.0)  # a constant window is a flatline

    centred = x - x.mean(axis=-1, keepdims=True)
    power = np.abs(np.fft.rfft(centred, axis=-1)) ** 2
    frequencies = np.fft.rfftfreq(x.shape[-1], d=1.0 / sampling_rate)
    total = power[:, 1:].sum(axis=-1)
    high_share = np.where(
        total > 0, power[:, frequencies >= HIGH_FREQUENCY_HZ].sum(axis=-1) / np.maximum(total, 1e-300), 0
    )
    spectrum = _falling(high_share, _SPECTRUM_RAMP)
    spectrum[[t in BROADBAND_TYPES for t in types]] = 1.0

    heart = np.ones(count)
    cardiac = np.array([t in CARDIAC_TYPES for t in types], dtype=bool)
    if cardiac.any():
        heart[cardiac] = _rising(_periodicity(x[cardiac], sampling_rate), _PERIODIC_RAMP)

    checks = {
        "missing": _falling(missing, _MISSING_RAMP),
        "clipping": _falling(clip_fraction, _CLIP_RAMP),
        "flatline": _falling(flat_fraction, _FLAT_RAMP),
        "spectrum": spectrum,
        "heart_rate": heart,
    }
    score = np.min(np.stack([checks[name] for name in CHECKS]), axis=0)
    return QualityScores(score=score, checks=checks)


def quality_mask(channel_mask: np.ndarray, quality: np.ndarray, threshold: float | None) -> np.ndarray:
    """``channel_mask`` ``[N, C]`` without the channels whose ``quality`` ``[N, C]`` is below ``threshold``.

    A window whose every real channel fails keeps its best one: the model needs one channel to run, and the
    window's quality (its best channel's score) says it is not to be trusted. ``threshold=None`` masks nothing.
    """
    mask = np.asarray(channel_mask).astype(bool)
    if threshold is None:
        return mask.astype(np.int64)
    keep = mask & (np.asarray(quality) >= threshold)
    empty = ~keep.any(axis=1) & mask.any(axis=1)
    if empty.any():
        best = np.argmax(np.where(mask, quality, -np.inf), axis=1)
        keep[np.flatnonzero(empty), best[empty]] = True
    return keep.astype(np.int64)


@dataclass
class WindowQuality:
    """Quality of ``N`` model windows of up to ``C`` channels, and the channel mask the model should get."""

    score: np.ndarray  # [N, C] in [0, 1]; 0 for padded channels
    channel_mask: np.ndarray  # [N, C] int64: the real channels that pass (see quality_mask)
    problems: list[list[str]]  # [N][C_n]: the failed check of each channel below the threshold, else ""


def score_windows(
    windows: Sequence[np.ndarray],
    sampling_rate: float,
    channel_mask: np.ndarray,
    threshold: float | None,
    channel_types: Sequence[Sequence[str | None] | None] | None = None,
    missing_fraction: Sequence[np.ndarray] | None = None,
) -> WindowQuality:
    """Score the channels of ``N`` model windows ``[C_n, L_n]`` and mask the bad ones: what a timeline and
    ``embed`` both do before the model, so that one rule decides which channels a window feeds the model.

    Args:
        windows: raw signal at the model rate (gaps filled, before cleaning); channel counts and lengths may differ.
        channel_mask: ``[N, C]`` real channels of the padded batch built from ``windows``.
        threshold: channels below it are masked; ``None`` scores them but masks nothing.
        channel_types: per window, one type (or None) per channel, or None.
        missing_fraction: per window ``[C_n]``, the fraction of each channel that was missing.
    """
    count, width = len(windows), np.asarray(channel_mask).shape[1]
    score = np.zeros((count, width))
    problems: list[list[str]] = [[] for _ in windows]
    by_length: dict[int, list[int]] = {}
    for index, window in enumerate(windows):
        by_length.setdefault(window.shape[1], []).append(index)
    for members in by_length.values():  # equal lengths are scored together
        sizes = [windows[i].shape[0] for i in members]
        types = None
        if channel_types is not None:
            types = [kind for i, size in zip(members, sizes) for kind in (channel_types[i] or [None] * size)]
        missing = None if missing_fraction is None else np.concatenate([missing_fraction[i] for i in members])
        checked = channel_quality(np.concatenate([windows[i] for i in members]), sampling_rate, types, missing)
        named = checked.problems(threshold if threshold is not None else -1.0)
        offset = 0
        for i, size in zip(members, sizes):
            score[i, :size] = checked.score[offset : offset + size]
            problems[i] = named[offset : offset + size]
            offset += size
    return WindowQuality(score, quality_mask(channel_mask, score, threshold), problems)
