"""UCI-HAR converter on a tiny fixture written in the release's exact text layout."""

from pathlib import Path

import numpy as np
import pytest

from normwear_hf.data.converters import common, uci_har
from normwear_hf.data.schema import validate_example

AXES = [f"{kind}_{axis}" for kind in ("body_acc", "body_gyro", "total_acc") for axis in "xyz"]
LABELS = "1 WALKING\n2 WALKING_UPSTAIRS\n3 WALKING_DOWNSTAIRS\n4 SITTING\n5 STANDING\n6 LAYING\n"


def _line(values: np.ndarray) -> str:
    """The release writes '  1.8085150e-004 -1.0138560e-002 ...' (three-digit exponents, two-space separators)."""
    out = []
    for value in values:
        mantissa, exponent = f"{value:.7e}".split("e")
        out.append(f"{mantissa}e{exponent[0]}{int(exponent[1:]):03d}".rjust(15))
    return " " + " ".join(out)


def write_release(root: Path, windows: dict[str, list[tuple[int, int]]]) -> dict:
    """``windows[split]`` lists (subject, activity) per window; signal values encode split/window/channel."""
    base = root / "UCI HAR Dataset"
    base.mkdir(parents=True)
    (base / "activity_labels.txt").write_text(LABELS)
    expected = {}
    for split_index, (split, rows) in enumerate(windows.items()):
        folder = base / split / "Inertial Signals"
        folder.mkdir(parents=True)
        (base / split / f"y_{split}.txt").write_text("".join(f"{a}\n" for _, a in rows))
        (base / split / f"subject_{split}.txt").write_text("".join(f"{s}\n" for s, _ in rows))
        for channel_index, name in enumerate(AXES):
            data = np.array(
                [
                    np.sin(np.arange(128) / 7.0 + channel_index) * 0.5 + split_index + window / 10
                    for window in range(len(rows))
                ]
            )
            expected[(split, name)] = data
            (folder / f"{name}_{split}.txt").write_text("".join(_line(row) + "\n" for row in data))
    return expected


def test_rows_channels_labels_subjects(tmp_path):
    expected = write_release(tmp_path, {"train": [(1, 1), (1, 6), (3, 4)], "test": [(2, 5)]})
    rows = list(uci_har.iter_examples(tmp_path, progress=False))
    assert len(rows) == 4
    for row in rows:
        validate_example(row)
    first = rows[0]
    assert first["source"] == "uci_har" and first["subject_id"] == "uci_har:1"
    assert first["channel_names"] == [name for name, _ in uci_har.CHANNELS]
    assert first["channel_types"] == ["acc"] * 3 + ["gyro"] * 3
    assert first["sampling_rate"] == [50.0] * 6
    assert all(len(channel) == 128 for channel in first["signals"])
    np.testing.assert_allclose(first["signals"][0], expected[("train", "total_acc_x")][0], rtol=1e-6)
    np.testing.assert_allclose(rows[2]["signals"][4], expected[("train", "body_gyro_y")][2], rtol=1e-6)
    labels = [{entry["name"]: entry["value"] for entry in row["class_labels"]} for row in rows]
    assert labels[1] == {"activity": "LAYING", "release_split": "train"}
    assert labels[3] == {"activity": "STANDING", "release_split": "test"}
    assert [row["subject_id"] for row in rows] == ["uci_har:1", "uci_har:1", "uci_har:3", "uci_har:2"]
    assert len({row["recording_id"] for row in rows}) == 4
    # raw_dir may also be the release folder itself
    assert len(list(uci_har.iter_examples(tmp_path / "UCI HAR Dataset", progress=False))) == 4


def test_card_contract():
    assert uci_har.NAME == "uci_har"
    for key in ("pretty_name", "license", "homepage", "citation", "description", "task_categories"):
        assert uci_har.CARD[key]
    assert uci_har.CARD["label_names"]["activity"] == list(uci_har.ACTIVITIES)
    assert uci_har.CARD["citation"].startswith("@")


def test_missing_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="activity_labels.txt not found"):
        list(uci_har.iter_examples(tmp_path, progress=False))
    write_release(tmp_path, {"train": [(1, 1), (2, 2)], "test": [(3, 3)]})
    signals = tmp_path / "UCI HAR Dataset" / "test" / "Inertial Signals"
    (signals / "body_gyro_z_test.txt").unlink()
    with pytest.raises(ValueError, match="body_gyro_z_test.txt is missing"):
        list(uci_har.iter_examples(tmp_path, progress=False))
    (signals / "body_gyro_z_test.txt").write_text(" 1.0 2.0 3.0\n")
    with pytest.raises(ValueError, match=r"body_gyro_z_test.txt is corrupt: expected 128 values"):
        list(uci_har.iter_examples(tmp_path, progress=False))
    (tmp_path / "UCI HAR Dataset" / "train" / "y_train.txt").write_text("1\n")
    with pytest.raises(ValueError, match="y_train.txt has 1 lines"):
        list(uci_har.iter_examples(tmp_path, progress=False))
    (tmp_path / "UCI HAR Dataset" / "train" / "y_train.txt").write_text("1\n9\n")
    with pytest.raises(ValueError, match=r"labels \[9\] not in activity_labels"):
        list(uci_har.iter_examples(tmp_path, progress=False))


def test_convert_end_to_end(tmp_path):
    write_release(tmp_path / "raw", {"train": [(1, 1), (1, 6), (3, 4)], "test": [(2, 5)]})
    result = common.convert("uci_har", tmp_path / "raw", tmp_path / "out", seed=0, progress=False)
    train, test = set(result["train"]["subject_id"]), set(result["test"]["subject_id"])
    assert train.isdisjoint(test) and train | test == {"uci_har:1", "uci_har:2", "uci_har:3"} and len(test) == 1
    assert len(result["train"]) + len(result["test"]) == 4
    card = (tmp_path / "out" / "README.md").read_text()
    assert "@inproceedings{anguita2013public" in card and "| acc | 50 |" in card
