"""WESAD converter on synthetic fixture pickles written in the published layout (``SX/SX.pkl``, Python-2 pickle)."""

import logging
import pickle
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from normwear_hf.data.converters import common, wesad
from normwear_hf.data.converters.safe_pickle import CorruptPickleError, UnsafePickleError, dump_legacy_pickle

REPO = Path(__file__).resolve().parents[1]
# (label, seconds): 0 transient, 1 baseline, 4 meditation, 2 stress, 3 amusement, 6 ignore. 60 s in all.
PROTOCOL = [(0, 3.0), (1, 20.0), (4, 5.0), (2, 13.0), (0, 2.0), (3, 12.5), (6, 4.5)]
DURATION_S = sum(seconds for _, seconds in PROTOCOL)
# 6 s windows inside each kept run: baseline 3-23 s -> 3, stress 28-41 s -> 2, amusement 43-55.5 s -> 2.
EXPECTED = [(3.0, "baseline"), (9.0, "baseline"), (15.0, "baseline"), (28.0, "stress"), (34.0, "stress")]
EXPECTED += [(43.0, "amusement"), (49.0, "amusement")]
WRIST_RATES = {"ACC": 32, "BVP": 64, "EDA": 4, "TEMP": 4}


def _track(rate: float, columns: int, offset: float) -> np.ndarray:
    """Values that encode time: column j at sample i holds offset + 10 j + i / rate (seconds)."""
    t = np.arange(int(DURATION_S * rate)) / rate
    return np.stack([offset + 10 * j + t for j in range(columns)], axis=1).astype(np.float64)


def wesad_record(subject: str) -> dict:
    """One subject's dict with the published keys, shapes and dtypes (chest 700 Hz, (N, 1) / (N, 3) arrays)."""
    chest_keys = ["ACC", "ECG", "EMG", "EDA", "Temp", "Resp"]
    chest = {key: _track(700, 3 if key == "ACC" else 1, 100 * k) for k, key in enumerate(chest_keys)}
    wrist = {
        key: _track(rate, 3 if key == "ACC" else 1, 1000 + 100 * k) for k, (key, rate) in enumerate(WRIST_RATES.items())
    }
    label = np.concatenate([np.full(int(round(seconds * 700)), value, dtype=np.int32) for value, seconds in PROTOCOL])
    return {"signal": {"chest": chest, "wrist": wrist}, "label": label, "subject": subject}


def write_release(root: Path, subjects=("S2", "S3", "S4", "S5"), mutate=None) -> Path:
    for subject in subjects:
        record = wesad_record(subject)
        if mutate is not None:
            mutate(subject, record)
        (root / subject).mkdir(parents=True)
        dump_legacy_pickle(record, root / subject / f"{subject}.pkl")
    return root


def test_fixture_is_a_python2_style_pickle(tmp_path):
    write_release(tmp_path / "WESAD", subjects=("S2",))
    with open(tmp_path / "WESAD" / "S2" / "S2.pkl", "rb") as handle, pytest.raises(UnicodeDecodeError):
        pickle.load(handle)


def test_windows_labels_rates_and_values(tmp_path):
    root = write_release(tmp_path / "WESAD", subjects=("S2",))
    rows = list(wesad.iter_examples(root, progress=False))
    assert [(row["start_s"], row["class_labels"][0]["value"]) for row in rows] == EXPECTED
    expected_rates = [700.0] * 8 + [32.0] * 3 + [64.0, 4.0, 4.0]
    names = [spec[3] for spec in wesad.CHANNELS]
    for row in rows:
        assert row["source"] == "wesad" and row["subject_id"] == "wesad:S2"
        assert row["class_labels"] == [{"name": "condition", "value": row["class_labels"][0]["value"]}]
        assert row["numeric_labels"] == []
        assert row["sampling_rate"] == expected_rates and row["channel_names"] == names
        assert row["channel_types"] == ["acc"] * 3 + ["ecg", "emg", "eda", "temp", "resp"] + ["acc"] * 3 + [
            "ppg",
            "eda",
            "temp",
        ]
        assert [len(channel) for channel in row["signals"]] == [int(6 * rate) for rate in expected_rates]
        # Every channel starts at the window's start time, whatever its rate (values encode time).
        offsets = [0, 10, 20, 100, 200, 300, 400, 500, 1000, 1010, 1020, 1100, 1200, 1300]
        for channel, offset, rate in zip(row["signals"], offsets, expected_rates):
            assert abs(channel[0] - offset - row["start_s"]) <= 0.5 / rate + 1e-3
            np.testing.assert_allclose(np.diff(channel), 1 / rate, atol=1e-3)
        assert row["recording_id"].startswith("wesad/S2/" + row["class_labels"][0]["value"] + "@")
    assert len({row["recording_id"] for row in rows}) == len(rows)


def test_window_and_hop_are_parameters(tmp_path):
    root = write_release(tmp_path / "WESAD", subjects=("S2",))
    rows = list(wesad.iter_examples(root, progress=False, window_s=10.0, hop_s=5.0))
    assert [(row["start_s"], row["class_labels"][0]["value"]) for row in rows] == [
        (3.0, "baseline"),
        (8.0, "baseline"),
        (13.0, "baseline"),
        (28.0, "stress"),
        (43.0, "amusement"),
    ]
    assert wesad.label_runs(np.array([1, 1, 2, 2, 2, 1])) == [(0, 2, 1), (2, 5, 2), (5, 6, 1)]


def test_convert_end_to_end(tmp_path):
    root = write_release(tmp_path / "WESAD")
    result = common.convert("wesad", root, tmp_path / "out", seed=0, progress=False)
    train, test = set(result["train"]["subject_id"]), set(result["test"]["subject_id"])
    assert (
        train.isdisjoint(test) and train | test == {"wesad:S2", "wesad:S3", "wesad:S4", "wesad:S5"} and len(test) == 1
    )
    assert len(result["train"]) == 21 and len(result["test"]) == 7
    again = common.convert("wesad", root, tmp_path / "again", seed=0, progress=False)
    assert set(again["test"]["subject_id"]) == test
    text = (tmp_path / "out" / "README.md").read_text()
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["license"] == "cc-by-4.0" and meta["task_categories"] == ["tabular-classification"]
    assert {"ecg", "emg", "eda", "temp", "resp", "acc", "ppg"} <= set(meta["tags"])
    assert "@inproceedings{schmidt2018wesad" in text and "| wrist_bvp | 64 |" in text
    assert "condition`: 1 = baseline, 2 = stress, 3 = amusement" in text
    assert "amusement 2, baseline 3, stress 2" in text  # label counts of the test split (one subject)


def test_constant_channel_is_dropped(tmp_path, caplog):
    def flat_emg(subject, record):
        record["signal"]["chest"]["EMG"][:] = 0.0

    root = write_release(tmp_path / "WESAD", subjects=("S2",), mutate=flat_emg)
    with caplog.at_level(logging.WARNING):
        rows = list(wesad.iter_examples(root, progress=False))
    assert "chest_emg is constant" in caplog.text
    assert len(rows) == 7 and "chest_emg" not in rows[0]["channel_names"] and len(rows[0]["signals"]) == 13


def test_missing_folder_and_layout_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        list(wesad.iter_examples(tmp_path / "nowhere", progress=False))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"S2/S2\.pkl"):
        list(wesad.iter_examples(tmp_path / "empty", progress=False))

    def drop_bvp(subject, record):
        del record["signal"]["wrist"]["BVP"]

    root = write_release(tmp_path / "nobvp", subjects=("S2",), mutate=drop_bvp)
    with pytest.raises(ValueError, match=r"S2\.pkl: missing signal\['wrist'\]\['BVP'\]"):
        list(wesad.iter_examples(root, progress=False))

    def drop_label(subject, record):
        del record["label"]

    root = write_release(tmp_path / "nolabel", subjects=("S2",), mutate=drop_label)
    with pytest.raises(ValueError, match=r"S2\.pkl: missing keys \['label'\]"):
        list(wesad.iter_examples(root, progress=False))


class _Exploit:
    def __reduce__(self):
        return (exec, ("open('pwned.txt', 'w').write('x')",))


def test_corrupt_and_malicious_pickles_stop_the_conversion(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = write_release(tmp_path / "WESAD", subjects=("S2", "S3"))
    data = (root / "S3" / "S3.pkl").read_bytes()
    (root / "S3" / "S3.pkl").write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptPickleError, match=r"S3\.pkl"):
        common.convert("wesad", root, tmp_path / "out", progress=False)
    (root / "S3" / "S3.pkl").write_bytes(pickle.dumps({"signal": _Exploit()}, protocol=2))
    with pytest.raises(UnsafePickleError, match=r"S3\.pkl.*exec"):
        common.convert("wesad", root, tmp_path / "out", progress=False)
    assert not (tmp_path / "pwned.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["WESAD"]


def test_dataset_script(tmp_path, monkeypatch, capsys):
    root = write_release(tmp_path / "WESAD", subjects=("S2", "S3"))
    out = tmp_path / "script_out"
    monkeypatch.setattr(
        sys, "argv", ["wesad.py", str(root), "--out", str(out), "--no-progress", "--test-fraction", "0.5"]
    )
    with pytest.raises(SystemExit) as exit_code:
        runpy.run_path(str(REPO / "dataset_scripts" / "wesad.py"), run_name="__main__")
    assert exit_code.value.code == 0
    assert "wesad: train 7 rows, test 7 rows" in capsys.readouterr().out
    assert (out / "README.md").is_file() and (out / "dataset_dict.json").is_file()
