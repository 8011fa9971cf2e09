"""Captions for alignment: measurement functions, three levels over many families, same-family hard negatives."""

from __future__ import annotations

import numpy as np
import pytest

from normwear_hf.data.synthetic import simulate_segment
from normwear_hf.zero_shot import physiology
from normwear_hf.zero_shot.captions import FAMILIES, LEVELS, hard_negative, row_captions, segment_captions


def pulse_train(bpm: float, fs: float = 250.0, seconds: float = 10.0) -> np.ndarray:
    t = np.arange(int(fs * seconds)) / fs
    beats = np.arange(0.3, seconds, 60.0 / bpm)
    return sum(np.exp(-(((t - b) / 0.01) ** 2)) for b in beats)


def test_heart_rate_and_hrv_from_peaks():
    beats = physiology.beat_times(pulse_train(75.0), 250.0, "ecg")
    assert physiology.heart_rate_bpm(beats) == pytest.approx(75.0, abs=1.0)
    assert physiology.rmssd_ms(beats) < 5.0 and physiology.interval_variation(beats) < 0.02
    inverted = physiology.beat_times(-pulse_train(75.0), 250.0, "ecg")  # another lead's polarity
    assert physiology.heart_rate_bpm(inverted) == pytest.approx(75.0, abs=1.0)
    ppg = np.sin(2 * np.pi * 1.5 * np.arange(0, 10, 1 / 64.0))
    assert physiology.heart_rate_bpm(physiology.beat_times(ppg, 64.0, "ppg")) == pytest.approx(90.0, abs=1.5)
    assert physiology.beat_times(np.zeros(100), 250.0).size == 0  # too short: nothing rather than a guess
    with pytest.raises(ValueError, match="kind"):
        physiology.beat_times(ppg, 64.0, "eeg")


def test_breathing_cadence_intensity_and_scr_counts():
    t = np.arange(0, 30, 1 / 25.0)
    assert physiology.breathing_rate_bpm(np.sin(2 * np.pi * 0.25 * t), 25.0) == pytest.approx(15.0, abs=0.6)
    walk = [0.05 * np.cos(2 * np.pi * 1.8 * t), np.zeros_like(t), 1.0 + 0.2 * np.sin(2 * np.pi * 1.8 * t)]  # g
    assert physiology.cadence_spm(walk, 25.0) == pytest.approx(108.0, abs=1.0)
    still = [np.zeros_like(t), np.zeros_like(t), np.ones_like(t)]
    assert physiology.cadence_spm(still, 25.0) == 0.0 and physiology.movement_intensity(still) == 0.0
    eda = 2.0 + sum(0.3 * np.exp(-(((t - c) / 1.0) ** 2)) for c in (5.0, 14.0, 23.0))
    assert physiology.scr_count(eda, 25.0) == 3
    assert physiology.out_of_band_fraction(np.sin(2 * np.pi * 0.25 * t), 25.0, (0.1, 0.75)) < 0.05


def test_measured_heart_and_breathing_rates_match_the_generator():
    for index in range(4):
        row = simulate_segment(index, seed=5, window_s=10)
        known = {entry["name"]: entry["value"] for entry in row["numeric_labels"]}
        for x, fs, kind in zip(row["signals"], row["sampling_rate"], row["channel_types"]):
            if kind in ("ecg", "ppg"):
                measured = physiology.heart_rate_bpm(physiology.beat_times(np.asarray(x), fs, kind))
                assert measured == pytest.approx(known["heart_rate_bpm"], abs=5.0)


def test_captions_are_deterministic_cover_twelve_families_and_three_levels():
    rows = [simulate_segment(index, seed=7, window_s=10) for index in range(12)]
    first = [row_captions(row, seed=3) for row in rows]
    assert first == [row_captions(row, seed=3) for row in rows]
    assert first != [row_captions(row, seed=4) for row in rows]  # paraphrases and number formats vary with the seed
    captions = [caption for group in first for caption in group]
    assert len({caption.family for caption in captions}) >= 12 and {caption.level for caption in captions} == set(
        LEVELS
    )
    assert len(FAMILIES) >= 12
    known = {entry["name"]: entry["value"] for entry in rows[0]["numeric_labels"]}
    heart = next(c for c in first[0] if c.family == "heart_rate" and c.level == "statistical")
    number = float("".join(ch for ch in heart.text if ch.isdigit()))
    assert abs(number - known["heart_rate_bpm"]) <= 3.0  # the generator's value, rounded as a user would
    assert segment_captions({"heart_rate": 72.0}, seed=0)[0].value == "normal"


def test_hard_negatives_come_from_the_same_family_and_contradict():
    fast = segment_captions({"heart_rate": 140.0, "breathing_rate": 30.0, "activity": "rest"}, seed=1)
    for caption in fast:
        negative = hard_negative(caption, seed=2)
        assert negative is not None and negative.family == caption.family and negative.level == caption.level
        assert negative.value != caption.value and negative.text != caption.text
    by_family = {(c.family, c.level): hard_negative(c, seed=0) for c in fast}
    assert by_family[("heart_rate", "semantic")].value == "slow"  # "fast" must beat "slow"
    assert by_family[("breathing_rate", "semantic")].value == "slow"
    statistical = by_family[("heart_rate", "statistical")]
    number = float("".join(ch for ch in statistical.text if ch.isdigit()))
    assert number < 60  # the number falls in the contradicting band
    normal = segment_captions({"heart_rate": 72.0}, seed=0)
    assert {hard_negative(normal[1], seed=s).value for s in range(20)} == {"slow", "fast"}
