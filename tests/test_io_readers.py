"""Signal-file readers for the CLI: every format round-trips, flags override files, bad files say what to fix."""

import shutil
from importlib import resources

import numpy as np
import pytest
from test_converter_mitbih import write_record
from test_converter_sleep_edf import write_edf

from normwear_hf.io_readers import guess_channel_type, iter_signal_files, read_signal_file
from normwear_hf.samples import load_sample_recording


def _signals(channels=2, samples=500, seed=0):
    return np.random.default_rng(seed).standard_normal((channels, samples)).astype(np.float32)


def _write_csv(path, header, rows):
    lines = ([",".join(header)] if header else []) + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


# ----------------------------------------------------------------------------------------------------------------
# .npy / .npz
# ----------------------------------------------------------------------------------------------------------------


def test_npy_channels_time_and_rates(tmp_path):
    data = _signals(3, 600)
    np.save(tmp_path / "x.npy", data)
    recording = read_signal_file(tmp_path / "x.npy", sampling_rate=100)
    assert len(recording.signals) == 3 and recording.sampling_rate == [100.0] * 3
    np.testing.assert_array_equal(np.stack(recording.signals), data)
    assert recording.channel_names == ["channel 0", "channel 1", "channel 2"]
    assert recording.channel_types == [None, None, None]
    assert recording.duration_s == pytest.approx(6.0) and recording.source == str(tmp_path / "x.npy")

    per_channel = read_signal_file(tmp_path / "x.npy", sampling_rate="100,50,25", channel_types="ecg,PPG,resp")
    assert per_channel.sampling_rate == [100.0, 50.0, 25.0] and per_channel.channel_types == ["ecg", "ppg", "resp"]

    np.save(tmp_path / "one.npy", data[0])
    single = read_signal_file(tmp_path / "one.npy", sampling_rate=[64.0])
    assert len(single.signals) == 1 and single.signals[0].dtype == np.float32


@pytest.mark.parametrize(
    "array, kwargs, message",
    [
        (np.zeros((2, 100)), {}, r"x\.npy: a \.npy file carries no sampling rate; pass it with --sampling-rate"),
        (np.zeros((500, 3)), {"sampling_rate": 50}, r"looks like \[time, channels\].*array\.T"),
        (np.zeros((2, 3, 100)), {"sampling_rate": 50}, r"one file holds one recording"),
        (np.zeros((2, 0)), {"sampling_rate": 50}, r"is empty"),
        (np.array([["a", "b"]]), {"sampling_rate": 50}, r"not numbers"),
        (np.zeros((2, 100)), {"sampling_rate": "50,50,50"}, r"gives 3 rates but the file has 2 channels"),
        (np.zeros((2, 100)), {"sampling_rate": -5}, r"positive numbers"),
        (np.zeros((2, 100)), {"sampling_rate": 50, "channel_types": "ecg"}, r"1 channel types given.*2 channels"),
        (np.zeros((2, 100)), {"sampling_rate": 50, "channel_types": "ecg,xyz"}, r"unknown channel type.*'xyz'"),
        (np.stack([np.zeros(100), np.full(100, np.nan)]), {"sampling_rate": 50}, r"'channel 1' has no finite"),
    ],
)
def test_npy_errors_name_file_and_fix(tmp_path, array, kwargs, message):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(ValueError, match=message) as error:
        read_signal_file(tmp_path / "x.npy", **kwargs)
    assert str(tmp_path / "x.npy") in str(error.value)


def test_npy_object_array_is_refused_without_unpickling(tmp_path):
    np.save(tmp_path / "x.npy", np.array([np.zeros(3), np.zeros(5)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="without unpickling"):
        read_signal_file(tmp_path / "x.npy", sampling_rate=10)


def test_npz_signals_layout(tmp_path):
    data = _signals(2, 400)
    np.savez(
        tmp_path / "r.npz",
        signals=data,
        sampling_rate=np.array([100.0, 50.0]),
        channel_types=np.array(["ecg", "ppg"]),
        channel_names=np.array(["lead II", "finger"]),
    )
    recording = read_signal_file(tmp_path / "r.npz")
    np.testing.assert_array_equal(np.stack(recording.signals), data)
    assert recording.sampling_rate == [100.0, 50.0]
    assert recording.channel_types == ["ecg", "ppg"] and recording.channel_names == ["lead II", "finger"]
    flagged = read_signal_file(tmp_path / "r.npz", sampling_rate=200, channel_types=["eeg", "eeg"])
    assert flagged.sampling_rate == [200.0, 200.0] and flagged.channel_types == ["eeg", "eeg"]

    np.savez(tmp_path / "norate.npz", signals=data)
    with pytest.raises(ValueError, match=r"norate\.npz holds no 'sampling_rate'.*--sampling-rate"):
        read_signal_file(tmp_path / "norate.npz")
    assert read_signal_file(tmp_path / "norate.npz", sampling_rate=10).sampling_rate == [10.0, 10.0]
    np.savez(tmp_path / "other.npz", values=data)
    with pytest.raises(ValueError, match=r"other\.npz: it has no 'signals' entry.*Expected entries 'signals'"):
        read_signal_file(tmp_path / "other.npz")
    np.savez(tmp_path / "badtypes.npz", signals=data, sampling_rate=10, channel_types=np.array(["ecg"]))
    with pytest.raises(ValueError, match=r"'channel_types' must list one entry per channel \(2\)"):
        read_signal_file(tmp_path / "badtypes.npz")


def test_npz_sample_recording_layout(tmp_path):
    source = resources.files("normwear_hf").joinpath("sample_data", "sample_recording.npz")
    with resources.as_file(source) as local:
        shutil.copy(local, tmp_path / "sample.npz")
    recording = read_signal_file(tmp_path / "sample.npz")
    expected = load_sample_recording()
    assert recording.sampling_rate == expected.sampling_rate
    assert recording.channel_types == expected.channel_types
    assert recording.channel_names == expected.channel_names
    for got, want in zip(recording.signals, expected.signals):
        np.testing.assert_array_equal(got, want)


def test_corrupt_npy_and_npz(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"not numpy at all")
    with pytest.raises(ValueError, match=r"bad\.npy"):
        read_signal_file(tmp_path / "bad.npy", sampling_rate=10)
    (tmp_path / "bad.npz").write_bytes(b"PK nonsense")
    with pytest.raises(ValueError, match=r"bad\.npz is not a valid \.npz file"):
        read_signal_file(tmp_path / "bad.npz")


# ----------------------------------------------------------------------------------------------------------------
# .csv
# ----------------------------------------------------------------------------------------------------------------


def test_csv_time_column_gives_rate_and_names_give_types(tmp_path):
    t = np.arange(500) / 250.0
    ecg, bvp, other = np.sin(t), np.cos(t), t * 2
    rows = [(f"{a:.6f}", f"{b:.6f}", f"{c:.6f}", f"{d:.6f}") for a, b, c, d in zip(t, ecg, bvp, other)]
    path = _write_csv(tmp_path / "r.csv", ["time", "ECG lead II", "BVP", "marker"], rows)
    recording = read_signal_file(path)
    assert recording.sampling_rate == [250.0, 250.0, 250.0]
    assert recording.channel_names == ["ECG lead II", "BVP", "marker"]
    assert recording.channel_types == ["ecg", "ppg", None]
    np.testing.assert_allclose(recording.signals[0], ecg, atol=1e-6)
    np.testing.assert_allclose(recording.signals[2], other, atol=1e-5)
    # flags override the time column and the guesses
    flagged = read_signal_file(path, sampling_rate="100", channel_types="ecg,ecg,acc")
    assert flagged.sampling_rate == [100.0] * 3 and flagged.channel_types == ["ecg", "ecg", "acc"]


def test_csv_milliseconds_headerless_and_gaps(tmp_path):
    rows = [(i * 20, float(i), float(-i)) for i in range(100)]
    recording = read_signal_file(_write_csv(tmp_path / "ms.csv", ["timestamp_ms", "eda", "temp"], rows))
    assert recording.sampling_rate == [50.0, 50.0] and recording.channel_types == ["eda", "temp"]

    jittered = [(f"{i / 64:.3f}", float(i)) for i in range(640)]  # 64 Hz stamped to the millisecond
    rate = read_signal_file(_write_csv(tmp_path / "jitter.csv", ["t", "ppg"], jittered)).sampling_rate[0]
    assert rate == pytest.approx(64.0, rel=1e-3)

    headerless = _write_csv(tmp_path / "plain.csv", None, [(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)])
    recording = read_signal_file(headerless, sampling_rate=10)
    assert recording.channel_names == ["channel 0", "channel 1"]
    np.testing.assert_array_equal(recording.signals[1], [2.0, 4.0, 6.0])

    gap = _write_csv(tmp_path / "gap.csv", ["resp"], [(1.0,), ("",), (3.0,), ("NaN",), (5.0,)])
    values = read_signal_file(gap, sampling_rate=10).signals[0]
    assert np.isnan(values[[1, 3]]).all() and values[[0, 2, 4]].tolist() == [1.0, 3.0, 5.0]


@pytest.mark.parametrize(
    "header, rows, kwargs, message",
    [
        (["time", "ecg"], [(0.0, 1.0), (0.01, "abc"), (0.02, 3.0)], {}, r"cell 'abc' in column 'ecg', data row 2"),
        (["ecg"], [(1.0,), (2.0,)], {}, r"no time column.*--sampling-rate"),
        (["time", "ecg"], [], {}, r"header but no data rows"),
        (["time", "ecg"], [(0.0, 1.0), (0.01, 2.0), (0.5, 3.0)], {}, r"time column is irregular"),
        (["time", "ecg"], [(0.0, 1.0), (0.0, 2.0), (0.01, 3.0)], {}, r"not strictly increasing"),
        (["time", "ecg", "ppg"], [(0.0, 1.0, ""), (0.01, 2.0, "")], {}, r"'ppg' has no finite values"),
        (["time"], [(0.0,), (0.1,)], {}, r"time column but no signal columns"),
    ],
)
def test_csv_errors_name_file_and_fix(tmp_path, header, rows, kwargs, message):
    path = _write_csv(tmp_path / "r.csv", header, rows)
    with pytest.raises(ValueError, match=message) as error:
        read_signal_file(path, **kwargs)
    assert str(path) in str(error.value)


# ----------------------------------------------------------------------------------------------------------------
# .edf / WFDB .hea
# ----------------------------------------------------------------------------------------------------------------


def test_edf_rates_from_header_and_flags_override(tmp_path):
    rng = np.random.default_rng(1)
    eeg, resp = rng.integers(-1000, 1000, 100 * 4), rng.integers(-1000, 1000, 10 * 4)
    write_edf(
        tmp_path / "night.EDF",
        [
            ("EEG Fpz-Cz", 100, "uV", (-32768.0, 32767.0), (-32768, 32767), eeg),
            ("Resp oro-nasal", 10, "", (-32768.0, 32767.0), (-32768, 32767), resp),
        ],
        record_duration=1,
        num_records=4,
    )
    recording = read_signal_file(tmp_path / "night.EDF")
    assert recording.sampling_rate == [100.0, 10.0]
    assert recording.channel_names == ["EEG Fpz-Cz", "Resp oro-nasal"]
    assert recording.channel_types == ["eeg", "resp"]
    np.testing.assert_allclose(recording.signals[0], eeg, atol=1e-3)
    np.testing.assert_allclose(recording.signals[1], resp, atol=1e-3)
    assert read_signal_file(tmp_path / "night.EDF", sampling_rate="200,20").sampling_rate == [200.0, 20.0]
    (tmp_path / "broken.edf").write_bytes(b"0       garbage")
    with pytest.raises(ValueError, match=r"broken\.edf is corrupt"):
        read_signal_file(tmp_path / "broken.edf")


def test_wfdb_header_and_dat(tmp_path):
    physical = write_record(tmp_path, "100", seconds=3)
    recording = read_signal_file(tmp_path / "100.hea")
    assert recording.sampling_rate == [360.0, 360.0]
    assert recording.channel_names == ["MLII", "V1"] and recording.channel_types == ["ecg", "ecg"]
    np.testing.assert_allclose(np.stack(recording.signals), physical, atol=1e-6)
    with pytest.raises(ValueError, match=r"read through its header; pass .*100\.hea"):
        read_signal_file(tmp_path / "100.dat")
    (tmp_path / "100.dat").unlink()
    with pytest.raises(ValueError, match=r"100\.dat is missing"):
        read_signal_file(tmp_path / "100.hea")


@pytest.mark.parametrize(
    "signal_file, message",
    [
        ("/etc/passwd", "must be a plain file name beside its header"),
        ("/proc/self/environ", "must be a plain file name beside its header"),
        ("../outside.dat", "must be a plain file name beside its header"),
        ("sub/inner.dat", "must be a plain file name beside its header"),
        ("link.dat", "is a link to .*outside the header's folder"),
    ],
)
def test_wfdb_headers_cannot_read_files_outside_their_folder(tmp_path, signal_file, message):
    folder = tmp_path / "record"
    folder.mkdir()
    (tmp_path / "outside.dat").write_bytes(b"\0" * 400)
    (folder / "link.dat").symlink_to(tmp_path / "outside.dat")
    (folder / "p.hea").write_text(f"p 1 1 100\n{signal_file} 16 200\n")
    with pytest.raises(ValueError, match=message):
        read_signal_file(folder / "p.hea")


def test_wfdb_declared_sizes_are_checked_before_reading(tmp_path):
    (tmp_path / "big.hea").write_text("big 1 100 1000000000\nbig.dat 16 200\n")
    with (tmp_path / "big.dat").open("wb") as handle:  # sparse: a huge file that costs no disk
        handle.truncate(2 * 10**9)
    with pytest.raises(ValueError, match="declares 1,000,000,000 samples"):
        read_signal_file(tmp_path / "big.hea")
    (tmp_path / "short.hea").write_text("short 1 100 1000\nshort.dat 16 200\n")
    (tmp_path / "short.dat").write_bytes(b"\0" * 100)
    with pytest.raises(ValueError, match="corrupt or truncated: 100 bytes for the 2,000"):
        read_signal_file(tmp_path / "short.hea")


# ----------------------------------------------------------------------------------------------------------------
# Files, folders, guesses
# ----------------------------------------------------------------------------------------------------------------


def test_bad_paths(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match=r"empty\.csv is empty"):
        read_signal_file(tmp_path / "empty.csv")
    (tmp_path / "x.mat").write_text("x")
    with pytest.raises(ValueError, match=r"x\.mat: unsupported file type '\.mat'; supported: \.npy"):
        read_signal_file(tmp_path / "x.mat")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_signal_file(tmp_path / "nope.npy")
    with pytest.raises(ValueError, match="is a folder"):
        read_signal_file(tmp_path)


def test_iter_signal_files_expands_folders_sorted(tmp_path):
    for name in ("b.npy", "a.csv", "sub/c.edf", "sub/d.hea", "sub/d.dat", "notes.txt", ".hidden/e.npy", "z.NPZ"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = iter_signal_files([tmp_path])
    assert [path.relative_to(tmp_path).as_posix() for path in found] == [
        "a.csv",
        "b.npy",
        "sub/c.edf",
        "sub/d.hea",
        "z.NPZ",
    ]
    # explicit files keep their order; duplicates are dropped
    assert iter_signal_files([tmp_path / "z.NPZ", tmp_path / "a.csv", tmp_path / "z.NPZ"]) == [
        tmp_path / "z.NPZ",
        tmp_path / "a.csv",
    ]
    with pytest.raises(ValueError, match=r"notes\.txt: unsupported file type"):
        iter_signal_files([tmp_path / "notes.txt"])
    with pytest.raises(FileNotFoundError, match=r"missing\.npy does not exist"):
        iter_signal_files([tmp_path / "missing.npy"])
    (tmp_path / "void").mkdir()
    with pytest.raises(ValueError, match="holds no signal files"):
        iter_signal_files([tmp_path / "void"])


@pytest.mark.parametrize(
    "name, kind",
    [
        ("ECG lead II", "ecg"),
        ("ekg", "ecg"),
        ("MLII", "ecg"),
        ("V5", "ecg"),
        ("BVP", "ppg"),
        ("PPG wrist", "ppg"),
        ("Pleth", "ppg"),
        ("GSR", "eda"),
        ("EDA_phasic", "eda"),
        ("Respiration belt", "resp"),
        ("acc_x", "acc"),
        ("Wrist acceleration magnitude", "acc"),
        ("gyro_z", "gyro"),
        ("EMG submental", "emg"),
        ("EEG Fpz-Cz", "eeg"),
        ("Temp rectal", "temp"),
        ("skin temperature", "temp"),
        ("marker", None),
        ("channel 0", None),
    ],
)
def test_guess_channel_type(name, kind):
    assert guess_channel_type(name) == kind


def test_a_csv_with_a_million_columns_is_refused_at_once(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(["1"] * 10**6) + "\n" + ",".join(["2"] * 10**6) + "\n")
    with pytest.raises(ValueError, match=r"wide.csv: the first line is longer than 1,000,000 characters"):
        read_signal_file(wide, sampling_rate=10)
    columns = tmp_path / "columns.csv"
    columns.write_text(",".join(["1"] * 2000) + "\n")
    with pytest.raises(ValueError, match=r"columns.csv has 2,000 columns; .* at most 1024 channels"):
        read_signal_file(columns, sampling_rate=10)
