"""A small reader for EDF and EDF+ files (European Data Format): signals in physical units and annotations.

Enough for the converters (Sleep-EDF): a 256-byte header, 256 bytes per signal, then data records of 16-bit
little-endian integers; EDF+ ``EDF Annotations`` signals hold time-stamped annotation lists (TALs). Spec:
https://www.edfplus.info/specs/edf.html and https://www.edfplus.info/specs/edfplus.html. Data records are taken
as contiguous (EDF and EDF+C); the record onsets of a discontinuous EDF+D file are not applied. BDF (24-bit) is
not read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ANNOTATIONS_LABEL = "EDF Annotations"
_FIELDS = (  # per-signal header fields and their widths, stored field by field for all signals
    ("label", 16),
    ("transducer", 80),
    ("physical_dimension", 8),
    ("physical_min", 8),
    ("physical_max", 8),
    ("digital_min", 8),
    ("digital_max", 8),
    ("prefiltering", 80),
    ("samples_per_record", 8),
    ("reserved", 32),
)


@dataclass
class EdfSignal:
    label: str
    physical_dimension: str
    sampling_rate: float
    data: np.ndarray  # physical units, float64


@dataclass
class EdfFile:
    path: Path
    start: dt.datetime
    record_duration: float
    num_records: int
    signals: list[EdfSignal] = field(default_factory=list)
    annotations: list[tuple[float, float, str]] = field(default_factory=list)  # onset s, duration s, text

    @property
    def duration(self) -> float:
        return self.num_records * self.record_duration

    def signal(self, label: str) -> EdfSignal:
        for signal in self.signals:
            if signal.label == label:
                return signal
        raise KeyError(f"{self.path} has no signal {label!r}; it has {[s.label for s in self.signals]}.")


#: Signals and samples one EDF may hold before reading is refused (2**28 int16 samples are 512 MiB on disk and
#: 2 GiB once decoded to float64); a file beyond them is split by the user, not read whole into memory.
MAX_EDF_SIGNALS = 1024
MAX_EDF_VALUES = 2**28


def _start_time(date: str, time: str, path: Path) -> dt.datetime:
    try:
        day, month, year = (int(part) for part in date.split("."))
        hour, minute, second = (int(part) for part in time.split("."))
    except ValueError as error:
        raise ValueError(f"{path} is corrupt: start date/time {date!r} {time!r} is not dd.mm.yy hh.mm.ss.") from error
    year += 1900 if year >= 85 else 2000  # the EDF clipping date
    try:
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError as error:
        raise ValueError(f"{path} is corrupt: start date/time {date!r} {time!r} is impossible ({error}).") from None


def parse_tals(raw: bytes) -> list[tuple[float, float, str]]:
    """Time-stamped annotation lists of one data record: '+onset[\\x15duration]\\x14text\\x14...\\x14\\x00'."""
    annotations = []
    for tal in raw.split(b"\x00"):
        if not tal.strip(b"\x00"):
            continue
        parts = tal.split(b"\x14")
        match = re.fullmatch(rb"([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?", parts[0])
        if match is None:
            raise ValueError(f"malformed time stamp {parts[0][:40]!r}")
        onset, duration = float(match[1]), float(match[2]) if match[2] else 0.0
        for text in parts[1:]:
            if text:
                annotations.append((onset, duration, text.decode("utf-8", errors="replace").strip()))
    return annotations


@dataclass
class EdfLayout:
    """An EDF file's header: what its signals are and where their samples lie (data records start at
    ``header_bytes``; each record holds ``samples[i]`` little-endian int16 values of signal ``i`` in turn)."""

    path: Path
    start: dt.datetime
    record_duration: float
    num_records: int  # as declared: -1 = unknown (count the records present)
    available: int  # whole records present in the file
    header_bytes: int
    labels: list[str]
    dimensions: list[str]
    samples: list[int]
    physical_range: list[tuple[float, float]]
    digital_range: list[tuple[float, float]]

    @property
    def record_samples(self) -> int:
        return sum(self.samples)

    @property
    def offsets(self) -> np.ndarray:
        """Where each signal's values start within a data record."""
        return np.concatenate([[0], np.cumsum(self.samples)]).astype(np.int64)

    def records(self) -> int:
        """The number of data records, checked against the file's size."""
        if self.num_records < 0:
            return self.available
        if self.available < self.num_records:
            raise ValueError(
                f"{self.path} is corrupt: {self.num_records} data records announced, {self.available} present "
                "(truncated)."
            )
        return self.num_records

    def to_physical(self, index: int, digital: np.ndarray) -> np.ndarray:
        """Signal ``index``'s digital values in physical units (float64)."""
        (dmin, dmax), (pmin, pmax) = self.digital_range[index], self.physical_range[index]
        if dmax == dmin or self.record_duration <= 0:
            raise ValueError(
                f"{self.path} is corrupt: signal {self.labels[index]!r} has an empty digital range or record length."
            )
        gain = (pmax - pmin) / (dmax - dmin)
        return digital.astype(np.float64) * gain + (pmin - dmin * gain)


def read_edf_layout(path: Path) -> EdfLayout:
    """Parse and check an EDF/EDF+ header without reading the data records."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is missing.")
    with path.open("rb") as handle:
        head = handle.read(256)
        if len(head) < 256 or not head[:8].strip().isdigit():
            raise ValueError(f"{path} is corrupt: not an EDF file (bad or short 256-byte header).")
        try:
            text = head.decode("ascii")
            header_bytes, num_records = int(text[184:192]), int(text[236:244])
            record_duration, count = float(text[244:252]), int(text[252:256])
        except (UnicodeDecodeError, ValueError) as error:
            raise ValueError(f"{path} is corrupt: unreadable EDF header ({error}).") from error
        if count <= 0 or header_bytes != 256 * (count + 1):
            raise ValueError(f"{path} is corrupt: header size {header_bytes} does not fit {count} signals.")
        if count > MAX_EDF_SIGNALS:
            raise ValueError(f"{path} declares {count} signals; NormWear reads EDF files of at most {MAX_EDF_SIGNALS}.")
        if num_records < -1:
            raise ValueError(
                f"{path} is corrupt: {num_records} data records (the header allows -1 for unknown, or >= 0)."
            )
        if not 0 <= record_duration <= 86400:  # 0 is allowed for annotation-only EDF+ files
            raise ValueError(
                f"{path} is corrupt: a data record lasts {record_duration:g} s (EDF records last 0 s to, here, a day)."
            )
        raw_fields = handle.read(256 * count)
    if len(raw_fields) < 256 * count:
        raise ValueError(f"{path} is corrupt: the signal headers are truncated.")
    fields, offset = {}, 0
    for name, width in _FIELDS:
        chunk = raw_fields[offset : offset + width * count].decode("latin-1")
        fields[name] = [chunk[i * width : (i + 1) * width].strip() for i in range(count)]
        offset += width * count
    try:
        samples = [int(value) for value in fields["samples_per_record"]]
        numbers = {
            key: [float(v) for v in fields[key]]
            for key in ("physical_min", "physical_max", "digital_min", "digital_max")
        }
    except ValueError as error:
        raise ValueError(f"{path} is corrupt: unreadable signal header ({error}).") from error
    if any(n <= 0 for n in samples):
        raise ValueError(f"{path} is corrupt: a signal has {min(samples)} samples per data record.")
    available = max(0, path.stat().st_size - header_bytes) // (2 * sum(samples))
    return EdfLayout(
        path=path,
        start=_start_time(text[168:176], text[176:184], path),
        record_duration=record_duration,
        num_records=num_records,
        available=available,
        header_bytes=header_bytes,
        labels=fields["label"],
        dimensions=fields["physical_dimension"],
        samples=samples,
        physical_range=list(zip(numbers["physical_min"], numbers["physical_max"])),
        digital_range=list(zip(numbers["digital_min"], numbers["digital_max"])),
    )


def read_edf(path: Path, labels: set[str] | None = None) -> EdfFile:
    """Read an EDF/EDF+ file; ``labels`` limits which ordinary signals are decoded (annotations always are)."""
    layout = read_edf_layout(path)
    path, record_samples = layout.path, layout.record_samples
    wanted = layout.available if layout.num_records < 0 else layout.num_records
    if wanted * record_samples > MAX_EDF_VALUES:
        raise ValueError(
            f"{path} holds {wanted:,} records x {record_samples:,} samples; NormWear reads at most "
            f"{MAX_EDF_VALUES:,} samples of an EDF file at once. Split the recording into shorter files."
        )
    num_records = layout.records()
    with path.open("rb") as handle:
        handle.seek(layout.header_bytes)
        body = np.frombuffer(handle.read(2 * record_samples * num_records), dtype="<i2")
    records = body.reshape(num_records, record_samples)
    edf = EdfFile(path, layout.start, layout.record_duration, num_records)
    starts = layout.offsets
    for index, label in enumerate(layout.labels):
        block = records[:, starts[index] : starts[index + 1]]
        if label == ANNOTATIONS_LABEL:
            for row in block:
                try:
                    edf.annotations.extend(parse_tals(row.tobytes()))
                except ValueError as error:
                    raise ValueError(f"{path} is corrupt: annotation record: {error}") from error
            continue
        if labels is not None and label not in labels:
            continue
        data = layout.to_physical(index, block.reshape(-1))
        edf.signals.append(
            EdfSignal(label, layout.dimensions[index], layout.samples[index] / layout.record_duration, data)
        )
    # the time-keeping TAL of each record carries no text and is dropped by parse_tals
    edf.annotations.sort(key=lambda entry: entry[0])
    return edf
