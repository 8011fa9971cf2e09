"""The one `datasets` schema for wearable recordings: corpora, benchmark tasks and converters all use it.

A row is one recording (or one segment of a recording). Channels may differ in sampling rate and so in length.
Labels are open-ended: a row carries any number of named class labels (strings) and numeric targets (with
units), so one schema serves pretraining corpora (no labels), classification and regression tasks alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from datasets import Features, List, Value

from ..feature_extraction_normwear import CHANNEL_TYPES

WEARABLE_FEATURES = Features(
    {
        "recording_id": Value("string"),
        "source": Value("string"),
        "subject_id": Value("string"),
        "signals": List(List(Value("float32"))),
        "sampling_rate": List(Value("float64")),
        "channel_types": List(Value("string")),
        "channel_names": List(Value("string")),
        "start_s": Value("float64"),
        "class_labels": List({"name": Value("string"), "value": Value("string")}),
        "numeric_labels": List({"name": Value("string"), "value": Value("float64"), "unit": Value("string")}),
    }
)
"""Fields: ``signals`` ``[C][T_c]`` float32 in the sensor's units; ``sampling_rate`` per channel (Hz);
``channel_types`` from ``CHANNEL_TYPES``; ``subject_id`` ("" if unknown) drives subject-wise splits;
``source`` names the corpus; ``start_s`` is the segment's offset in its original recording."""

MIN_DURATION_S = 1.0


def make_example(
    signals: Sequence[Sequence[float]] | np.ndarray,
    sampling_rate: float | Sequence[float],
    channel_types: Sequence[str],
    *,
    recording_id: str,
    source: str,
    subject_id: str = "",
    channel_names: Sequence[str] | None = None,
    start_s: float = 0.0,
    class_labels: Mapping[str, str] | None = None,
    numeric_labels: Mapping[str, tuple[float, str] | float] | None = None,
) -> dict[str, Any]:
    """Build and validate one row. ``numeric_labels`` maps a name to ``(value, unit)`` or a bare value."""
    channels = [np.asarray(channel, dtype=np.float32).reshape(-1) for channel in signals]
    rates = [float(sampling_rate)] * len(channels) if np.isscalar(sampling_rate) else list(sampling_rate)
    numeric = []
    for name, entry in (numeric_labels or {}).items():
        value, unit = entry if isinstance(entry, tuple) else (entry, "")
        numeric.append({"name": str(name), "value": float(value), "unit": str(unit)})
    example = {
        "recording_id": str(recording_id),
        "source": str(source),
        "subject_id": str(subject_id),
        "signals": channels,
        "sampling_rate": [float(rate) for rate in rates],
        "channel_types": [str(kind) for kind in channel_types],
        "channel_names": [str(n) for n in channel_names] if channel_names is not None else list(channel_types),
        "start_s": float(start_s),
        "class_labels": [{"name": str(k), "value": str(v)} for k, v in (class_labels or {}).items()],
        "numeric_labels": numeric,
    }
    validate_example(example)
    return example


def validate_example(example: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the field and the recording when a row breaks the schema."""
    where = f"recording {example.get('recording_id', '?')!r} of source {example.get('source', '?')!r}"
    missing = [name for name in WEARABLE_FEATURES if name not in example]
    if missing:
        raise ValueError(f"{where}: missing fields {missing}; every row needs {list(WEARABLE_FEATURES)}.")
    signals, rates = example["signals"], example["sampling_rate"]
    types, names = example["channel_types"], example["channel_names"]
    if len(signals) == 0:
        raise ValueError(f"{where}: no channels; a row needs at least one signal.")
    for field, values in (("sampling_rate", rates), ("channel_types", types), ("channel_names", names)):
        if len(values) != len(signals):
            raise ValueError(f"{where}: {field} has {len(values)} entries for {len(signals)} channels.")
    for index, (channel, rate, kind) in enumerate(zip(signals, rates, types)):
        if not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"{where}: channel {index} has sampling rate {rate!r}; it must be a positive number.")
        if kind not in CHANNEL_TYPES:
            raise ValueError(f"{where}: channel {index} has type {kind!r}; use one of {CHANNEL_TYPES}.")
        values = np.asarray(channel, dtype=np.float64)
        if values.ndim != 1:
            raise ValueError(f"{where}: channel {index} must be one-dimensional, got shape {values.shape}.")
        duration = values.size / rate
        if duration < MIN_DURATION_S:
            raise ValueError(
                f"{where}: channel {index} lasts {duration:.2f} s, shorter than the {MIN_DURATION_S:g} s minimum."
            )
        if np.isinf(values).any():
            raise ValueError(f"{where}: channel {index} holds infinite values; store gaps as NaN instead.")
        if np.isnan(values).all():
            raise ValueError(f"{where}: channel {index} is entirely NaN; drop the channel.")
    for entry in example["numeric_labels"]:
        if not math.isfinite(entry["value"]):
            raise ValueError(f"{where}: numeric label {entry['name']!r} is {entry['value']!r}; it must be finite.")


def extractor_inputs(
    rows: Sequence[Mapping[str, Any]], dtype: type = np.float64
) -> tuple[list[list[np.ndarray]], list[list[float]], list[list[str]]]:
    """Schema rows -> the (signals, per-channel rates, channel types) lists the feature extractor takes."""
    signals = [[np.asarray(channel, dtype=dtype) for channel in row["signals"]] for row in rows]
    return signals, [list(row["sampling_rate"]) for row in rows], [list(row["channel_types"]) for row in rows]


def window_example(
    example: Mapping[str, Any],
    window_s: float = 6.0,
    hop_s: float | None = None,
    min_s: float | None = None,
) -> Iterator[dict[str, Any]]:
    """Cut a long row into segments of ``window_s`` seconds every ``hop_s`` (default: no overlap).

    Every channel is cut at the same times, so segments stay synchronous when channels differ in rate. A
    trailing piece shorter than ``min_s`` (default: the whole window) is dropped. Labels are copied to
    each segment; ``start_s`` and ``recording_id`` say where the segment came from.
    """
    hop_s = window_s if hop_s is None else hop_s
    min_s = window_s if min_s is None else min_s
    if window_s <= 0 or hop_s <= 0 or min_s <= 0:
        raise ValueError(f"window_s, hop_s and min_s must be positive, got {window_s}, {hop_s}, {min_s}.")
    rates = list(example["sampling_rate"])
    duration = min(len(channel) / rate for channel, rate in zip(example["signals"], rates))
    start, index = 0.0, 0
    while duration - start >= min_s - 1e-9:
        stop = min(start + window_s, duration)
        pieces = [
            np.asarray(channel, dtype=np.float32)[int(round(start * rate)) : int(round(stop * rate))]
            for channel, rate in zip(example["signals"], rates)
        ]
        yield {
            **example,
            "recording_id": f"{example['recording_id']}#{index}",
            "signals": pieces,
            "start_s": float(example["start_s"]) + start,
        }
        start += hop_s
        index += 1
