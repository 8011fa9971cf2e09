"""The rhythm descriptor: it finds the period at any device rate, tells even from uneven beats, ignores units and
offset, gives zeros for what carries no rhythm, and comes out of the feature extractor per channel window."""

from __future__ import annotations

import numpy as np
import pytest

from normwear_hf import NormWearFeatureExtractor
from normwear_hf.rhythm_features import PER_VIEW, RHYTHM_SIZE, VIEWS, rhythm_descriptor

PERIOD = len(np.unique(np.round(np.geomspace(10, 300, 25)))) - 1  # index of log(period) inside a view's block


def beats(bpm: float, rate: float, seconds: float = 6.0, jitter: float = 0.0, seed: int = 0) -> np.ndarray:
    """A narrow Gaussian spike per beat (an R wave's shape at any rate), intervals jittered by ``jitter``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    times, now = [], 0.2
    while now < seconds:
        times.append(now)
        now += 60.0 / bpm * (1 + jitter * rng.uniform(-1, 1))
    return sum(np.exp(-0.5 * ((t - b) / 0.015) ** 2) for b in times) + 0.01 * rng.standard_normal(len(t))


def view(descriptor: np.ndarray, name: str) -> np.ndarray:
    start = VIEWS.index(name) * PER_VIEW
    return descriptor[start : start + PER_VIEW]


@pytest.mark.parametrize("rate", [50.0, 128.0, 500.0])
@pytest.mark.parametrize("bpm", [48.0, 75.0, 140.0])
def test_the_period_is_found_at_any_device_rate(rate, bpm):
    extractor = NormWearFeatureExtractor()
    features = extractor(beats(bpm, rate)[None], sampling_rate=rate, return_rhythm=True)
    descriptor = features["rhythm_values"][0, 0]
    assert descriptor.shape == (RHYTHM_SIZE,)
    found = 60.0 / np.exp(view(descriptor, "energy")[PERIOD])
    assert abs(found / bpm - 1) < 0.06, (bpm, found)


def test_uneven_beats_have_a_lower_autocorrelation_peak_and_spread_intervals():
    regular = view(rhythm_descriptor(beats(75, 65.0), 65.0), "energy")
    irregular = view(rhythm_descriptor(beats(75, 65.0, jitter=0.3, seed=1), 65.0), "energy")
    height, spread = PERIOD + 1, PERIOD + 3
    assert irregular[height] < regular[height] - 0.2
    assert irregular[spread] > regular[spread] + 0.1


def test_units_and_offset_do_not_matter_and_sign_only_moves_peak_statistics():
    x = beats(90, 65.0)
    base = rhythm_descriptor(x, 65.0)
    np.testing.assert_allclose(rhythm_descriptor(1e3 * x - 7.0, 65.0), base, rtol=1e-4, atol=1e-5)
    flipped = rhythm_descriptor(-x, 65.0)
    for name in VIEWS:  # the autocorrelation bins are the same upside down
        np.testing.assert_allclose(view(flipped, name)[:PERIOD], view(base, name)[:PERIOD], atol=1e-5)


@pytest.mark.parametrize(
    "window", [np.zeros(390), np.full(390, 3.0), np.linspace(0, 1, 390), np.ones(10), np.r_[np.ones(200), np.nan]]
)
def test_what_has_no_rhythm_gives_zeros(window):
    assert not rhythm_descriptor(window, 65.0).any()


def test_the_extractor_returns_descriptors_per_channel_window_with_zeros_for_padding():
    extractor = NormWearFeatureExtractor()
    rate = 100.0
    two = np.stack([beats(60, rate, 12.0), beats(120, rate, 12.0)])
    features = extractor([two, beats(80, rate)[None]], sampling_rate=rate, long_input="split", return_rhythm=True)
    values = features["rhythm_values"]
    assert values.shape == (features["input_values"].shape[0], 2, RHYTHM_SIZE) and values.dtype == np.float32
    assert values[:, 0].any(axis=-1).all() and not values[-1, 1].any()  # the 1-channel recording's padding
    found = 60.0 / np.exp(values[:2, :, VIEWS.index("energy") * PER_VIEW + PERIOD])  # [windows, channels] bpm
    assert np.allclose(found, [[60, 120], [60, 120]], rtol=0.06)  # each channel's own rhythm, in its place
    pieces = extractor.iter_batches([two], sampling_rate=rate, max_windows=1, return_rhythm=True)
    np.testing.assert_array_equal(np.concatenate([p["rhythm_values"] for p in pieces]), values[:2])
    assert "rhythm_values" not in extractor(two, sampling_rate=rate)  # only when asked


def test_without_scipy_the_steps_must_be_given(monkeypatch):
    from normwear_hf import normwear_onnx, rhythm_features

    window = beats(72, 65.0)
    expected = rhythm_descriptor(window, 65.0)
    monkeypatch.setattr(rhythm_features, "find_peaks", None)  # as where scipy cannot be imported
    with pytest.raises(ImportError, match="needs scipy unless both peak_finder and smoother are given"):
        rhythm_descriptor(window, 65.0)
    assert np.array_equal(normwear_onnx.rhythm_descriptor(window, 65.0), expected)  # numpy steps, same numbers
