"""Write the bundled sample recordings: 30 s each of synthetic ECG, PPG, respiration and wrist acceleration.

Three recordings whose physiology is known, one per activity:

    name      file                   heart rate  breathing   accelerometer
    resting   sample_resting.npz     58 bpm      12 /min     still (postural sway, faint tremor)
    walking   sample_recording.npz   72 bpm      15 /min     1.8 steps/s, arm swing
    running   sample_running.npz     150 bpm     28 /min     2.8 steps/s, heel-strike impacts, arm swing

Every channel has the sampling rate a real device would use (ECG 250 Hz, PPG 64 Hz, respiration 25 Hz,
accelerometer magnitude 32 Hz), so the demo shows per-channel rates at work. Beats carry respiratory sinus
arrhythmia and a little jitter (less when running); the QT interval and the pulse wave shorten with the heart
period (Bazett-like scaling). All signals are clean (signal quality: clean). The walking recording is the
original sample (``sample_recording.npz``, seed 0) and is reproduced bit for bit. Synthetic, so no licence
applies.

    python dataset_scripts/make_sample_recording.py            # rewrites all three in src/normwear_hf/sample_data/
    python dataset_scripts/make_sample_recording.py --only running --out-dir /tmp/samples
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

DURATION_S = 30.0
RATES = {"ecg": 250.0, "ppg": 64.0, "resp": 25.0, "acc": 32.0}
CHANNEL_NAMES = ["ECG lead II", "PPG wrist", "Respiration belt", "Wrist acceleration magnitude"]
UNITS = ["mV", "a.u.", "a.u.", "g"]
# P, Q, R, S, T waves of one beat: (time after the R peak in s, width in s, amplitude in mV)
ECG_WAVES = (
    (-0.2, 0.025, 0.12),
    (-0.03, 0.01, -0.15),
    (0.0, 0.012, 1.2),
    (0.03, 0.01, -0.25),
    (0.28, 0.06, 0.3),
)
QRS_WAVES = (1, 2, 3)  # indices of Q, R, S: their timing does not scale with the heart period


@dataclass(frozen=True)
class Profile:
    """What one recording shows; every default is the walking recording's value."""

    name: str
    file: str
    activity: str
    heart_rate_bpm: float
    respiration_rate_bpm: float
    step_rate_hz: float
    seed: int
    first_beat_s: float = 0.3  # beats start before 0 s in the newer recordings: no start-up transient
    rsa: float = 0.04  # respiratory sinus arrhythmia: relative modulation of the beat interval
    beat_jitter: float = 0.02  # relative random variation of the beat interval
    qt_scale: float = 1.0  # P / T wave timing and pulse-wave timing relative to the walking recording
    pulse_transit_s: float = 0.25  # R peak -> PPG systolic peak
    breath_amplitude: float = 1.0
    step_amplitude_g: float = 0.25  # vertical oscillation at the step rate
    swing_amplitude_g: float = 0.1  # arm swing at half the step rate (one stride = two steps)
    harmonic_amplitude_g: float = 0.0  # second harmonic of the step (sharper gait cycle)
    impact_amplitude_g: float = 0.0  # damped oscillation after each heel strike
    tremor_amplitude_g: float = 0.0  # physiological tremor at 9 Hz
    sway_amplitude_g: float = 0.0  # slow postural sway at 0.15 Hz
    acc_noise_g: float = 0.03
    signal_quality: str = "clean"


PROFILES = (
    Profile(
        name="resting",
        file="sample_resting.npz",
        activity="resting",
        heart_rate_bpm=58.0,
        respiration_rate_bpm=12.0,
        step_rate_hz=0.0,
        seed=1,
        first_beat_s=-1.5,
        rsa=0.06,
        beat_jitter=0.02,
        qt_scale=1.05,
        pulse_transit_s=0.27,
        breath_amplitude=1.0,
        step_amplitude_g=0.0,
        swing_amplitude_g=0.0,
        tremor_amplitude_g=0.004,
        sway_amplitude_g=0.01,
        acc_noise_g=0.003,
    ),
    Profile(
        name="walking",
        file="sample_recording.npz",
        activity="walking",
        heart_rate_bpm=72.0,
        respiration_rate_bpm=15.0,
        step_rate_hz=1.8,
        seed=0,
    ),
    Profile(
        name="running",
        file="sample_running.npz",
        activity="running",
        heart_rate_bpm=150.0,
        respiration_rate_bpm=28.0,
        step_rate_hz=2.8,
        seed=2,
        first_beat_s=-1.5,
        rsa=0.01,
        beat_jitter=0.008,
        qt_scale=0.7,
        pulse_transit_s=0.18,
        breath_amplitude=1.6,
        step_amplitude_g=0.6,
        swing_amplitude_g=0.3,
        harmonic_amplitude_g=0.2,
        impact_amplitude_g=0.5,
        acc_noise_g=0.05,
    ),
)


def beat_times(rng: np.random.Generator, profile: Profile) -> np.ndarray:
    """R-peak times with respiratory sinus arrhythmia and a little random variability."""
    times, t = [], profile.first_beat_s
    while t < DURATION_S + 1:
        times.append(t)
        rsa = profile.rsa * np.sin(2 * np.pi * profile.respiration_rate_bpm / 60 * t)
        t += 60.0 / profile.heart_rate_bpm * (1 + rsa + profile.beat_jitter * rng.standard_normal())
    return np.asarray(times)


def ecg(rng: np.random.Generator, beats: np.ndarray, profile: Profile) -> np.ndarray:
    t = np.arange(0, DURATION_S, 1 / RATES["ecg"])
    signal = np.zeros_like(t)
    waves = [
        (offset, width, amplitude)
        if index in QRS_WAVES
        else (offset * profile.qt_scale, width * profile.qt_scale, amplitude)
        for index, (offset, width, amplitude) in enumerate(ECG_WAVES)
    ]
    for beat in beats:
        for offset, width, amplitude in waves:
            signal += amplitude * np.exp(-0.5 * ((t - beat - offset) / width) ** 2)
    wander = 0.1 * np.sin(2 * np.pi * profile.respiration_rate_bpm / 60 * t)
    return signal + wander + 0.01 * rng.standard_normal(t.size)


def ppg(rng: np.random.Generator, beats: np.ndarray, profile: Profile) -> np.ndarray:
    """Systolic peak a pulse transit time after each R peak plus a dicrotic wave 0.3 s (scaled) later."""
    t = np.arange(0, DURATION_S, 1 / RATES["ppg"])
    signal = np.zeros_like(t)
    systolic = profile.pulse_transit_s
    dicrotic = profile.pulse_transit_s + 0.3 * profile.qt_scale
    for beat in beats:
        signal += np.exp(-0.5 * ((t - beat - systolic) / (0.08 * profile.qt_scale)) ** 2)
        signal += 0.35 * np.exp(-0.5 * ((t - beat - dicrotic) / (0.1 * profile.qt_scale)) ** 2)
    return 1000 + 50 * signal + 0.5 * rng.standard_normal(t.size)


def respiration(rng: np.random.Generator, profile: Profile) -> np.ndarray:
    t = np.arange(0, DURATION_S, 1 / RATES["resp"])
    phase = 2 * np.pi * profile.respiration_rate_bpm / 60 * t
    breath = np.sin(phase) + 0.2 * np.sin(2 * phase + 0.5)
    return profile.breath_amplitude * breath + 0.02 * rng.standard_normal(t.size)


def acceleration(rng: np.random.Generator, profile: Profile) -> np.ndarray:
    """Magnitude of wrist acceleration in g: gravity plus steps, arm swing, heel strikes, sway and tremor."""
    t = np.arange(0, DURATION_S, 1 / RATES["acc"])
    step = 2 * np.pi * profile.step_rate_hz * t
    movement = profile.step_amplitude_g * np.sin(step) + profile.swing_amplitude_g * np.sin(step / 2)
    if profile.harmonic_amplitude_g:
        movement = movement + profile.harmonic_amplitude_g * np.sin(2 * step + 0.7)
    if profile.impact_amplitude_g:  # heel strike at the bottom of each step: 12 Hz ringing decaying in 40 ms
        since = np.mod(t - 0.75 / profile.step_rate_hz, 1 / profile.step_rate_hz)
        movement = movement + profile.impact_amplitude_g * np.exp(-since / 0.04) * np.sin(2 * np.pi * 12.0 * since)
    if profile.sway_amplitude_g:
        movement = movement + profile.sway_amplitude_g * np.sin(2 * np.pi * 0.15 * t + 0.3)
    if profile.tremor_amplitude_g:
        movement = movement + profile.tremor_amplitude_g * np.sin(2 * np.pi * 9.0 * t)
    return 1.0 + movement + profile.acc_noise_g * rng.standard_normal(t.size)


def make_recording(profile: Profile) -> tuple[dict[str, np.ndarray], dict]:
    """The channels (float64, by channel type) and the metadata of one recording."""
    rng = np.random.default_rng(profile.seed)
    beats = beat_times(rng, profile)
    channels = {
        "ecg": ecg(rng, beats, profile),
        "ppg": ppg(rng, beats, profile),
        "resp": respiration(rng, profile),
        "acc": acceleration(rng, profile),
    }
    in_window = beats[(beats >= 0) & (beats < DURATION_S)]
    metadata = {
        "description": f"Synthetic 30 s recording ({profile.name}) made by dataset_scripts/make_sample_recording.py",
        "name": profile.name,
        "channel_names": CHANNEL_NAMES,
        "channel_types": list(channels),
        "sampling_rate": [RATES[name] for name in channels],
        "units": UNITS,
        "heart_rate_bpm": profile.heart_rate_bpm,
        "respiration_rate_bpm": profile.respiration_rate_bpm,
        "activity": profile.activity,
        "step_rate_hz": profile.step_rate_hz,
        "signal_quality": profile.signal_quality,
        "mean_heart_rate_bpm": round(float(60.0 / np.diff(in_window).mean()), 2),
        "seed": profile.seed,
        "generator": {key: value for key, value in asdict(profile).items() if key not in ("name", "file")},
    }
    return channels, metadata


def write_recording(profile: Profile, out_dir: Path) -> Path:
    channels, metadata = make_recording(profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / profile.file
    np.savez_compressed(
        path,
        metadata=np.asarray(json.dumps(metadata)),
        **{name: values.astype(np.float32) for name, values in channels.items()},
    )
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_out = Path(__file__).resolve().parents[1] / "src/normwear_hf/sample_data"
    parser.add_argument("--out-dir", type=Path, default=default_out, help="folder to write the .npz files to")
    parser.add_argument(
        "--only", choices=[profile.name for profile in PROFILES], action="append", help="write only these recordings"
    )
    args = parser.parse_args(argv)
    for profile in PROFILES:
        if args.only and profile.name not in args.only:
            continue
        path = write_recording(profile, args.out_dir)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
