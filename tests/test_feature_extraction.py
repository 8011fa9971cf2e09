"""Tests for NormWearFeatureExtractor: shapes, masks, long inputs, serialisation and input checks."""

import json
import logging

import numpy as np
import pytest
import torch

from normwear_hf.feature_extraction_normwear import CHANNEL_TYPES, NormWearFeatureExtractor
from normwear_hf.signal_processing import (
    cwt_numpy,
    derivative_planes,
    detrend,
    gaussian_smooth,
    normalize_mean_abs,
    repair_jumps,
    resample,
)

W, S = 390, 65
LOGGER = "normwear_hf.feature_extraction_normwear"


@pytest.fixture(scope="module")
def fe():
    return NormWearFeatureExtractor()


def signal(n_channels, n_samples, rate=65.0, seed=0):
    """Smooth, realistic-looking channels (a pulse-like wave plus breathing plus noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / rate
    base = [np.sin(2 * np.pi * (1.1 + 0.1 * c) * t) + 0.3 * np.sin(2 * np.pi * 0.25 * t) for c in range(n_channels)]
    return np.stack(base) + 0.05 * rng.standard_normal((n_channels, n_samples))


def test_defaults_and_channel_types():
    fe = NormWearFeatureExtractor()
    assert fe.sampling_rate == 65.0 and fe.window_length == 390 and fe.long_input == "truncate"
    assert len(fe.scales) == 65 and fe.scales[0] == pytest.approx(0.1) and fe.scales[-1] == pytest.approx(64.1)
    assert fe.model_input_names == ["input_values", "channel_mask", "time_mask"]
    assert "ecg" in CHANNEL_TYPES and "other" in CHANNEL_TYPES and len(CHANNEL_TYPES) == 11


def test_single_recording_shapes_and_dtypes(fe):
    out = fe(signal(2, 390), sampling_rate=65)
    assert set(out.keys()) == {"input_values", "channel_mask", "time_mask", "input_levels"}
    assert out["input_levels"].shape == (1, 2) and out["input_levels"].dtype == np.float32
    assert out["input_values"].shape == (1, 2, 3, W - 2, S) and out["input_values"].dtype == np.float32
    assert out["channel_mask"].dtype == np.int64 and out["channel_mask"].tolist() == [[1, 1]]
    assert out["time_mask"].dtype == np.int64 and out["time_mask"].sum() == W - 2
    assert np.isfinite(out["input_values"]).all()


def test_matches_manual_pipeline(fe):
    x = signal(1, 1300, rate=200.0)[:, :1200]  # 6 s at 200 Hz
    out = fe(x, sampling_rate=200)
    y = resample(x, 200.0, 65.0)
    y = normalize_mean_abs(gaussian_smooth(detrend(repair_jumps(y, 95)), 1.3))
    ref = cwt_numpy(derivative_planes(y.astype(np.float32)))
    np.testing.assert_allclose(out["input_values"][0], ref, rtol=0, atol=1e-5 * np.abs(ref).max())


def test_batch_and_list_of_recordings(fe):
    out = fe(np.stack([signal(4, 390, seed=i) for i in range(3)]), sampling_rate=65)
    assert out["input_values"].shape == (3, 4, 3, W - 2, S)
    mixed = [signal(2, 500, rate=100.0), signal(3, 300, rate=65.0)]
    out = fe(mixed, sampling_rate=[100, 65])
    assert out["input_values"].shape == (2, 3, 3, W - 2, S)
    assert out["channel_mask"].tolist() == [[1, 1, 0], [1, 1, 1]]
    assert not out["input_values"][0, 2].any()  # padded channel: all-zero planes
    assert out["time_mask"].sum(axis=1).tolist() == [325 - 2, 300 - 2]  # 5 s at 100 Hz -> 325 samples


def test_per_channel_rates_with_different_lengths(fe):
    # 4 s of ECG at 250 Hz and of accelerometer at 32 Hz, as a list of 1-D channels
    recording = [signal(1, 1000, rate=250.0)[0], signal(1, 128, rate=32.0)[0]]
    out = fe(recording, sampling_rate=[250, 32], channel_types=["ecg", "acc"], return_tensors="pt")
    assert out["input_values"].shape == (1, 2, 3, W - 2, S)
    assert out["time_mask"].sum().item() == 260 - 2
    assert out["channel_types"] == [["ecg", "acc"]]


def test_time_mask_for_3_second_input(fe):
    out = fe(signal(1, 195), sampling_rate=65)
    mask = out["time_mask"][0]
    assert mask.sum() == 193 and mask[:193].all() and not mask[193:].any()


def test_truncate_warns_and_equals_first_split_window(fe, caplog):
    x = signal(2, 20 * 250, rate=250.0)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        truncated = fe(x, sampling_rate=250)
    assert truncated["input_values"].shape[0] == 1 and "recording_index" not in truncated
    assert "dropped 14.00 s" in caplog.text and 'long_input="split"' in caplog.text
    split = fe(x, sampling_rate=250, long_input="split")
    np.testing.assert_allclose(truncated["input_values"][0], split["input_values"][0], rtol=0, atol=1e-5)


def test_split_windows_and_recording_index(fe):
    recordings = [signal(1, 1300), signal(2, 812), signal(1, 100)]  # 20 s, 12.5 s, 1.5 s at 65 Hz
    out = fe(recordings, sampling_rate=65, long_input="split")
    # 1300 = 3 x 390 + 130 (2 s, kept); 812 = 2 x 390 + 32 (< 1 s, dropped); 100 -> one padded window
    assert out["recording_index"].tolist() == [0, 0, 0, 0, 1, 1, 2]
    assert out["recording_index"].dtype == np.int64
    assert out["time_mask"].sum(axis=1).tolist() == [388] * 3 + [128] + [388] * 2 + [98]
    assert out["channel_mask"].tolist() == [[1, 0]] * 4 + [[1, 1]] * 2 + [[1, 0]]


def test_torch_backend_and_return_tensors(fe):
    x = np.stack([signal(2, 390, seed=1), signal(2, 390, seed=2)])
    ref = fe(x, sampling_rate=65)
    fe_torch = NormWearFeatureExtractor(cwt_backend="torch")
    out = fe_torch(x, sampling_rate=65, return_tensors="pt", channel_names=["wrist", "chest"])
    assert isinstance(out["input_values"], torch.Tensor) and out["input_values"].dtype == torch.float32
    assert out["channel_mask"].dtype == torch.int64 and out["time_mask"].dtype == torch.int64
    assert out["channel_names"] == [["wrist", "chest"]] * 2
    np.testing.assert_allclose(out["input_values"].numpy(), ref["input_values"], rtol=0, atol=1e-5)
    padded = fe_torch([signal(1, 390), signal(2, 390)], sampling_rate=65, return_tensors="np")
    assert isinstance(padded["input_values"], np.ndarray) and not padded["input_values"][0, 1].any()


def test_save_and_load_round_trip(tmp_path):
    fe = NormWearFeatureExtractor(window_length=260, long_input="split", jump_percentile=99.0, cwt_backend="torch")
    fe.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert config["window_length"] == 260 and config["long_input"] == "split" and len(config["scales"]) == 65
    assert config["feature_extractor_type"] == "NormWearFeatureExtractor"
    loaded = NormWearFeatureExtractor.from_pretrained(tmp_path)
    assert loaded.to_dict() == fe.to_dict()
    x = signal(2, 600, rate=100.0)
    a, b = fe(x, sampling_rate=100), loaded(x, sampling_rate=100)
    assert a["input_values"].shape == (2, 2, 3, 258, S)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_short_nan_gap_is_repaired(fe):
    x = signal(2, 500, rate=100.0)
    x[0, 100:150] = np.nan  # 0.5 s gap
    out = fe(x, sampling_rate=100)
    assert np.isfinite(out["input_values"]).all() and np.abs(out["input_values"][0, 0]).max() > 0


def test_flat_channel_gives_zeros_and_warning(fe, caplog):
    x = signal(2, 390)
    x[1] = 5.0
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        out = fe(x, sampling_rate=65, channel_names=["ppg", "temp"])
    assert not out["input_values"][0, 1].any() and out["input_values"][0, 0].any()
    assert "flat" in caplog.text and "recording 0 channel 1 ('temp')" in caplog.text


def test_implausible_rate_warns(fe, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        out = fe(signal(1, 2), sampling_rate=0.5)  # 4 s at 0.5 Hz
    assert "outside the usual range" in caplog.text
    assert out["time_mask"].sum() == 260 - 2 and np.isfinite(out["input_values"]).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "sampling_rate is required"),
        ({"sampling_rate": 0}, "must be positive"),
        ({"sampling_rate": -100}, "must be positive"),
        ({"sampling_rate": float("nan")}, "NaN"),
        ({"sampling_rate": float("inf")}, "infinite"),
        ({"sampling_rate": True}, "boolean"),
        ({"sampling_rate": [65, 65, 65]}, "3 entries but the recording has 2 channels"),
        ({"sampling_rate": 65, "channel_types": ["ecg", "smell"]}, "Unknown channel type 'smell'"),
        ({"sampling_rate": 65, "channel_types": ["ecg"]}, "1 entries but the recording has 2 channels"),
        ({"sampling_rate": 65, "return_tensors": "tf"}, "return_tensors"),
        ({"sampling_rate": 65, "long_input": "pad"}, "long_input"),
    ],
)
def test_bad_arguments(fe, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fe(signal(2, 390), **kwargs)


def test_bad_batch_rates(fe):
    with pytest.raises(ValueError, match="3 entries but the batch has 2 recordings"):
        fe(np.zeros((2, 1, 390)), sampling_rate=[65, 65, 65])


def nan_gap():
    x = signal(1, 300, rate=100.0)
    x[0, 50:200] = np.nan
    return x


def with_inf():
    x = signal(1, 300, rate=100.0)
    x[0, 7] = np.inf
    return x


@pytest.mark.parametrize(
    ("signals", "match"),
    [
        (lambda: nan_gap(), r"recording 0, channel 0 has a gap .*1.50 s"),
        (lambda: np.full((1, 300), np.nan), "contains no finite value"),
        (lambda: with_inf(), "infinite value"),
        (lambda: [], "Empty input"),
        (lambda: np.zeros((0, 300)), "zero channels"),
        (lambda: np.zeros((2, 0)), "zero samples"),
        (lambda: np.float64(3.0), r"scalar.*one channel \[T\]"),
        (lambda: np.zeros((1, 1, 2, 300)), "4 dimensions"),
        (lambda: np.zeros((1, 50)), r"recording 0 lasts only 0.500 s"),
        (lambda: [signal(1, 300), np.zeros((1, 20))], "recording 1 lasts only 0.200 s"),
        (lambda: [["a", "b", "c"]], "real numbers"),
    ],
)
def test_bad_signals(fe, signals, match):
    with pytest.raises(ValueError, match=match):
        fe(signals(), sampling_rate=100)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window_length": 2}, "window_length"),
        ({"long_input": "wrap"}, "long_input"),
        ({"cwt_backend": "jax"}, "cwt_backend"),
        ({"scales": [1.0, -2.0]}, "scales"),
        ({"jump_percentile": 0}, "jump_percentile"),
        ({"max_gap_seconds": -1}, "max_gap_seconds"),
        ({"sampling_rate": 0}, "sampling_rate"),
        ({"window_length": 1e9}, "window_length must be an integer"),
        ({"window_length": 10**9}, "beyond the model's reach"),
        ({"scales": list(range(1, 200_001))}, "at most 1024"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NormWearFeatureExtractor(**kwargs)


def test_inputs_as_people_have_them(fe):
    """A DataFrame (columns = channels), a 1-D channel, [T, C] by mistake, and a 10 kHz EMG channel."""
    import logging

    import pandas as pd

    rng = np.random.default_rng(0)
    data = rng.standard_normal((650, 3))
    frame = pd.DataFrame(data, columns=["ecg", "ppg", "resp"])
    from_frame = fe(frame, sampling_rate=65)["input_values"]
    np.testing.assert_array_equal(from_frame, fe(data.T, sampling_rate=65)["input_values"])
    assert from_frame.shape[1] == 3
    np.testing.assert_array_equal(
        fe(data[:, 0], sampling_rate=65)["input_values"], fe(data[None, :, 0], sampling_rate=65)["input_values"]
    )
    with pytest.raises(ValueError, match=r"650 channels of 3 samples.*transposed \(signals.T\)"):
        fe(data, sampling_rate=65)

    class Collect(logging.Handler):
        messages: list[str] = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    logger, handler = logging.getLogger("normwear_hf.feature_extraction_normwear"), Collect()
    logger.addHandler(handler)
    try:
        fe(rng.standard_normal((1, 10_000)), sampling_rate=10_000)
        fe(rng.standard_normal((1, 10_000)), sampling_rate=10_000)
    finally:
        logger.removeHandler(handler)
    warnings = [m for m in handler.messages if "everything above 32.5 Hz" in m]
    assert len(warnings) == 1 and "10000 Hz" in warnings[0] and "EMG envelope" in warnings[0]


def test_huge_amplitudes_give_the_features_of_the_same_signal_at_unit_scale(fe):
    x = np.random.default_rng(0).standard_normal((1, 390))
    reference = np.asarray(fe(x, sampling_rate=65)["input_values"])
    for scale in (1e-3, 1e20, 1e307):  # 1e307 used to overflow to NaN embeddings
        features = np.asarray(fe(x * scale, sampling_rate=65)["input_values"])
        assert np.isfinite(features).all()
        np.testing.assert_allclose(features, reference, atol=1e-5)


def test_iter_batches_gives_the_windows_of_one_call_in_bounded_pieces(fe):
    rng = np.random.default_rng(1)
    recordings = [rng.standard_normal((2, 100 * 40)), rng.standard_normal((1, 100 * 13))]
    whole = fe(recordings, sampling_rate=100, long_input="split")
    pieces = list(fe.iter_batches(recordings, sampling_rate=100, max_windows=3, progress=False))
    total = whole["input_values"].shape[0]
    assert total == 10 and [p["input_values"].shape[0] for p in pieces] == [3, 3, 3, 1]
    np.testing.assert_array_equal(np.concatenate([p["recording_index"] for p in pieces]), whole["recording_index"])
    for key in ("input_values", "time_mask"):
        joined = [p[key] for p in pieces]
        width = max(piece.shape[1] for piece in joined)
        padded = [np.pad(a, [(0, 0), (0, width - a.shape[1])] + [(0, 0)] * (a.ndim - 2)) for a in joined]
        np.testing.assert_array_equal(np.concatenate(padded)[:, : whole[key].shape[1]], whole[key])
    with pytest.raises(ValueError, match="max_windows must be a positive integer"):
        fe.iter_batches(recordings, sampling_rate=100, max_windows=0)
    with pytest.raises(ValueError, match="lasts only"):  # checked at the call, before the first piece
        fe.iter_batches(np.zeros((1, 20)), sampling_rate=100)
    # many channels: pieces also bound channels x windows (memory), so a wide recording goes a window at a time
    wide = list(fe.iter_batches(recordings, sampling_rate=100, max_windows=8, max_channel_windows=4, progress=False))
    assert [p["input_values"].shape[0] for p in wide] == [2, 2, 2, 3, 1]  # 7 two-channel windows, 3 one-channel
    with pytest.raises(ValueError, match="max_channel_windows must be a positive integer"):
        fe.iter_batches(recordings, sampling_rate=100, max_channel_windows=0)


def test_piece_bounds_never_split_a_window_and_respect_both_caps():
    from normwear_hf.feature_extraction_normwear import _piece_bounds

    assert _piece_bounds([300, 300, 300], 8, 128) == [(0, 1), (1, 2), (2, 3)]  # one wide window per piece
    assert _piece_bounds([4] * 20, 8, 128) == [(0, 8), (8, 16), (16, 20)]
    assert _piece_bounds([4] * 5, 2, None) == [(0, 2), (2, 4), (4, 5)]
    assert _piece_bounds([], 8, 128) == []


def test_ten_thousand_channels_are_refused_with_the_transpose_hint(fe):
    with pytest.raises(ValueError, match=r"10,000 channels; NormWear takes at most 1024 .*\[time, channels\]"):
        fe(np.zeros((10_000, 400), dtype=np.float32), sampling_rate=65)


def test_meta_tensors_get_a_clear_error(fe):
    import torch

    with pytest.raises(ValueError, match="'meta' device holds no values"):
        fe(torch.empty(1, 400, device="meta"), sampling_rate=65)
