"""Baseline features for the linear probes (normwear_hf.evaluation.baselines)."""

import os
import sys

import numpy as np
import pytest
from scipy import stats

from normwear_hf.data.schema import make_example
from normwear_hf.evaluation.baselines import (
    STATISTICAL_FEATURES,
    minirocket_features,
    raw_signal_features,
    signed_log1p,
    statistical_feature_names,
    statistical_features,
)


def _row(signals, rate, kinds=None, index=0):
    kinds = kinds or ["ppg"] * len(signals)
    return make_example(signals, rate, kinds, recording_id=f"r{index}", source="test")


def _sine(rate=64.0, seconds=4.0, freq=2.0, amplitude=3.0, offset=1.0, phase=0.3):
    t = np.arange(int(rate * seconds)) / rate
    return offset + amplitude * np.sin(2 * np.pi * freq * t + phase)


def test_signed_log1p():
    np.testing.assert_allclose(signed_log1p([-(np.e - 1), 0.0, np.e - 1, 99.0]), [-1.0, 0.0, 1.0, np.log(100.0)])


def test_statistics_of_a_known_sine_match_hand_computed_values():
    x = _sine()
    raw = statistical_features([_row([x], 64.0)], target_rate=None, log_transform=False)[0]
    assert raw.shape == (16,) and len(STATISTICAL_FEATURES) == 16
    got = dict(zip(STATISTICAL_FEATURES, raw))
    x64 = x.astype(np.float32).astype(np.float64)  # rows store float32
    expected = {
        "mean": 1.0,
        "std": 3.0 / np.sqrt(2.0),
        "min": x64.min(),
        "max": x64.max(),
        "median": np.median(x64),
        "q05": np.percentile(x64, 5),
        "q25": np.percentile(x64, 25),
        "q75": np.percentile(x64, 75),
        "q95": np.percentile(x64, 95),
        "skewness": 0.0,
        "kurtosis": -1.5,  # excess kurtosis of a sine
        "rms": np.sqrt(1.0 + 4.5),
        "mean_abs_diff": np.mean(np.abs(np.diff(x64))),
        "mean_crossing_rate": 4.0,  # 2 crossings per cycle at 2 Hz
        "dominant_frequency": 2.0,
        "spectral_entropy": 0.0,
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=2e-5), name
    # the general moments agree with scipy's biased estimators on an irregular signal
    y = np.random.default_rng(0).gamma(2.0, size=300)
    got = dict(zip(STATISTICAL_FEATURES, statistical_features([_row([y], 100.0)], None, False)[0]))
    y = y.astype(np.float32).astype(np.float64)
    assert got["skewness"] == pytest.approx(stats.skew(y), rel=1e-5)
    assert got["kurtosis"] == pytest.approx(stats.kurtosis(y), rel=1e-5)
    assert got["std"] == pytest.approx(np.std(y), rel=1e-6)
    assert 0.5 < got["spectral_entropy"] < 1.0


def test_log_transform_channel_order_and_width():
    a, b = _sine(), _sine(freq=5.0, amplitude=0.5, offset=-4.0)
    rows = [_row([a, b], 64.0), _row([b, a], 64.0, index=1)]
    plain = statistical_features(rows, target_rate=None, log_transform=False)
    logged = statistical_features(rows, target_rate=None)
    assert plain.shape == logged.shape == (2, 32)
    np.testing.assert_allclose(logged, np.sign(plain) * np.log1p(np.abs(plain)))
    np.testing.assert_allclose(plain[0, :16], plain[1, 16:])
    np.testing.assert_allclose(plain[0, 16:], plain[1, :16])
    assert plain[0, 14] == pytest.approx(2.0) and plain[0, 16 + 14] == pytest.approx(5.0)
    assert plain[0, 16] == pytest.approx(-4.0, abs=1e-5)
    assert statistical_feature_names(["ppg", "acc"])[16] == "acc/mean"


def test_default_resamples_to_65_hz_so_rates_agree():
    fast = statistical_features([_row([_sine(rate=260.0)], 260.0)], log_transform=False)[0]
    slow = statistical_features([_row([_sine(rate=65.0)], 65.0)], log_transform=False)[0]
    for name in ("mean", "std", "rms", "mean_abs_diff", "mean_crossing_rate", "dominant_frequency"):
        index = STATISTICAL_FEATURES.index(name)
        assert fast[index] == pytest.approx(slow[index], rel=0.02, abs=1e-3), name


def test_constant_and_gappy_channels():
    flat = statistical_features([_row([np.full(130, 2.0)], 65.0)], log_transform=False)[0]
    got = dict(zip(STATISTICAL_FEATURES, flat))
    assert got["mean"] == got["median"] == got["max"] == 2.0
    assert got["std"] == got["skewness"] == got["kurtosis"] == got["dominant_frequency"] == 0.0
    assert got["spectral_entropy"] == got["mean_crossing_rate"] == got["mean_abs_diff"] == 0.0
    x = _sine(rate=65.0)
    x[10:20] = np.nan
    assert np.isfinite(statistical_features([_row([x], 65.0)])).all()


def test_mismatched_channel_counts_raise():
    rows = [_row([_sine()], 64.0), _row([_sine(), _sine()], 64.0, index=1)]
    with pytest.raises(ValueError, match="row 1 .*2 channels, row 0 has 1"):
        statistical_features(rows)
    with pytest.raises(ValueError, match="same channels"):
        raw_signal_features(rows)
    with pytest.raises(ValueError, match="no rows"):
        statistical_features([])


def test_raw_signal_features_resample_cut_pad_and_zscore():
    long = _row([_sine(rate=130.0, seconds=8.0), _sine(rate=130.0, seconds=8.0, freq=1.0)], 130.0)
    short = _row([_sine(rate=65.0, seconds=1.5), np.full(98, 7.0)], 65.0, index=1)
    X = raw_signal_features([long, short], length=390)
    assert X.shape == (2, 780)
    first = X[0].reshape(2, 390)
    np.testing.assert_allclose(first.mean(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(first.std(axis=1), 1.0, atol=1e-9)
    second = X[1].reshape(2, 390)
    n = int(1.5 * 65)
    assert second[0, :n].mean() == pytest.approx(0.0, abs=1e-9) and second[0, :n].std() == pytest.approx(1.0)
    assert np.all(second[0, n:] == 0.0) and np.all(second[1] == 0.0)  # zero padding; constant channel
    # resampled 130 -> 65 Hz: the z-scored 2 Hz sine matches the one written at 65 Hz
    direct = raw_signal_features([_row([_sine(rate=65.0, seconds=8.0)], 65.0)], length=390)[0]
    np.testing.assert_allclose(first[0][20:-20], direct[20:-20], atol=0.02)
    with pytest.raises(ValueError, match="length"):
        raw_signal_features([long], length=0)


def test_minirocket_features_fit_on_train():
    pytest.importorskip("aeon")
    rng = np.random.default_rng(0)
    train = [_row([_sine(rate=65.0, freq=f), rng.normal(size=260)], 65.0, index=i) for i, f in enumerate([1, 2, 3, 4])]
    test = [_row([_sine(rate=130.0, seconds=3.0), rng.normal(size=390)], 130.0, index=9)]
    train_X, test_X = minirocket_features(train, test, seed=0, n_kernels=84)
    assert train_X.shape == (4, 84) and test_X.shape == (1, 84)
    assert np.isfinite(train_X).all() and np.isfinite(test_X).all()
    assert 0.0 <= train_X.min() and train_X.max() <= 1.0  # proportions of positive values
    again, _ = minirocket_features(train, test, seed=0, n_kernels=84)
    np.testing.assert_array_equal(again, train_X)
    # numba must not use spinning OpenMP threads, which slowed later torch training in the process ~8x
    assert os.environ.get("NUMBA_THREADING_LAYER") == "workqueue"
    with pytest.raises(ValueError, match="must match"):
        minirocket_features(train, [_row([_sine()], 64.0)], n_kernels=84)


def test_minirocket_without_aeon_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon.transformations.collection.convolution_based", None)
    with pytest.raises(ImportError, match="pip install aeon"):
        minirocket_features([_row([_sine()], 64.0)], [_row([_sine()], 64.0)])
