"""Chunked signal-file readers: any cut gives the whole-file samples, long files are read in bounded pieces, and
broken files fail with errors that name the file and the fix."""

import json
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from conftest import micro_config
from test_converter_mitbih import pack_212
from test_converter_sleep_edf import write_edf

from normwear_hf import NormWearFeatureExtractor, NormWearModel, io_streams
from normwear_hf.io_readers import read_signal_file
from normwear_hf.io_streams import open_signal_file
from normwear_hf.timeline import timeline
from normwear_hf.timeline_sources import open_recording

FULL = (-32768, 32767)


def edf_file(path, seconds: int, rates=(64, 16), seed=0):
    """An EDF with one channel per rate (1 s records) and an EDF+ annotation signal between them."""
    rng = np.random.default_rng(seed)
    signals = []
    for index, rate in enumerate(rates):
        digital = 3000 * np.sin(np.arange(seconds * rate) / (3.0 + index)) + rng.integers(-50, 50, seconds * rate)
        signals.append((f"ECG {index}" if index == 0 else f"Resp {index}", rate, "mV", (-5.0, 5.0), FULL, digital))
        if index == 0:
            signals.append(("EDF Annotations", 8, "", (-1.0, 1.0), FULL, np.zeros(seconds * 8, dtype=np.int64)))
    write_edf(path, signals, record_duration=1, num_records=seconds)
    return path


def wfdb_record(folder, name: str, fmt: int, samples: int, rate: int = 360, seed=0):
    rng = np.random.default_rng(seed)
    digital = rng.integers(-2000, 2000, (samples, 3))
    digital[5, 1] = -2048 if fmt == 212 else -32768  # an invalid sample: NaN
    checksums = [int(np.int16(np.sum(column) & 0xFFFF)) for column in digital.T]
    lines = [f"{name} 3 {rate} {samples}"] + [f"{name}.dat {fmt} 200 12 0 0 {checksums[c]} 0 lead{c}" for c in range(3)]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    data = pack_212(digital) if fmt == 212 else digital.astype("<i2").tobytes()
    (folder / f"{name}.dat").write_bytes(data)
    return folder / f"{name}.hea"


def csv_file(path, rows: int, rate: float = 50.0, header=True, tail="", seed=0):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((rows, 2)).round(4)
    lines = ["time,ECG,BVP"] if header else []
    for i, (a, b) in enumerate(values):
        cells = [f"{i / rate:.4f}", repr(float(a)), "" if i % 97 == 5 else repr(float(b))]  # a gap now and then
        lines.append(",".join(cells if header else cells[1:]))
    path.write_text("\n".join(lines) + "\n" + tail)
    return path


def parquet_file(path, rows: int, row_group: int = 10_000, metadata=None, time=False, seed=0):
    rng = np.random.default_rng(seed)
    columns = {"ppg": rng.standard_normal(rows), "acc_x": rng.integers(-100, 100, rows)}
    if time:
        columns = {"time": np.arange(rows) / 32.0, **columns}
    table = pa.table(columns)
    table = table.set_column(int(time), "ppg", pa.array(columns["ppg"], mask=np.arange(rows) % 101 == 7))
    if metadata is not None:
        table = table.replace_schema_metadata({key: json.dumps(value) for key, value in metadata.items()})
    pq.write_table(table, path, row_group_size=row_group)
    return path


def cut_and_join(channel, rng) -> np.ndarray:
    pieces, start = [], 0
    while start < len(channel):
        stop = start + int(rng.integers(1, max(2, len(channel) // 7)))
        pieces.append(channel[start:stop])
        start = stop
    return np.concatenate(pieces)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "wfdb").mkdir()
    return {
        "edf": edf_file(tmp_path / "night.edf", 40),
        "wfdb 212": wfdb_record(tmp_path / "wfdb", "r212", 212, 1001),
        "wfdb 16": wfdb_record(tmp_path / "wfdb", "r16", 16, 1000),
        "csv": csv_file(tmp_path / "watch.csv", 900, tail="\n,\n\n"),
        "parquet": parquet_file(tmp_path / "band.parquet", 5000, 700, {"sampling_rate": [32, 32]}),
        "parquet time": parquet_file(tmp_path / "timed.parquet", 3000, 1000, time=True),
    }


@pytest.mark.parametrize("kind", ["edf", "wfdb 212", "wfdb 16", "csv", "parquet", "parquet time"])
def test_any_cut_gives_the_samples_of_the_whole_file(files, kind):
    whole, lazy = read_signal_file(files[kind]), open_signal_file(files[kind])
    assert (lazy.sampling_rate, lazy.channel_names, lazy.channel_types) == (
        whole.sampling_rate,
        whole.channel_names,
        whole.channel_types,
    )
    rng = np.random.default_rng(1)
    for stream, array in zip(lazy.signals, whole.signals):
        assert len(stream) == array.size
        joined = cut_and_join(stream, rng)
        assert joined.dtype == np.float32
        np.testing.assert_array_equal(joined, array)  # NaN gaps in the same places
        np.testing.assert_array_equal(stream[3:40], array[3:40])  # going back reads again from the top
    assert any(np.isnan(array).any() for array in whole.signals) or kind == "edf"


def test_parquet_like_csv_columns_are_channels(tmp_path):
    frame = pd.DataFrame({"ECG": np.sin(np.arange(640) / 5.0), "BVP": np.arange(640, dtype=float)})
    frame.index = frame.index + 100  # pandas writes a non-default index as a column: not a channel
    frame.to_parquet(tmp_path / "no_rate.parquet")
    with pytest.raises(ValueError, match=r"no_rate\.parquet holds no sampling rate .*--sampling-rate HZ"):
        read_signal_file(tmp_path / "no_rate.parquet")
    recording = read_signal_file(tmp_path / "no_rate.parquet", sampling_rate=64)
    assert recording.channel_names == ["ECG", "BVP"] and recording.channel_types == ["ecg", "ppg"]
    np.testing.assert_array_equal(recording.signals[1], np.arange(640, dtype=np.float32))

    stamped = frame.reset_index(drop=True)
    stamped.insert(0, "when", pd.date_range("2026-01-01", periods=640, freq=pd.Timedelta(seconds=1 / 64)))
    stamped.to_parquet(tmp_path / "stamped.parquet")
    assert read_signal_file(tmp_path / "stamped.parquet").sampling_rate == [64.0, 64.0]
    tagged = parquet_file(
        tmp_path / "tagged.parquet", 400, metadata={"sampling_rate": 25, "channel_types": ["ppg", "acc"]}
    )
    recording = read_signal_file(tagged)
    assert recording.sampling_rate == [25.0, 25.0] and recording.channel_types == ["ppg", "acc"]
    assert read_signal_file(tagged, sampling_rate="50,100").sampling_rate == [50.0, 100.0]


def traced_peak(function, *args) -> int:
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def long_file(folder, kind: str, seconds: int):
    if kind == "edf":
        return edf_file(folder / f"{seconds}.edf", seconds, rates=(128, 32))
    if kind == "wfdb":
        return wfdb_record(folder, f"r{seconds}", 16, seconds * 50, rate=50)
    if kind == "csv":
        return csv_file(folder / f"{seconds}.csv", seconds * 10, rate=10.0)
    return parquet_file(folder / f"{seconds}.parquet", seconds * 32, 32 * 120, {"sampling_rate": 32})


def stream_minutes(path, largest: list, arrow: list) -> None:
    """Open ``path`` and read it a minute at a time, noting the longest piece (s) and pyarrow's memory."""
    source = open_recording(path)
    for chunk in source.chunks(60.0):
        largest.append(max(piece.size for piece in chunk) / max(source.sampling_rate))
        arrow.append(pa.total_allocated_bytes())


@pytest.mark.parametrize("kind", ["edf", "wfdb", "csv", "parquet"])
def test_long_files_are_read_in_bounded_chunks(tmp_path, monkeypatch, kind):
    """1 h and 2 h read a minute at a time: the same peak memory, and a fraction of what reading the file takes."""
    monkeypatch.setattr(io_streams, "BLOCK_ROWS", 1024)  # tables of an hour at 10-32 Hz span many blocks
    peaks, arrow = {}, []
    for hours in (1, 2):
        path = long_file(tmp_path, kind, 3600 * hours)
        largest: list[float] = []
        peaks[hours] = traced_peak(stream_minutes, path, largest, arrow)
        assert len(largest) == 60 * hours and max(largest) <= 60.01
    whole = traced_peak(read_signal_file, path)
    assert peaks[2] < 1.25 * peaks[1] and peaks[2] < whole / 2, (peaks, whole)
    assert max(arrow) < 4 * 2**20  # pyarrow holds a row group or two, not the file


def test_hostile_files_name_the_problem_and_the_fix(tmp_path):
    edf = edf_file(tmp_path / "cut.edf", 30)
    edf.write_bytes(edf.read_bytes()[:-100])  # part of the last 176-byte record
    with pytest.raises(ValueError, match=r"cut\.edf is corrupt: 30 data records announced, 29 present \(truncated\)"):
        open_signal_file(edf)
    write_edf(tmp_path / "notes.edf", [("EDF Annotations", 8, "", (-1.0, 1.0), FULL, np.zeros(80))], 1, 10)
    with pytest.raises(ValueError, match=r"notes\.edf holds no signals \(only annotations\)"):
        open_signal_file(tmp_path / "notes.edf")
    record = wfdb_record(tmp_path, "short", 212, 1000)
    (tmp_path / "short.dat").write_bytes((tmp_path / "short.dat").read_bytes()[:900])
    with pytest.raises(ValueError, match=r"short\.dat is corrupt or truncated: 900 bytes for the 4,500"):
        open_signal_file(record)
    (tmp_path / "odd.hea").write_text("odd 1 100 10\nodd.dat 80 200\n")
    (tmp_path / "odd.dat").write_bytes(b"\0" * 10)
    with pytest.raises(ValueError, match=r"WFDB format 80 is not supported \(only 212 and 16\)"):
        open_signal_file(tmp_path / "odd.hea")

    (tmp_path / "garbage.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ValueError, match=r"garbage\.parquet is not a valid Parquet file"):
        open_signal_file(tmp_path / "garbage.parquet", sampling_rate=10)
    pq.write_table(pa.table({"ecg": [1.0, 2.0], "note": ["a", "b"]}), tmp_path / "words.parquet")
    with pytest.raises(ValueError, match=r"column 'note' holds string values, not numbers.*Drop or convert"):
        read_signal_file(tmp_path / "words.parquet", sampling_rate=10)
    bad_meta = pa.table({"ecg": [1.0, 2.0]}).replace_schema_metadata({"sampling_rate": "fast"})
    pq.write_table(bad_meta, tmp_path / "meta.parquet")
    with pytest.raises(ValueError, match=r"schema metadata 'sampling_rate' is not JSON"):
        open_signal_file(tmp_path / "meta.parquet")
    pq.write_table(pa.table({"ecg": pa.array([], pa.float64())}), tmp_path / "empty.parquet")
    with pytest.raises(ValueError, match=r"empty\.parquet holds no rows"):
        open_signal_file(tmp_path / "empty.parquet", sampling_rate=10)
    uneven = parquet_file(tmp_path / "uneven.parquet", 100, time=True)
    table = pq.read_table(uneven)
    pq.write_table(table.set_column(0, "time", pa.array(np.arange(100) ** 1.5)), uneven)
    with pytest.raises(ValueError, match=r"time column is irregular.*pass --sampling-rate HZ"):
        open_signal_file(uneven)

    csv = csv_file(tmp_path / "late.csv", 5000)
    csv.write_text(csv.read_text().replace("\n70.0000,", "\n70.0000x,", 1))
    with pytest.raises(ValueError, match=r"cell '70.0000x' in column 'time', data row 3501 \(line 3502\)"):
        open_signal_file(csv)  # the rate needs the time column: its bad cell is found before any signal is read
    csv.write_text(csv.read_text().replace("\n70.0000x,", "\n70.0000,", 1).replace(",-0.", ",oops", 1))
    recording = open_signal_file(csv, sampling_rate=50)
    with pytest.raises(ValueError, match=r"late\.csv: cell 'oops.*' in column '(ECG|BVP)'.*is not a number"):
        for channel in recording.signals:
            channel[0 : len(channel)]


def test_a_timeline_from_a_file_equals_one_from_its_arrays(tmp_path):
    torch.manual_seed(0)
    options = dict(model=NormWearModel(micro_config()).eval(), feature_extractor=NormWearFeatureExtractor())
    path = edf_file(tmp_path / "night.edf", 150)
    whole = read_signal_file(path)
    options.update(hop_seconds=30, chunk_seconds=40)  # the same batches of windows: the same arithmetic
    from_file = list(timeline(path, **options))
    from_arrays = list(timeline(whole.signals, whole.sampling_rate, channel_types=whole.channel_types, **options))
    assert len(from_file) == len(from_arrays) == 5
    for name in ("embedding", "quality", "signal_min"):
        np.testing.assert_array_equal(
            *(np.stack([getattr(w, name) for w in rows]) for rows in (from_file, from_arrays))
        )
