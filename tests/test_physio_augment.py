"""Physiological augmentations: each changes only what a device would change, and keeps every label that holds."""

import numpy as np
import pytest

from normwear_hf import NormWearFeatureExtractor
from normwear_hf.data.collator import NormWearCollator
from normwear_hf.data.physio_augment import (
    AugmentProbabilities,
    add_sensor_noise,
    drop_channels,
    jitter_rate,
    physiological_augment,
    scale_and_flip,
)
from normwear_hf.data.synthetic import generate_examples
from normwear_hf.training.pretrain import build_parser


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return list(generate_examples(12, seed=7))


def _labels(row: dict) -> dict:
    return {entry["name"]: entry["value"] for entry in row["numeric_labels"]}


def test_rate_jitter_declares_the_new_rate_and_keeps_the_duration(rows):
    row = rows[0]
    out = jitter_rate(row, np.random.default_rng(0), factors=(4 / 5,))
    for signal, new_signal, rate, new_rate in zip(
        row["signals"], out["signals"], row["sampling_rate"], out["sampling_rate"]
    ):
        assert new_rate == pytest.approx(rate * 0.8) or rate * 0.8 < 16
        assert len(new_signal) / new_rate <= len(signal) / rate + 1e-9
        assert len(new_signal) / new_rate > len(signal) / rate - 2 / new_rate
    assert _labels(out) == _labels(row)


def test_rate_jitter_keeps_the_heart_rate():
    # a 1.2 Hz pulse at 100 Hz, declared at 150 Hz after jitter: still 72 beats per minute
    rate, t = 100.0, np.arange(600) / 100.0
    pulse = np.sin(2 * np.pi * 1.2 * t) ** 7
    row = {"recording_id": "p", "source": "t", "subject_id": "", "signals": [pulse.astype(np.float32)],
           "sampling_rate": [rate], "channel_types": ["ppg"], "channel_names": ["ppg"], "start_s": 0.0,
           "class_labels": [], "numeric_labels": []}  # fmt: skip
    out = jitter_rate(row, np.random.default_rng(0), factors=(3 / 2,))
    assert out["sampling_rate"] == [150.0]
    spectrum = np.abs(np.fft.rfft(out["signals"][0] - out["signals"][0].mean()))
    freqs = np.fft.rfftfreq(len(out["signals"][0]), 1 / 150.0)
    assert freqs[np.argmax(spectrum)] == pytest.approx(1.2, abs=0.1)


def test_scale_and_flip_never_flips_eda():
    rng = np.random.default_rng(1)
    x = (np.linspace(2, 5, 240) + 0.1 * rng.standard_normal(240)).astype(np.float32)
    row = {"recording_id": "e", "source": "t", "subject_id": "", "signals": [x, x], "sampling_rate": [4.0, 4.0],
           "channel_types": ["eda", "ecg"], "channel_names": ["eda", "ecg"], "start_s": 0.0, "class_labels": [],
           "numeric_labels": []}  # fmt: skip
    signs = {"eda": set(), "ecg": set()}
    for seed in range(40):
        out = scale_and_flip(row, np.random.default_rng(seed), (0.5, 2.0), flip_prob=0.5)
        for kind, signal in zip(row["channel_types"], out["signals"]):
            signs[kind].add(int(np.sign(np.corrcoef(signal, x)[0, 1])))
    assert signs["eda"] == {1}
    assert signs["ecg"] == {-1, 1}


def test_channel_dropout_keeps_a_consistent_non_empty_subset(rows):
    multi = next(row for row in rows if len(row["signals"]) >= 3)
    for seed in range(10):
        out = drop_channels(multi, np.random.default_rng(seed))
        assert 1 <= len(out["signals"]) < len(multi["signals"])
        for kept, name in zip(out["signals"], out["channel_names"]):
            original = multi["signals"][multi["channel_names"].index(name)]
            np.testing.assert_array_equal(kept, original)
    single = next(row for row in rows if len(row["signals"]) == 1)
    assert len(drop_channels(single, np.random.default_rng(0))["signals"]) == 1


def test_sensor_noise_has_the_drawn_snr_and_drops_only_the_noise_labels(rows):
    row = rows[1]
    out = add_sensor_noise(row, np.random.default_rng(3), (20.0, 20.0))
    for clean, noisy, kind in zip(row["signals"], out["signals"], row["channel_types"]):
        clean = np.asarray(clean, dtype=np.float64)
        snr = 10 * np.log10(np.var(clean) / np.var(np.asarray(noisy) - clean))
        assert snr == pytest.approx(20.0, abs=1.0), kind
    assert "noise_level" not in _labels(out)
    assert "noise" not in {entry["name"] for entry in out["class_labels"]}
    kept = {name: value for name, value in _labels(row).items() if name != "noise_level"}
    assert _labels(out) == kept


def test_the_composite_is_deterministic_and_collates(rows):
    first = [physiological_augment(row, np.random.default_rng(5)) for row in rows]
    again = [physiological_augment(row, np.random.default_rng(5)) for row in rows]
    for a, b in zip(first, again):
        assert a["sampling_rate"] == b["sampling_rate"]
        for x, y in zip(a["signals"], b["signals"]):
            np.testing.assert_array_equal(x, y)
    everything = AugmentProbabilities(rate=1, amplitude=1, flip=1, drop=1, noise=1, chunk_swap=1)
    changed = [physiological_augment(row, np.random.default_rng(0), everything) for row in rows]
    assert any(a["sampling_rate"] != row["sampling_rate"] for a, row in zip(changed, rows))
    collator = NormWearCollator(NormWearFeatureExtractor(), augment=physiological_augment, seed=0)
    batch = collator(rows[:6])
    assert batch["input_values"].shape[0] == 6 and bool(batch["channel_mask"].any(dim=1).all())


def test_pretraining_accepts_the_augmentation():
    assert build_parser().parse_args(["--corpus", "c", "--output_dir", "o", "--augment", "physio"]).augment == "physio"
