"""Baseline features for the linear probes: 16 statistics per channel, the raw signal, and MiniRocket.

All take schema rows (see :mod:`normwear_hf.data.schema`) and return ``float64`` arrays ``[n_rows, n_features]``
with the channels concatenated in row order, so every row must have the same number of channels (a
``ValueError`` says which row does not). Missing samples (NaN) are filled by linear interpolation first.

Statistical features (:data:`STATISTICAL_FEATURES`, 16 per channel, in this order)
-----------------------------------------------------------------------------------
``mean``, ``std`` (population, ddof 0), ``min``, ``max``, ``median``, ``q05``, ``q25``, ``q75``, ``q95``
(linear-interpolated quantiles), ``skewness`` (biased Fisher-Pearson, ``m3 / m2**1.5``), ``kurtosis`` (biased
excess, ``m4 / m2**2 - 3``; both 0 for a constant channel), ``rms`` (``sqrt(mean(x**2))``),
``mean_abs_diff`` (``mean(|x[t+1] - x[t]|)``), ``mean_crossing_rate`` (sign changes of ``x - mean`` per
second; a sine of f Hz gives 2 f), ``dominant_frequency`` (Hz, the largest non-DC bin of the periodogram of
``x - mean``) and ``spectral_entropy`` (Shannon entropy of the normalised non-DC periodogram divided by the log
of the number of bins: 0 for a pure tone on a bin, 1 for flat white power).

The paper computes its statistics on the signal as recorded. Here every channel is first resampled to the
model rate (65 Hz, ``target_rate``), because tasks mix device rates (synthetic rows come at 25-1000 Hz) and
``mean_abs_diff`` depends on the rate; ``target_rate=None`` keeps the native rate. Finally each feature goes
through the signed log transform ``sign(x) * log1p(|x|)`` (as the paper), which tames units and heavy tails
for a linear model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..signal_processing import TARGET_SAMPLING_RATE, resample

__all__ = [
    "STATISTICAL_FEATURES",
    "channel_count",
    "minirocket_features",
    "raw_signal_features",
    "signed_log1p",
    "statistical_features",
    "statistical_feature_names",
]

STATISTICAL_FEATURES: tuple[str, ...] = (
    "mean",
    "std",
    "min",
    "max",
    "median",
    "q05",
    "q25",
    "q75",
    "q95",
    "skewness",
    "kurtosis",
    "rms",
    "mean_abs_diff",
    "mean_crossing_rate",
    "dominant_frequency",
    "spectral_entropy",
)

Rows = Sequence[Mapping[str, Any]]


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``, elementwise."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.log1p(np.abs(x))


def channel_count(rows: Rows) -> int:
    """The number of channels shared by all rows; ``ValueError`` naming the first row that differs."""
    if len(rows) == 0:
        raise ValueError("no rows given.")
    count = len(rows[0]["signals"])
    for index, row in enumerate(rows):
        if len(row["signals"]) != count:
            raise ValueError(
                f"row {index} ({row.get('recording_id', '?')!r}) has {len(row['signals'])} channels, row 0 has "
                f"{count}; baseline features concatenate channels, so every row needs the same channels."
            )
    return count


def _fill_nan(x: np.ndarray) -> np.ndarray:
    missing = np.isnan(x)
    if not missing.any():
        return x
    if missing.all():
        return np.zeros_like(x)
    positions = np.arange(x.size)
    x = x.copy()
    x[missing] = np.interp(positions[missing], positions[~missing], x[~missing])
    return x


def _channels(row: Mapping[str, Any], target_rate: float | None) -> list[tuple[np.ndarray, float]]:
    """Each channel of a row as float64 (NaN filled), resampled to ``target_rate`` unless it is ``None``."""
    out = []
    for signal, rate in zip(row["signals"], row["sampling_rate"]):
        x = _fill_nan(np.asarray(signal, dtype=np.float64).reshape(-1))
        rate = float(rate)
        if target_rate is not None and rate != target_rate:
            x = resample(x, rate, target_rate)
            rate = float(target_rate)
        out.append((x, rate))
    return out


def _channel_statistics(x: np.ndarray, rate: float) -> np.ndarray:
    mean = float(np.mean(x))
    centred = x - mean
    m2 = float(np.mean(centred**2))
    std = np.sqrt(m2)
    if m2 > 1e-24 * max(1.0, mean**2):
        skewness = float(np.mean(centred**3)) / m2**1.5
        kurtosis = float(np.mean(centred**4)) / m2**2 - 3.0
    else:
        skewness = kurtosis = 0.0
    q05, q25, median, q75, q95 = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    diffs = np.diff(x)
    mean_abs_diff = float(np.mean(np.abs(diffs))) if diffs.size else 0.0
    signs = np.sign(centred)
    crossings = int(np.count_nonzero(signs[1:] * signs[:-1] < 0))
    crossing_rate = crossings / (x.size / rate)
    power = np.abs(np.fft.rfft(centred)) ** 2
    power = power[1:]  # drop DC
    total = float(power.sum())
    if power.size and total > 0:
        dominant = (int(np.argmax(power)) + 1) * rate / x.size
        p = power / total
        nonzero = p[p > 0]
        entropy = float(-(nonzero * np.log(nonzero)).sum() / np.log(power.size)) if power.size > 1 else 0.0
    else:
        dominant = entropy = 0.0
    return np.array(
        [
            mean,
            std,
            float(np.min(x)),
            float(np.max(x)),
            median,
            q05,
            q25,
            q75,
            q95,
            skewness,
            kurtosis,
            float(np.sqrt(np.mean(x**2))),
            mean_abs_diff,
            crossing_rate,
            dominant,
            entropy,
        ],
        dtype=np.float64,
    )


def statistical_features(
    rows: Rows, target_rate: float | None = TARGET_SAMPLING_RATE, log_transform: bool = True
) -> np.ndarray:
    """The 16 :data:`STATISTICAL_FEATURES` of every channel, ``[n_rows, 16 * n_channels]`` (channel-major).

    Channels are resampled to ``target_rate`` Hz first (``None``: native rate) and the features go through
    :func:`signed_log1p` unless ``log_transform=False``.
    """
    n_channels = channel_count(rows)
    out = np.empty((len(rows), len(STATISTICAL_FEATURES) * n_channels), dtype=np.float64)
    for index, row in enumerate(rows):
        out[index] = np.concatenate([_channel_statistics(x, rate) for x, rate in _channels(row, target_rate)])
    return signed_log1p(out) if log_transform else out


def statistical_feature_names(channel_names: Sequence[str]) -> list[str]:
    """Column names of :func:`statistical_features`: ``"<channel>/<feature>"``."""
    return [f"{channel}/{feature}" for channel in channel_names for feature in STATISTICAL_FEATURES]


def _fit_length(x: np.ndarray, length: int, mode: str) -> np.ndarray:
    if x.size >= length:
        return x[:length]
    if mode == "edge" and x.size:
        return np.pad(x, (0, length - x.size), mode="edge")
    return np.pad(x, (0, length - x.size))


def _zscore(x: np.ndarray) -> np.ndarray:
    std = float(np.std(x))
    return (x - np.mean(x)) / std if std > 1e-12 else np.zeros_like(x)


def raw_signal_features(rows: Rows, length: int = 390) -> np.ndarray:
    """Raw signals for a linear model, ``[n_rows, length * n_channels]``.

    Each channel is resampled to 65 Hz, cut to its first ``length`` samples, z-scored over those samples (a
    constant channel becomes zeros), then zero-padded to ``length`` (zero is the channel's mean after
    z-scoring); channels are concatenated in order.
    """
    if length < 1:
        raise ValueError(f"length must be positive, got {length}.")
    n_channels = channel_count(rows)
    out = np.zeros((len(rows), n_channels * length), dtype=np.float64)
    for index, row in enumerate(rows):
        pieces = [_fit_length(_zscore(x[:length]), length, "zero") for x, _ in _channels(row, TARGET_SAMPLING_RATE)]
        out[index] = np.concatenate(pieces)
    return out


def _panel(channels: Sequence[Sequence[np.ndarray]], length: int) -> np.ndarray:
    """``[n_rows, n_channels, length]`` from per-row channel lists, cut or padded by repeating the last sample."""
    panel = np.zeros((len(channels), len(channels[0]), length), dtype=np.float64)
    for index, row in enumerate(channels):
        for channel, x in enumerate(row):
            panel[index, channel] = _fit_length(x, length, "edge")
    return panel


def minirocket_features(
    train_rows: Rows,
    test_rows: Rows,
    seed: int = 0,
    n_kernels: int = 10_000,
    length: int | None = None,
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """MiniRocket features (aeon), fitted on the training rows: ``(train_X, test_X)``.

    Channels are resampled to 65 Hz and brought to one length (``length``, default: the longest training
    channel, at least 9 samples as MiniRocket needs) by cutting, or padding with the last sample (no
    artificial step for signals with an offset such as gravity). Train and test must have the same channels.
    About ``n_kernels`` features (aeon rounds to a multiple of 84). Raises ``ImportError`` naming
    ``pip install aeon`` when aeon is absent.
    """
    try:
        # numba's default OpenMP threads keep spinning after MiniRocket returns and starve torch's own threads:
        # training in the same process then ran about 8x slower (measured). The work-queue layer does not spin.
        os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError as error:
        raise ImportError(
            "minirocket_features needs aeon (MiniRocket): pip install aeon (or the [bench] extra)"
        ) from error
    n_channels = channel_count(train_rows)
    if channel_count(test_rows) != n_channels:
        raise ValueError(
            f"train rows have {n_channels} channels and test rows {channel_count(test_rows)}; they must match."
        )
    train = [[x for x, _ in _channels(row, TARGET_SAMPLING_RATE)] for row in train_rows]
    test = [[x for x, _ in _channels(row, TARGET_SAMPLING_RATE)] for row in test_rows]
    if length is None:
        length = max(x.size for row in train for x in row)
    length = max(int(length), 9)
    transform = MiniRocket(n_kernels=n_kernels, random_state=seed, n_jobs=n_jobs)
    train_X = transform.fit_transform(_panel(train, length))
    test_X = transform.transform(_panel(test, length))
    return np.asarray(train_X, dtype=np.float64), np.asarray(test_X, dtype=np.float64)
