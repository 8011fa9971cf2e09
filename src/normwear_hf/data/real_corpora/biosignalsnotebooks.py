"""biosignalsnotebooks: the OpenSignals HDF5 recordings (biosignalsplux / BITalino) in the package's notebook
files, raw ADC counts, mostly at 1000 Hz."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..schema import make_example
from .packages import DATA_PACKAGES, log_skip

logger = logging.getLogger(__name__)


OPENSIGNALS_TYPES: dict[str, str] = {
    "ECG": "ecg",
    "EEG": "eeg",
    "EMG": "emg",
    "BVP": "ppg",
    "PPG": "ppg",
    # Raw red / infrared intensities of the finger / head SpO2 sensor: pulsatile PPG waveforms at 1000 Hz.
    "FSPO2": "ppg",
    "HSPO2": "ppg",
    "SPO2": "ppg",
    "EDA": "eda",
    "EDABITREV": "eda",
    "GSR": "eda",
    "RESPIRATION": "resp",
    "RESP": "resp",
    "PZT": "resp",
    "RIP": "resp",
    "TEMP": "temp",
    "TEMPERATURE": "temp",
    "XYZ": "acc",
    "ACC": "acc",
    "CACC": "acc",
    "ACCBITREV": "acc",
}
OPENSIGNALS_SKIPPED: dict[str, str] = {
    "MICRO": "microphone (auditory stimulus / synchronisation sound), not a physiological signal",
    "LUX": "light sensor used for synchronisation, not a physiological signal",
    "GONIO": "goniometer (joint angle), outside the modality vocabulary",
    "FORCEPLATFORM": "force platform (not worn), not a physiological signal",
    "RAW": "generic input whose sensor type is not documented",
}
MIN_RATE_HZ: dict[str, float] = {"ecg": 50.0, "eeg": 50.0, "emg": 50.0, "pcg": 50.0}
"""Below these rates a fast biopotential is aliased (e.g. the package's 10 Hz ECG / EMG demonstrations)."""
MARKER_TYPES = frozenset({"ecg", "eeg", "emg", "ppg"})
MARKER_MAX_DISTINCT = 200
"""A >= 12-bit ECG / EEG / EMG / PPG channel with fewer distinct ADC values than this over the whole recording is
an event marker or an unconnected input (the second 'EEG' input of several eeg_sample_* files)."""
MAX_LEADING_DROPOUT = 0.01


def _opensignals_info_types(info: Mapping[str, Any]) -> list[str]:
    text = str(info.get("Signal Type", ""))
    return [part.strip() for part in text.split(",") if part.strip()]


def _leading_dropout(channels: list[np.ndarray]) -> int:
    """Samples of exact zeros at the start of channels that otherwise never read zero (SpO2 start-up)."""
    longest = 0
    for values in channels:
        nonzero = np.flatnonzero(values != 0)
        if nonzero.size == 0:
            continue
        first = int(nonzero[0])
        if 0 < first <= MAX_LEADING_DROPOUT * values.size and np.median(values) != 0:
            longest = max(longest, first)
    return longest


def _skip_reason(sensor: str, kind: str | None, rate: float, values: np.ndarray, resolution: int) -> str | None:
    """Why a channel is left out (``None``: kept): not a physiological sensor, aliased, constant, or a marker."""
    if kind is None:
        return OPENSIGNALS_SKIPPED.get(sensor.upper(), f"unknown sensor type {sensor!r}")
    if rate < MIN_RATE_HZ.get(kind, 0.0):
        return f"{kind} at {rate:g} Hz is aliased (< {MIN_RATE_HZ[kind]:g} Hz)"
    distinct = np.unique(values).size
    if distinct <= 1:
        return "constant channel"
    if kind in MARKER_TYPES and resolution >= 12 and distinct < MARKER_MAX_DISTINCT:
        return f"only {distinct} distinct values: a marker or unconnected input"
    return None


def load_biosignalsnotebooks(root: Path) -> Iterator[dict[str, Any]]:
    """One row per device of every OpenSignals ``.h5`` file (multi-hub files hold several devices).

    Sensor type: the channel's ``sensor`` attribute, or (when that is ``RAW``) the matching entry of the
    ``Signal Type`` list in the file's ``*_info.json``. Skipped and logged: nSeq counters and digital I/O,
    non-physiological sensors (:data:`OPENSIGNALS_SKIPPED`), channels below :data:`MIN_RATE_HZ`, marker-like
    channels, constant channels, and channels whose samples repeat an earlier file (three files are copies).
    """
    import h5py

    source = "biosignalsnotebooks"
    folder = root / DATA_PACKAGES[source].data_path
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.h5")):
        info_path = path.with_name(path.stem + "_info.json")
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        info_types = _opensignals_info_types(info)
        with h5py.File(path, "r") as handle:
            devices = sorted(handle)
            total_channels = sum(len(handle[device].attrs["channels"]) for device in devices)
            position = 0
            for device in devices:
                group = handle[device]
                attrs = group.attrs
                rate = float(attrs["sampling rate"])
                numbers = [int(n) for n in attrs["channels"]]
                resolutions = [int(r) for r in attrs["resolution"]]
                if "digital" in group and len(group["digital"]):
                    logger.debug("%s: skipped %s/%s digital I/O channel(s)", source, path.stem, device)
                recording = f"{path.stem}/{device}"
                kept: list[tuple[np.ndarray, str, str]] = []
                for number in numbers:
                    position += 1
                    dataset = group["raw"][f"channel_{number}"]
                    label = str(dataset.attrs.get("label", f"channel_{number}"))
                    sensor = str(dataset.attrs.get("sensor", "RAW"))
                    if sensor.upper() == "RAW" and info_types:
                        if len(info_types) == total_channels:
                            sensor = info_types[position - 1]
                        elif len(info_types) == 1:
                            sensor = info_types[0]
                    values = np.asarray(dataset[()], dtype=np.float64).reshape(-1)
                    name = f"{sensor} {label}"
                    digest = hashlib.sha1(values.tobytes()).hexdigest()
                    if digest in seen:
                        log_skip(source, recording, name, f"same samples as {seen[digest]}")
                        continue
                    seen[digest] = f"{recording}/{label}"
                    kind = OPENSIGNALS_TYPES.get(sensor.upper())
                    resolution = resolutions[numbers.index(number)] if len(resolutions) == len(numbers) else 0
                    reason = _skip_reason(sensor, kind, rate, values, resolution)
                    if reason is not None:
                        log_skip(source, recording, name, reason)
                        continue
                    kept.append((values, kind, name))
                if not kept:
                    continue
                channels = [values for values, _, _ in kept]
                offset = _leading_dropout(channels)
                if offset:
                    logger.info(
                        "%s: %s: trimmed %d leading zero sample(s) (sensor start-up)", source, recording, offset
                    )
                yield make_example(
                    [values[offset:] for values in channels],
                    rate,
                    [kind for _, kind, _ in kept],
                    recording_id=f"{source}/{recording}",
                    source=source,
                    channel_names=[name for _, _, name in kept],
                    start_s=offset / rate,
                )
