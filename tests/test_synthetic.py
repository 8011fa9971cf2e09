"""Synthetic physiology (normwear_hf.data.synthetic) and chunk-swap augmentation (normwear_hf.data.augment).

Labels are checked against the signals themselves: R-peak counts, spectral peaks, accelerometer variance and
the noise actually added, not just shapes.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasets import Dataset
from scipy.signal import find_peaks

from normwear_hf.data import WEARABLE_FEATURES, validate_example
from normwear_hf.data.augment import chunk_swap, chunk_swap_example, multiply_with_chunk_swap
from normwear_hf.data.synthetic import (
    ACTIVITIES,
    ACTIVITY_LEVEL_RANGES,
    ECG_MORPHOLOGIES,
    LABEL_UNITS,
    MODALITIES,
    NOISY_THRESHOLD,
    RHYTHMS,
    SAMPLING_RATES,
    SOURCE,
    generate_examples,
    simulate_segment,
)


def numeric(row: dict) -> dict[str, float]:
    return {entry["name"]: entry["value"] for entry in row["numeric_labels"]}


def classes(row: dict) -> dict[str, str]:
    return {entry["name"]: entry["value"] for entry in row["class_labels"]}


def same_rows(a: dict, b: dict) -> bool:
    if any(a[key] != b[key] for key in a if key != "signals"):
        return False
    return len(a["signals"]) == len(b["signals"]) and all(
        np.array_equal(x, y) for x, y in zip(a["signals"], b["signals"])
    )


def dominant_per_minute(signal: np.ndarray, rate: float, low_hz: float, high_hz: float) -> float:
    """Frequency of the largest spectral peak in [low_hz, high_hz], in cycles per minute (zero-padded FFT)."""
    x = np.asarray(signal, dtype=np.float64)
    x = (x - x.mean()) * np.hanning(x.size)
    size = 1 << int(np.ceil(np.log2(x.size * 16)))
    spectrum = np.abs(np.fft.rfft(x, size))
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    band = (freqs >= low_hz) & (freqs <= high_hz)
    return float(freqs[band][np.argmax(spectrum[band])] * 60.0)


def r_peak_rate(ecg: np.ndarray, rate: float) -> tuple[int, float]:
    """Number of R peaks and the heart rate from the first to the last one (bpm).

    Pan-Tompkins style: after a 20 ms moving average (against broadband noise), the squared slope smoothed
    over 50 ms is large only at the steep QRS complex, not at the broad P and T waves; its peaks at least
    0.25 s apart and above a third of the maximum are R peaks.
    """
    smooth = max(int(0.02 * rate), 1)
    x = np.convolve(np.asarray(ecg, dtype=np.float64), np.ones(smooth) / smooth, mode="same")
    slope = np.gradient(x) * rate
    width = max(int(0.05 * rate), 1)
    energy = np.convolve(slope**2, np.ones(width) / width, mode="same")
    peaks, _ = find_peaks(energy, distance=int(0.25 * rate), height=energy.max() / 3)
    return peaks.size, (peaks.size - 1) * 60.0 * rate / (peaks[-1] - peaks[0])


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return list(generate_examples(120, seed=7))


@pytest.fixture(scope="module")
def long_segments() -> list[tuple[dict, list[np.ndarray]]]:
    """30 s segments (enough breaths for a spectral estimate) with their clean channels."""
    return [simulate_segment(index, seed=3, window_s=30.0, return_clean=True) for index in range(60)]


# ---------------------------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------------------------
def test_same_seed_same_rows_and_global_rng_untouched(rows):
    np.random.seed(123)
    random.seed(123)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    again = list(generate_examples(120, seed=7))
    after = np.random.get_state()
    assert all(same_rows(a, b) for a, b in zip(rows, again))
    assert numpy_state[0] == after[0] and np.array_equal(numpy_state[1], after[1]) and numpy_state[2:] == after[2:]
    assert random.getstate() == python_state


def test_different_seeds_differ_and_rows_are_index_addressable(rows):
    other = list(generate_examples(10, seed=8))
    assert not any(same_rows(a, b) for a, b in zip(rows[:10], other))
    assert [numeric(a)["heart_rate_bpm"] for a in rows[:10]] != [numeric(b)["heart_rate_bpm"] for b in other]
    # a shard starting later reproduces the same rows (each segment depends only on seed and index)
    shard = list(generate_examples(5, seed=7, start=40))
    assert all(same_rows(a, b) for a, b in zip(rows[40:45], shard))
    assert same_rows(simulate_segment(17, seed=7), rows[17])


def test_workers_do_not_change_the_output(rows):
    parallel = list(generate_examples(9, seed=7, workers=2, chunk_size=2))
    assert len(parallel) == 9
    assert all(same_rows(a, b) for a, b in zip(rows[:9], parallel))


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="window_s"):
        next(generate_examples(1, window_s=0.5))
    with pytest.raises(ValueError, match="count"):
        next(generate_examples(-1))
    with pytest.raises(ValueError, match="seed"):
        next(generate_examples(1, seed=-3))
    assert list(generate_examples(0)) == []


# ---------------------------------------------------------------------------------------------------------
# schema and label definitions
# ---------------------------------------------------------------------------------------------------------
def test_rows_fit_the_schema_and_survive_a_dataset(rows):
    for row in rows:
        validate_example(row)
        assert row["source"] == SOURCE
        assert all(signal.dtype == np.float32 and np.isfinite(signal).all() for signal in row["signals"])
    assert len({row["recording_id"] for row in rows}) == len(rows)
    dataset = Dataset.from_list(rows[:8], features=WEARABLE_FEATURES)
    back = dataset[3]
    assert back["recording_id"] == rows[3]["recording_id"]
    np.testing.assert_array_equal(np.asarray(back["signals"][0], np.float32), rows[3]["signals"][0])
    assert back["numeric_labels"] == rows[3]["numeric_labels"]


def test_channels_rates_and_labels_follow_the_documented_sets(rows):
    seen_modalities, seen_activities = set(), set()
    for row in rows:
        assert 1 <= len(row["signals"]) <= 5
        for signal, rate, kind, name in zip(
            row["signals"], row["sampling_rate"], row["channel_types"], row["channel_names"]
        ):
            assert kind in MODALITIES and rate in SAMPLING_RATES[kind]
            assert len(signal) == round(6.0 * rate)
            assert name == kind or (kind == "acc" and name in {"acc_x", "acc_y", "acc_z", "acc_mag"})
        seen_modalities.update(row["channel_types"])
        values, labels = numeric(row), classes(row)
        units = {entry["name"]: entry["unit"] for entry in row["numeric_labels"]}
        assert units == LABEL_UNITS
        assert set(labels) == {"activity", "noise", "modalities"}  # arrhythmias are off by default
        assert labels["modalities"] == "+".join(sorted(set(row["channel_types"])))
        assert labels["noise"] == ("noisy" if values["noise_level"] >= NOISY_THRESHOLD else "clean")
        activity = labels["activity"]
        seen_activities.add(activity)
        low, high = ACTIVITY_LEVEL_RANGES[activity]
        assert low <= values["activity_level"] <= high
        assert 45.0 <= values["heart_rate_bpm"] <= 180.0
        assert 8.0 <= values["respiration_rate_bpm"] <= 35.0
        assert 0.0 <= values["noise_level"] <= 1.0 and values["hrv_rmssd_ms"] >= 0.0
        assert (values["cadence_spm"] == 0.0) == (activity == "rest")
        index = int(row["recording_id"].rsplit("-", 1)[1])
        assert row["subject_id"] == f"synth-s7-{index // 20:06d}"
    assert seen_modalities == set(MODALITIES) and seen_activities == set(ACTIVITIES)


def test_activity_is_consistent_with_heart_rate_and_cadence(rows):
    by_activity = {a: [numeric(r) for r in rows if classes(r)["activity"] == a] for a in ACTIVITIES}
    hr = {a: np.median([v["heart_rate_bpm"] for v in values]) for a, values in by_activity.items()}
    assert hr["rest"] + 15 < hr["walk"] < hr["run"] - 15
    assert all(90 * 0.97 <= v["cadence_spm"] <= 125 * 1.03 for v in by_activity["walk"])
    assert all(150 * 0.97 <= v["cadence_spm"] <= 185 * 1.03 for v in by_activity["run"])
    rmssd = {a: np.median([v["hrv_rmssd_ms"] for v in values]) for a, values in by_activity.items()}
    assert rmssd["rest"] > rmssd["run"]


# ---------------------------------------------------------------------------------------------------------
# labels against the signals
# ---------------------------------------------------------------------------------------------------------
def sinus(row: dict) -> bool:
    """Regular rhythm: a peak-to-peak or spectral rate equals the phase-based label only there (irregular
    rhythms are checked by their beat intervals in test_arrhythmias_make_beat_intervals_irregular)."""
    return all(entry["value"] == "sinus" for entry in row["class_labels"] if entry["name"] == "rhythm")


def test_ecg_r_peaks_match_heart_rate(long_segments, rows):
    checked = 0
    for row, clean in filter(lambda pair: sinus(pair[0]), long_segments):
        values = numeric(row)
        for observed, truth, rate, kind in zip(row["signals"], clean, row["sampling_rate"], row["channel_types"]):
            if kind != "ecg":
                continue
            assert abs(r_peak_rate(truth, rate)[1] - values["heart_rate_bpm"]) < 1.0
            if values["noise_level"] < 0.1:
                assert abs(r_peak_rate(observed, rate)[1] - values["heart_rate_bpm"]) < 1.0
            checked += 1
    assert checked >= 15
    # 6 s windows: the R-peak count is the label times the window, give or take one beat
    for row in filter(sinus, rows):
        values = numeric(row)
        for signal, rate, kind in zip(row["signals"], row["sampling_rate"], row["channel_types"]):
            if kind == "ecg" and values["noise_level"] < 0.1:
                assert abs(r_peak_rate(signal, rate)[0] - values["heart_rate_bpm"] / 10.0) <= 1.0


def test_ppg_and_respiration_spectra_match_their_rates(long_segments):
    checked = {"ppg": 0, "resp": 0}
    for row, clean in filter(lambda pair: sinus(pair[0]), long_segments):
        values = numeric(row)
        for observed, truth, rate, kind in zip(row["signals"], clean, row["sampling_rate"], row["channel_types"]):
            if kind == "ppg":
                target, band = values["heart_rate_bpm"], (0.6, 3.3)
            elif kind == "resp":
                target, band = values["respiration_rate_bpm"], (0.1, 0.7)
            else:
                continue
            assert abs(dominant_per_minute(truth, rate, *band) - target) < 2.5
            if values["noise_level"] < NOISY_THRESHOLD:
                assert abs(dominant_per_minute(observed, rate, *band) - target) < 2.5
            checked[kind] += 1
    assert min(checked.values()) >= 15


def test_accelerometer_follows_activity_and_cadence(long_segments, rows):
    spread = {a: [] for a in ACTIVITIES}
    for row in rows:
        axes = [np.asarray(s) for s, k in zip(row["signals"], row["channel_types"]) if k == "acc"]
        if len(axes) == 3:
            spread[classes(row)["activity"]].append(float(np.sqrt(sum(np.var(a) for a in axes))))
        elif len(axes) == 1:
            spread[classes(row)["activity"]].append(float(np.std(axes[0])))
    assert min(len(v) for v in spread.values()) >= 3
    assert min(spread["run"]) > max(spread["rest"])
    assert np.median(spread["run"]) > np.median(spread["walk"]) > 5 * np.median(spread["rest"])
    # the acceleration magnitude (clean) bounces at the step rate
    checked = 0
    for row, clean in long_segments:
        values = numeric(row)
        if values["cadence_spm"] == 0.0 or "acc" not in row["channel_types"]:
            continue
        first = row["channel_types"].index("acc")
        rate = row["sampling_rate"][first]
        axes = [c for c, k in zip(clean, row["channel_types"]) if k == "acc"]
        magnitude = np.linalg.norm(np.stack(axes), axis=0) if len(axes) == 3 else axes[0]
        # the cadence drifts by up to 3 % within a segment: the spectral peak sits within 4 % of the mean
        assert (
            abs(dominant_per_minute(magnitude, rate, 1.2, 3.5) - values["cadence_spm"]) < 0.04 * values["cadence_spm"]
        )
        checked += 1
    assert checked >= 5


def test_noise_level_is_the_rms_of_what_was_added(long_segments):
    for row, clean in long_segments[:30]:
        level = numeric(row)["noise_level"]
        for observed, truth in zip(row["signals"], clean):
            noise = observed.astype(np.float64) - truth
            ratio = np.sqrt(np.mean(noise**2)) / np.std(truth)
            assert ratio == pytest.approx(level, rel=1e-3, abs=1e-4)


# ---------------------------------------------------------------------------------------------------------
# chunk swap
# ---------------------------------------------------------------------------------------------------------
def time_channels(rates=(25, 32, 250), seconds=6.0) -> list[np.ndarray]:
    """Channels whose values are their own sample times, so a swap can be traced back."""
    return [np.arange(round(seconds * rate)) / rate for rate in rates]


def test_chunk_swap_keeps_shape_values_and_synchrony():
    rates = (25, 32, 250)
    channels = time_channels(rates)
    out = chunk_swap(channels, np.random.default_rng(0), n_chunks=4, sampling_rate=rates)
    assert [o.shape for o in out] == [c.shape for c in channels]
    for before, after in zip(channels, out):
        np.testing.assert_array_equal(np.sort(after), before)  # same multiset of values
        assert not np.array_equal(after, before)  # never the identity permutation
    # synchrony: at any output time every channel plays back the same source time
    shifts = [after - np.arange(after.size) / rate for after, rate in zip(out, rates)]
    for (shift_a, rate_a), (shift_b, rate_b) in [
        ((shifts[0], 25), (shifts[1], 32)),
        ((shifts[1], 32), (shifts[2], 250)),
    ]:
        times = np.arange(shift_b.size) / rate_b
        index_a = np.floor(times * rate_a + 1e-9).astype(int)
        np.testing.assert_allclose(shift_a[index_a], shift_b, atol=1e-9)
    moves = np.count_nonzero(np.abs(np.diff(shifts[2])) > 1e-9)
    assert 1 <= moves <= 3  # at most four blocks, each moved whole


def test_chunk_swap_array_input_is_deterministic():
    signals = np.tile(np.sin(np.linspace(0, 20, 600, dtype=np.float32)), (3, 1))
    first = chunk_swap(signals, np.random.default_rng(5), n_chunks=5)
    again = chunk_swap(signals, np.random.default_rng(5), n_chunks=5)
    other = [chunk_swap(signals, np.random.default_rng(seed), n_chunks=5) for seed in range(6, 12)]
    assert isinstance(first, np.ndarray) and first.shape == signals.shape and first.dtype == signals.dtype
    np.testing.assert_array_equal(first, again)
    assert any(not np.array_equal(first, o) for o in other)
    np.testing.assert_array_equal(first[0], first[2])  # one permutation for all channels
    np.testing.assert_array_equal(chunk_swap(signals, np.random.default_rng(5), n_chunks=1), signals)


def test_chunk_swap_donor_replaces_one_synchronous_chunk():
    rates = (25, 32)
    channels = time_channels(rates)
    donor = [c + 100.0 for c in channels]
    out = chunk_swap(channels, np.random.default_rng(1), n_chunks=3, sampling_rate=rates, donor=donor, replace_prob=1.0)
    seconds_from_donor = [np.sum(o >= 100.0) / rate for o, rate in zip(out, rates)]
    assert seconds_from_donor[0] == seconds_from_donor[1] and 0 < seconds_from_donor[0] < 6.0
    with pytest.raises(ValueError, match="donor"):
        chunk_swap(channels, np.random.default_rng(1), donor=[c[:-1] for c in channels], replace_prob=1.0)


def test_chunk_swap_on_rows_and_corpus_multiplication(rows):
    row = rows[0]
    swapped = chunk_swap_example(row, np.random.default_rng(0))
    validate_example(swapped)
    assert swapped["recording_id"].startswith(row["recording_id"] + "~swap")
    assert swapped["numeric_labels"] == row["numeric_labels"] and swapped["class_labels"] == row["class_labels"]
    for before, after in zip(row["signals"], swapped["signals"]):
        assert after.dtype == np.float32 and after.shape == before.shape
        np.testing.assert_array_equal(np.sort(after), np.sort(before))
    assert same_rows(swapped, chunk_swap_example(row, np.random.default_rng(0)))
    mismatched = next(r for r in rows if r["channel_types"] != row["channel_types"])
    with pytest.raises(ValueError, match="layout"):
        chunk_swap_example(row, np.random.default_rng(0), donor=mismatched)

    stream = list(multiply_with_chunk_swap(rows[:4], factor=3, seed=2))
    assert len(stream) == 12
    assert [r["recording_id"] for r in stream[:3]] == [rows[0]["recording_id"] + s for s in ("", "~aug1", "~aug2")]
    assert all(same_rows(a, b) for a, b in zip(stream, multiply_with_chunk_swap(rows[:4], factor=3, seed=2)))


def test_arrhythmias_make_beat_intervals_irregular():
    """Atrial fibrillation and ectopic beats raise RMSSD far above sinus rhythm at the same activity."""
    rmssd: dict[str, list[float]] = {rhythm: [] for rhythm in RHYTHMS}
    for index in range(400):
        row = simulate_segment(index, seed=3, arrhythmias=True)
        assert sinus(row) == (row["class_labels"][-2]["value"] == "sinus")
        labels = {entry["name"]: entry["value"] for entry in row["class_labels"]}
        assert labels["rhythm"] in RHYTHMS and labels["ecg_morphology"] in ECG_MORPHOLOGIES
        values = {entry["name"]: entry["value"] for entry in row["numeric_labels"]}
        if labels["activity"] == "rest":
            rmssd[labels["rhythm"]].append(values["hrv_rmssd_ms"])
    assert all(len(values) >= 5 for values in rmssd.values()), {k: len(v) for k, v in rmssd.items()}
    regular = np.median(rmssd["sinus"])
    assert np.median(rmssd["af"]) > 2 * regular and np.median(rmssd["ectopic"]) > 2 * regular, rmssd


def test_arrhythmias_leave_sinus_segments_unchanged_and_run_in_workers():
    """The rhythm has its own random stream: a sinus segment is the same row with or without arrhythmias."""
    plain = list(generate_examples(60, seed=4))
    varied = list(generate_examples(60, seed=4, arrhythmias=True, workers=2, chunk_size=20))
    rhythms = [{e["name"]: e["value"] for e in row["class_labels"]}["rhythm"] for row in varied]
    assert set(rhythms) - {"sinus"}, rhythms
    for before, after, rhythm in zip(plain, varied, rhythms):
        morphology = {e["name"]: e["value"] for e in after["class_labels"]}["ecg_morphology"]
        if rhythm == "sinus" and morphology == "normal":
            for x, y in zip(before["signals"], after["signals"]):
                np.testing.assert_array_equal(x, y)
