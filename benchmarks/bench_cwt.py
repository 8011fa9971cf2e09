"""Speed of the NormWear feature extractor (preprocessing + CWT) against a pywt.cwt loop.

Input: 8 recordings x 4 channels (ECG, PPG, respiration, accelerometer) x 390 samples (6 s at 65 Hz).
The feature extractor is timed end to end (cleaning, derivative planes, 65-scale Mexican-hat CWT) with the
numpy and the torch (CPU) backend: median of --repeats calls after one warm-up call. The reference, measured
in the same run, is a Python loop of ``pywt.cwt(x, scales, "mexh")`` over the same 8 * 4 * 3 = 96 series
(signal, first and second difference, already preprocessed: the reference gets the cleaning for free).

    python benchmarks/bench_cwt.py [--repeats N] [--write] [--cuda]

--write stores a Markdown table in docs/benchmarks.md (section "cwt"); --cuda also times the torch backend
on the first GPU (skipped with a message when there is none).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
try:
    import normwear_hf  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))

from normwear_hf.feature_extraction_normwear import NormWearFeatureExtractor  # noqa: E402
from normwear_hf.signal_processing import (  # noqa: E402
    DEFAULT_SCALES,
    derivative_planes,
    detrend,
    gaussian_smooth,
    normalize_mean_abs,
    repair_jumps,
)

RATE = 65.0
RECORDINGS, CHANNELS, SAMPLES = 8, 4, 390
TARGET_RATIO = 30.0


def make_recordings(seed: int = 0) -> np.ndarray:
    """[8, 4, 390] float64: ECG, PPG, respiration and wrist acceleration with noise and baseline wander."""
    rng = np.random.default_rng(seed)
    t = np.arange(SAMPLES) / RATE
    out = np.empty((RECORDINGS, CHANNELS, SAMPLES))
    for r in range(RECORDINGS):
        hr = rng.uniform(55, 110) / 60.0  # beats per second
        br = rng.uniform(0.15, 0.35)  # breaths per second
        beats = np.arange(rng.uniform(0, 1 / hr), t[-1] + 1, 1 / hr)
        phase = t[:, None] - beats[None, :]
        ecg = (
            1.0 * np.exp(-((phase / 0.012) ** 2))  # R
            - 0.15 * np.exp(-(((phase + 0.04) / 0.01) ** 2))  # Q
            - 0.25 * np.exp(-(((phase - 0.04) / 0.012) ** 2))  # S
            + 0.12 * np.exp(-(((phase + 0.18) / 0.03) ** 2))  # P
            + 0.3 * np.exp(-(((phase - 0.28) / 0.06) ** 2))  # T
        ).sum(axis=1)
        ppg = (np.exp(-(((phase - 0.2) / 0.09) ** 2)) + 0.35 * np.exp(-(((phase - 0.45) / 0.1) ** 2))).sum(axis=1)
        resp = np.sin(2 * np.pi * br * t) + 0.2 * np.sin(4 * np.pi * br * t + 0.5)
        acc = 0.4 * np.sin(2 * np.pi * rng.uniform(1.5, 2.2) * t) + 0.1 * rng.standard_normal(SAMPLES)
        wander = 0.2 * np.sin(2 * np.pi * 0.05 * t + rng.uniform(0, 6))
        out[r] = np.stack([ecg + wander, 1000 + 50 * ppg + 10 * wander, 5 * resp, acc + 9.81])
        out[r] += 0.01 * rng.standard_normal((CHANNELS, SAMPLES))
    return out


def reference_series(signals: np.ndarray) -> np.ndarray:
    """The 96 preprocessed series (signal, d1, d2) the pywt loop transforms, float64 [96, 388]."""
    x = normalize_mean_abs(gaussian_smooth(detrend(repair_jumps(signals, 95.0)), 0.02 * RATE))
    return derivative_planes(x).reshape(-1, SAMPLES - 2)


def timed(fn, repeats: int, sync=None) -> float:
    fn()  # warm-up: filter bank, FFT plans, thread pool
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per measurement (median)")
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    parser.add_argument("--cuda", action="store_true", help="also time the torch backend on a GPU")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    import pywt
    import torch

    signals = make_recordings()
    series = reference_series(signals)
    n_series = series.shape[0]
    n_windows = RECORDINGS * CHANNELS

    pywt_repeats = max(3, min(args.repeats, 7))  # a pywt loop takes ~0.2 s; a few calls give a stable median
    t_pywt = timed(lambda: [pywt.cwt(s, DEFAULT_SCALES, "mexh") for s in series], pywt_repeats)

    fe_numpy = NormWearFeatureExtractor(cwt_backend="numpy")
    fe_torch = NormWearFeatureExtractor(cwt_backend="torch")
    t_numpy = timed(lambda: fe_numpy(signals, sampling_rate=RATE), args.repeats)
    t_rhythm = timed(lambda: fe_numpy(signals, sampling_rate=RATE, return_rhythm=True), args.repeats)
    t_torch = timed(lambda: fe_torch(signals, sampling_rate=RATE, return_tensors="pt"), args.repeats)

    # Same numbers as pywt? (feature extractor output is float32)
    ours = fe_numpy(signals, sampling_rate=RATE)["input_values"].reshape(n_series, SAMPLES - 2, -1)
    ref = np.stack([np.moveaxis(pywt.cwt(s, DEFAULT_SCALES, "mexh")[0], 0, -1) for s in series[:12]])
    rel_err = float((np.abs(ours[:12] - ref).max(axis=(1, 2)) / np.abs(ref).max(axis=(1, 2))).max())

    rows = [
        ("pywt.cwt loop (reference, CWT only)", t_pywt, None),
        ("feature extractor, numpy backend", t_numpy, t_pywt / t_numpy),
        ("feature extractor, numpy backend + rhythm descriptors (zero-shot)", t_rhythm, t_pywt / t_rhythm),
        ("feature extractor, torch backend (CPU)", t_torch, t_pywt / t_torch),
    ]
    if args.cuda:
        if torch.cuda.is_available():
            fe_cuda = NormWearFeatureExtractor(cwt_backend="torch")
            t_cuda = timed(
                lambda: fe_cuda(signals, sampling_rate=RATE, return_tensors="pt", device="cuda"),
                args.repeats,
                sync=torch.cuda.synchronize,
            )
            rows.append(
                (f"feature extractor, torch backend ({torch.cuda.get_device_name(0)})", t_cuda, t_pywt / t_cuda)
            )
        else:
            print("--cuda: no CUDA device available, GPU timing skipped.")

    print(f"Machine: {machine_description()}")
    print(f"Input: {RECORDINGS} recordings x {CHANNELS} channels x {SAMPLES} samples at {RATE:g} Hz")
    print(
        f"       = {n_windows} channel windows = {n_series} CWT series (signal, d1, d2), {len(DEFAULT_SCALES)} scales"
    )
    print(f"Max relative difference to pywt (float32 output): {rel_err:.1e}")
    for label, seconds, ratio in rows:
        speed = f"{n_series / seconds:9.0f} series/s {n_windows / seconds:8.0f} channel windows/s"
        print(f"{label:58s} {seconds * 1e3:8.2f} ms {speed}" + (f"  {ratio:5.1f}x" if ratio else ""))
    best = max(ratio for _, _, ratio in rows if ratio)
    print(f"Best speed-up over the pywt loop: {best:.1f}x (target >= {TARGET_RATIO:g}x)")
    print(f"Rhythm descriptors (return_rhythm=True) cost {t_rhythm / t_numpy - 1:+.0%} over the numpy extractor")

    if args.write:
        command = "python benchmarks/bench_cwt.py " + " ".join(
            [f"--repeats {args.repeats}"] + (["--cuda"] if args.cuda else []) + ["--write"]
        )
        lines = [
            "## Feature extraction and CWT speed",
            "",
            f"Measured {date.today().isoformat()} with `{command}`.  ",
            f"Machine: {machine_description()}.  ",
            f"Input: {RECORDINGS} recordings x {CHANNELS} channels x {SAMPLES} samples at {RATE:g} Hz "
            f"({n_series} CWT series: signal, first and second difference; {len(DEFAULT_SCALES)} scales). "
            f"Median of {args.repeats} calls after a warm-up ({pywt_repeats} for pywt). The feature extractor "
            "times include all preprocessing; the pywt reference times only its CWT loop.  ",
            f"Largest difference to pywt: {rel_err:.1e} of the largest coefficient (float32 output). The rhythm "
            f"descriptors a zero-shot head reads (`return_rhythm=True`) add {t_rhythm / t_numpy - 1:.0%} to the numpy "
            "extractor's time.",
            "",
            "| path | time per batch | CWT series/s | channel windows/s | speed-up vs pywt |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, seconds, ratio in rows:
            lines.append(
                f"| {label} | {seconds * 1e3:.2f} ms | {n_series / seconds:,.0f} | {n_windows / seconds:,.0f} | "
                + (f"{ratio:.1f}x |" if ratio else "1.0x |")
            )
        path = write_section("cwt", "\n".join(lines))
        print(f"Wrote section 'cwt' of {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
