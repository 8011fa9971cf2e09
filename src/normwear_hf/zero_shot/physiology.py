"""Small measurements of physiology from raw channels, so that real segments can be captioned like synthetic ones.

Synthetic segments know their physiology; real ones have to be measured. Each function takes one channel (or the
accelerometer axes) with its sampling rate and returns a number, or ``None``/an empty array when the channel does
not support the measurement (too short, no clear peak): a caption is better missing than wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import signal as scipy_signal

#: Physiological bands (Hz) that the spectral measurements search.
HEART_BAND_HZ = (0.6, 3.3)  # 36-200 bpm
BREATH_BAND_HZ = (0.1, 0.75)  # 6-45 breaths/min
STEP_BAND_HZ = (1.2, 3.4)  # 72-204 steps/min
MIN_SECONDS = 4.0


def _bandpass(x: np.ndarray, fs: float, low: float, high: float) -> np.ndarray:
    high = min(high, 0.45 * fs)
    sos = scipy_signal.butter(2, [low, high], btype="bandpass", fs=fs, output="sos")
    return scipy_signal.sosfiltfilt(sos, x - np.mean(x))


def beat_times(x: np.ndarray, fs: float, kind: str = "ecg") -> np.ndarray:
    """Beat times (s) from R-peaks of an ECG or pulse peaks of a PPG, with ``scipy.signal.find_peaks``.

    ECG polarity differs with the lead, so the band-passed QRS energy (squared derivative) is searched rather than
    the raw signal; PPG is band-passed to the heart band and its systolic peaks are taken.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size < MIN_SECONDS * fs or not np.isfinite(x).all() or np.std(x) == 0:
        return np.empty(0)
    if kind == "ecg":
        qrs = _bandpass(x, fs, 5.0, 30.0)
        energy = np.convolve(np.gradient(qrs) ** 2, np.ones(max(1, int(0.08 * fs))), mode="same")
        peaks, _ = scipy_signal.find_peaks(energy, distance=int(0.3 * fs), height=0.3 * np.percentile(energy, 99))
    elif kind == "ppg":
        pulse = _bandpass(x, fs, *HEART_BAND_HZ)
        peaks, _ = scipy_signal.find_peaks(pulse, distance=int(0.3 * fs), prominence=0.3 * np.std(pulse))
    else:
        raise ValueError(f"beat_times needs kind 'ecg' or 'ppg', got {kind!r}.")
    return peaks / fs


def heart_rate_bpm(beats: np.ndarray) -> float | None:
    """Mean heart rate (bpm): 60 over the median beat interval (robust to one missed or extra beat)."""
    intervals = np.diff(beats)
    return None if intervals.size < 2 else float(60.0 / np.median(intervals))


def rmssd_ms(beats: np.ndarray) -> float | None:
    """Root mean square of successive beat-interval differences (ms), the usual short-term HRV index."""
    intervals = np.diff(beats)
    return None if intervals.size < 3 else float(np.sqrt(np.mean(np.diff(intervals) ** 2)) * 1000.0)


def interval_variation(times: np.ndarray) -> float | None:
    """Coefficient of variation of the intervals between events (beats, breaths): rhythm (ir)regularity."""
    intervals = np.diff(times)
    return None if intervals.size < 3 else float(np.std(intervals) / np.mean(intervals))


def heart_rate_change_bpm(beats: np.ndarray) -> float | None:
    """How much the heart rate rises (+) or falls (-) across the window (bpm): a line through instantaneous rates."""
    intervals = np.diff(beats)
    if intervals.size < 4:
        return None
    slope = np.polyfit(beats[1:], 60.0 / intervals, 1)[0]
    return float(slope * (beats[-1] - beats[1]))


def _spectral_peak_hz(x: np.ndarray, fs: float, band: tuple[float, float], min_share: float) -> float | None:
    """The frequency of the largest spectral peak in ``band`` if it holds ``min_share`` of the band's power."""
    x = np.asarray(x, dtype=np.float64)
    if x.size < MIN_SECONDS * fs or np.std(x) == 0:
        return None
    x = (x - np.mean(x)) * np.hanning(x.size)
    size = max(x.size, int(fs * 120))  # zero-padding: 0.5 per minute resolution
    power = np.abs(np.fft.rfft(x, n=size)) ** 2
    freqs = np.fft.rfftfreq(size, 1.0 / fs)
    inside = (freqs >= band[0]) & (freqs <= band[1])
    if not inside.any() or power[inside].sum() == 0:
        return None
    peak = np.argmax(np.where(inside, power, 0.0))
    near = inside & (np.abs(freqs - freqs[peak]) <= 0.05)
    return float(freqs[peak]) if power[near].sum() >= min_share * power[inside].sum() else None


def breathing_rate_bpm(x: np.ndarray, fs: float) -> float | None:
    """Breaths per minute: the dominant frequency of the respiration spectrum between 6 and 45 per minute."""
    peak = _spectral_peak_hz(x, fs, BREATH_BAND_HZ, min_share=0.2)
    return None if peak is None else 60.0 * peak


def breath_times(x: np.ndarray, fs: float) -> np.ndarray:
    """Breath (inhalation peak) times (s), spaced by at least 60 % of the dominant breathing period."""
    rate = breathing_rate_bpm(x, fs)
    if rate is None:
        return np.empty(0)
    smooth = _bandpass(np.asarray(x, dtype=np.float64), fs, *BREATH_BAND_HZ)
    peaks, _ = scipy_signal.find_peaks(smooth, distance=max(1, int(0.6 * 60.0 / rate * fs)))
    return peaks / fs


def acceleration_magnitude(axes: Sequence[np.ndarray]) -> np.ndarray:
    """The vector norm of three axes, or the one channel given (already a magnitude)."""
    axes = [np.asarray(a, dtype=np.float64) for a in axes]
    length = min(a.size for a in axes)
    return np.sqrt(sum(a[:length] ** 2 for a in axes)) if len(axes) > 1 else axes[0]


def movement_intensity(axes: Sequence[np.ndarray]) -> float:
    """The standard deviation of the acceleration magnitude (in the input's units, g for most wearables)."""
    return float(np.std(acceleration_magnitude(axes)))


def cadence_spm(axes: Sequence[np.ndarray], fs: float) -> float:
    """Steps per minute from the dominant frequency of the acceleration magnitude; 0 when no step rhythm shows."""
    peak = _spectral_peak_hz(acceleration_magnitude(axes), fs, STEP_BAND_HZ, min_share=0.25)
    return 0.0 if peak is None else 60.0 * peak


def scr_count(x: np.ndarray, fs: float, min_amplitude: float = 0.05) -> int:
    """Skin conductance responses: peaks of the low-passed EDA that rise at least ``min_amplitude`` (µS)."""
    x = np.asarray(x, dtype=np.float64)
    if fs > 4:
        sos = scipy_signal.butter(2, 1.0, btype="lowpass", fs=fs, output="sos")
        x = scipy_signal.sosfiltfilt(sos, x)
    peaks, _ = scipy_signal.find_peaks(x, prominence=min_amplitude, distance=max(1, int(1.0 * fs)))
    return int(peaks.size)


def out_of_band_fraction(x: np.ndarray, fs: float, band: tuple[float, float]) -> float:
    """The share of a channel's power (after removing its mean) outside ``band``: a simple signal-quality index."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / fs)
    total = power[1:].sum()
    if total == 0:
        return 0.0
    inside = (freqs >= band[0]) & (freqs <= band[1])
    return float(1.0 - power[inside].sum() / total)
