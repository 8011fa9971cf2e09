"""Tests for normwear_hf.signal_processing: CWT vs PyWavelets, resampling and the cleaning steps."""

import inspect

import numpy as np
import pytest
import torch

from normwear_hf.signal_processing import (
    DEFAULT_SCALES,
    MEXH_PRECISION,
    PYWT_SCALE_FACTOR,
    TARGET_SAMPLING_RATE,
    cwt_numpy,
    cwt_torch,
    derivative_planes,
    detrend,
    fill_missing,
    gaussian_smooth,
    interpolate_missing,
    longest_gap,
    normalize_mean_abs,
    repair_jumps,
    resample,
    resample_ratio,
)

pywt = pytest.importorskip("pywt")


# PyWavelets >= 1.5 has a `precision` argument (default 12); older releases hard-code 10.
HAS_PRECISION = "precision" in inspect.signature(pywt.cwt).parameters
PRECISION = MEXH_PRECISION if HAS_PRECISION else 10


def pywt_reference(x: np.ndarray, scales=DEFAULT_SCALES) -> np.ndarray:
    """pywt.cwt(..., "mexh") moved to our [..., T, S] layout."""
    kwargs = {"precision": PRECISION} if HAS_PRECISION else {}
    coefs, _ = pywt.cwt(x, scales, "mexh", **kwargs)
    return np.moveaxis(coefs, 0, -1)


def max_rel_err(ours: np.ndarray, ref: np.ndarray) -> float:
    """max |ours - ref| / max |ref|, per signal (leading axes), worst signal."""
    diff = np.abs(ours.astype(np.float64) - ref).reshape(ref.shape[0], -1).max(axis=1)
    return float((diff / np.abs(ref).reshape(ref.shape[0], -1).max(axis=1)).max())


def test_constants():
    assert TARGET_SAMPLING_RATE == 65.0
    assert DEFAULT_SCALES.shape == (65,)
    np.testing.assert_allclose(DEFAULT_SCALES[[0, 1, 2, -1]], [0.1, 1.1, 2.1, 64.1])
    assert PYWT_SCALE_FACTOR == 1.0


@pytest.mark.parametrize("n", [100, 101, 388, 389, 1000])
def test_cwt_matches_pywt_float64(n):
    x = np.random.default_rng(n).standard_normal((2, n))
    ref = pywt_reference(x)
    ours = cwt_numpy(x, precision=PRECISION)
    assert ours.shape == (2, n, 65) and ours.dtype == np.float64
    assert max_rel_err(ours, ref) < 1e-10
    # every scale row on its own, including the tiny 0.1 row
    row_err = np.abs(ours - ref).max(axis=(0, 1)) / np.abs(ref).max(axis=(0, 1))
    assert row_err.max() < 1e-8


@pytest.mark.parametrize("n", [100, 389, 1000])
def test_cwt_matches_pywt_float32(n):
    x = np.random.default_rng(n).standard_normal((2, n)).astype(np.float32)
    ref = pywt_reference(x)
    ours = cwt_numpy(x, precision=PRECISION)
    assert ours.dtype == np.float32
    assert max_rel_err(ours, ref) < 5e-5


def test_cwt_smooth_signal_and_custom_scales():
    t = np.arange(390) / 65.0
    x = np.sin(2 * np.pi * 1.2 * t) + 0.3 * np.sin(2 * np.pi * 7 * t)
    scales = [0.5, 3.0, 17.25]
    ours = cwt_numpy(x, scales, precision=PRECISION)
    assert ours.shape == (390, 3)
    assert max_rel_err(ours[None], pywt_reference(x[None], scales)) < 1e-10


def test_cwt_leading_axes_and_single_thread():
    x = np.random.default_rng(0).standard_normal((2, 3, 64))
    out = cwt_numpy(x)
    assert out.shape == (2, 3, 64, 65)
    np.testing.assert_allclose(out[1, 2], cwt_numpy(x[1, 2]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(cwt_numpy(x, workers=1), out, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cwt_torch_matches_numpy(dtype):
    x = torch.randn(4, 3, 200, dtype=dtype, generator=torch.Generator().manual_seed(0))
    out = cwt_torch(x)
    assert out.shape == (4, 3, 200, 65) and out.dtype == dtype and out.device == x.device
    ref = cwt_numpy(x.numpy())
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert np.abs(out.numpy() - ref).max() <= tol * np.abs(ref).max()


def spectral_peak(x: np.ndarray, rate: float) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("rate", [250.0, 32.0, 117.1875, 2048.0, 10.0])
def test_resample_keeps_frequency_and_length(rate):
    t = np.arange(int(round(20 * rate))) / rate
    x = np.sin(2 * np.pi * 1.2 * t)
    y = resample(x, rate, 65.0)
    assert y.shape == (1300,)
    assert abs(spectral_peak(y, 65.0) - 1.2) <= 0.05
    ty = np.arange(y.size) / 65.0
    np.testing.assert_allclose(y[100:-100], np.sin(2 * np.pi * 1.2 * ty[100:-100]), atol=2e-3)


def test_resample_ratio_is_exact_for_common_rates():
    assert resample_ratio(250.0) == (13, 50)
    assert resample_ratio(2048.0) == (65, 2048)
    assert resample_ratio(117.1875) == (208, 375)
    assert resample_ratio(32.0) == (65, 32)


def test_resample_identity_batch_and_antialiasing():
    x = np.random.default_rng(0).standard_normal((2, 3, 130))
    assert resample(x, 65, 65) is x
    assert resample(x, 100.0, 65.0).shape == (2, 3, 85)  # round(130 * 0.65) = 84.5 -> 85
    # a 40 Hz tone cannot exist at 65 Hz (Nyquist 32.5 Hz): it must be filtered out, not aliased to 25 Hz
    t = np.arange(2500) / 250.0
    y = resample(np.sin(2 * np.pi * 40 * t), 250.0, 65.0)
    assert np.sqrt(np.mean(y[50:-50] ** 2)) < 0.02


def test_resample_rejects_bad_rates():
    with pytest.raises(ValueError, match="orig_rate"):
        resample(np.zeros(10), 0.0)
    with pytest.raises(ValueError, match="orig_rate"):
        resample(np.zeros(10), float("nan"))


def test_fill_missing_interpolates_linearly_and_holds_edges():
    x = np.array([[0.0, np.nan, np.nan, 3.0, 4.0], [np.nan, 1.0, 2.0, np.inf, np.nan]])
    y = fill_missing(x, max_gap_samples=2)
    np.testing.assert_allclose(y, [[0, 1, 2, 3, 4], [1, 1, 2, 2, 2]])
    clean = np.arange(5.0)
    assert fill_missing(clean, 0) is clean


def test_fill_missing_errors_name_channel_and_duration():
    x = np.zeros((3, 200))
    x[2, 10:140] = np.nan
    with pytest.raises(ValueError, match=r"channel 2 .*130 samples = 1.30 s at 100 Hz.*max_gap_seconds"):
        fill_missing(x, max_gap_samples=100, sampling_rate=100.0)
    x[1] = np.nan
    with pytest.raises(ValueError, match="channel 1 contains no finite value"):
        fill_missing(x, max_gap_samples=1000)


def test_longest_gap_and_interpolate_missing():
    missing = np.array([[True, False, True, True, True, False], [False] * 6])
    np.testing.assert_array_equal(longest_gap(missing), [3, 0])
    y = interpolate_missing(np.array([0.0, 9.0, 9.0, 6.0]), np.array([False, True, True, False]))
    np.testing.assert_allclose(y, [0, 2, 4, 6])


def test_repair_jumps_removes_spike():
    x = np.arange(100.0)
    x[50] = 1000.0
    y = repair_jumps(np.stack([x, np.arange(100.0)]))
    np.testing.assert_allclose(y, np.stack([np.arange(100.0)] * 2))


def test_detrend_removes_line():
    t = np.arange(200.0)
    x = np.stack([3.0 + 0.5 * t, 2.0 - t + np.sin(t)])
    y = detrend(x)
    np.testing.assert_allclose(y[0], 0.0, atol=1e-10)
    assert abs(y[1].mean()) < 1e-10
    assert abs(np.dot(y[1], t - t.mean())) < 1e-8


def test_gaussian_smooth_impulse_response():
    x = np.zeros(41)
    x[20] = 1.0
    y = gaussian_smooth(x, 0.02 * 65)
    assert y.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(y, y[::-1], atol=1e-15)
    assert y[20] == pytest.approx(1 / (np.sqrt(2 * np.pi) * 1.3), rel=1e-3)
    np.testing.assert_array_equal(gaussian_smooth(x, 0), x)


def test_normalize_mean_abs_and_flat_channel():
    y = normalize_mean_abs(np.array([[1.0, -3.0], [0.0, 0.0]]))
    np.testing.assert_allclose(y, [[0.5, -1.5], [0.0, 0.0]])
    assert np.isfinite(y).all()


def test_derivative_planes_alignment():
    x = np.arange(5.0) ** 2  # 0 1 4 9 16
    planes = derivative_planes(x)
    np.testing.assert_allclose(planes, [[4, 9, 16], [3, 5, 7], [2, 2, 2]])
    planes_t = derivative_planes(torch.tensor(x).expand(2, 5))
    assert planes_t.shape == (2, 3, 3)
    np.testing.assert_allclose(planes_t[1].numpy(), planes)
    with pytest.raises(ValueError, match="at least 3 samples"):
        derivative_planes(np.zeros(2))
