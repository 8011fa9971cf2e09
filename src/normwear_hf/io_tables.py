"""The table layouts both signal readers share: CSV (header, cells, chunks) and Parquet (columns, metadata, blocks),
and the sampling rate of a time column, checked to be an even grid in chunks.

``io_readers.read_signal_file`` reads a whole table with these, ``io_streams.open_signal_file`` a block of rows at a
time; both therefore accept exactly the same files and fail with the same messages.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: First-column names that make a column the time stamps, and the seconds per unit they are in.
TIME_COLUMNS = {"time": 1.0, "timestamp": 1.0, "t": 1.0, "time_s": 1.0, "seconds": 1.0}
TIME_COLUMNS.update({"time_ms": 1e-3, "timestamp_ms": 1e-3, "t_ms": 1e-3})
_MAX_GRID_DRIFT = 0.5  # samples a time stamp may lie off the even grid (rounding jitter) before the column is irregular

__all__ = [
    "MAX_CSV_COLUMNS",
    "MAX_CSV_LINE_CHARS",
    "TIME_COLUMNS",
    "CsvLayout",
    "ParquetLayout",
    "TimeGrid",
    "csv_layout",
    "csv_numbers",
    "parquet_blocks",
    "parquet_layout",
    "parquet_rate",
    "read_csv_frames",
]


#: A CSV of signals has one column per channel; wider files are almost always transposed (one column per
#: sample) and would take minutes and gigabytes to parse before failing.
MAX_CSV_COLUMNS = 1024
MAX_CSV_LINE_CHARS = 1_000_000


@dataclass
class CsvLayout:
    """What the first line of a signal CSV says: whether it is a header, the column names, a leading time column."""

    has_header: bool
    names: list[str]  # every column, the time column included
    time_scale: float | None  # seconds per unit of the first column when it is a time column, else None

    @property
    def channel_names(self) -> list[str]:
        return self.names[1:] if self.time_scale is not None else self.names


def csv_layout(path: Path) -> CsvLayout:
    """Read a CSV's first line (only it, bounded) and decide its layout; a transposed or empty file fails here."""
    import pandas as pd

    with path.open("r", errors="replace") as handle:
        first = handle.readline(MAX_CSV_LINE_CHARS + 1)
    if len(first) > MAX_CSV_LINE_CHARS:
        raise ValueError(
            f"{path}: the first line is longer than {MAX_CSV_LINE_CHARS:,} characters; a signal CSV has one column per "
            "channel, not one per sample. Transpose it (rows = samples) or save it as .npy."
        )
    cells = [cell.strip() for cell in first.strip().split(",")]
    if len(cells) > MAX_CSV_COLUMNS:
        raise ValueError(
            f"{path} has {len(cells):,} columns; NormWear reads CSV files of at most {MAX_CSV_COLUMNS} channels (one "
            "column per channel, one row per sample). If rows are channels, transpose the table."
        )

    def is_number(text: str) -> bool:
        try:
            float(text)
        except ValueError:
            return False
        return True

    if all(is_number(cell) for cell in cells if cell):
        return CsvLayout(False, [f"channel {index}" for index in range(len(cells))], None)
    with _pandas_errors(path):
        columns = pd.read_csv(path, header=0, nrows=0, skipinitialspace=True, dtype=str).columns
    names = [str(name).strip() for name in columns]
    time_scale = TIME_COLUMNS.get(names[0].lower())
    if time_scale is not None and len(names) == 1:
        raise ValueError(f"{path} has a time column but no signal columns.")
    return CsvLayout(True, names, time_scale)


@contextlib.contextmanager
def _pandas_errors(path: Path) -> Iterator[None]:
    import pandas as pd

    try:
        yield
    except GeneratorExit:  # a chunk reader closed early (a timeline stopped): nothing to translate
        raise
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"{path} holds no data rows; write a header row of channel names, then one row per sample."
        ) from None
    except pd.errors.ParserError as error:
        raise ValueError(f"{path} is not a valid CSV file ({error}).") from None


def read_csv_frames(path: Path, layout: CsvLayout, rows: int | None = None, columns: list[int] | None = None):
    """The CSV's data rows as one pandas frame of strings, or (``rows``) an iterator of frames of ``rows`` rows."""
    import pandas as pd

    options = dict(header=0 if layout.has_header else None, skipinitialspace=True, dtype=str, skip_blank_lines=False)
    if rows is None:
        with _pandas_errors(path):
            return pd.read_csv(path, usecols=columns, **options)
    return _csv_chunks(path, rows, dict(options, usecols=columns))


def _csv_chunks(path: Path, rows: int, options: dict):
    import pandas as pd

    with _pandas_errors(path):  # a malformed line may come up in any chunk
        yield from pd.read_csv(path, chunksize=rows, **options)


def csv_numbers(frame, path: Path, layout: CsvLayout, first_row: int = 0) -> list[np.ndarray]:
    """Each column of ``frame`` (data rows from ``first_row`` on) as float64; empty and NaN-like cells are gaps, any
    other non-number is an error naming its cell, row and line."""
    import pandas as pd

    values = []
    for index in range(frame.shape[1]):
        column = frame.iloc[:, index]
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna() & column.notna() & (column.str.strip() != "")
        bad &= ~column.str.strip().str.lower().isin(["nan", "na", "n/a", "null", "none", "inf", "-inf"])
        if bad.any():
            row = first_row + int(np.flatnonzero(bad.to_numpy())[0])
            name = str(frame.columns[index]).strip() if layout.has_header else f"channel {frame.columns[index]}"
            raise ValueError(
                f"{path}: cell {column.iloc[row - first_row]!r} in column {name!r}, data row {row + 1} (line "
                f"{row + 1 + layout.has_header}) is not a number; every cell below the header must be numeric "
                "(leave a cell empty for a gap)."
            )
        values.append(numbers.to_numpy(dtype=np.float64))
    return values


class TimeGrid:
    """The sampling rate of a time column, checked to be an even grid. ``scan`` it chunk by chunk, then ``check``
    the same chunks again (the drift from the grid needs the span first); a whole column is one chunk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.first = self.last = float("nan")
        self._checked = 0

    def scan(self, time: np.ndarray) -> None:
        if not np.isfinite(time).all():
            raise ValueError(
                f"{self.path}: the time column needs at least two rows and no empty cells to give the sampling rate; "
                "pass --sampling-rate HZ."
            )
        if time.size == 0:
            return
        steps = np.diff(time, prepend=time[0] - 1.0 if self.count == 0 else self.last)
        if not (steps > 0).all():
            raise ValueError(
                f"{self.path}: the time column is not strictly increasing; fix it or pass --sampling-rate HZ."
            )
        self.first = float(time[0]) if self.count == 0 else self.first
        self.last = float(time[-1])
        self.count += time.size

    def check(self, time: np.ndarray) -> None:
        if self.count < 2:
            raise ValueError(
                f"{self.path}: the time column needs at least two rows and no empty cells to give the sampling rate; "
                "pass --sampling-rate HZ."
            )
        span = self.last - self.first
        step = span / (self.count - 1)
        grid = self.first + step * (self._checked + np.arange(time.size))
        drift = float(np.max(np.abs(time - grid))) if time.size else 0.0
        self._checked += time.size
        if drift > _MAX_GRID_DRIFT * step:
            raise ValueError(
                f"{self.path}: the time column is irregular (a time stamp lies {drift:g} s off the even grid of "
                f"{self.count} rows over {span:g} s, more than half a sample: missing or uneven samples); resample the "
                "file to an even grid, or pass --sampling-rate HZ to take the rows as evenly spaced."
            )

    @property
    def rate(self) -> float:
        return float(np.round((self.count - 1) / (self.last - self.first), 6))


@dataclass
class ParquetLayout:
    """A signal Parquet file: one numeric column per channel, optionally a time column first (named as in a CSV, or
    of timestamp type), rates and channel types in the schema metadata (``sampling_rate``, ``channel_types``: JSON)."""

    file: object  # pyarrow.parquet.ParquetFile
    rows: int
    channel_names: list[str]
    time_column: str | None
    rates: list[float] | float | None
    types: list[str] | None


def parquet_layout(path: Path) -> ParquetLayout:
    """Open a Parquet file and check its columns and metadata (no data is read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise ValueError(f"{path} is not a valid Parquet file ({error}).") from None
    schema = file.schema_arrow
    names = [name for name in schema.names if not name.startswith("__index_level_")]  # pandas' saved index
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{path}: the column name(s) {repeated} repeat; name each channel's column once.")
    time_column = None
    if names and (names[0].lower() in TIME_COLUMNS or pa.types.is_timestamp(schema.field(names[0]).type)):
        time_column = names.pop(0)
    for name in names:
        kind = schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise ValueError(
                f"{path}: column {name!r} holds {kind} values, not numbers; a signal Parquet file has one numeric "
                "column per channel (and optionally a time column first). Drop or convert that column."
            )
    if not names:
        raise ValueError(f"{path} has no signal columns (one numeric column per channel).")
    if len(names) > MAX_CSV_COLUMNS:
        raise ValueError(
            f"{path} has {len(names):,} columns; NormWear reads at most {MAX_CSV_COLUMNS} channels (one column per "
            "channel, one row per sample). If rows are channels, transpose the table."
        )
    if file.metadata.num_rows == 0:
        raise ValueError(f"{path} holds no rows; write one row per sample.")
    metadata = {key.decode("utf-8", "replace"): value for key, value in (schema.metadata or {}).items()}

    def entry(key: str):
        if key not in metadata:
            return None
        try:
            return json.loads(metadata[key])
        except ValueError:
            raise ValueError(
                f"{path}: the schema metadata {key!r} is not JSON ({metadata[key][:40]!r}); store a number or a list, "
                'e.g. {"sampling_rate": "[250, 64]"}.'
            ) from None

    return ParquetLayout(
        file, file.metadata.num_rows, names, time_column, entry("sampling_rate"), entry("channel_types")
    )


def parquet_blocks(layout: ParquetLayout, rows: int, columns: list[str]):
    """Consecutive ``[rows, len(columns)]`` float64 blocks of the named columns (nulls as NaN); pyarrow decodes one
    row group at a time, so memory follows the file's row groups, not its length."""
    import pyarrow as pa

    for batch in layout.file.iter_batches(batch_size=rows, columns=columns):
        arrays = []
        for column in batch.columns:
            ticks = 1.0
            if pa.types.is_timestamp(column.type):  # seconds since the epoch
                ticks, column = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[column.type.unit], column.cast(pa.int64())
            arrays.append(column.to_numpy(zero_copy_only=False).astype(np.float64) / ticks)
        yield np.stack(arrays, axis=1)


def parquet_rate(layout: ParquetLayout, path: Path, rows: int = 1 << 20) -> float:
    """The rate its time column gives, checked in two passes over that column alone."""
    grid = TimeGrid(path)
    for block in parquet_blocks(layout, rows, [layout.time_column]):
        grid.scan(block[:, 0])
    for block in parquet_blocks(layout, rows, [layout.time_column]):
        grid.check(block[:, 0])
    return grid.rate
