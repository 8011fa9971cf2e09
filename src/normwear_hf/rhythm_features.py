"""A channel's rhythm as numbers: how periodic it is, at which period, and how evenly its beats are spaced.

Why this exists: the backbone sees a window as wavelet patches, which carry a beat's *shape* well and the beat
*count* poorly. A logistic probe on its tokens tells slow from fast heart rate at AUROC 0.97 on PPG but 0.77 on
ECG, and the zero-shot head answered ECG heart rate inverted on a beat shape it never saw (docs/benchmarks.md,
"the inversion, investigated"). The cleaning NormWear applies before the wavelets makes it worse on ECG: it
interpolates the 5% steepest sample-to-sample jumps, which in an ECG window are the R-wave's flanks. So the
zero-shot head also reads a short, fixed descriptor of each channel window, computed here from the window at
the model rate *before* that cleaning:

- for four views of the window (the detrended signal, its first difference, the difference's smoothed energy,
  which turns every QRS into one bump, and a 0.15 s low-pass), the normalised autocorrelation averaged in 24
  log-spaced lag bins from 0.15 s to 4.6 s: periodicity at every plausible beat or breath period;
- per view, the first autocorrelation peak that reaches 85% of the highest (the period, not a multiple of it)
  as log seconds, and its height (how regular);
- per view, peaks found at least 0.6 periods apart: log mean interval, interval coefficient of variation,
  RMSSD over the mean interval, and peaks per second.

Every number is invariant to the signal's units and offset, and all but the peak statistics to its sign; a flat
or too-short window gives zeros. It costs a few FFTs per channel window, next to the hundreds of the wavelet
transform. This file is copied next to saved models for ``trust_remote_code`` and into ONNX exports: numpy only
at import. Its two scipy steps (the peak finder and the Gaussian filter) are parameters, so the edge runtime
``normwear_onnx.py``, which must run without scipy, passes its bitwise-equal numpy versions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

try:  # the package's path; an ONNX export's runtime passes numpy versions of both and may have no scipy
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks
except ImportError:
    gaussian_filter1d = find_peaks = None

#: Edges (in samples at the model rate of 65 Hz) of the autocorrelation's lag bins: 0.15 s to 4.6 s, log-spaced.
#: They are samples, not seconds: an extractor with another model rate gives bins over other lags, which a head
#: trained at 65 Hz would misread (so would its backbone).
LAG_EDGES = np.unique(np.round(np.geomspace(10, 300, 25)).astype(int))
VIEWS = ("signal", "difference", "energy", "low_pass")
PER_VIEW = len(LAG_EDGES) - 1 + 6
RHYTHM_SIZE = len(VIEWS) * PER_VIEW
"""Length of one channel window's descriptor (``config.zero_shot_rhythm_size`` of a head that reads it)."""

_MIN_SAMPLES = 3 * int(LAG_EDGES[0])
_PEAK_SHARE = 0.85  # the first autocorrelation peak this close to the highest is the period, not a multiple
_ENERGY_SIGMA_SECONDS = 0.025
_LOW_PASS_SIGMA_SECONDS = 0.15
_MIN_LAG_SECONDS, _MAX_LAG_SECONDS = 0.25, 4.0

PeakFinder = Callable[..., np.ndarray]
"""``find_peaks(x, distance=None, height=None)`` -> peak indices, as ``scipy.signal.find_peaks(...)[0]``."""
Smoother = Callable[[np.ndarray, float], np.ndarray]
"""``smooth(x, sigma)`` -> ``x`` Gaussian-filtered along its last axis, as ``scipy.ndimage.gaussian_filter1d``."""


def scipy_find_peaks(x: np.ndarray, distance: int | None = None, height: float | None = None) -> np.ndarray:
    return find_peaks(x, distance=distance, height=height)[0]


def scipy_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter1d(x, sigma)


def _autocorrelations(views: np.ndarray) -> np.ndarray:
    """Biased autocorrelation of each centred row of ``views`` ``[V, n]``, 1 at lag 0 (the bias tapers long lags,
    which 6 s estimate poorly, and so prefers the period to its multiples); a row without variance gives zeros."""
    n = views.shape[-1]
    spectrum = np.fft.rfft(views - views.mean(axis=-1, keepdims=True), 2 * n, axis=-1)
    ac = np.fft.irfft(np.abs(spectrum) ** 2, 2 * n, axis=-1)[:, :n]
    zero = ac[:, :1] <= 0
    return np.where(zero, 0.0, ac / np.where(zero, 1.0, ac[:, :1]))


def _percentile_98(x: np.ndarray) -> float:
    """``np.percentile(x, 98)`` to the last bit (its linear method, from a partition), ten times faster on a window."""
    position = 0.98 * (len(x) - 1)
    low = int(np.floor(position))
    high, fraction = min(low + 1, len(x) - 1), position - low
    below, above = np.partition(x, [low, high])[[low, high]]
    step = above - below
    return float(above - step * (1 - fraction) if fraction >= 0.5 else below + step * fraction)


def _lag_bins(ac: np.ndarray) -> np.ndarray:
    """Mean autocorrelation in each lag bin of ``LAG_EDGES`` (bins past the window's end: 0), from one cumsum."""
    sums = np.concatenate(([0.0], np.cumsum(ac)))
    start, stop = np.minimum(LAG_EDGES[:-1], len(ac)), np.minimum(LAG_EDGES[1:], len(ac))
    return np.where(stop > start, (sums[stop] - sums[start]) / np.maximum(stop - start, 1), 0.0)


def _view_features(series: np.ndarray, ac: np.ndarray, rate: float, peak_finder: PeakFinder) -> np.ndarray:
    n = len(series)
    bins = _lag_bins(ac)
    low, high = int(_MIN_LAG_SECONDS * rate), min(n - 1, int(_MAX_LAG_SECONDS * rate))
    peaks = peak_finder(ac[low:high])
    if len(peaks):
        heights = ac[low:high][peaks]
        first = peaks[np.argmax(heights >= _PEAK_SHARE * heights.max())]
        period, height = (first + low) / rate, float(ac[first + low])
    else:
        period, height = high / rate, 0.0
    beats = peak_finder(series, distance=max(3, int(0.6 * period * rate)), height=0.3 * _percentile_98(series))
    spacing = [0.0, 0.0, 0.0, 0.0]
    if len(beats) >= 3:
        intervals = np.diff(beats) / rate
        mean = intervals.mean()
        rmssd = np.sqrt(np.mean(np.diff(intervals) ** 2)) if len(intervals) > 1 else 0.0
        spacing = [np.log(mean), intervals.std() / mean, rmssd / mean, len(beats) / (n / rate)]
    return np.asarray([*bins, np.log(period), height, *spacing], dtype=np.float32)


def rhythm_descriptor(
    window: np.ndarray,
    rate: float,
    peak_finder: PeakFinder = scipy_find_peaks,
    smoother: Smoother = scipy_smooth,
) -> np.ndarray:
    """Descriptor ``[RHYTHM_SIZE]`` of one channel window ``[l]`` at ``rate`` Hz (the model rate, before cleaning)."""
    if find_peaks is None and (peak_finder is scipy_find_peaks or smoother is scipy_smooth):
        raise ImportError(
            "rhythm_features needs scipy unless both peak_finder and smoother are given: pip install scipy."
        )
    x = np.asarray(window, dtype=np.float64)
    if len(x) < _MIN_SAMPLES or not np.all(np.isfinite(x)):
        return np.zeros(RHYTHM_SIZE, dtype=np.float32)
    t = np.arange(len(x)) - (len(x) - 1) / 2.0
    x = x - x.mean()
    x = x - (x @ t) / (t @ t) * t
    scale = np.mean(np.abs(x))
    if scale <= 1e-12 * max(1.0, float(np.max(np.abs(window)))):
        return np.zeros(RHYTHM_SIZE, dtype=np.float32)
    x = x / scale
    difference = np.diff(x, prepend=x[0])
    views = np.stack(
        [
            x,
            difference,
            smoother(difference**2, _ENERGY_SIGMA_SECONDS * rate),
            smoother(x, _LOW_PASS_SIGMA_SECONDS * rate),
        ]
    )
    features = [_view_features(*pair, rate, peak_finder) for pair in zip(views, _autocorrelations(views))]
    return np.concatenate(features)


def rhythm_values(
    windows: list[np.ndarray],
    rate: float,
    peak_finder: PeakFinder = scipy_find_peaks,
    smoother: Smoother = scipy_smooth,
) -> np.ndarray:
    """Descriptors of windows ``[C_i, l_i]`` -> ``[N, C_max, RHYTHM_SIZE]`` float32, zeros for padded channels."""
    widest = max((w.shape[0] for w in windows), default=0)
    out = np.zeros((len(windows), widest, RHYTHM_SIZE), dtype=np.float32)
    for row, window in enumerate(windows):
        for channel, series in enumerate(window):
            out[row, channel] = rhythm_descriptor(series, rate, peak_finder, smoother)
    return out


__all__ = [
    "LAG_EDGES",
    "RHYTHM_SIZE",
    "VIEWS",
    "rhythm_descriptor",
    "rhythm_values",
    "scipy_find_peaks",
    "scipy_smooth",
]
