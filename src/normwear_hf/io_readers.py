"""Signal files for the command line: ``.npy``, ``.npz``, ``.csv``, ``.parquet``, ``.edf``, WFDB ``.hea``.

:func:`read_signal_file` returns a :class:`SignalRecording` (one array per channel, its rate, type and name).
``io_streams.open_signal_file`` reads the same files a chunk at a time, with the table layouts of ``io_tables``.
Rates and channel types given by the caller (``--sampling-rate``, ``--channel-types``) override what a file
says; channel types a file does not give are guessed from channel names (``"ECG lead II"`` -> ``ecg``,
``"BVP"`` -> ``ppg``, ``"MLII"`` -> ``ecg``) or left ``None``. Every problem is a ``ValueError`` that names
the file and what to do about it. :func:`iter_signal_files` expands folders into the supported files they hold.

Layouts:

* ``.npy``: one array ``[C, T]`` or ``[T]``; it carries no rate, so ``sampling_rate`` is required.
* ``.npz``: ``signals`` (``[C, T]`` or ``[T]``), ``sampling_rate`` (one or one per channel) and optionally
  ``channel_types`` / ``channel_names``; or the layout of the bundled sample recording: a JSON ``metadata``
  entry (``sampling_rate``, ``channel_types``, ``channel_names``) and one array per channel, named after its
  channel type.
* ``.csv``: a header row of channel names (or no header: channels are then named ``channel 0``, ...), one row per
  sample; an optional first column ``time`` / ``timestamp`` / ``t`` / ``time_s`` (seconds) or ``time_ms`` /
  ``timestamp_ms`` (milliseconds) gives the rate when none is passed. Empty cells are gaps (NaN).
* ``.parquet``: one numeric column per channel (nulls are gaps), one row per sample; the rate from the schema
  metadata ``sampling_rate`` (JSON: a number or one per channel; ``channel_types`` likewise), else from a first
  column named as a CSV time column or of timestamp type. pandas' saved index is ignored.
* ``.edf`` (EDF / EDF+): ordinary signals in physical units at the header's rates; annotations are ignored.
* ``.hea``: a WFDB record (format 212 or 16 ``.dat`` beside it), physical units, invalid samples as NaN.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import io_tables as tables
from ._lazy import moved_getattr
from .feature_extraction_normwear import CHANNEL_TYPES

SUPPORTED_EXTENSIONS = (".npy", ".npz", ".csv", ".parquet", ".edf", ".hea")
# Channel-name words (prefixes of a word of the name) -> channel type; first match wins.
TYPE_WORDS = (
    ("ecg", "ecg"),
    ("ekg", "ecg"),
    ("ppg", "ppg"),
    ("bvp", "ppg"),
    ("pleth", "ppg"),
    ("eda", "eda"),
    ("gsr", "eda"),
    ("scl", "eda"),
    ("resp", "resp"),
    ("breath", "resp"),
    ("acc", "acc"),
    ("gyr", "gyro"),
    ("emg", "emg"),
    ("eeg", "eeg"),
    ("temp", "temp"),
    ("skt", "temp"),
    ("pcg", "pcg"),
)
# Standard ECG lead names (MIT-BIH's MLII, V1, ...): a name that is exactly one of them is an ECG channel.
_ECG_LEAD = re.compile(r"^(?:ml)?(?:i{1,3}|avr|avl|avf|v[1-6])$")

#: The CSV and Parquet layouts (shared with ``io_streams``) live in ``io_tables`` since issue 18.
__getattr__ = moved_getattr(
    __name__,
    {
        name: ".io_tables"
        for name in (
            "MAX_CSV_COLUMNS",
            "MAX_CSV_LINE_CHARS",
            "TIME_COLUMNS",
            "CsvLayout",
            "csv_layout",
            "read_csv_frames",
            "csv_numbers",
            "TimeGrid",
            "ParquetLayout",
            "parquet_layout",
            "parquet_blocks",
            "parquet_rate",
        )
    },
)

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "SignalRecording",
    "guess_channel_type",
    "iter_signal_files",
    "read_signal_file",
]


@dataclass
class SignalRecording:
    """One recording read from a file: channels may each have their own rate and length."""

    signals: list[np.ndarray]
    sampling_rate: list[float]
    channel_types: list[str | None]
    channel_names: list[str]
    source: str

    @property
    def duration_s(self) -> float:
        return min(len(s) / r for s, r in zip(self.signals, self.sampling_rate))


def guess_channel_type(name: str) -> str | None:
    """A channel type from ``CHANNEL_TYPES`` guessed from a channel name, or ``None``."""
    lowered = name.strip().lower()
    if _ECG_LEAD.match(lowered):
        return "ecg"
    words = re.findall(r"[a-z]+", lowered)
    for word in words:
        for prefix, kind in TYPE_WORDS:
            if word.startswith(prefix) and kind in CHANNEL_TYPES:
                return kind
    return None


# ----------------------------------------------------------------------------------------------------------------
# Files and folders
# ----------------------------------------------------------------------------------------------------------------


def _is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_EXTENSIONS


def _unsupported(path: Path) -> ValueError:
    if path.suffix.lower() == ".dat":
        return ValueError(f"{path}: a WFDB .dat file is read through its header; pass {path.with_suffix('.hea')}.")
    if path.suffix.lower() == ".bdf":
        return ValueError(f"{path}: BDF (24-bit) is not supported; convert it to EDF, .npy or .csv.")
    return ValueError(
        f"{path}: unsupported file type {path.suffix or '(no extension)'!r}; supported: "
        f"{', '.join(SUPPORTED_EXTENSIONS)} (convert the file to one of them, e.g. numpy.save as [channels, time])."
    )


def iter_signal_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files to read, in order: files as given, folders expanded (recursively) into their supported files, sorted.

    A missing path is a ``FileNotFoundError``; a file of an unsupported type, or a folder holding no supported
    file, a ``ValueError``. Hidden files are skipped in folders, duplicates dropped.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted(
                candidate
                for candidate in path.rglob("*")
                if candidate.is_file()
                and _is_supported(candidate)
                and not any(part.startswith(".") for part in candidate.relative_to(path).parts)
            )
            if not found:
                raise ValueError(f"{path} holds no signal files ({', '.join(SUPPORTED_EXTENSIONS)}).")
            files.extend(found)
        elif path.is_file():
            if not _is_supported(path):
                raise _unsupported(path)
            files.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist (no such file or folder).")
    unique = list(dict.fromkeys(files))
    if not unique:
        raise ValueError("No signal files given.")
    return unique


# ----------------------------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------------------------


def _parse_numbers(values, path: Path, what: str) -> list[float]:
    if isinstance(values, str):
        values = [part for part in values.split(",") if part.strip()]
    elif np.ndim(values) == 0:
        values = [values]
    try:
        numbers = [float(value) for value in values]
    except (TypeError, ValueError):
        raise ValueError(f"{path}: {what} must be numbers in Hz, got {values!r}.") from None
    if not numbers or not all(np.isfinite(n) and n > 0 for n in numbers):
        raise ValueError(f"{path}: {what} must be positive numbers in Hz, got {values!r}.")
    return numbers


def _per_channel_rates(rates, count: int, path: Path, what: str) -> list[float]:
    numbers = _parse_numbers(rates, path, what)
    if len(numbers) == 1:
        return numbers * count
    if len(numbers) != count:
        raise ValueError(
            f"{path}: {what} gives {len(numbers)} rates but the file has {count} channels; give one rate, or one "
            "per channel (comma separated)."
        )
    return numbers


def _parse_types(types, count: int, path: Path) -> list[str]:
    if isinstance(types, str):
        types = types.split(",")
    values = [str(value).strip().lower() for value in types]
    if len(values) != count:
        raise ValueError(
            f"{path}: {len(values)} channel types given ({','.join(values)}) but the file has {count} channels; "
            "give one per channel, comma separated."
        )
    unknown = [value for value in values if value not in CHANNEL_TYPES]
    if unknown:
        raise ValueError(f"{path}: unknown channel type(s) {unknown}; choose from {', '.join(CHANNEL_TYPES)}.")
    return values


def _as_channels(array: np.ndarray, path: Path, what: str = "the array") -> list[np.ndarray]:
    return [np.asarray(row, dtype=np.float32) for row in check_array(array, path, what)]


def check_array(array: np.ndarray, path: Path, what: str = "the array") -> np.ndarray:
    """``array`` as ``[channels, time]`` (a 1-D one as one channel), without copying it (a memory map stays one)."""
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {what} holds {array.dtype} values, not numbers; save the signals as floats.")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(
            f"{path}: {what} has shape {array.shape}; one file holds one recording, [channels, time] or [time]."
        )
    if array.size == 0:
        raise ValueError(f"{path}: {what} is empty (shape {array.shape}).")
    if array.shape[0] > array.shape[1]:
        raise ValueError(
            f"{path}: {what} has shape {array.shape}, more channels than samples; it looks like [time, channels]. "
            "Save it as [channels, time] (array.T)."
        )
    return array


def _load_npy(path: Path):
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:  # object arrays need pickles, which are refused
        raise ValueError(f"{path}: cannot read it without unpickling ({error}); save a numeric array.") from None
    except (OSError, EOFError) as error:
        raise ValueError(f"{path} is not a valid .npy file ({error}).") from None
    return _as_channels(np.asarray(array), path), None, None, None


def _load_npz(path: Path):
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f"{path} is not a valid .npz file ({error}).") from None
    with archive:
        keys = list(archive.files)
        try:
            if "signals" in keys:
                signals = _as_channels(np.asarray(archive["signals"]), path, "'signals'")
                rates = archive["sampling_rate"].tolist() if "sampling_rate" in keys else None
                types = archive["channel_types"].tolist() if "channel_types" in keys else None
                names = archive["channel_names"].tolist() if "channel_names" in keys else None
            elif "metadata" in keys:  # the bundled sample recording's layout: JSON metadata + one array per channel
                metadata = json.loads(str(archive["metadata"]))
                types = metadata.get("channel_types")
                order = metadata.get("keys") or types or [key for key in keys if key != "metadata"]
                missing = [key for key in order if key not in keys]
                if missing:
                    raise ValueError(f"its metadata names channels {missing} that the archive does not hold")
                signals = [_as_channels(np.asarray(archive[key]), path, repr(key))[0] for key in order]
                rates = metadata.get("sampling_rate")
                names = metadata.get("channel_names") or list(order)
            else:
                raise ValueError(f"it has no 'signals' entry (it holds {keys})")
        except (KeyError, ValueError, TypeError, AttributeError, OSError, EOFError) as error:
            if isinstance(error, ValueError) and str(error).startswith(str(path)):
                raise
            raise ValueError(
                f"{path}: {error}. Expected entries 'signals' [channels, time], 'sampling_rate' and optionally "
                "'channel_types' / 'channel_names' (numpy.savez)."
            ) from None
    for label, values in (("channel_types", types), ("channel_names", names)):
        if values is not None and (isinstance(values, str) or len(values) != len(signals)):
            raise ValueError(f"{path}: '{label}' must list one entry per channel ({len(signals)}), got {values!r}.")
    return signals, rates, types, names


def _load_csv(path: Path):
    layout = tables.csv_layout(path)
    frame = tables.read_csv_frames(path, layout)
    filled = np.flatnonzero(frame.notna().any(axis=1).to_numpy())  # a one-column gap is a blank line
    frame = frame.iloc[: filled[-1] + 1 if filled.size else 0]
    if frame.shape[0] == 0:
        raise ValueError(f"{path} holds a header but no data rows; write one row per sample below the header.")
    values = tables.csv_numbers(frame, path, layout)
    time = values.pop(0) * layout.time_scale if layout.time_scale is not None else None
    return [column.astype(np.float32) for column in values], time, layout.channel_names


def _rate_from_time(time: np.ndarray, path: Path) -> float:
    grid = tables.TimeGrid(path)
    grid.scan(time)
    grid.check(time)
    return grid.rate


def _load_parquet(path: Path, sampling_rate):
    layout = tables.parquet_layout(path)
    data = np.concatenate(list(tables.parquet_blocks(layout, 1 << 20, layout.channel_names)))
    rates = layout.rates
    if sampling_rate is None and rates is None:
        if layout.time_column is None:
            raise missing_rate(path)
        rates = tables.parquet_rate(layout, path)
    return [column.astype(np.float32) for column in data.T], rates, layout.types, layout.channel_names


def describe_channels(
    path: Path,
    count: int,
    sampling_rate,
    file_rates,
    channel_types,
    file_types,
    names: Sequence | None,
) -> tuple[list[float], list[str | None], list[str]]:
    """Rates, types and names of a file's ``count`` channels: the caller's flags first, then the file's, then
    guesses from the names (types) or ``channel i`` (names)."""
    if sampling_rate is not None:
        rates = _per_channel_rates(sampling_rate, count, path, "--sampling-rate")
    else:
        rates = _per_channel_rates(file_rates, count, path, "the file's sampling rate")
    names = [str(name) for name in names] if names is not None else [f"channel {index}" for index in range(count)]
    if channel_types is not None:
        types: list[str | None] = list(_parse_types(channel_types, count, path))
    elif file_types is not None:
        types = list(_parse_types(file_types, count, path))
    else:
        types = [guess_channel_type(name) for name in names]
    return rates, types, names


def missing_rate(path: Path) -> ValueError:
    """The error for a file that carries no sampling rate when none was passed: where a rate could come from."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return ValueError(
            f"{path}: a .npy file carries no sampling rate; pass it with --sampling-rate HZ (or one per channel, "
            "comma separated)."
        )
    if suffix == ".npz":
        return ValueError(
            f"{path} holds no 'sampling_rate' entry; pass --sampling-rate HZ (or save the rate in the file)."
        )
    if suffix == ".csv":
        return ValueError(
            f"{path} has no time column (first column named time, timestamp or t, in seconds); pass --sampling-rate HZ."
        )
    return ValueError(
        f"{path} holds no sampling rate (schema metadata 'sampling_rate', or a first column named time or of "
        "timestamp type); pass --sampling-rate HZ (or store the rate in the file's metadata)."
    )


def check_signal_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path to an existing, non-empty file of a supported type; otherwise an error that says so."""
    path = Path(path).expanduser()
    if not path.is_file():
        if path.exists():
            raise ValueError(f"{path} is a folder, not a signal file.")
        raise FileNotFoundError(f"{path} does not exist (no such file).")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise _unsupported(path)
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes).")
    return path


def read_signal_file(
    path: str | os.PathLike,
    sampling_rate: float | str | Sequence[float] | None = None,
    channel_types: str | Sequence[str] | None = None,
) -> SignalRecording:
    """Read one recording from a signal file (see the module docstring for the layouts).

    Args:
        sampling_rate: Hz; one rate for every channel or one per channel (a sequence, or a comma-separated
            string). Overrides the file's rates; required for ``.npy``.
        channel_types: one type from ``CHANNEL_TYPES`` per channel (a sequence or a comma-separated string);
            overrides the file's types and the types guessed from channel names.
    """
    path = check_signal_path(path)
    suffix = path.suffix.lower()

    file_rates: list[float] | float | None = None
    file_types: list | None = None
    names: list[str] | None = None
    if suffix == ".npy":
        signals, file_rates, file_types, names = _load_npy(path)
        if sampling_rate is None:
            raise missing_rate(path)
    elif suffix == ".npz":
        signals, file_rates, file_types, names = _load_npz(path)
        if sampling_rate is None and file_rates is None:
            raise missing_rate(path)
    elif suffix == ".csv":
        signals, time, names = _load_csv(path)
        if sampling_rate is None:
            if time is None:
                raise missing_rate(path)
            file_rates = _rate_from_time(time, path)
    elif suffix == ".parquet":
        signals, file_rates, file_types, names = _load_parquet(path, sampling_rate)
    elif suffix == ".edf":
        from .data.converters.edf import read_edf

        edf = read_edf(path)
        if not edf.signals:
            raise ValueError(f"{path} holds no signals (only annotations).")
        signals = [signal.data.astype(np.float32) for signal in edf.signals]
        file_rates = [signal.sampling_rate for signal in edf.signals]
        names = [signal.label for signal in edf.signals]
    else:  # .hea
        from .data.converters.mitbih import read_signals

        header, data = read_signals(path)
        signals = [row.astype(np.float32) for row in data]
        file_rates = [header.rate] * len(signals)
        names = [signal.name for signal in header.signals]

    rates, types, names = describe_channels(
        path, len(signals), sampling_rate, file_rates, channel_types, file_types, names
    )

    for signal, name in zip(signals, names):
        if signal.size == 0:
            raise ValueError(f"{path}: channel {name!r} is empty.")
        if not np.isfinite(signal).any():
            raise ValueError(
                f"{path}: channel {name!r} has no finite values (all NaN / empty); drop the channel or fix the file."
            )
    return SignalRecording(
        signals=signals, sampling_rate=rates, channel_types=types, channel_names=names, source=str(path)
    )
