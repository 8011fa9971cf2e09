"""Recordings of any length as chunks: arrays, memory-mapped ``.npy`` files and signal files.

A timeline must not hold a day of signal (and its copies) in memory. Signal files are opened with
:func:`normwear_hf.io_streams.open_signal_file`, whose channels read from disk only the chunk they are sliced for
(``.npy`` memory-mapped; EDF, WFDB, CSV and Parquet in records or blocks of rows; ``.npz`` is loaded whole); numpy
arrays (including ``np.memmap``) and lists of channels are sliced, never copied whole.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .feature_extraction_normwear import CHANNEL_TYPES, _is_tensor
from .io_readers import SignalRecording
from .io_streams import open_signal_file


class RecordingSource(SignalRecording):
    """A :class:`~normwear_hf.io_readers.SignalRecording` whose channels may be arrays or memory maps, sliced
    lazily a chunk at a time."""

    def chunks(self, seconds: float) -> Iterator[list[np.ndarray]]:
        """Consecutive pieces of ``seconds`` of every channel (float64 copies of just that piece)."""
        lengths = [len(channel) for channel in self.signals]
        steps = math.ceil(max(n / rate for n, rate in zip(lengths, self.sampling_rate)) / seconds)
        for step in range(steps):
            yield [
                np.asarray(channel[_index(step, seconds, rate, n) : _index(step + 1, seconds, rate, n)], np.float64)
                for channel, rate, n in zip(self.signals, self.sampling_rate, lengths)
            ]


def _index(step: int, seconds: float, rate: float, length: int) -> int:
    return min(length, int(round(step * seconds * rate)))


def _rates(sampling_rate: Any, count: int, where: str) -> list[float]:
    if sampling_rate is None:
        raise ValueError(f"{where}: sampling_rate is required (Hz, one number or one per channel).")
    values = list(sampling_rate) if isinstance(sampling_rate, (list, tuple, np.ndarray)) else [sampling_rate]
    try:
        rates = [float(value) for value in values]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: sampling_rate must be numbers in Hz, got {sampling_rate!r}.") from None
    if not rates or not all(math.isfinite(rate) and rate > 0 for rate in rates):
        raise ValueError(f"{where}: sampling rates must be positive, finite numbers of Hz, got {sampling_rate!r}.")
    if len(rates) == 1:
        return rates * count
    if len(rates) != count:
        raise ValueError(f"{where}: {len(rates)} sampling rates for {count} channels; give one, or one per channel.")
    return rates


def _labels(values: Any, count: int, name: str, allowed: Sequence[str] | None = None) -> list | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [part.strip() for part in values.split(",")]
    values = list(values)
    if len(values) != count:
        raise ValueError(f"{name} has {len(values)} entries for {count} channels; give one per channel.")
    if allowed is not None:
        values = [None if value is None else str(value).lower() for value in values]
        unknown = [value for value in values if value is not None and value not in allowed]
        if unknown:
            raise ValueError(f"unknown channel type(s) {unknown}; choose from {', '.join(allowed)}.")
    return values


def _array_channels(array: np.ndarray, where: str) -> list[np.ndarray]:
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{where}: expected real numbers, got an array of dtype {array.dtype}.")
    if array.ndim == 1:
        return [array]
    if array.ndim != 2:
        raise ValueError(f"{where}: a recording is [channels, time] or [time], got shape {array.shape}.")
    if array.shape[0] > array.shape[1]:
        raise ValueError(
            f"{where}: shape {array.shape} has more channels than samples; it looks like [time, channels]. "
            "Pass it transposed (array.T)."
        )
    return [array[c] for c in range(array.shape[0])]


def open_recording(
    recording: Any,
    sampling_rate: Any = None,
    channel_types: Any = None,
    channel_names: Any = None,
) -> RecordingSource:
    """A :class:`RecordingSource` for an array ``[C, T]`` / ``[T]``, a list of 1-D channels (rates may differ), a
    tensor, or a path to a signal file (``.npy`` is memory-mapped; it needs ``sampling_rate``)."""
    if isinstance(recording, (str, os.PathLike)):
        return _open_file(Path(recording), sampling_rate, channel_types, channel_names)
    where = "the recording"
    if _is_tensor(recording):
        recording = recording.detach().cpu().numpy()
    if isinstance(recording, np.ndarray):
        channels = _array_channels(recording, where)
    elif isinstance(recording, (list, tuple)) and recording and all(np.ndim(ch) == 1 for ch in recording):
        channels = [np.asarray(ch) for ch in recording]
        for c, channel in enumerate(channels):
            if channel.dtype.kind not in "biuf":
                raise ValueError(f"{where}, channel {c}: expected real numbers, got dtype {channel.dtype}.")
    else:
        raise ValueError(
            f"{where}: pass an array [channels, time] or [time], a list of 1-D channels, or a file path; "
            f"got {type(recording).__name__}."
        )
    count = len(channels)
    names = _labels(channel_names, count, "channel_names") or [f"channel {c}" for c in range(count)]
    types = _labels(channel_types, count, "channel_types", CHANNEL_TYPES) or [None] * count
    return RecordingSource(channels, _rates(sampling_rate, count, where), types, [str(n) for n in names], "array")


def _open_file(path: Path, sampling_rate: Any, channel_types: Any, channel_names: Any) -> RecordingSource:
    read = open_signal_file(path, sampling_rate=sampling_rate, channel_types=channel_types)
    names = _labels(channel_names, len(read.signals), "channel_names") or read.channel_names
    return RecordingSource(read.signals, read.sampling_rate, read.channel_types, names, str(read.source))
