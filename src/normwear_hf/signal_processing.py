"""Signal processing for NormWear: resampling, cleaning and the Mexican-hat CWT.

Everything here is a pure function that works on the last axis and is vectorised over all leading
axes, so a whole batch of channels is processed in one call.

This file is copied next to saved models (``trust_remote_code``), so it may only import numpy, scipy
and torch. PyWavelets is the *reference* for the CWT in the tests, never a runtime dependency.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.signal

#: Every channel is resampled to this rate (Hz) before tokenisation (NormWear paper, section 1).
TARGET_SAMPLING_RATE = 65.0
#: The 65 CWT scales of NormWear: 0.1, 1.1, ..., 64.1.
DEFAULT_SCALES = 0.1 + np.arange(65)
#: Ratio between our CWT coefficients and ``pywt.cwt(x, scales, "mexh")``: we reproduce PyWavelets
#: exactly (same discretisation, same 1/sqrt(scale) normalisation and sign), so it is 1.0.
PYWT_SCALE_FACTOR = 1.0
#: The Mexican hat is tabulated on ``2**MEXH_PRECISION`` points of [-8, 8]; 12 is the default of
#: ``pywt.cwt`` since PyWavelets 1.5 (older releases used 10, which changes large-scale rows by tens
#: of percent because of the coarser table).
MEXH_PRECISION = 12
#: Largest denominator of the rational resampling ratio up/down. 4096 keeps every common wearable
#: rate exact (65/2048, 13/200, 208/375 for 117.1875 Hz, ...) and any other within about 1e-7.
MAX_RESAMPLE_DENOMINATOR = 4096
#: Series transformed together by the CWT; bounds the [group, scales, fft] complex temporaries.
_CPU_GROUP = 8
_GPU_GROUP = 512
# numpy >= 2 computes float32 FFTs in float32 and can write into a preallocated buffer.
_NUMPY_FFT_OUT = int(np.__version__.split(".")[0]) >= 2

# The Mexican hat is only supported on [-8, 8] by PyWavelets (ContinuousWavelet("mexh").lower/upper_bound).
_MEXH_BOUND = 8.0


# ----------------------------------------------------------------------------------------------
# Resampling
# ----------------------------------------------------------------------------------------------
def _check_rate(rate: float, name: str) -> float:
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a positive number of Hz, got {rate!r}.")
    rate = float(rate)
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"{name} must be a positive, finite number of Hz, got {rate!r}.")
    return rate


def resample_ratio(orig_rate: float, target_rate: float = TARGET_SAMPLING_RATE) -> tuple[int, int]:
    """Rational approximation ``up/down`` of ``target_rate / orig_rate`` used by :func:`resample`."""
    ratio = Fraction(float(target_rate)) / Fraction(float(orig_rate))
    ratio = ratio.limit_denominator(MAX_RESAMPLE_DENOMINATOR)
    if ratio.numerator == 0:  # absurdly large downsampling factor: keep at least one sample per down
        ratio = Fraction(1, MAX_RESAMPLE_DENOMINATOR)
    return ratio.numerator, ratio.denominator


def resampled_length(n_samples: int, orig_rate: float, target_rate: float = TARGET_SAMPLING_RATE) -> int:
    """Output length of :func:`resample`: ``round(n_samples * target_rate / orig_rate)`` (half up)."""
    return int(math.floor(n_samples * float(target_rate) / float(orig_rate) + 0.5))


def resample(x: np.ndarray, orig_rate: float, target_rate: float = TARGET_SAMPLING_RATE) -> np.ndarray:
    """Resample ``x [..., T]`` from ``orig_rate`` to ``target_rate`` (Hz) along the last axis.

    Polyphase filtering (``scipy.signal.resample_poly``) with its Kaiser anti-aliasing low-pass, so
    content above the new Nyquist frequency is removed instead of folded back. The signal is extended by
    odd reflection about its end samples (``padtype="antireflect"``), which continues offsets and trends
    (EDA, temperature) without edge transients and only looks at samples near each end, so resampling a
    prefix gives exactly the same leading samples. Works up and down for any positive rate; the output has
    ``round(T * target_rate / orig_rate)`` samples (the rare one-sample difference of the polyphase
    output is cropped or edge-padded). Equal rates return the input unchanged.
    """
    orig_rate = _check_rate(orig_rate, "orig_rate")
    target_rate = _check_rate(target_rate, "target_rate")
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if orig_rate == target_rate:
        return x
    n_out = resampled_length(x.shape[-1], orig_rate, target_rate)
    if x.shape[-1] == 0 or n_out == 0:
        return np.zeros(x.shape[:-1] + (n_out,), dtype=x.dtype)
    up, down = resample_ratio(orig_rate, target_rate)
    if x.shape[-1] == 1:  # resample_poly cannot fit a line through one point
        return np.repeat(x, n_out, axis=-1)
    y = scipy.signal.resample_poly(x, up, down, axis=-1, padtype="antireflect")
    if y.shape[-1] > n_out:
        y = y[..., :n_out]
    elif y.shape[-1] < n_out:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n_out - y.shape[-1])], mode="edge")
    return np.ascontiguousarray(y, dtype=x.dtype)


# ----------------------------------------------------------------------------------------------
# Cleaning
# ----------------------------------------------------------------------------------------------
#: Peak |x| beyond which a channel is brought to unit peak first: no physical unit comes near it.
HUGE_AMPLITUDE = 1e30


def unit_peak_if_huge(x: np.ndarray, limit: float = HUGE_AMPLITUDE) -> np.ndarray:
    """Rows of ``x`` ``[..., T]`` whose peak |x| exceeds ``limit`` divided by that peak; other rows unchanged.

    Every later step is scale-invariant (channels are normalised by their mean absolute value), but sums and
    squares of values near the float64 limit overflow to inf and NaN. Ordinary signals are returned as they are.
    """
    peak = np.max(np.abs(x), axis=-1, keepdims=True)
    huge = peak > limit
    if not huge.any():
        return x
    return np.where(huge, x / np.where(huge, peak, 1.0), x)


def _gap_stats(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index of the last good sample at or before, and the next good sample at or after, each sample.

    ``-1`` / ``T`` mark "none". Vectorised with running max/min instead of a loop over samples.
    """
    n = missing.shape[-1]
    idx = np.arange(n)
    prev_good = np.maximum.accumulate(np.where(missing, -1, idx), axis=-1)
    next_good = np.flip(np.minimum.accumulate(np.flip(np.where(missing, n, idx), axis=-1), axis=-1), axis=-1)
    return idx, prev_good, next_good


def interpolate_missing(x: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Replace samples where ``missing`` is True by linear interpolation between the good neighbours.

    The one interpolation routine behind :func:`fill_missing` and :func:`repair_jumps`. Samples before
    the first (after the last) good sample take its value. Rows without any good sample become zeros;
    callers that care check for them first.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    missing = np.broadcast_to(np.asarray(missing, dtype=bool), x.shape)
    if x.shape[-1] == 0 or not missing.any():
        return x.copy()
    n = x.shape[-1]
    idx, prev_good, next_good = _gap_stats(missing)
    lo = np.where(prev_good < 0, next_good, prev_good)  # leading gap: hold the first good value
    hi = np.where(next_good >= n, lo, next_good)  # trailing gap: hold the last good value
    lo = np.where(lo >= n, 0, lo)  # row with no good sample at all
    hi = np.where(hi >= n, 0, hi)
    clean = np.where(missing, 0.0, x)
    x_lo = np.take_along_axis(clean, lo, axis=-1)
    x_hi = np.take_along_axis(clean, hi, axis=-1)
    span = np.maximum(hi - lo, 1)
    weight = np.clip((idx - lo) / span, 0.0, 1.0)
    filled = x_lo + weight * (x_hi - x_lo)
    return np.where(missing, filled, x).astype(x.dtype, copy=False)


def longest_gap(missing: np.ndarray) -> np.ndarray:
    """Length (samples) of the longest run of True along the last axis, per row."""
    missing = np.asarray(missing, dtype=bool)
    if missing.shape[-1] == 0:
        return np.zeros(missing.shape[:-1], dtype=np.int64)
    _, prev_good, next_good = _gap_stats(missing)
    run = np.where(missing, next_good - prev_good - 1, 0)
    return run.max(axis=-1)


def _channel_label(flat_index: int, lead_shape: tuple[int, ...]) -> str:
    if len(lead_shape) <= 1:
        return f"channel {flat_index}"
    return f"channel {tuple(int(i) for i in np.unravel_index(flat_index, lead_shape))}"


def fill_missing(x: np.ndarray, max_gap_samples: int, sampling_rate: float | None = None) -> np.ndarray:
    """Fill NaN/inf samples by linear interpolation, refusing gaps that are too long to invent.

    Short dropouts (packet loss, a saturated sample) are common in wearable recordings and harmless once
    interpolated; a long gap would be replaced by a straight line the model would take for real signal,
    so it raises instead. ``sampling_rate`` only makes the error message speak in seconds.

    Raises:
        ValueError: a channel is entirely non-finite, or its longest gap exceeds ``max_gap_samples``.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    missing = ~np.isfinite(x)
    if not missing.any():
        return x
    lead_shape = x.shape[:-1]
    flat_missing = missing.reshape(-1, x.shape[-1])
    all_missing = flat_missing.all(axis=-1)
    if all_missing.any():
        i = int(np.flatnonzero(all_missing)[0])
        raise ValueError(
            f"{_channel_label(i, lead_shape)} contains no finite value "
            f"(all {x.shape[-1]} samples are NaN/inf). Drop this channel or replace it with a real recording."
        )
    gaps = longest_gap(flat_missing)
    too_long = gaps > max_gap_samples
    if too_long.any():
        i = int(np.flatnonzero(too_long)[0])
        gap = int(gaps[i])
        if sampling_rate:
            what = f"{gap} samples = {gap / sampling_rate:.2f} s at {sampling_rate:g} Hz"
            limit = f"{int(max_gap_samples)} samples = {max_gap_samples / sampling_rate:.2f} s"
        else:
            what, limit = f"{gap} samples", f"{int(max_gap_samples)} samples"
        raise ValueError(
            f"{_channel_label(i, lead_shape)} has a gap of missing (NaN/inf) values of {what}, longer than "
            f"the {limit} that may be filled by interpolation. Fix: cut the recording around the gap, impute "
            "it yourself, or raise max_gap_seconds."
        )
    return interpolate_missing(x, missing)


def repair_jumps(x: np.ndarray, percentile: float = 95.0) -> np.ndarray:
    """Replace samples reached by an abnormally large jump with a linear interpolation.

    NormWear's cleaning step: a sample whose difference to its predecessor exceeds the per-channel
    ``percentile`` of ``|diff|`` is treated as an artefact (motion spike, electrode pop), marked missing
    and filled by :func:`interpolate_missing`. Note that by construction about ``100 - percentile``
    percent of the samples of a noisy channel are touched; on smooth signals the change is tiny.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if x.shape[-1] < 3:
        return x.copy()
    jumps = np.abs(np.diff(x, axis=-1))
    threshold = np.percentile(jumps, percentile, axis=-1, keepdims=True)
    bad = np.zeros(x.shape, dtype=bool)
    bad[..., 1:] = jumps > threshold
    return interpolate_missing(x, bad)


def detrend(x: np.ndarray) -> np.ndarray:
    """Remove the least-squares straight line from every channel (closed form, vectorised).

    Baseline wander and slow sensor drift carry no information for the model and would dominate the
    mean-absolute-value normalisation.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    n = x.shape[-1]
    if n == 0:
        return x.copy()
    t = np.arange(n, dtype=x.dtype) - (n - 1) / 2.0
    centred = x - x.mean(axis=-1, keepdims=True)
    denom = float(np.dot(t, t))
    if denom == 0.0:
        return centred
    slope = (centred @ t) / denom
    return centred - slope[..., None] * t


def gaussian_smooth(x: np.ndarray, sigma_samples: float) -> np.ndarray:
    """Gaussian low-pass along the last axis (NormWear: sigma = 0.02 s = 1.3 samples at 65 Hz).

    Removes sample-level noise that the smallest CWT scales would otherwise amplify. ``sigma <= 0``
    returns the input unchanged. Edges are reflected.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if sigma_samples <= 0 or x.shape[-1] == 0:
        return x.copy()
    return scipy.ndimage.gaussian_filter1d(x, float(sigma_samples), axis=-1, mode="reflect")


def normalize_mean_abs(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Divide every channel by its mean absolute value, making amplitudes comparable across sensors.

    A flat channel (mean absolute value <= ``eps``) becomes all zeros instead of NaN/inf; the caller is
    expected to warn about it.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if x.shape[-1] == 0:
        return x.copy()
    mav = np.mean(np.abs(x), axis=-1, keepdims=True)
    flat = mav <= eps
    return np.where(flat, 0.0, x / np.where(flat, 1.0, mav)).astype(x.dtype, copy=False)


def derivative_planes(x):
    """Stack a signal with its first and second difference: ``[..., L] -> [..., 3, L-2]``.

    These are NormWear's three "RGB-like" input planes. Alignment: every plane is cut to the common
    length ``L-2`` and aligned on its *last* (most recent) sample, i.e. plane position ``t`` uses only
    samples up to ``t+2``::

        plane 0: x[t+2]
        plane 1: x[t+2] - x[t+1]                (backward first difference)
        plane 2: x[t+2] - 2 x[t+1] + x[t]       (backward second difference)

    So time step ``t`` is "real" exactly when sample ``t+2`` is real. Works for numpy arrays and
    torch tensors.
    """
    if x.shape[-1] < 3:
        raise ValueError(f"derivative_planes needs at least 3 samples, got {x.shape[-1]}.")
    d1 = x[..., 1:] - x[..., :-1]
    d2 = d1[..., 1:] - d1[..., :-1]
    planes = (x[..., 2:], d1[..., 1:], d2)
    if isinstance(x, np.ndarray):
        return np.stack(planes, axis=-2)
    import torch

    return torch.stack(planes, dim=-2)


# ----------------------------------------------------------------------------------------------
# Continuous wavelet transform (Mexican hat), reproducing pywt.cwt(x, scales, "mexh")
# ----------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _mexh_table(precision: int) -> tuple[np.ndarray, np.ndarray]:
    """Mexican hat sampled on PyWavelets' grid and integrated by a cumulative sum (rectangle rule)."""
    grid = np.linspace(-_MEXH_BOUND, _MEXH_BOUND, 2**precision)
    psi = 2.0 / (np.sqrt(3.0) * np.pi**0.25) * (1.0 - grid**2) * np.exp(-(grid**2) / 2.0)
    return np.cumsum(psi) * (grid[1] - grid[0]), grid


def mexh_filters(
    scales=DEFAULT_SCALES, dtype=np.float64, precision: int = MEXH_PRECISION
) -> list[tuple[np.ndarray, int]]:
    """Per-scale time-domain filters ``g_s`` and the offset ``c_s`` such that ``cwt[n] = (x * g_s)[n + c_s]``.

    PyWavelets convolves the signal with a decimated, reversed table of the integrated wavelet ``k_s``,
    takes ``-sqrt(s) * diff`` and crops the centre. A difference after a convolution is a convolution
    with a differenced kernel, so ``g_s = -sqrt(s) * diff([0, k_s, 0])`` and a single linear convolution
    followed by a crop starting at ``c_s = floor((len(k_s) - 2) / 2) + 1`` gives the same numbers.
    The index arithmetic is done in ``dtype`` as PyWavelets does, so float32 picks identical taps.
    """
    int_psi, grid = _mexh_table(precision)
    grid = grid.astype(dtype)
    table = int_psi.astype(dtype)
    step = grid[1] - grid[0]
    span = grid[-1] - grid[0]
    filters = []
    for scale in np.atleast_1d(np.asarray(scales, dtype=np.float64)):
        if not scale > 0:
            raise ValueError(f"CWT scales must be positive, got {scale}.")
        j = (np.arange(scale * span + 1) / (scale * step)).astype(int)
        j = j[j < table.size]
        k = table[j][::-1].astype(np.float64)
        if k.size < 2:
            raise ValueError(f"CWT scale {scale} is too small for the Mexican hat table.")
        g = -np.sqrt(scale) * np.diff(np.concatenate(([0.0], k, [0.0])))
        offset = (k.size - 2) // 2 + 1
        filters.append((g, offset))
    return filters


def _scales_key(scales) -> tuple[float, ...]:
    return tuple(float(s) for s in np.atleast_1d(np.asarray(scales, dtype=np.float64)))


@functools.lru_cache(maxsize=32)
def _filter_bank(n: int, scales: tuple[float, ...], dtype_name: str, precision: int) -> tuple[np.ndarray, int]:
    """Spectra ``[S, F//2+1]`` of the circularly centred filters, and the FFT size ``F``.

    Each filter is rolled left by its crop offset, so the first ``n`` samples of the circular
    convolution are exactly PyWavelets' cropped output. ``F >= n + max(c_s, len(g_s) - 1 - c_s)``
    keeps every needed lag free of wrap-around.
    """
    dtype = np.dtype(dtype_name)
    filters = mexh_filters(scales, dtype=dtype, precision=precision)
    reach = max(max(off, g.size - 1 - off) for g, off in filters)
    size = scipy.fft.next_fast_len(n + reach, real=True)
    taps = np.zeros((len(filters), size), dtype=np.float64)
    for row, (g, off) in enumerate(filters):
        pos = (np.arange(g.size) - off) % size
        np.add.at(taps[row], pos, g)
    bank = scipy.fft.rfft(taps, axis=-1)
    bank = bank.astype(np.complex64 if dtype == np.float32 else np.complex128)
    bank.setflags(write=False)
    return bank, size


def _float_dtype_np(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype == np.float32 or dtype == np.float64:
        return dtype
    if dtype == np.float16:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _worker_count(workers: int | None) -> int:
    """Threads for the numpy CWT: ``workers`` if given, else torch's intra-op thread count when torch is
    loaded (DataLoader workers set it to 1, which avoids oversubscription), else the usable cores."""
    if workers is not None:
        return max(1, int(workers))
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "get_num_threads"):
        return max(1, torch.get_num_threads())
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_POOL: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, size, pool)
_POOL_LOCK = threading.Lock()


def _pool(n_workers: int) -> ThreadPoolExecutor:
    """A shared thread pool, rebuilt after a fork (a forked child inherits the pool but not its threads)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid() or _POOL[1] < n_workers:
            pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="normwear-cwt")
            _POOL = (os.getpid(), n_workers, pool)
        return _POOL[2]


def _cwt_block(x: np.ndarray, out: np.ndarray, bank: np.ndarray, size: int) -> None:
    """CWT of the rows of ``x [K, n]`` into ``out [K, n, S]``, ``_CPU_GROUP`` rows at a time.

    The product and inverse-transform buffers are allocated once and reused, so they stay in cache;
    fresh multi-megabyte temporaries per group cost more than the FFTs themselves.
    """
    n_rows, n = x.shape
    group = min(_CPU_GROUP, n_rows)
    prod = np.empty((group,) + bank.shape, dtype=bank.dtype)
    conv = np.empty((group, bank.shape[0], size), dtype=x.dtype) if _NUMPY_FFT_OUT else None
    for start in range(0, n_rows, group):
        g = min(group, n_rows - start)
        chunk = x[start : start + g]
        spec = np.fft.rfft(chunk, n=size, axis=-1) if _NUMPY_FFT_OUT else scipy.fft.rfft(chunk, n=size, axis=-1)
        np.multiply(spec[:, None, :], bank, out=prod[:g])
        if _NUMPY_FFT_OUT:
            res = np.fft.irfft(prod[:g], n=size, axis=-1, out=conv[:g])
        else:
            res = scipy.fft.irfft(prod[:g], n=size, axis=-1)
        np.copyto(out[start : start + g], np.swapaxes(res[..., :n], -1, -2))


def cwt_numpy(
    x: np.ndarray, scales=DEFAULT_SCALES, precision: int = MEXH_PRECISION, workers: int | None = None
) -> np.ndarray:
    """Mexican-hat CWT of ``x [..., T]`` -> ``[..., T, S]`` (time, then scale), equal to PyWavelets.

    Matches ``pywt.cwt(x, scales, "mexh")`` (method "conv"), transposed to time-major, to about 1e-14
    (float64) / 1e-5 (float32) of the largest coefficient. One batched FFT convolution against a cached
    filter-bank spectrum replaces pywt's per-scale ``np.convolve`` loop. Rows are split over
    ``workers`` threads (default: all cores available to the process; the FFTs release the GIL).
    float32 stays float32; other inputs are computed in float64.
    """
    x = np.asarray(x)
    work = _float_dtype_np(x.dtype)
    out_dtype = np.dtype(np.float16) if x.dtype == np.float16 else work
    lead, n = x.shape[:-1], x.shape[-1]
    key = _scales_key(scales)
    out = np.empty(lead + (n, len(key)), dtype=work)
    if n == 0 or out.size == 0:
        return out.astype(out_dtype, copy=False)
    bank, size = _filter_bank(n, key, work.name, precision)
    flat = np.ascontiguousarray(x, dtype=work).reshape(-1, n)
    flat_out = out.reshape(-1, n, len(key))
    n_rows = flat.shape[0]
    n_workers = min(_worker_count(workers), -(-n_rows // _CPU_GROUP))
    if n_workers <= 1:
        _cwt_block(flat, flat_out, bank, size)
    else:
        bounds = np.linspace(0, n_rows, n_workers + 1).round().astype(int)
        pool = _pool(n_workers - 1)
        jobs = [
            pool.submit(_cwt_block, flat[a:b], flat_out[a:b], bank, size)
            for a, b in zip(bounds[:-2], bounds[1:-1], strict=True)
        ]
        _cwt_block(flat[bounds[-2] :], flat_out[bounds[-2] :], bank, size)  # this thread takes a share too
        for job in jobs:
            job.result()
    return out.astype(out_dtype, copy=False)


_TORCH_BANKS: dict = {}


def _torch_bank(n: int, key: tuple[float, ...], dtype, device, precision: int):
    import torch

    np_dtype = "float64" if dtype == torch.float64 else "float32"
    cache_key = (n, key, np_dtype, str(device), precision)
    hit = _TORCH_BANKS.get(cache_key)
    if hit is None:
        bank, size = _filter_bank(n, key, np_dtype, precision)
        if len(_TORCH_BANKS) >= 32:
            _TORCH_BANKS.pop(next(iter(_TORCH_BANKS)))
        hit = (torch.from_numpy(np.array(bank)).to(device), size)
        _TORCH_BANKS[cache_key] = hit
    return hit


def cwt_torch(x, scales=DEFAULT_SCALES, precision: int = MEXH_PRECISION):
    """Torch version of :func:`cwt_numpy`: ``[..., T] -> [..., T, S]`` on ``x.device`` (CPU or CUDA).

    Uses ``torch.fft``; the data never leaves the device. The filter bank is built once in numpy and
    cached per (length, scales, dtype, device). float64 is kept; every other dtype is computed in
    float32 (half types are cast back at the end).
    """
    import torch

    if not torch.is_tensor(x):
        x = torch.as_tensor(x)
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    out_dtype = x.dtype if x.dtype in (torch.float16, torch.bfloat16, torch.float64) else work
    xw = x.to(work)
    lead, n = tuple(x.shape[:-1]), x.shape[-1]
    key = _scales_key(scales)
    if n == 0 or xw.numel() == 0:
        return torch.zeros(lead + (n, len(key)), dtype=out_dtype, device=x.device)
    bank, size = _torch_bank(n, key, work, x.device, precision)
    flat = xw.reshape(-1, n)
    out = torch.empty((flat.shape[0], n, len(key)), dtype=work, device=x.device)
    group = _GPU_GROUP if x.device.type != "cpu" else _CPU_GROUP
    for start in range(0, flat.shape[0], group):
        spec = torch.fft.rfft(flat[start : start + group], n=size, dim=-1)
        conv = torch.fft.irfft(spec[:, None, :] * bank, n=size, dim=-1)
        out[start : start + group].copy_(conv[..., :n].transpose(-1, -2))
    return out.reshape(lead + (n, len(key))).to(out_dtype)
