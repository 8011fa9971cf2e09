"""PPG-DaLiA converter on synthetic fixture pickles written in the published layout (``SX/SX.pkl``, Python 2)."""

import logging
import pickle
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from normwear_hf.data.converters import common, ppg_dalia
from normwear_hf.data.converters.safe_pickle import CorruptPickleError, UnsafePickleError, dump_legacy_pickle

REPO = Path(__file__).resolve().parents[1]
DURATION_S = 30.0
LABELS = 13  # windows start at 0, 2, ..., 24 s; the last one (24-32 s) reaches past the 30 s recording
# Activity at 4 Hz: transient 0-5 s, sitting 5-14 s, walking 14-30 s.
ACTIVITY = [(0, 5.0), (1, 9.0), (7, 16.0)]
# Majority over [2 i, 2 i + 8): window 5 (10-18 s) is 4 s sitting / 4 s walking, a tie -> the smaller id.
EXPECTED_ACTIVITY = ["transient"] + ["sitting"] * 5 + ["walking"] * 6
CHEST = ["ACC", "ECG", "EMG", "EDA", "Temp", "Resp"]
WRIST_RATES = {"ACC": 32, "BVP": 64, "EDA": 4, "TEMP": 4}


def _track(rate: float, columns: int, offset: float) -> np.ndarray:
    t = np.arange(int(DURATION_S * rate)) / rate
    return np.stack([offset + 10 * j + t for j in range(columns)], axis=1).astype(np.float64)


def dalia_record(subject: str, number: int, chest_keys=CHEST) -> dict:
    """One subject's dict with the published keys, shapes and dtypes."""
    chest = {key: _track(700, 3 if key == "ACC" else 1, 100 * CHEST.index(key)) for key in chest_keys}
    wrist = {
        key: _track(rate, 3 if key == "ACC" else 1, 1000 + 100 * k) for k, (key, rate) in enumerate(WRIST_RATES.items())
    }
    activity = np.concatenate([np.full(int(seconds * 4), value, dtype=np.float64) for value, seconds in ACTIVITY])
    return {
        "rpeaks": np.arange(0, int(DURATION_S * 700), 600, dtype=np.int64),
        "signal": {"chest": chest, "wrist": wrist},
        "label": 60.0 + np.arange(LABELS, dtype=np.float64) + 10 * number,
        "activity": activity.reshape(-1, 1),
        "questionnaire": {"WEIGHT": 78.0, "Gender": " m", "AGE": 34, "HEIGHT": 182.0, "SKIN": 3, "SPORT": 6},
        "subject": subject,
    }


def write_release(root: Path, subjects=("S1", "S2", "S3", "S4", "S5"), mutate=None) -> Path:
    for number, subject in enumerate(subjects):
        record = dalia_record(subject, number)
        if mutate is not None:
            mutate(subject, record)
        (root / subject).mkdir(parents=True)
        dump_legacy_pickle(record, root / subject / f"{subject}.pkl")
    return root


def test_windows_follow_the_heart_rate_labels(tmp_path):
    root = write_release(tmp_path / "PPG_FieldStudy", subjects=("S1",))
    with open(root / "S1" / "S1.pkl", "rb") as handle, pytest.raises(UnicodeDecodeError):
        pickle.load(handle)  # a Python-2-style pickle, like the release
    rows = list(ppg_dalia.iter_examples(root, progress=False))
    assert len(rows) == 12  # label 12 (24-32 s) reaches past the end and is dropped
    rates = [700.0] * 8 + [32.0] * 3 + [64.0, 4.0, 4.0]
    offsets = [0, 10, 20, 100, 200, 300, 400, 500, 1000, 1010, 1020, 1100, 1200, 1300]
    for index, row in enumerate(rows):
        assert row["recording_id"] == f"ppg_dalia/S1#{index}" and row["subject_id"] == "ppg_dalia:S1"
        assert row["start_s"] == 2.0 * index
        assert row["numeric_labels"] == [{"name": "heart_rate", "value": 60.0 + index, "unit": "bpm"}]
        assert row["class_labels"] == [{"name": "activity", "value": EXPECTED_ACTIVITY[index]}]
        assert row["sampling_rate"] == rates
        assert row["channel_types"][3] == "ecg" and row["channel_types"][11] == "ppg"
        assert row["channel_names"][11] == "wrist_bvp"
        assert [len(channel) for channel in row["signals"]] == [int(8 * rate) for rate in rates]
        for channel, offset, rate in zip(row["signals"], offsets, rates):
            assert abs(channel[0] - offset - row["start_s"]) <= 0.5 / rate + 1e-3


def test_window_activity_rule():
    activity = np.array([0] * 16 + [3] * 16 + [5] * 40)
    assert ppg_dalia.window_activity(activity, 0) == "transient"  # 16 / 16 tie -> the smaller id
    assert ppg_dalia.window_activity(activity, 1) == "table_soccer"  # samples 8-39: 8 x 0, 16 x 3, 8 x 5
    assert ppg_dalia.window_activity(activity, 4) == "driving"
    assert ppg_dalia.window_activity(activity, 100) is None
    with pytest.raises(ValueError, match="outside 0-8"):
        ppg_dalia.window_activity(np.array([9] * 32), 0)


def test_chest_channels_that_are_absent_or_flat_are_skipped(tmp_path, caplog):
    def only_three(subject, record):
        for key in ("EMG", "EDA"):
            del record["signal"]["chest"][key]
        record["signal"]["chest"]["Temp"][:] = 0.0  # a sensor that was not attached

    root = write_release(tmp_path / "raw", subjects=("S1",), mutate=only_three)
    with caplog.at_level(logging.WARNING):
        rows = list(ppg_dalia.iter_examples(root, progress=False))
    assert "chest_emg skipped" in caplog.text and "chest_temp is constant" in caplog.text
    assert len(rows) == 12
    assert rows[0]["channel_names"][:5] == ["chest_acc_x", "chest_acc_y", "chest_acc_z", "chest_ecg", "chest_resp"]

    def no_bvp(subject, record):
        del record["signal"]["wrist"]["BVP"]

    root = write_release(tmp_path / "nobvp", subjects=("S1",), mutate=no_bvp)
    with pytest.raises(ValueError, match=r"S1\.pkl: missing signal\['wrist'\]\['BVP'\]"):
        list(ppg_dalia.iter_examples(root, progress=False))


def test_convert_end_to_end(tmp_path):
    root = write_release(tmp_path / "PPG_FieldStudy")
    result = common.convert("ppg_dalia", root, tmp_path / "out", seed=1, progress=False)
    train, test = set(result["train"]["subject_id"]), set(result["test"]["subject_id"])
    assert train.isdisjoint(test) and len(test) == 1 and train | test == {f"ppg_dalia:S{n}" for n in range(1, 6)}
    assert len(result["train"]) == 48 and len(result["test"]) == 12
    subject = next(iter(test))
    number = int(subject.split(":S")[1]) - 1
    assert [row[0]["value"] for row in result["test"]["numeric_labels"]] == [60.0 + i + 10 * number for i in range(12)]
    again = common.convert("ppg_dalia", root, tmp_path / "again", seed=1, progress=False)
    assert again["test"]["recording_id"] == result["test"]["recording_id"]
    text = (tmp_path / "out" / "README.md").read_text()
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["task_categories"] == ["tabular-regression", "tabular-classification"]
    assert meta["license"] == "cc-by-4.0" and meta["size_categories"] == ["n<1K"]
    assert "ppg" in meta["tags"] and "@article{reiss2019deep" in text
    assert "8 = working" in text and "heart_rate: " in text and " bpm |" in text


def test_errors_name_the_file_or_folder(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="missing_dir"):
        common.convert("ppg_dalia", tmp_path / "missing_dir", tmp_path / "out", progress=False)
    root = write_release(tmp_path / "raw", subjects=("S1", "S2"))
    (root / "S2" / "S2.pkl").write_bytes(b"\x80\x02}q\x00(U\x06signal")
    with pytest.raises(CorruptPickleError, match=r"S2\.pkl"):
        list(ppg_dalia.iter_examples(root, progress=False))

    class Exploit:
        def __reduce__(self):
            return (__import__("subprocess").call, (["touch", str(tmp_path / "pwned")],))

    (root / "S2" / "S2.pkl").write_bytes(pickle.dumps(Exploit(), protocol=2))
    with pytest.raises(UnsafePickleError, match=r"S2\.pkl: refusing to load global \S+\.call"):
        common.convert("ppg_dalia", root, tmp_path / "out", progress=False)
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "out").exists()


def test_dataset_script(tmp_path, monkeypatch, capsys):
    root = write_release(tmp_path / "raw", subjects=("S1", "S2"))
    out = tmp_path / "script_out"
    monkeypatch.setattr(sys, "argv", ["ppg_dalia.py", str(root), "--out", str(out), "--no-progress"])
    with pytest.raises(SystemExit) as exit_code:
        runpy.run_path(str(REPO / "dataset_scripts" / "ppg_dalia.py"), run_name="__main__")
    assert exit_code.value.code == 0
    assert "ppg_dalia: train 12 rows, test 12 rows" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["convert.py", "ppg_dalia", str(root), "--out", str(out), "--no-progress"])
    with pytest.raises(FileExistsError):
        runpy.run_path(str(REPO / "dataset_scripts" / "convert.py"), run_name="__main__")
