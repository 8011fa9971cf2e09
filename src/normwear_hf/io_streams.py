"""Signal files read a chunk at a time: channels that load only the samples they are sliced for.

A timeline of a day-long recording must not hold the day (and its float copies) in memory. :func:`open_signal_file`
returns a :class:`~normwear_hf.io_readers.SignalRecording` whose channels behave like 1-D arrays for ``len()`` and
slices ``[a:b]``, and read just those samples from disk:

* ``.npy``: memory-mapped rows.
* ``.edf``: a slice reads the data records it spans (EDF+ annotation signals are skipped).
* WFDB ``.hea``: a slice reads and decodes the frames it spans (formats 16 and 212). Checksums need every sample,
  so they are not verified here; ``read_signal_file`` verifies them.
* ``.csv`` and ``.parquet``: read front to back in blocks of rows (:class:`RowBlocks`); rows that no channel can ask
  for again are dropped. A CSV's length is counted from its line breaks first and its cells are checked as they are
  read; a Parquet file's length is in its footer and pyarrow decodes a row group at a time, so its memory follows
  the row groups (write long recordings with row groups of minutes, not days).
* ``.npz``: read whole, by ``read_signal_file`` (archives may be compressed).

Slices hold the samples ``read_signal_file`` gives (float32 in physical units, gaps as NaN; ``.npy`` rows as
stored), however the file is cut. Problems are ``ValueError`` s that name the file and the fix, as in
``io_readers``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .io_readers import (
    SignalRecording,
    check_array,
    check_signal_path,
    describe_channels,
    missing_rate,
    read_signal_file,
)
from .io_tables import (
    CsvLayout,
    TimeGrid,
    csv_layout,
    csv_numbers,
    parquet_blocks,
    parquet_layout,
    parquet_rate,
    read_csv_frames,
)

#: Rows of a CSV or Parquet table parsed per block: about a minute at 250 Hz, well under a MB for a few channels.
BLOCK_ROWS = 1 << 14
_SCAN_BYTES = 1 << 16  # a CSV's line breaks are counted this many bytes at a time; trailing empty lines sought here
_NA_CELLS = {b"", b"nan", b"-nan", b"na", b"n/a", b"null", b"none", b"<na>", b"#n/a"}  # pandas reads these as NaN


class FileChannel:
    """One channel of a file: ``len()`` and slices ``[a:b]`` like a 1-D array, reading only the sliced samples."""

    def __init__(self, length: int, read: Callable[[int, int], np.ndarray]) -> None:
        self.length = int(length)
        self._read = read

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("a file channel is read in slices [start:stop]")
        start, stop, _ = index.indices(self.length)
        return self._read(start, stop) if stop > start else np.empty(0, dtype=np.float32)


class RowBlocks:
    """A table read front to back in blocks ``[rows, columns]``, shared by its columns' :class:`FileChannel` s.

    Each column is sliced in increasing order (a timeline reads chunk after chunk); rows below every column's last
    slice are dropped, so memory is a block or two however long the table. A slice that goes back starts the
    reading again from the top.
    """

    def __init__(self, open_blocks: Callable[[], Iterator[np.ndarray]], rows: int, columns: int, source: Path):
        self._open = open_blocks
        self.rows, self.source = rows, source
        self._blocks: Iterator[np.ndarray] | None = None
        self._data = np.empty((0, columns), dtype=np.float32)
        self._start = 0  # table row of self._data[0]
        self._read_to = 0  # rows the current pass has read
        self._next = [0] * columns  # the row each column's next slice will start at

    def channel(self, column: int) -> FileChannel:
        return FileChannel(self.rows, lambda start, stop: self._slice(column, start, stop))

    def _slice(self, column: int, start: int, stop: int) -> np.ndarray:
        if start < self._start:
            self._blocks, self._data, self._start, self._read_to = None, self._data[:0], 0, 0
            self._next = [0] * len(self._next)
        if self._blocks is None:
            self._blocks = self._open()
        while self._read_to < stop:
            block = next(self._blocks, None)
            if block is None:
                raise ValueError(
                    f"{self.source}: only {self._read_to:,} data rows could be read where {self.rows:,} were counted "
                    "(a cell with a quoted line break?); save the recording as .npy or .parquet."
                )
            block = block[: self.rows - self._read_to].astype(np.float32)
            self._data = np.concatenate([self._data[max(0, min(self._next) - self._start) :], block])
            self._start = max(self._start, min(self._next))
            self._read_to += block.shape[0]
        out = self._data[start - self._start : stop - self._start, column].copy()
        self._next[column] = stop
        return out


def _csv_rows(path: Path, layout: CsvLayout) -> int:
    """Data rows of a CSV, from its line breaks: the lines after the header, less trailing lines with no value
    (blank, or commas only), which the whole-file reader drops too."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(_SCAN_BYTES):
            lines, last = lines + block.count(b"\n"), block[-1:]
        lines += last != b"\n"
        handle.seek(max(0, handle.tell() - _SCAN_BYTES))
        tail = handle.read().split(b"\n")
    if last == b"\n":
        tail = tail[:-1]  # nothing follows the last line break
    empty = 0
    for line in reversed(tail):
        if any(cell.strip().lower() not in _NA_CELLS for cell in line.split(b",")):
            break
        empty += 1
    return lines - layout.has_header - empty


def _csv_source(path: Path, sampling_rate) -> tuple[list[str], float | None, Callable[[list[int]], RowBlocks]]:
    """Channel names, the time column's rate (when none is passed) and a maker of readers for sets of columns."""
    layout = csv_layout(path)
    rows = _csv_rows(path, layout)
    if rows <= 0:
        raise ValueError(f"{path} holds a header but no data rows; write one row per sample below the header.")
    offset = layout.time_scale is not None

    def frames(columns: list[int]) -> Iterator[tuple[int, list[np.ndarray]]]:
        first = 0
        for frame in read_csv_frames(path, layout, BLOCK_ROWS, columns):
            yield first, csv_numbers(frame.iloc[: max(0, rows - first)], path, layout, first)
            first += frame.shape[0]

    file_rate = None
    if sampling_rate is None:
        if layout.time_scale is None:
            raise missing_rate(path)
        grid = TimeGrid(path)
        for _, (time,) in frames([0]):
            grid.scan(time * layout.time_scale)
        for _, (time,) in frames([0]):
            grid.check(time * layout.time_scale)
        file_rate = grid.rate

    def table(columns: list[int]) -> RowBlocks:
        wanted = [column + offset for column in columns]
        return RowBlocks(lambda: (np.stack(v, axis=1) for _, v in frames(wanted)), rows, len(columns), path)

    return layout.channel_names, file_rate, table


def _parquet_source(path: Path, sampling_rate) -> tuple[list[str], object, object, Callable[[list[int]], RowBlocks]]:
    """Channel names, the file's rates and channel types, and a maker of readers for sets of columns."""
    layout = parquet_layout(path)
    rates = layout.rates
    if sampling_rate is None and rates is None:
        if layout.time_column is None:
            raise missing_rate(path)
        rates = parquet_rate(layout, path)

    def table(columns: list[int]) -> RowBlocks:
        names = [layout.channel_names[c] for c in columns]
        return RowBlocks(lambda: parquet_blocks(layout, BLOCK_ROWS, names), layout.rows, len(columns), path)

    return layout.channel_names, rates, layout.types, table


def _table_channels(table: Callable[[list[int]], RowBlocks], rates: list[float]) -> list[FileChannel]:
    """Columns at one rate share a reader (they are sliced alike); each other rate gets its own, reading only its
    columns, so that no column's lag holds rows in memory for another."""
    channels: list[FileChannel | None] = [None] * len(rates)
    for rate in dict.fromkeys(rates):
        columns = [c for c, other in enumerate(rates) if other == rate]
        blocks = table(columns)
        for position, column in enumerate(columns):
            channels[column] = blocks.channel(position)
    return channels


def _edf_channels(path: Path) -> tuple[list[FileChannel], list[float], list[str]]:
    from .data.converters.edf import ANNOTATIONS_LABEL, read_edf_layout

    layout = read_edf_layout(path)
    records, width, offsets = layout.records(), layout.record_samples, layout.offsets
    if records == 0:
        raise ValueError(f"{path} holds no data records (0 s of signal).")
    channels, rates, names = [], [], []
    for index, label in enumerate(layout.labels):
        if label == ANNOTATIONS_LABEL:
            continue
        layout.to_physical(index, np.zeros(0, dtype=np.int16))  # a bad signal header fails now, not mid-stream
        per_record = layout.samples[index]

        def read(start: int, stop: int, index: int = index, per_record: int = per_record) -> np.ndarray:
            first, last = start // per_record, -(-stop // per_record)
            with path.open("rb") as handle:
                handle.seek(layout.header_bytes + 2 * width * first)
                block = np.frombuffer(handle.read(2 * width * (last - first)), dtype="<i2")
            values = block.reshape(last - first, width)[:, offsets[index] : offsets[index + 1]].reshape(-1)
            skip = start - first * per_record
            return layout.to_physical(index, values[skip : skip + stop - start]).astype(np.float32)

        channels.append(FileChannel(records * per_record, read))
        rates.append(per_record / layout.record_duration)
        names.append(label)
    if not channels:
        raise ValueError(f"{path} holds no signals (only annotations).")
    return channels, rates, names


def _wfdb_channels(path: Path) -> tuple[list[FileChannel], list[float], list[str]]:
    from .data.converters.mitbih import decode_values, read_header, signal_files, to_physical

    header = read_header(path)
    if header.samples < 1:
        raise ValueError(f"{path} declares {header.samples} samples; a record needs at least one.")
    by_signal = {}
    for file, signals in signal_files(path, header).items():
        for position, signal in enumerate(signals):
            by_signal[id(signal)] = (file, len(signals), position)

    def reader(file: Path, width: int, position: int, signal) -> Callable[[int, int], np.ndarray]:
        def read(start: int, stop: int) -> np.ndarray:
            first, last = start * width, stop * width  # values, frame after frame
            if signal.fmt == 212:  # two values per 3 bytes: start at a pair
                first, skip = first - first % 2, first % 2
                begin, end = first // 2 * 3, -(-last // 2) * 3
            else:
                skip, begin, end = 0, 2 * first, 2 * last
            with file.open("rb") as handle:
                handle.seek(begin)
                values = decode_values(handle.read(end - begin), signal.fmt, file)[skip : skip + last - start * width]
            return to_physical(values.reshape(stop - start, width)[:, position], signal).astype(np.float32)

        return read

    channels = [FileChannel(header.samples, reader(*by_signal[id(signal)], signal)) for signal in header.signals]
    return channels, [header.rate] * len(channels), [signal.name for signal in header.signals]


def open_signal_file(
    path: str | os.PathLike,
    sampling_rate=None,
    channel_types=None,
) -> SignalRecording:
    """A recording whose channels are read from disk as they are sliced (see the module docstring); rates and
    channel types as in :func:`~normwear_hf.io_readers.read_signal_file`, which reads the same samples whole."""
    path = check_signal_path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return read_signal_file(path, sampling_rate, channel_types)
    file_types = None
    if suffix == ".npy":
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise ValueError(f"{path} is not a valid .npy file of numbers ({error}).") from None
        channels, file_rates, names = list(check_array(array, path)), None, None
        if sampling_rate is None:
            raise missing_rate(path)
    elif suffix == ".edf":
        channels, file_rates, names = _edf_channels(path)
    elif suffix == ".hea":
        channels, file_rates, names = _wfdb_channels(path)
    else:
        if suffix == ".csv":
            names, file_rates, table = _csv_source(path, sampling_rate)
        else:
            names, file_rates, file_types, table = _parquet_source(path, sampling_rate)
        rates, types, names = describe_channels(
            path, len(names), sampling_rate, file_rates, channel_types, file_types, names
        )
        return SignalRecording(_table_channels(table, rates), rates, types, names, str(path))
    rates, types, names = describe_channels(
        path, len(channels), sampling_rate, file_rates, channel_types, file_types, names
    )
    return SignalRecording(channels, rates, types, names, str(path))
