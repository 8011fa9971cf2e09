"""The synthetic generator's physiology: constants, subjects, a segment's latent state (breaths, beats, steps,
rhythm) and its labels. The recipe is documented in :mod:`normwear_hf.data.synthetic`; the channels drawn from
this state are in :mod:`normwear_hf.data.synthetic_channels`.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np

SOURCE = "synthetic/neurokit2"
MODALITIES = ("ecg", "ppg", "resp", "eda", "emg", "acc")
SAMPLING_RATES: dict[str, tuple[int, ...]] = {
    "ecg": (125, 250, 256, 500, 1000),
    "ppg": (25, 32, 50, 64, 100, 128),
    "resp": (25, 50, 100),
    "eda": (4, 8, 16, 32),
    "emg": (500, 1000),
    "acc": (25, 32, 50, 100),
}
ACTIVITIES = ("rest", "walk", "run")
ACTIVITY_PROBABILITIES = (0.45, 0.35, 0.20)
ACTIVITY_LEVEL_RANGES = {"rest": (0.0, 0.2), "walk": (0.3, 0.6), "run": (0.7, 1.0)}
CADENCE_RANGES_SPM = {"rest": (0.0, 0.0), "walk": (90.0, 125.0), "run": (150.0, 185.0)}
HEART_RATE_RANGE = (45.0, 180.0)
RESPIRATION_RATE_RANGE = (8.0, 35.0)
NOISY_THRESHOLD = 0.25
NOISY_PROBABILITY = 0.4
NOISE_LEVEL_MAX = 1.0
MAX_CHANNELS = 5
SEGMENTS_PER_SUBJECT = 20
MARGIN_S = 2.0
RHYTHMS = ("sinus", "ectopic", "af")
RHYTHM_PROBABILITIES = (0.82, 0.11, 0.07)
ECG_MORPHOLOGIES = ("normal", "wide_qrs")
WIDE_QRS_PROBABILITY = 0.12

_MODALITY_WEIGHTS = np.array([1.0, 1.0, 0.8, 0.6, 0.5, 1.0])
_MODALITY_COUNT_PROBABILITIES = np.array([0.15, 0.25, 0.25, 0.20, 0.15])
_GRID_HZ = 25.0  # latent processes (rates, phases) live on this grid
# ECG waves P, Q, R, S, T: offset from the R peak (s, at RR = 1 s) and its RR exponent, width (s) and its
# RR exponent. QRS is fixed, P moves a little, T (QT) follows Bazett (sqrt(RR)).
_ECG_OFFSET = np.array([-0.17, -0.028, 0.0, 0.03, 0.29])
_ECG_OFFSET_EXP = np.array([0.25, 0.0, 0.0, 0.0, 0.5])
_ECG_WIDTH = np.array([0.025, 0.010, 0.011, 0.011, 0.055])
_ECG_WIDTH_EXP = np.array([0.25, 0.0, 0.0, 0.0, 0.5])
_NOISE_KINDS = ("white", "multi", "powerline", "wander", "motion", "bursts", "pops")
_NOISE_PRIORS = {
    "ecg": (1.0, 1.0, 0.8, 1.0, 0.5, 0.5, 0.3),
    "ppg": (0.4, 0.7, 0.0, 1.0, 1.5, 0.3, 0.2),
    "resp": (0.4, 0.7, 0.0, 1.0, 1.0, 0.3, 0.0),
    "eda": (0.6, 0.5, 0.0, 0.6, 0.5, 0.2, 1.0),
    "emg": (1.0, 0.5, 1.0, 0.3, 0.5, 0.5, 0.0),
    "acc": (1.0, 0.5, 0.0, 0.2, 0.3, 0.7, 0.0),
}
LABEL_UNITS = {
    "heart_rate_bpm": "bpm",
    "respiration_rate_bpm": "breaths/min",
    "hrv_rmssd_ms": "ms",
    "cadence_spm": "steps/min",
    "noise_level": "a.u.",
    "activity_level": "a.u.",
}


# ---------------------------------------------------------------------------------------------------------
# neurokit2 (imported lazily: it is slow to import and optional for the rest of the package)
# ---------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _nk():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import neurokit2
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "normwear_hf.data.synthetic needs neurokit2 (pip install 'neurokit2>=0.2.13'); it simulates offline."
        ) from error
    return neurokit2


@functools.lru_cache(maxsize=1)
def _nk_simple_beat() -> tuple[np.ndarray, float]:
    """One beat of ``ecg_simulate(method="simple")`` (1000 samples, 60 bpm) and the R peak's phase in it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        beat = np.asarray(
            _nk().ecg_simulate(duration=1, sampling_rate=1000, heart_rate=60, method="simple", noise=0),
            dtype=np.float64,
        )
    beat = beat / np.max(np.abs(beat))
    return beat, float(np.argmax(beat)) / beat.size


# ---------------------------------------------------------------------------------------------------------
# subjects and segment state
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Subject:
    hr_rest: float
    hr_max: float
    hrv_scale: float
    rr_rest: float
    cadence_shift: float
    ecg_gaussian: bool
    ecg_gain: float
    ecg_amplitudes: np.ndarray
    ecg_width_scale: np.ndarray
    ppg_fractions: tuple[float, float, float]
    ppg_notch: float
    ppg_dia_extra: float
    ptt: float
    inhale_fraction: float
    exhale_exponent: float
    pause_fraction: float
    tidal: float
    scl: float
    scr_gain: float
    emg_gain: float
    wrist: bool
    gravity: np.ndarray
    forward: np.ndarray
    gait_gain: float


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _rotate(vector: np.ndarray, axis: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Rodrigues rotation of ``vector`` [3] about unit ``axis`` [3] by ``angle`` (scalar or [T]) -> [3] or [T, 3]."""
    angle = np.asarray(angle, dtype=np.float64)[..., None]
    return (
        vector * np.cos(angle)
        + np.cross(axis, vector) * np.sin(angle)
        + axis * float(np.dot(axis, vector)) * (1.0 - np.cos(angle))
    )


@functools.lru_cache(maxsize=64)
def _subject(seed: int, subject_index: int) -> _Subject:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, subject_index)))
    age = rng.uniform(18, 75)
    hr_rest = rng.uniform(46, 85)
    gravity = _unit(rng.normal(size=3))
    forward = _unit(np.cross(gravity, _unit(rng.normal(size=3))))
    sys_fraction = rng.uniform(0.13, 0.22)
    notch_fraction = sys_fraction + rng.uniform(0.15, 0.22)
    amplitudes = np.array(
        [
            rng.uniform(0.05, 0.2),  # P
            -rng.uniform(0.0, 0.2),  # Q
            1.0,  # R
            -rng.uniform(0.05, 0.4),  # S
            rng.uniform(0.1, 0.35) * (1.0 if rng.random() > 0.05 else -1.0),  # T (rarely inverted)
        ]
    )
    return _Subject(
        hr_rest=hr_rest,
        hr_max=float(np.clip(208.0 - 0.7 * age + rng.normal(0, 5), 150.0, HEART_RATE_RANGE[1])),
        hrv_scale=rng.uniform(0.5, 1.5) * (1.2 - 0.6 * (age - 18) / 57),
        rr_rest=rng.uniform(9, 18),
        cadence_shift=rng.uniform(-0.1, 0.1),
        ecg_gaussian=bool(rng.random() < 0.75),
        ecg_gain=rng.uniform(0.5, 2.0),
        ecg_amplitudes=amplitudes,
        ecg_width_scale=rng.uniform(0.8, 1.25, size=5),
        ppg_fractions=(sys_fraction, notch_fraction, notch_fraction + rng.uniform(0.03, 0.08)),
        ppg_notch=rng.uniform(0.35, 0.6),
        ppg_dia_extra=rng.uniform(0.0, 0.12),
        ptt=rng.uniform(0.18, 0.3),
        inhale_fraction=rng.uniform(0.35, 0.5),
        exhale_exponent=rng.uniform(0.6, 1.0),
        pause_fraction=rng.uniform(0.0, 0.25),
        tidal=rng.uniform(0.5, 1.5),
        scl=float(np.exp(rng.uniform(np.log(1.0), np.log(15.0)))),
        scr_gain=rng.uniform(0.05, 1.0),
        emg_gain=rng.uniform(0.1, 0.8),
        wrist=bool(rng.random() < 0.7),
        gravity=gravity,
        forward=forward,
        gait_gain=rng.uniform(0.7, 1.3),
    )


def _segment_rngs(seed: int, index: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """Independent streams for the segment state, the noise and neurokit2 (so one never shifts another)."""
    children = np.random.SeedSequence(seed, spawn_key=(0, index)).spawn(3)
    return tuple(np.random.default_rng(child) for child in children)  # type: ignore[return-value]


def _smooth(rng: np.random.Generator, t: np.ndarray, low: float, high: float, terms: int = 3) -> np.ndarray:
    """Smooth random fluctuation with about unit standard deviation: random sinusoids in [low, high] Hz."""
    freqs = rng.uniform(low, high, size=terms)
    phases = rng.uniform(0, 2 * np.pi, size=terms)
    return np.sin(2 * np.pi * freqs[None, :] * t[:, None] + phases[None, :]).sum(axis=1) * math.sqrt(2.0 / terms)


def _phase(rng: np.random.Generator, grid: np.ndarray, rate_hz: np.ndarray) -> np.ndarray:
    """Cumulative cycle count of a positive rate on the grid, with a random initial phase."""
    phase = np.empty_like(rate_hz)
    phase[0] = rng.uniform(0.0, 1.0)
    phase[1:] = phase[0] + np.cumsum(rate_hz[:-1]) / _GRID_HZ
    return phase


def _crossings(grid: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Times at which a monotonic phase crosses integers (cycle onsets)."""
    cycles = np.arange(math.ceil(phase[0]), math.floor(phase[-1]) + 1, dtype=np.float64)
    return np.interp(cycles, phase, grid)


@dataclass
class _State:
    activity: str
    level: float
    noise_level: float
    grid: np.ndarray
    breath_phase: np.ndarray
    breath_depth: np.ndarray
    breath_first: int
    beats: np.ndarray
    step_phase: np.ndarray | None
    steps: np.ndarray
    t0: float
    t1: float
    ectopic: np.ndarray | None = None  # per beat: a premature ventricular beat
    fibrillation: bool = False  # atrial fibrillation: irregular RR, no P waves, f waves


def _draw_state(rng: np.random.Generator, subject: _Subject, window_s: float) -> tuple[_State, dict[str, float]]:
    activity = ACTIVITIES[int(rng.choice(3, p=ACTIVITY_PROBABILITIES))]
    low, high = ACTIVITY_LEVEL_RANGES[activity]
    level = float(rng.uniform(low, high))
    if rng.random() < NOISY_PROBABILITY:
        noise_level = float(rng.uniform(NOISY_THRESHOLD, NOISE_LEVEL_MAX))
    else:
        noise_level = float(NOISY_THRESHOLD * rng.uniform() ** 1.5)

    span = window_s + 2 * MARGIN_S
    grid = np.arange(int(math.ceil(span * _GRID_HZ)) + 1) / _GRID_HZ
    t0, t1 = MARGIN_S, MARGIN_S + window_s

    # respiration: rate rises with exertion; slow breath-to-breath variability
    resp = subject.rr_rest + level * rng.uniform(12, 18) + rng.normal(0, 1.5)
    resp = float(np.clip(resp, *RESPIRATION_RATE_RANGE))
    resp_cv = rng.uniform(0.03, 0.12) * (1.0 - 0.5 * level)
    breath_rate = resp / 60.0 * (1.0 + resp_cv * _smooth(rng, grid, 0.01, 0.12))
    breath_rate = np.clip(breath_rate, RESPIRATION_RATE_RANGE[0] / 60.0, RESPIRATION_RATE_RANGE[1] / 60.0)
    breath_phase = _phase(rng, grid, breath_rate)
    breath_first = math.floor(breath_phase[0])
    n_breaths = math.floor(breath_phase[-1]) - breath_first + 1
    breath_depth = np.clip(1.0 + rng.normal(0, rng.uniform(0.05, 0.2), size=n_breaths), 0.3, None)

    # heart: rate from the subject's reserve; HRV (RSA on the breathing phase, Mayer wave, drift, jitter)
    hr = subject.hr_rest + 0.9 * level * (subject.hr_max - subject.hr_rest) + rng.normal(0, 3)
    hr = float(np.clip(hr, HEART_RATE_RANGE[0] + 2.0, HEART_RATE_RANGE[1] - 2.0))  # room for beat jitter
    vagal = subject.hrv_scale * (1.0 - 0.8 * level)
    rsa = vagal * rng.uniform(0.01, 0.06)
    mayer = vagal * rng.uniform(0.005, 0.03)
    drift = vagal * rng.uniform(0.0, 0.02)
    modulation = (
        1.0
        + rsa * np.sin(2 * np.pi * breath_phase + rng.uniform(0, 2 * np.pi))
        + mayer * np.sin(2 * np.pi * rng.uniform(0.08, 0.12) * grid + rng.uniform(0, 2 * np.pi))
        + drift * _smooth(rng, grid, 0.005, 0.04)
    )
    heart_rate_hz = hr / 60.0 * modulation
    # keep the instantaneous rate inside the documented range
    heart_rate_hz = np.clip(heart_rate_hz, HEART_RATE_RANGE[0] / 60.0, HEART_RATE_RANGE[1] / 60.0)
    beats = _crossings(grid, _phase(rng, grid, heart_rate_hz))
    jitter_s = vagal * rng.uniform(0.004, 0.025)
    beats = np.sort(beats + np.clip(rng.normal(0, jitter_s, size=beats.size), -0.06, 0.06))

    # gait
    step_phase, steps = None, np.empty(0)
    if activity != "rest":
        c_low, c_high = CADENCE_RANGES_SPM[activity]
        a_low, a_high = ACTIVITY_LEVEL_RANGES[activity]
        fraction = (level - a_low) / (a_high - a_low)
        cadence = c_low + (c_high - c_low) * np.clip(fraction + subject.cadence_shift + rng.normal(0, 0.05), 0, 1)
        step_rate = cadence / 60.0 * (1.0 + rng.uniform(0.005, 0.03) * _smooth(rng, grid, 0.02, 0.2))
        step_rate = np.clip(step_rate, c_low / 60.0, c_high / 60.0)
        step_phase = _phase(rng, grid, step_rate)
        steps = _crossings(grid, step_phase)

    state = _State(
        activity=activity,
        level=level,
        noise_level=noise_level,
        grid=grid,
        breath_phase=breath_phase,
        breath_depth=breath_depth,
        breath_first=breath_first,
        beats=beats,
        step_phase=step_phase,
        steps=steps,
        t0=t0,
        t1=t1,
    )
    return state, _realised_labels(state, window_s)


def _segment_rhythm(seed: int, index: int) -> tuple[str, np.random.Generator]:
    """The segment's rhythm and the generator of its beat changes, from a stream of their own (``spawn_key``
    ``(2, index)``): adding arrhythmias left every sinus segment exactly as it was."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, index)))
    return RHYTHMS[int(rng.choice(len(RHYTHMS), p=RHYTHM_PROBABILITIES))], rng


def _subject_morphology(seed: int, subject_index: int) -> str:
    """The subject's QRS: ``wide_qrs`` (a bundle-branch-block-like conduction delay) or ``normal``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3, subject_index)))
    return ECG_MORPHOLOGIES[1] if rng.random() < WIDE_QRS_PROBABILITY else ECG_MORPHOLOGIES[0]


def _apply_rhythm(rng: np.random.Generator, state: _State, rhythm: str) -> None:
    """Turn the sinus beats into the rhythm's, in place.

    - ``ectopic``: 8-25 % of the inner beats (never two in a row) become premature ventricular beats, at 55-75 %
      of the preceding interval, with a full compensatory pause (the next sinus beat keeps its time).
    - ``af``: irregularly irregular intervals (log-normal, coefficient of variation 0.12-0.25, no rhythm left
      from breathing), same mean rate; the ECG loses its P waves and gains 4-9 Hz fibrillatory waves.
    """
    beats = state.beats
    if rhythm == "ectopic" and beats.size >= 6:
        chosen = np.zeros(beats.size, dtype=bool)
        fraction = rng.uniform(0.08, 0.25)
        for i in range(2, beats.size - 2):
            if not chosen[i - 1] and rng.random() < fraction:
                chosen[i] = True
        beats = beats.copy()
        for i in np.flatnonzero(chosen):
            beats[i] = beats[i - 1] + (beats[i] - beats[i - 1]) * rng.uniform(0.55, 0.75)
        state.beats, state.ectopic = beats, chosen
    elif rhythm == "af" and beats.size >= 3:
        mean_rr = float(np.mean(np.diff(beats)))
        cv = rng.uniform(0.12, 0.25)
        count = int(math.ceil((beats[-1] - beats[0]) / mean_rr * 1.6)) + 4
        rr = mean_rr * np.exp(rng.normal(-0.5 * cv * cv, cv, size=count))
        rr = np.clip(rr, 60.0 / HEART_RATE_RANGE[1], 60.0 / HEART_RATE_RANGE[0] * 1.5)
        fib = beats[0] + np.concatenate([[0.0], np.cumsum(rr)])
        state.beats = fib[fib <= beats[-1] + 0.5 * mean_rr]
        state.fibrillation = True


def _realised_labels(state: _State, window_s: float) -> dict[str, float]:
    edges = np.array([state.t0, state.t1])
    beat_index = np.interp(edges, state.beats, np.arange(state.beats.size, dtype=np.float64))
    breath = np.interp(edges, state.grid, state.breath_phase)
    first = max(int(np.searchsorted(state.beats, state.t0)) - 1, 0)
    last = min(int(np.searchsorted(state.beats, state.t1)) + 1, state.beats.size)
    rr = np.diff(state.beats[first:last])
    rmssd = float(np.sqrt(np.mean(np.diff(rr) ** 2)) * 1000.0) if rr.size >= 2 else 0.0
    cadence = 0.0
    if state.step_phase is not None:
        step = np.interp(edges, state.grid, state.step_phase)
        cadence = float((step[1] - step[0]) * 60.0 / window_s)
    return {
        "heart_rate_bpm": float((beat_index[1] - beat_index[0]) * 60.0 / window_s),
        # the instantaneous rate is clipped to the range; clipping the mean only removes float round-off
        "respiration_rate_bpm": float(np.clip((breath[1] - breath[0]) * 60.0 / window_s, *RESPIRATION_RATE_RANGE)),
        "hrv_rmssd_ms": rmssd,
        "cadence_spm": cadence,
        "noise_level": state.noise_level,
        "activity_level": state.level,
    }
