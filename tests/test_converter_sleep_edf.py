"""Sleep-EDF converter and EDF reader on a PSG (EDF) and a hypnogram (EDF+) written here byte by byte."""

import numpy as np
import pytest

from normwear_hf.data.converters import common, edf, sleep_edf
from normwear_hf.data.schema import validate_example

PSG_SIGNALS = [  # label, samples per 30 s record, physical dimension, physical range
    ("EEG Fpz-Cz", 3000, "uV", (-200.0, 200.0)),
    ("EEG Pz-Oz", 3000, "uV", (-200.0, 200.0)),
    ("EOG horizontal", 3000, "uV", (-500.0, 500.0)),
    ("Resp oro-nasal", 30, "", (-2048.0, 2047.0)),
    ("EMG submental", 30, "uV", (0.0, 50.0)),
    ("Temp rectal", 30, "DegC", (34.0, 40.0)),
    ("Event marker", 30, "", (-2048.0, 2047.0)),
]


def _field(value, width: int) -> bytes:
    return str(value).ljust(width)[:width].encode("ascii")


def write_edf(
    path, signals, record_duration, num_records, reserved="", start=("16.04.89", "00.21.00"), patient="X M 33yr"
):
    """``signals``: (label, samples per record, dimension, (pmin, pmax), (dmin, dmax), int16 data [num_records*n])."""
    head = b"".join(
        [
            _field("0", 8),
            _field(patient, 80),
            _field("Startdate 16-APR-1989 X X X", 80),
            _field(start[0], 8),
            _field(start[1], 8),
            _field(256 * (len(signals) + 1), 8),
            _field(reserved, 44),
            _field(num_records, 8),
            _field(f"{record_duration:g}", 8),
            _field(len(signals), 4),
        ]
    )
    columns = [
        (0, 16),
        (None, 80),
        (2, 8),
        ("pmin", 8),
        ("pmax", 8),
        ("dmin", 8),
        ("dmax", 8),
        (None, 80),
        (1, 8),
        (None, 32),
    ]
    for key, width in columns:
        for label, samples, dimension, (pmin, pmax), (dmin, dmax), _ in signals:
            value = {0: label, 1: samples, 2: dimension, "pmin": pmin, "pmax": pmax, "dmin": dmin, "dmax": dmax}
            head += _field(value.get(key, ""), width)
    body = b"".join(
        b"".join(data[r * samples : (r + 1) * samples].astype("<i2").tobytes() for _, samples, *_, data in signals)
        for r in range(num_records)
    )
    path.write_bytes(head + body)


def write_psg(path, records):
    signals, expected = [], {}
    rng = np.random.default_rng(0)
    for label, samples, dimension, (pmin, pmax) in PSG_SIGNALS:
        digital = rng.integers(-32768, 32768, samples * records)
        if label == "EEG Fpz-Cz":  # encodes time: the epoch index, so cuts can be checked
            digital = (np.arange(samples * records) // samples).astype(np.int64)
        gain = (pmax - pmin) / 65535
        expected[label] = digital * gain + pmin + 32768 * gain
        signals.append((label, samples, dimension, (pmin, pmax), (-32768, 32767), digital))
    write_edf(path, signals, 30, records)
    return expected


def write_hypnogram(path, stages, start=("16.04.89", "00.21.00")):
    """``stages``: (onset s, duration s, text); an EDF+C file with one annotation record, as Sleep-EDF ships."""
    tals = b"+0\x14\x14\x00" + b"".join(
        f"+{onset:g}\x15{duration:g}\x14{text}\x14\x00".encode() for onset, duration, text in stages
    )
    tals += b"\x00" * (-len(tals) % 2)
    data = np.frombuffer(tals, dtype="<i2").astype(np.int64)
    signal = (edf.ANNOTATIONS_LABEL, data.size, "", (-1, 1), (-32768, 32767), data)
    write_edf(path, [signal], 0, 1, reserved="EDF+C", start=start, patient="X F X Female_33yr")


STAGES = [
    (0, 90, "Sleep stage W"),
    (90, 30, "Sleep stage 1"),
    (120, 60, "Sleep stage 2"),
    (180, 30, "Sleep stage 3"),
    (210, 30, "Sleep stage 4"),
    (240, 30, "Sleep stage ?"),
    (270, 30, "Sleep stage R"),
    (300, 30, "Movement time"),
    (330, 150, "Sleep stage W"),
]


def test_epochs_channels_labels(tmp_path, monkeypatch):
    folder = tmp_path / "sleep-cassette"
    folder.mkdir()
    expected = write_psg(folder / "SC4001E0-PSG.edf", records=16)
    write_hypnogram(folder / "SC4001EC-Hypnogram.edf", STAGES)
    rows = list(sleep_edf.iter_examples(tmp_path, progress=False))
    stages = [{e["name"]: e["value"] for e in row["class_labels"]}["stage"] for row in rows]
    assert stages == ["W"] * 3 + ["N1", "N2", "N2", "N3", "N3", "REM"] + ["W"] * 5
    assert [row["start_s"] for row in rows[:4]] == [0.0, 30.0, 60.0, 90.0]
    assert rows[-1]["recording_id"] == "SC4001E0#15"
    first = rows[3]
    validate_example(first)
    assert first["channel_names"] == [label for label, *_ in PSG_SIGNALS[:-1]]  # the event marker is dropped
    assert first["channel_types"] == ["eeg", "eeg", "other", "resp", "emg", "temp"]
    assert first["sampling_rate"] == [100.0, 100.0, 100.0, 1.0, 1.0, 1.0]
    assert [len(c) for c in first["signals"]] == [3000, 3000, 3000, 30, 30, 30]
    assert first["subject_id"] == "sleep_edf:SC400" and first["source"] == "sleep_edf"
    np.testing.assert_allclose(first["signals"][0], expected["EEG Fpz-Cz"][9000:12000], atol=1e-4)
    np.testing.assert_allclose(first["signals"][5], expected["Temp rectal"][90:120], atol=1e-4)
    # the sleep period is kept with a wake margin either side
    monkeypatch.setattr(sleep_edf, "WAKE_MARGIN_S", 30.0)
    trimmed = list(sleep_edf.iter_examples(tmp_path, progress=False))
    assert [row["start_s"] for row in trimmed] == [60.0, 90.0, 120.0, 150.0, 180.0, 210.0, 270.0]


def test_hypnogram_offset_and_telemetry_names(tmp_path):
    write_psg(tmp_path / "ST7011J0-PSG.edf", records=4)
    stages = [(0, 60, "Sleep stage 2"), (60, 30, "Sleep stage R")]
    write_hypnogram(tmp_path / "ST7011JP-Hypnogram.edf", stages, start=("16.04.89", "00.21.30"))  # 30 s later
    rows = list(sleep_edf.iter_examples(tmp_path, progress=False))
    assert [row["start_s"] for row in rows] == [30.0, 60.0, 90.0]
    assert rows[0]["subject_id"] == "sleep_edf:ST701"


def test_edf_reader_header_and_signal_subset(tmp_path):
    expected = write_psg(tmp_path / "SC4002E0-PSG.edf", records=2)
    read = edf.read_edf(tmp_path / "SC4002E0-PSG.edf", labels={"EEG Pz-Oz", "Temp rectal"})
    assert [s.label for s in read.signals] == ["EEG Pz-Oz", "Temp rectal"]
    assert read.duration == 60.0 and read.num_records == 2 and read.record_duration == 30.0
    assert read.start.isoformat() == "1989-04-16T00:21:00"
    temp = read.signal("Temp rectal")
    assert temp.sampling_rate == 1.0 and temp.physical_dimension == "DegC"
    np.testing.assert_allclose(temp.data, expected["Temp rectal"], atol=1e-9)
    with pytest.raises(KeyError, match="has no signal 'EEG Fpz-Cz'"):
        read.signal("EEG Fpz-Cz")
    assert edf.parse_tals(b"+0\x14\x14\x00+30.5\x1530\x14Sleep stage 1\x14\x00\x00") == [(30.5, 30.0, "Sleep stage 1")]


def test_edf_reader_matches_pyedflib(tmp_path):
    pyedflib = pytest.importorskip("pyedflib")
    expected = write_psg(tmp_path / "SC4002E0-PSG.edf", records=2)
    with pyedflib.EdfReader(str(tmp_path / "SC4002E0-PSG.edf")) as reader:
        np.testing.assert_allclose(reader.readSignal(0), expected["EEG Fpz-Cz"], atol=1e-6)
        assert reader.getSampleFrequency(3) == 1.0
    write_hypnogram(tmp_path / "SC4002EC-Hypnogram.edf", STAGES[:3])
    with pyedflib.EdfReader(str(tmp_path / "SC4002EC-Hypnogram.edf")) as reader:
        onsets, durations, texts = reader.readAnnotations()
    assert list(texts) == [text for *_, text in STAGES[:3]] and list(durations) == [90, 30, 60]
    path = str(tmp_path / "written.edf")
    writer = pyedflib.EdfWriter(path, 1, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.setSignalHeaders([pyedflib.highlevel.make_signal_header("EEG Fpz-Cz", sample_frequency=100)])
    writer.writeSamples([np.sin(np.arange(1000) / 10.0) * 100])
    writer.writeAnnotation(5.0, 30.0, "Sleep stage 2")
    writer.close()
    read = edf.read_edf(path)
    np.testing.assert_allclose(read.signal("EEG Fpz-Cz").data, np.sin(np.arange(1000) / 10.0) * 100, atol=0.02)
    assert read.annotations == [(5.0, 30.0, "Sleep stage 2")]


def test_errors_name_the_file(tmp_path, caplog):
    with pytest.raises(ValueError, match="holds no Sleep-EDF recordings"):
        list(sleep_edf.iter_examples(tmp_path, progress=False))
    write_psg(tmp_path / "SC4011E0-PSG.edf", records=4)
    with pytest.raises(ValueError, match=r"SC4011\?\?-Hypnogram.edf is missing"):
        list(sleep_edf.iter_examples(tmp_path, progress=False))
    write_hypnogram(tmp_path / "SC4011EH-Hypnogram.edf", [(0, 45, "Sleep stage W"), (45, 20, "Sleep stage 2")])
    with caplog.at_level("WARNING"):
        rows = list(sleep_edf.iter_examples(tmp_path, progress=False))
    assert [row["start_s"] for row in rows] == [0.0]  # 45 s -> one whole epoch; 20 s -> none
    assert "'Sleep stage W' at 0 s lasts 45 s" in caplog.text
    write_hypnogram(tmp_path / "SC4011EH-Hypnogram.edf", [(0, 30, "Sleep stage 5")])
    with pytest.raises(ValueError, match=r"SC4011EH-Hypnogram.edf is corrupt: unknown stage"):
        list(sleep_edf.iter_examples(tmp_path, progress=False))
    data = (tmp_path / "SC4011E0-PSG.edf").read_bytes()
    (tmp_path / "SC4011E0-PSG.edf").write_bytes(data[:-100])
    with pytest.raises(ValueError, match=r"SC4011E0-PSG.edf is corrupt: 4 data records announced, 3 present"):
        list(sleep_edf.iter_examples(tmp_path, progress=False))
    (tmp_path / "SC4011E0-PSG.edf").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"SC4011E0-PSG.edf is corrupt: not an EDF file"):
        list(sleep_edf.iter_examples(tmp_path, progress=False))
    with pytest.raises(ValueError, match=r"absent.edf is missing"):
        edf.read_edf(tmp_path / "absent.edf")


def test_card():
    assert sleep_edf.NAME == "sleep_edf" and sleep_edf.CARD["citation"].startswith("@article")
    assert sleep_edf.CARD["label_names"]["stage"] == ["W", "N1", "N2", "N3", "REM"]


def test_convert_end_to_end(tmp_path):
    (tmp_path / "raw").mkdir()
    for night in ("SC4001", "SC4011"):
        write_psg(tmp_path / "raw" / f"{night}E0-PSG.edf", records=16)
        write_hypnogram(tmp_path / "raw" / f"{night}EC-Hypnogram.edf", STAGES)
    result = common.convert("sleep_edf", tmp_path / "raw", tmp_path / "out", seed=0, progress=False)
    train, test = set(result["train"]["subject_id"]), set(result["test"]["subject_id"])
    assert train.isdisjoint(test) and train | test == {"sleep_edf:SC400", "sleep_edf:SC401"} and len(test) == 1
    assert len(result["train"]) + len(result["test"]) == 28
    card = (tmp_path / "out" / "README.md").read_text()
    assert "@article{kemp2000analysis" in card and "| eeg | 100 |" in card


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(num_records=-5), "-5 data records"),
        (dict(start=("31.02.89", "00.21.00")), r"start date/time '31.02.89' .* is impossible"),
        (dict(record_duration=1e300), "a data record lasts 1e\\+300 s"),
    ],
)
def test_hostile_edf_header_fields_name_the_file(tmp_path, change, message):
    from normwear_hf.data.converters.edf import read_edf

    signal = ("EEG", 10, "uV", (-100.0, 100.0), (-2048, 2047), np.zeros(20, dtype=np.int16))
    arguments = dict(record_duration=1, num_records=2) | change
    path = tmp_path / "hostile.edf"
    write_edf(path, [signal], arguments.pop("record_duration"), arguments.pop("num_records"), **arguments)
    with pytest.raises(ValueError, match=f"hostile.edf.*{message}|hostile.edf is corrupt: {message}"):
        read_edf(path)


def test_huge_sparse_edf_is_refused_without_reading_it(tmp_path):
    from normwear_hf.data.converters.edf import read_edf

    signal = ("EEG", 1000, "uV", (-100.0, 100.0), (-2048, 2047), np.zeros(0, dtype=np.int16))
    path = tmp_path / "big.edf"
    write_edf(path, [signal], 1, 0)
    with path.open("r+b") as handle:  # declare 10^6 records and make the file that long, sparsely
        handle.seek(236)
        handle.write(b"1000000 ")
        handle.truncate(512 + 2 * 1000 * 10**6)
    with pytest.raises(ValueError, match=r"big.edf holds 1,000,000 records x 1,000 samples"):
        read_edf(path)
