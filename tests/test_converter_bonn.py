"""Bonn epilepsy converter on fixtures in the published layout: set folders and set zip archives."""

import zipfile

import numpy as np
import pytest

from normwear_hf.data.converters import bonn, common
from normwear_hf.data.schema import validate_example


def segment_text(offset: int) -> str:
    values = (np.arange(bonn.SEGMENT_SAMPLES) % 200 - 100 + offset).astype(int)
    return "".join(f"{v}\n" for v in values)


def write_corpus(root):
    (root / "Z").mkdir(parents=True)
    (root / "Z" / "Z001.txt").write_text(segment_text(0))
    (root / "Z" / "Z002.txt").write_text(segment_text(1))
    (root / "N").mkdir()
    (root / "N" / "N007.TXT").write_text(segment_text(2))
    with zipfile.ZipFile(root / "s.zip", "w") as archive:
        archive.writestr("S001.txt", segment_text(3))
        archive.writestr("readme.txt", "not a segment")


def test_windows_labels_values(tmp_path):
    write_corpus(tmp_path)
    rows = list(bonn.iter_examples(tmp_path, progress=False))
    assert len(rows) == 4 * 4  # four 6 s windows per 23.6 s segment
    for row in rows:
        validate_example(row)
        assert row["sampling_rate"] == [173.61] and row["channel_types"] == ["eeg"]
        assert abs(len(row["signals"][0]) - 6 * 173.61) <= 1
    ids = [row["recording_id"] for row in rows]
    assert ids[:5] == ["Z001#0", "Z001#1", "Z001#2", "Z001#3", "Z002#0"]
    assert [row["recording_id"] for row in rows[8:]][::4] == ["N007#0", "S001#0"]
    assert [row["start_s"] for row in rows[:4]] == pytest.approx([0.0, 5.8, 11.6, 17.4])
    assert rows[-1]["start_s"] + 6 <= bonn.SEGMENT_SAMPLES / bonn.SAMPLING_RATE
    labels = {row["recording_id"]: {e["name"]: e["value"] for e in row["class_labels"]} for row in rows}
    assert labels["Z002#1"] == {"set": "Z", "seizure": "no"}
    assert labels["N007#3"] == {"set": "N", "seizure": "no"}
    assert labels["S001#2"] == {"set": "S", "seizure": "yes"}
    assert {row["subject_id"] for row in rows} == {"bonn:Z001", "bonn:Z002", "bonn:N007", "bonn:S001"}
    expected = np.arange(bonn.SEGMENT_SAMPLES) % 200 - 100 + 3
    start = int(round(5.8 * 173.61))
    np.testing.assert_array_equal(rows[13]["signals"][0], expected[start : start + len(rows[13]["signals"][0])])


def test_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="holds no Bonn segments"):
        list(bonn.iter_examples(tmp_path, progress=False))
    with pytest.raises(ValueError, match="is not a folder"):
        list(bonn.iter_examples(tmp_path / "absent", progress=False))
    (tmp_path / "O").mkdir()
    (tmp_path / "O" / "O010.txt").write_text("12\n13\n")
    with pytest.raises(ValueError, match=r"O010.txt is corrupt: expected 4097"):
        list(bonn.iter_examples(tmp_path, progress=False))
    (tmp_path / "O" / "O010.txt").write_text("12\nabc\n")
    with pytest.raises(ValueError, match=r"O010.txt is corrupt"):
        list(bonn.iter_examples(tmp_path, progress=False))
    (tmp_path / "O" / "O010.txt").unlink()
    (tmp_path / "F.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"F.zip is corrupt"):
        list(bonn.iter_examples(tmp_path, progress=False))


def test_card():
    assert bonn.NAME == "bonn" and bonn.CARD["citation"].startswith("@article")
    assert bonn.CARD["label_names"]["set"] == ["Z", "O", "N", "F", "S"]


def test_convert_end_to_end(tmp_path):
    write_corpus(tmp_path / "raw")
    result = common.convert("bonn", tmp_path / "raw", tmp_path / "out", seed=0, progress=False)
    train, test = set(result["train"]["subject_id"]), set(result["test"]["subject_id"])
    assert (
        train.isdisjoint(test)
        and train | test == {"bonn:Z001", "bonn:Z002", "bonn:N007", "bonn:S001"}
        and len(test) == 1
    )
    assert len(result["train"]) + len(result["test"]) == 16
    card = (tmp_path / "out" / "README.md").read_text()
    assert "@article{andrzejak2001indications" in card and "| eeg | 173.61 |" in card
