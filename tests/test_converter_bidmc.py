"""BIDMC converter on fixtures in the CSV release's exact layout (header spaces included)."""

import numpy as np
import pytest

from normwear_hf.data.converters import bidmc, common
from normwear_hf.data.schema import validate_example


def write_record(folder, number: str, seconds: int = 65, numerics: bool = True):
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(seconds * 125) / 125
    columns = [np.sin(2 * np.pi * 0.25 * t), np.sin(2 * np.pi * 1.2 * t) + 1, 0.1 * t, -0.1 * t, 0.2 * t]
    lines = ["Time [s], RESP, PLETH, V, AVR, II"]
    lines += [",".join([f"{t[i]:g}"] + [f"{c[i]:.5f}" for c in columns]) for i in range(t.size)]
    (folder / f"bidmc_{number}_Signals.csv").write_text("\n".join(lines) + "\n")
    if numerics:
        rows = ["Time [s], HR, PULSE, RESP, SpO2"]
        for second in range(seconds):
            hr = 80 if second < 30 else 90
            spo2 = "NaN" if second < 30 else "97"
            resp = "0" if second == 0 else str(15 + (second >= 30))
            rows.append(f"{second},{hr},{hr - 1},{resp},{spo2}")
        (folder / f"bidmc_{number}_Numerics.csv").write_text("\n".join(rows) + "\n")
    return t, columns


def test_windows_channels_labels(tmp_path):
    t, columns = write_record(tmp_path / "bidmc_csv", "01")
    write_record(tmp_path / "bidmc_csv", "02", seconds=31)
    rows = list(bidmc.iter_examples(tmp_path, progress=False))
    assert [row["recording_id"] for row in rows] == ["bidmc_01#0", "bidmc_01#1", "bidmc_02#0"]
    assert [row["subject_id"] for row in rows] == ["bidmc:01", "bidmc:01", "bidmc:02"]
    for row in rows:
        validate_example(row)
    first, second = rows[0], rows[1]
    assert first["channel_names"] == ["RESP", "PLETH", "V", "AVR", "II"]
    assert first["channel_types"] == ["resp", "ppg", "ecg", "ecg", "ecg"]
    assert first["sampling_rate"] == [125.0] * 5
    assert all(len(c) == 30 * 125 for c in first["signals"])
    assert second["start_s"] == 30.0
    np.testing.assert_allclose(second["signals"][1], columns[1][3750:7500], atol=1e-5)
    labels = [{e["name"]: (e["value"], e["unit"]) for e in row["numeric_labels"]} for row in rows]
    assert labels[0]["heart_rate"] == (80.0, "bpm") and labels[0]["pulse_rate"] == (79.0, "bpm")
    assert labels[0]["respiratory_rate"] == (15.0, "breaths/min")  # the 0 at t = 0 is ignored
    assert "spo2" not in labels[0]  # all NaN in the first window
    assert labels[1]["spo2"] == (97.0, "%") and labels[1]["heart_rate"][0] == 90.0
    assert labels[1]["respiratory_rate"][0] == 16.0


def test_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="holds no bidmc_XX_Signals.csv"):
        list(bidmc.iter_examples(tmp_path, progress=False))
    write_record(tmp_path, "03", seconds=31, numerics=False)
    with pytest.raises(ValueError, match="bidmc_03_Numerics.csv is missing"):
        list(bidmc.iter_examples(tmp_path, progress=False))
    (tmp_path / "bidmc_03_Numerics.csv").write_text("HR, PULSE\n1,2\n")
    with pytest.raises(ValueError, match=r"bidmc_03_Numerics.csv is corrupt: the header must start"):
        list(bidmc.iter_examples(tmp_path, progress=False))
    (tmp_path / "bidmc_03_Numerics.csv").write_text("Time [s], HR, PULSE, RESP, SpO2\n0,1,2\n")
    with pytest.raises(ValueError, match=r"bidmc_03_Numerics.csv is corrupt"):
        list(bidmc.iter_examples(tmp_path, progress=False))


def test_card():
    assert bidmc.NAME == "bidmc" and bidmc.CARD["citation"].startswith("@article")
    assert set(bidmc.CARD["label_names"]["numeric labels (unit)"]) == {
        "heart_rate",
        "pulse_rate",
        "respiratory_rate",
        "spo2",
    }


def test_convert_end_to_end(tmp_path):
    write_record(tmp_path / "raw", "01")
    write_record(tmp_path / "raw", "02", seconds=31)
    result = common.convert("bidmc", tmp_path / "raw", tmp_path / "out", seed=0, progress=False)
    train, test = set(result["train"]["subject_id"]), set(result["test"]["subject_id"])
    assert train.isdisjoint(test) and train | test == {"bidmc:01", "bidmc:02"} and len(test) == 1
    assert len(result["train"]) + len(result["test"]) == 3
    card = (tmp_path / "out" / "README.md").read_text()
    assert "@article{pimentel2017toward" in card and "| ppg | 125 |" in card
