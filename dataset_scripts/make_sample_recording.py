"""Write the bundled sample recording: 30 s of synthetic ECG, PPG, respiration and wrist acceleration.

The physiology is known (heart rate 72 bpm with mild variability, 15 breaths/min, slow walking at 1.8 steps/s),
and every channel has the sampling rate a real device would use (ECG 250 Hz, PPG 64 Hz, respiration 25 Hz,
accelerometer 32 Hz), so the demo shows per-channel rates at work. Synthetic, so no licence applies.

    python dataset_scripts/make_sample_recording.py  # rewrites src/normwear_hf/sample_data/sample_recording.npz
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

DURATION_S = 30.0
HEART_RATE_BPM = 72.0
RESPIRATION_RATE_BPM = 15.0
STEP_RATE_HZ = 1.8
RATES = {"ecg": 250.0, "ppg": 64.0, "resp": 25.0, "acc": 32.0}
# P, Q, R, S, T waves of one beat: (time after the R peak in s, width in s, amplitude in mV)
ECG_WAVES = (
    (-0.2, 0.025, 0.12),
    (-0.03, 0.01, -0.15),
    (0.0, 0.012, 1.2),
    (0.03, 0.01, -0.25),
    (0.28, 0.06, 0.3),
)


def beat_times(rng: np.random.Generator) -> np.ndarray:
    """R-peak times with respiratory sinus arrhythmia and a little random variability."""
    times, t = [], 0.3
    while t < DURATION_S + 1:
        times.append(t)
        rsa = 0.04 * np.sin(2 * np.pi * RESPIRATION_RATE_BPM / 60 * t)
        t += 60.0 / HEART_RATE_BPM * (1 + rsa + 0.02 * rng.standard_normal())
    return np.asarray(times)


def ecg(rng: np.random.Generator, beats: np.ndarray) -> np.ndarray:
    t = np.arange(0, DURATION_S, 1 / RATES["ecg"])
    signal = np.zeros_like(t)
    for beat in beats:
        for offset, width, amplitude in ECG_WAVES:
            signal += amplitude * np.exp(-0.5 * ((t - beat - offset) / width) ** 2)
    wander = 0.1 * np.sin(2 * np.pi * RESPIRATION_RATE_BPM / 60 * t)
    return signal + wander + 0.01 * rng.standard_normal(t.size)


def ppg(rng: np.random.Generator, beats: np.ndarray) -> np.ndarray:
    """Systolic peak 0.25 s after each R peak (pulse transit) plus a dicrotic wave."""
    t = np.arange(0, DURATION_S, 1 / RATES["ppg"])
    signal = np.zeros_like(t)
    for beat in beats:
        signal += np.exp(-0.5 * ((t - beat - 0.25) / 0.08) ** 2)
        signal += 0.35 * np.exp(-0.5 * ((t - beat - 0.55) / 0.1) ** 2)
    return 1000 + 50 * signal + 0.5 * rng.standard_normal(t.size)


def respiration(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(0, DURATION_S, 1 / RATES["resp"])
    phase = 2 * np.pi * RESPIRATION_RATE_BPM / 60 * t
    return np.sin(phase) + 0.2 * np.sin(2 * phase + 0.5) + 0.02 * rng.standard_normal(t.size)


def acceleration(rng: np.random.Generator) -> np.ndarray:
    """Magnitude of wrist acceleration in g while walking: gravity plus step impacts and arm swing."""
    t = np.arange(0, DURATION_S, 1 / RATES["acc"])
    steps = 0.25 * np.sin(2 * np.pi * STEP_RATE_HZ * t) + 0.1 * np.sin(2 * np.pi * STEP_RATE_HZ / 2 * t)
    return 1.0 + steps + 0.03 * rng.standard_normal(t.size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_out = Path(__file__).resolve().parents[1] / "src/normwear_hf/sample_data/sample_recording.npz"
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    beats = beat_times(rng)
    channels = {
        "ecg": ecg(rng, beats),
        "ppg": ppg(rng, beats),
        "resp": respiration(rng),
        "acc": acceleration(rng),
    }
    metadata = {
        "description": "Synthetic 30 s recording made by dataset_scripts/make_sample_recording.py",
        "channel_names": ["ECG lead II", "PPG wrist", "Respiration belt", "Wrist acceleration magnitude"],
        "channel_types": list(channels),
        "sampling_rate": [RATES[name] for name in channels],
        "units": ["mV", "a.u.", "a.u.", "g"],
        "heart_rate_bpm": HEART_RATE_BPM,
        "respiration_rate_bpm": RESPIRATION_RATE_BPM,
        "activity": "walking",
        "seed": args.seed,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        metadata=np.asarray(json.dumps(metadata)),
        **{name: values.astype(np.float32) for name, values in channels.items()},
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
