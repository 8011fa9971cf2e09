"""MIT-BIH Arrhythmia Database (WFDB release) -> beat-centred schema rows.

Layout (PhysioNet ``mitdb/1.0.0``): 48 records ``100`` ... ``234``, each ``<rec>.hea`` (header), ``<rec>.dat``
(two leads, format 212, 360 Hz, 30 min) and ``<rec>.atr`` (reference beat annotations, MIT format). The WFDB
header, format 212/16 signals and MIT annotation files are read here directly, so no extra package is needed.

Rows: one per annotated beat, a 2 s window centred on the beat (both leads, mV); beats closer than 1 s to either
end of the record are skipped, as are non-beat annotations (rhythm changes, noise, comments). Class labels:
``aami_class`` (ANSI/AAMI EC57 grouping: N = N L R e j, S = A a J S, V = V E, F = F, Q = / f Q),
``beat_symbol`` (the MIT symbol) and ``de_chazal_split`` (DS1 / DS2 of de Chazal et al. 2004, ``paced`` for the
four paced records 102, 104, 107, 217 that the AAMI protocol leaves out). Numeric labels: ``rr_previous`` and
``rr_next`` (s, to the neighbouring beats, where they exist). subject_id = ``mitdb:<record>``, with 202 mapped to
201 (the database documents both as the same subject); the prefix is the one the pretraining corpus uses for
record 208 (``real_corpora``), so the same person gets the same id everywhere.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..schema import make_example

NAME = "mitbih"
SAMPLING_RATE = 360.0
WINDOW_S = 2.0
AAMI = {
    **dict.fromkeys("NLRej", "N"),
    **dict.fromkeys("AaJS", "S"),
    **dict.fromkeys("VE", "V"),
    "F": "F",
    **dict.fromkeys("/fQ", "Q"),
}
# MIT annotation codes (ecgcodes.h) -> symbols
CODES = {
    1: "N", 2: "L", 3: "R", 4: "a", 5: "V", 6: "F", 7: "J", 8: "A", 9: "S", 10: "E", 11: "j", 12: "/", 13: "Q",
    14: "~", 16: "|", 18: "s", 19: "T", 20: "*", 21: "D", 22: '"', 23: "=", 24: "p", 25: "B", 26: "^", 27: "t",
    28: "+", 29: "u", 30: "?", 31: "!", 32: "[", 33: "]", 34: "e", 35: "n", 36: "@", 37: "x", 38: "f", 39: "(",
    40: ")", 41: "r",
}  # fmt: skip
DS1 = "101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230".split()
DS2 = "100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234".split()
PACED = ("102", "104", "107", "217")
SAME_SUBJECT = {"202": "201"}

CARD = {
    "pretty_name": "MIT-BIH Arrhythmia Database (beats)",
    "license": "odc-by",
    "homepage": "https://physionet.org/content/mitdb/1.0.0/",
    "citation": """@article{moody2001impact,
  title   = {The impact of the MIT-BIH Arrhythmia Database},
  author  = {Moody, George B. and Mark, Roger G.},
  journal = {IEEE Engineering in Medicine and Biology Magazine},
  volume  = {20},
  number  = {3},
  pages   = {45--50},
  year    = {2001}
}""",
    "description": (
        "48 half-hour two-lead ambulatory ECG records (47 subjects) at 360 Hz with cardiologist beat annotations. "
        "One row per beat: a 2 s window centred on the annotation, both leads in mV. Class labels: `aami_class` "
        "(N/S/V/F/Q), `beat_symbol`, `de_chazal_split` (DS1/DS2/paced); numeric labels rr_previous, rr_next (s). "
        "subject_id = `mitdb:<record>` (202 -> 201, the same subject)."
    ),
    "processing": (
        f"One row per reference beat annotation: a {WINDOW_S:g} s window centred on the annotated sample, both "
        "leads converted to mV with the header's gain and baseline; beats within 1 s of the record's ends and "
        "non-beat annotations are skipped. AAMI EC57 classes: N = N L R e j, S = A a J S, V = V E, F = F, "
        "Q = / f Q. For the inter-patient protocol train on `de_chazal_split` DS1 and test on DS2."
    ),
    "task_categories": ["tabular-classification"],
    "modalities": ["ecg"],
    "sampling_rates": {"ecg": SAMPLING_RATE},
    "label_names": {
        "aami_class": ["N", "S", "V", "F", "Q"],
        "beat_symbol": sorted(AAMI),
        "de_chazal_split": ["DS1", "DS2", "paced"],
        "numeric labels (unit)": {"rr_previous": "s", "rr_next": "s"},
    },
}


@dataclass
class Signal:
    file: str
    fmt: int
    gain: float
    baseline: int
    units: str
    checksum: int | None
    name: str


@dataclass
class Header:
    record: str
    rate: float
    samples: int
    signals: list[Signal]


def read_header(path: Path) -> Header:
    """Parse a single-segment WFDB header (record line + one line per signal; '#' comments ignored)."""
    if not path.is_file():
        raise ValueError(f"{path} is missing.")
    lines = [line.split("#")[0].strip() for line in path.read_text(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    try:
        record, count, rate, samples = lines[0].split()[:4]
        rate = float(rate.split("/")[0].split("(")[0])
        signals = []
        for line in lines[1 : 1 + int(count)]:
            fields = line.split()
            fmt = re.match(r"^(\d+)", fields[1])
            gain = re.match(r"^([-+\d.eE]+)(?:\((-?\d+)\))?(?:/(\S+))?$", fields[2])
            zero = int(fields[4]) if len(fields) > 4 else 0
            signals.append(
                Signal(
                    file=fields[0],
                    fmt=int(fmt[1]),
                    gain=float(gain[1]) or 200.0,
                    baseline=int(gain[2]) if gain[2] is not None else zero,
                    units=gain[3] or "mV",
                    checksum=int(fields[6]) if len(fields) > 6 else None,
                    name=" ".join(fields[8:]) or f"signal {len(signals)}",
                )
            )
        if len(signals) != int(count) or not signals:
            raise ValueError(f"{count} signals announced, {len(signals)} described")
        return Header(record, rate, int(samples), signals)
    except (ValueError, IndexError, TypeError) as error:
        raise ValueError(f"{path} is corrupt (not a WFDB header): {error}") from error


def decode_values(data: bytes, fmt: int, path: Path) -> np.ndarray:
    """The int32 values packed in ``data`` (format 212: two 12-bit values per 3 bytes; 16: little-endian int16), in
    the file's order: frame by frame, the signals of a frame in turn. Format 212 bytes must start at a pair."""
    if fmt == 212:
        raw = np.frombuffer(data + b"\0" * (-len(data) % 3), dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = np.empty(2 * len(raw), dtype=np.int32)
        values[0::2] = raw[:, 0] | ((raw[:, 1] & 0x0F) << 8)
        values[1::2] = raw[:, 2] | ((raw[:, 1] & 0xF0) << 4)
        values[values > 2047] -= 4096
        return values
    if fmt == 16:
        return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int32)
    raise ValueError(f"{path}: WFDB format {fmt} is not supported (only 212 and 16).")


#: Values one record may hold (samples x channels): 2**28 float64 values are 2 GiB once decoded.
MAX_RECORD_VALUES = 2**28
_BYTES_PER_VALUE = {212: 1.5, 16: 2.0}


def signal_file_path(header_path: Path, file: str) -> Path:
    """The signal file a header names, which must be a plain file beside the header.

    A WFDB header can name any path as its signal file; reading ``/etc/passwd``, ``../x`` or a link out of the
    folder because a header said so would turn the reader into a file-disclosure tool, so those are refused.
    """
    name = Path(file)
    if not file or name.is_absolute() or ".." in name.parts or len(name.parts) != 1:
        raise ValueError(
            f"{header_path} names the signal file {file!r}; a WFDB signal file must be a plain file name beside its "
            "header (no folders, no absolute paths). Refusing to read it: fix the header or move the file."
        )
    path = header_path.parent / name
    if path.is_symlink() and path.resolve().parent != header_path.parent.resolve():
        raise ValueError(
            f"{path} (named by {header_path}) is a link to {path.resolve()}, outside the header's folder. Refusing "
            "to read it: copy the signal file beside the header."
        )
    return path


def _file_bytes(header: Header, signals: list[Signal]) -> int:
    return math.ceil(header.samples * len(signals) * _BYTES_PER_VALUE[signals[0].fmt])


def signal_files(header_path: Path, header: Header) -> dict[Path, list[Signal]]:
    """The record's signal files (beside the header, :func:`signal_file_path`) and the signals each interleaves,
    checked against the formats this reader decodes and against the files' sizes; nothing is read yet."""
    grouped: dict[str, list[Signal]] = {}
    for signal in header.signals:
        grouped.setdefault(signal.file, []).append(signal)
    files = {}
    for file, signals in grouped.items():
        path = signal_file_path(header_path, file)
        if not path.is_file():
            raise ValueError(f"{path} is missing (named by {header_path}).")
        if len({s.fmt for s in signals}) != 1:
            raise ValueError(f"{header_path}: signals in {file} mix formats.")
        if signals[0].fmt not in _BYTES_PER_VALUE:
            raise ValueError(f"{path}: WFDB format {signals[0].fmt} is not supported (only 212 and 16).")
        size = _file_bytes(header, signals)
        if path.stat().st_size < size:
            raise ValueError(
                f"{path} is corrupt or truncated: {path.stat().st_size:,} bytes for the {size:,} that "
                f"{header.samples:,} samples x {len(signals)} signals need."
            )
        files[path] = signals
    return files


def to_physical(digital: np.ndarray, signal: Signal) -> np.ndarray:
    """One signal's digital values in physical units, its format's invalid-sample code as NaN."""
    invalid = -2048 if signal.fmt == 212 else -32768
    return np.where(digital == invalid, np.nan, (digital - signal.baseline) / signal.gain)


def read_signals(header_path: Path) -> tuple[Header, np.ndarray]:
    """The record's signals in physical units, ``[C, T]`` (invalid samples as NaN), checksums verified.

    Signal files must sit beside the header (:func:`signal_file_path`); only the bytes the header declares are
    read, after checking them against the file's size and :data:`MAX_RECORD_VALUES`.
    """
    header = read_header(header_path)
    total = header.samples * len(header.signals)
    if header.samples < 1 or total > MAX_RECORD_VALUES:
        raise ValueError(
            f"{header_path} declares {header.samples:,} samples x {len(header.signals)} signals; NormWear reads "
            f"records of 1 to {MAX_RECORD_VALUES:,} values at once. Split a longer record into segments."
        )
    channels = {}
    for path, signals in signal_files(header_path, header).items():
        needed = header.samples * len(signals)
        with path.open("rb") as handle:
            digital = decode_values(handle.read(_file_bytes(header, signals)), signals[0].fmt, path)
        if digital.size < needed:
            raise ValueError(f"{path} is corrupt: {digital.size} samples for {header.samples} x {len(signals)}.")
        digital = digital[:needed].reshape(header.samples, len(signals)).T
        for row, signal in zip(digital, signals):
            if signal.checksum is not None and int(np.int16(np.sum(row, dtype=np.int64) & 0xFFFF)) != signal.checksum:
                raise ValueError(f"{path} is corrupt: checksum mismatch for signal {signal.name!r}.")
            channels[id(signal)] = to_physical(row, signal)
    return header, np.stack([channels[id(signal)] for signal in header.signals])


def read_annotations(path: Path) -> tuple[np.ndarray, list[str]]:
    """Sample positions and symbols of an MIT-format annotation file (SKIP, NUM, SUB, CHN, AUX handled)."""
    if not path.is_file():
        raise ValueError(f"{path} is missing.")
    data = path.read_bytes()
    if len(data) % 2:
        raise ValueError(f"{path} is corrupt: an MIT annotation file holds 16-bit words, got {len(data)} bytes.")
    words = np.frombuffer(data, dtype="<u2")
    samples, symbols, time, index = [], [], 0, 0
    while index < len(words):
        code, interval = int(words[index]) >> 10, int(words[index]) & 0x3FF
        if code == 0 and interval == 0:
            break
        if code == 59:  # SKIP: a 32-bit interval follows, high word first
            if index + 2 >= len(words):
                raise ValueError(f"{path} is corrupt: truncated SKIP at word {index}.")
            time += int(np.int32(np.uint32((int(words[index + 1]) << 16) | int(words[index + 2]))))
            index += 3
        elif code in (60, 61, 62):  # NUM, SUB, CHN
            index += 1
        elif code == 63:  # AUX: interval = byte count, padded to a whole word
            index += 1 + (interval + 1) // 2
        else:
            time += interval
            samples.append(time)
            symbols.append(CODES.get(code, "?"))
            index += 1
    return np.asarray(samples, dtype=np.int64), symbols


def _records(raw_dir: Path) -> list[Path]:
    return sorted(path for path in raw_dir.rglob("*.hea") if re.fullmatch(r"\d{3}", path.stem))


def iter_examples(raw_dir: Path, progress: bool = True) -> Iterator[dict]:
    raw_dir = Path(raw_dir)
    headers = _records(raw_dir) if raw_dir.is_dir() else []
    if not headers:
        raise ValueError(f"{raw_dir} holds no MIT-BIH records (100.hea, 100.dat, 100.atr ...).")
    half = int(round(WINDOW_S * SAMPLING_RATE / 2))
    for header_path in tqdm(headers, desc=NAME, disable=not progress):
        record = header_path.stem
        header, signals = read_signals(header_path)
        if header.rate != SAMPLING_RATE:
            raise ValueError(f"{header_path}: sampling rate {header.rate:g} Hz, expected {SAMPLING_RATE:g}.")
        positions, symbols = read_annotations(header_path.with_suffix(".atr"))
        beats = [(int(p), s) for p, s in zip(positions, symbols) if s in AAMI]
        split = "paced" if record in PACED else "DS1" if record in DS1 else "DS2" if record in DS2 else ""
        for index, (position, symbol) in enumerate(beats):
            if position - half < 0 or position + half > header.samples:
                continue
            window = signals[:, position - half : position + half]
            if np.isnan(window).all(axis=1).any():
                continue
            numeric = {}
            if index > 0:
                numeric["rr_previous"] = ((position - beats[index - 1][0]) / SAMPLING_RATE, "s")
            if index + 1 < len(beats):
                numeric["rr_next"] = ((beats[index + 1][0] - position) / SAMPLING_RATE, "s")
            yield make_example(
                window,
                SAMPLING_RATE,
                ["ecg"] * len(window),
                recording_id=f"{record}/{position}",
                source=NAME,
                subject_id=f"mitdb:{SAME_SUBJECT.get(record, record)}",
                channel_names=[signal.name for signal in header.signals],
                start_s=(position - half) / SAMPLING_RATE,
                class_labels={"aami_class": AAMI[symbol], "beat_symbol": symbol, "de_chazal_split": split},
                numeric_labels=numeric,
            )
