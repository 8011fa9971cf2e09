"""The wearable-recording schema: row construction, validation messages, windowing, a datasets round trip."""

import math

import numpy as np
import pytest
from datasets import Dataset

from normwear_hf.data.schema import WEARABLE_FEATURES, make_example, validate_example, window_example


def ecg_ppg_row(seconds: float = 20.0, **overrides):
    """ECG at 250 Hz and PPG at 64 Hz: values encode the time so cuts can be checked exactly."""
    kwargs = dict(
        signals=[np.arange(int(seconds * 250)) / 250.0, np.arange(int(seconds * 64)) / 64.0],
        sampling_rate=[250, 64],
        channel_types=["ecg", "ppg"],
        recording_id="rec",
        source="unit",
    )
    kwargs.update(overrides)
    return make_example(**kwargs)


def test_make_example_fills_every_field():
    row = make_example(
        np.ones((2, 500)),
        100,
        ["ecg", "eeg"],
        recording_id="r1",
        source="s",
        subject_id="p7",
        class_labels={"stage": "wake"},
        numeric_labels={"hr": (61.5, "bpm"), "age": 40},
    )
    assert list(row) == list(WEARABLE_FEATURES)
    assert row["sampling_rate"] == [100.0, 100.0]
    assert row["channel_names"] == ["ecg", "eeg"]  # default: the types
    assert row["signals"][0].dtype == np.float32 and row["signals"][0].shape == (500,)
    assert row["class_labels"] == [{"name": "stage", "value": "wake"}]
    assert row["numeric_labels"] == [
        {"name": "hr", "value": 61.5, "unit": "bpm"},
        {"name": "age", "value": 40.0, "unit": ""},
    ]
    assert row["subject_id"] == "p7" and row["start_s"] == 0.0


def test_missing_field_is_named():
    row = ecg_ppg_row()
    del row["source"]
    with pytest.raises(ValueError, match=r"missing fields \['source'\]"):
        validate_example(row)


def test_channel_count_mismatch():
    with pytest.raises(ValueError, match="sampling_rate has 3 entries for 2 channels"):
        ecg_ppg_row(sampling_rate=[250, 64, 32])
    with pytest.raises(ValueError, match="channel_types has 1 entries for 2 channels"):
        ecg_ppg_row(channel_types=["ecg"])
    with pytest.raises(ValueError, match="channel_names has 3 entries for 2 channels"):
        ecg_ppg_row(channel_names=["a", "b", "c"])


def test_no_channels():
    with pytest.raises(ValueError, match="no channels"):
        make_example([], 100, [], recording_id="r", source="s")


@pytest.mark.parametrize("rate", [0, -5, math.nan, math.inf])
def test_bad_sampling_rate(rate):
    with pytest.raises(ValueError, match=r"recording 'rec' of source 'unit': channel 1 has sampling rate .* positive"):
        ecg_ppg_row(sampling_rate=[250, rate])


def test_unknown_channel_type_lists_the_vocabulary():
    with pytest.raises(ValueError, match=r"channel 0 has type 'ekg'; use one of \('ecg', 'ppg'"):
        ecg_ppg_row(channel_types=["ekg", "ppg"])


def test_too_short():
    with pytest.raises(ValueError, match=r"channel 0 lasts 0.99 s, shorter than the 1 s minimum"):
        make_example([np.zeros(99)], 100, ["ecg"], recording_id="rec", source="unit")
    make_example([np.zeros(100)], 100, ["ecg"], recording_id="rec", source="unit")  # exactly 1 s is fine


def test_infinite_values_rejected_nan_gaps_allowed():
    values = np.random.default_rng(0).standard_normal(300)
    values[10] = np.inf
    with pytest.raises(ValueError, match="channel 0 holds infinite values; store gaps as NaN"):
        make_example([values], 100, ["ppg"], recording_id="rec", source="unit")
    values[10] = np.nan
    row = make_example([values], 100, ["ppg"], recording_id="rec", source="unit")
    assert np.isnan(row["signals"][0][10])


def test_all_nan_channel():
    with pytest.raises(ValueError, match="channel 1 is entirely NaN; drop the channel"):
        make_example([np.zeros(300), np.full(300, np.nan)], 100, ["ecg", "ecg"], recording_id="rec", source="unit")


def test_two_dimensional_channel():
    row = ecg_ppg_row()
    row["signals"][0] = np.zeros((2, 2500))
    with pytest.raises(ValueError, match=r"channel 0 must be one-dimensional, got shape \(2, 2500\)"):
        validate_example(row)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_numeric_label(value):
    with pytest.raises(ValueError, match=r"numeric label 'hr' is .*; it must be finite"):
        ecg_ppg_row(numeric_labels={"hr": (value, "bpm")})


def test_window_counts_and_synchronous_cuts():
    row = ecg_ppg_row(seconds=20.0)
    windows = list(window_example(row, window_s=6.0))
    assert len(windows) == 3  # 0-6, 6-12, 12-18; the 2 s tail is shorter than a window and dropped
    for index, window in enumerate(windows):
        start = 6.0 * index
        assert window["recording_id"] == f"rec#{index}"
        assert window["start_s"] == start
        assert [len(c) for c in window["signals"]] == [1500, 384]
        # both channels start at the same instant despite their different rates
        assert window["signals"][0][0] == pytest.approx(start)
        assert window["signals"][1][0] == pytest.approx(start)
        assert window["signals"][0][-1] == pytest.approx(start + 6 - 1 / 250)
        assert window["signals"][1][-1] == pytest.approx(start + 6 - 1 / 64)
        assert window["sampling_rate"] == [250.0, 64.0]
        validate_example(window)


def test_window_start_offsets_add_up():
    row = ecg_ppg_row(seconds=13.0, start_s=100.0)
    windows = list(window_example(row, window_s=6.0))
    assert [w["start_s"] for w in windows] == [100.0, 106.0]


def test_trailing_piece_rule():
    row = ecg_ppg_row(seconds=20.0)
    # with min_s below the 2 s tail, the tail is kept as a short last window
    windows = list(window_example(row, window_s=6.0, min_s=2.0))
    assert len(windows) == 4
    assert windows[-1]["start_s"] == 18.0
    assert [len(c) for c in windows[-1]["signals"]] == [500, 128]
    assert len(list(window_example(row, window_s=6.0, min_s=2.5))) == 3
    # a recording shorter than a window yields nothing by default
    assert list(window_example(ecg_ppg_row(seconds=5.0), window_s=6.0)) == []


def test_hop_gives_overlapping_windows():
    row = ecg_ppg_row(seconds=20.0)
    windows = list(window_example(row, window_s=6.0, hop_s=2.0))
    assert [w["start_s"] for w in windows] == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]
    np.testing.assert_array_equal(windows[0]["signals"][0][500:], windows[1]["signals"][0][:1000])


def test_window_copies_labels():
    row = ecg_ppg_row(seconds=12.0, class_labels={"activity": "walk"}, numeric_labels={"hr": (70.0, "bpm")})
    windows = list(window_example(row, window_s=6.0))
    assert all(w["class_labels"] == [{"name": "activity", "value": "walk"}] for w in windows)
    assert all(w["numeric_labels"][0]["value"] == 70.0 for w in windows)


@pytest.mark.parametrize("bad", [dict(window_s=0), dict(hop_s=-1.0), dict(min_s=0)])
def test_window_arguments_must_be_positive(bad):
    with pytest.raises(ValueError, match="must be positive"):
        list(window_example(ecg_ppg_row(), **bad))


def test_dataset_round_trip_keeps_values_and_types():
    rows = [
        ecg_ppg_row(seconds=6.0, class_labels={"a": "b"}, numeric_labels={"hr": (60.0, "bpm")}),
        make_example([np.linspace(-1, 1, 150)], 25.0, ["resp"], recording_id="r2", source="unit", start_s=3.5),
    ]
    rows[1]["signals"][0][7] = np.nan
    dataset = Dataset.from_list(rows, features=WEARABLE_FEATURES)
    assert dataset.features == WEARABLE_FEATURES
    assert dataset.num_rows == 2
    back = dataset.with_format("numpy")[1]
    assert back["recording_id"] == "r2" and back["start_s"] == 3.5
    np.testing.assert_array_equal(back["signals"][0], rows[1]["signals"][0])  # NaN in the same place
    first = dataset[0]
    assert [len(c) for c in first["signals"]] == [1500, 384]
    assert first["sampling_rate"] == [250.0, 64.0]
    assert first["numeric_labels"] == [{"name": "hr", "value": 60.0, "unit": "bpm"}]
    validate_example(first)
