"""Synthetic wearable physiology with known answers: randomised ECG, PPG, respiration, EDA, EMG and accelerometry.

``generate_examples(count, seed)`` yields ``count`` rows of the wearable schema (built with
:func:`~normwear_hf.data.schema.make_example`), each a ``window_s``-second segment with 1 to 5 channels drawn
from six modalities at realistic device sampling rates, with labels whose true value is known by construction.
Output is a pure function of ``(seed, index, window_s, segments_per_subject)``: segment ``i`` draws all its
randomness from ``numpy.random.SeedSequence(seed, spawn_key=(0, i))`` (its subject from ``spawn_key=(1, s)``),
so rows are identical whatever ``workers`` is, and the global numpy / ``random`` state is never touched.

How a segment is made
---------------------
1. **Subject** (``segments_per_subject`` consecutive segments share one): resting and maximal heart rate,
   HRV scale, resting respiration rate, ECG / PPG / respiration morphology, skin conductance level, sensor
   placement (wrist or chest) and orientation.
2. **State**: activity ``rest`` / ``walk`` / ``run`` (probabilities 0.45 / 0.35 / 0.20) and an
   ``activity_level`` in [0, 0.2] / [0.3, 0.6] / [0.7, 1.0]. Heart rate rises with the level from the
   subject's resting towards maximal rate (instantaneous rate kept in 45-180 bpm), respiration rate from
   the resting rate (kept in 8-35 /min), cadence is 90-125 steps/min walking and 150-185 running. HRV
   (respiratory sinus arrhythmia, a 0.1 Hz Mayer wave, slow drift, beat jitter) shrinks with the level.
3. **Latent events** over the window plus a 2 s margin on each side (no edge transients): a continuous
   breathing phase, heart-beat times (R peaks, HR modulated by the breathing phase) and step times.
   With ``arrhythmias=True`` (corpora; off for the evaluation tasks) the beats follow the segment's rhythm
   (own random stream, so sinus segments are unchanged): ``sinus`` 82 %, ``ectopic`` 11 % (premature
   ventricular beats at 55-75 % of the interval with a compensatory pause: no P wave, wide tall QRS, discordant
   T; a weaker pulse in the PPG) or ``af`` 7 % (irregularly irregular log-normal intervals, no P waves, 4-9 Hz
   fibrillatory waves; pulse height follows the filling time); 12 % of subjects have a wide QRS.
4. **Channels**, rendered at their own rate on the window's sample times (only the window is computed):

   ========  ====================  =====================================================================
   modality  rates (Hz)            model
   ========  ====================  =====================================================================
   ecg       125 250 256 500 1000  75 % of subjects: Gaussian P-Q-R-S-T waves per beat (ECGSYN-style
                                   morphology rendered directly in time: QRS fixed, QT scaled by
                                   sqrt(RR)); 25 %: the beat of ``nk.ecg_simulate(method="simple")``
                                   time-warped onto the beats. mV, respiratory baseline and amplitude
                                   modulation.
   ppg       25 32 50 64 100 128   neurokit2's ``ppg_simulate`` landmark model (onset, systolic peak,
                                   dicrotic notch, diastolic peak; Akima interpolation) driven by the
                                   beats plus a pulse transit time; respiratory baseline / amplitude
                                   modulation; the notch fades with activity.
   resp      25 50 100             breath by breath: raised-cosine inhalation, exhalation with a shape
                                   exponent, optional end-expiratory pause, per-breath depth.
   eda       4 8 16 32             ``nk.eda_simulate`` (SCRs, drift) scaled to microsiemens around the
                                   subject's level; more SCRs with activity.
   emg       500 1000              ``nk.emg_simulate``: bursts at the step rate when walking / running,
                                   0-2 contractions at rest. mV.
   acc       25 32 50 100          written here, in g: gravity in a device frame (posture, slow sway,
                                   tremor, gestures at rest); walking / running adds vertical bounce at
                                   the cadence with harmonics, heel-strike impacts (damped oscillations),
                                   arm swing at the stride frequency rotating gravity (wrist). 3 axes
                                   (``acc_x/y/z``) or the magnitude (``acc_mag``).
   ========  ====================  =====================================================================

   Each segment has 1-5 channels: 1-5 modalities (canonical order ecg, ppg, resp, eda, emg, acc), the
   accelerometer as 3 axes only when that keeps the total at 5 or fewer.
5. **Noise**: per channel a random mix of broadband Laplace noise, neurokit2-style multi-frequency noise
   (Laplace samples at 2 / 5 / 10 / 25 / 100 Hz interpolated, those below Nyquist), powerline (50 or 60 Hz
   with 3rd harmonic, ECG / EMG), baseline wander and drift, motion artefacts (locked to the steps when
   walking / running, sparse bumps at rest), artefact bursts and electrode pops, weighted per modality
   (PPG gets mostly motion, ECG powerline and wander, ...). The mix is then scaled so that its RMS is
   exactly ``noise_level`` times the standard deviation of the clean channel.

Why some neurokit2 simulators are not called directly (measured with neurokit2 0.2.13)
-------------------------------------------------------------------------------------------
- ``ecg_simulate(method="simple")`` tiles one fixed beat: no HRV, and it places ``int(duration * hr / 60)``
  beats, so the true rate is off by up to ``60 / duration`` bpm. ECGSYN is about 70 ms per 8 s segment
  (2 hours of CPU for 100k segments). Its morphology is rendered here instead, on beats with known times.
- ``ppg_simulate`` modulates the beat intervals (0.05 Hz frequency modulation, random offsets) without
  returning them, biasing the rate by up to 10 % over a short window, prints to stdout at high heart
  rates, and would not share beats with the ECG. Its landmark model is re-implemented on our beats.
- ``rsp_simulate`` ("breathmetrics") draws each cycle's length and pauses internally (10 % variance)
  without returning the onsets, so the true rate over a window is unknown. Respiration is written here.
- ``signal_distort`` skips noise frequencies above 0.1 x the sampling rate (nothing at 25 Hz) and fails
  on very short signals; its recipe is re-implemented, vectorised and rate-robust.
Everything used from neurokit2 is fast (< 1.5 ms per call); warnings are suppressed and nothing is
downloaded.

Speed (``python benchmarks/bench_synthetic.py --count 100000 --workers 2``, 2-core AMD EPYC): 100,000 6 s
segments in 92-122 s (two runs: 1083 and 819 segments/s, 3.3 channels per segment; worker start-up 5-7 s,
most of it importing the package); about 600 segments/s in one process.

Labels (every row)
------------------
numeric (name, unit):

- ``heart_rate_bpm`` (bpm): mean instantaneous heart rate over the window, ``60 * (beat phase at the
  end - beat phase at the start) / window_s`` with the beat phase linear between the R peaks; present
  whatever the channels (it is the subject's state).
- ``respiration_rate_bpm`` (breaths/min): the same for the breathing phase.
- ``hrv_rmssd_ms`` (ms): RMSSD of the RR intervals from the last beat before to the first beat after the
  window.
- ``cadence_spm`` (steps/min): the same phase-based rate for steps; 0 at rest.
- ``noise_level`` (a.u.): RMS of everything added to the clean channel divided by the clean channel's
  standard deviation over the window (an inverse amplitude SNR), the same for every channel of a segment.
  Clean segments draw it in [0, 0.25), noisy ones (40 %) in [0.25, 1.0].
- ``activity_level`` (a.u.): exertion in [0, 1]; rest [0, 0.2], walk [0.3, 0.6], run [0.7, 1.0].

class: ``activity`` (``rest`` / ``walk`` / ``run``), ``noise`` (``noisy`` when ``noise_level >=
NOISY_THRESHOLD = 0.25``, else ``clean``), ``modalities`` (sorted modality names joined by ``+``, e.g.
``acc+ecg+ppg``); with ``arrhythmias=True`` also ``rhythm`` (``sinus`` / ``ectopic`` / ``af``) and
``ecg_morphology`` (``normal`` / ``wide_qrs``).

``source`` is ``"synthetic/neurokit2"``, ``subject_id`` ``synth-s{seed}-{subject:06d}``, ``recording_id``
``synth-s{seed}-w{window_s}-{index:07d}``, ``start_s`` 0.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.interpolate import Akima1DInterpolator

from .schema import MIN_DURATION_S, make_example

__all__ = [
    "ACTIVITIES",
    "ACTIVITY_LEVEL_RANGES",
    "ECG_MORPHOLOGIES",
    "LABEL_UNITS",
    "MODALITIES",
    "NOISY_THRESHOLD",
    "RHYTHMS",
    "SAMPLING_RATES",
    "SOURCE",
    "generate_examples",
    "simulate_segment",
]

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


# ---------------------------------------------------------------------------------------------------------
# clean channels (evaluated on the window's sample times t, in seconds of the simulated span)
# ---------------------------------------------------------------------------------------------------------
def _breath_wave(state: _State, t: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * np.interp(t, state.grid, state.breath_phase))


_PVC_AMPLITUDES = np.array([0.0, 0.0, 1.5, -0.8, -0.45])  # no P, a tall wide QRS, a discordant T
_PVC_WIDTHS = np.array([1.0, 2.5, 2.5, 2.5, 1.5])
_WIDE_QRS_WIDTHS = np.array([1.0, 2.0, 2.0, 2.0, 1.2])


def _ecg(
    rng: np.random.Generator, subject: _Subject, state: _State, t: np.ndarray, wide_qrs: bool = False
) -> np.ndarray:
    beats = state.beats
    rr = np.diff(beats, prepend=beats[0] - (beats[1] - beats[0]))
    breath_at_beat = np.sin(2 * np.pi * np.interp(beats, state.grid, state.breath_phase))
    amplitude = 1.0 + rng.uniform(0.03, 0.12) * breath_at_beat + rng.normal(0, 0.02, size=beats.size)
    ectopic = state.ectopic if state.ectopic is not None else np.zeros(beats.size, dtype=bool)
    if subject.ecg_gaussian:
        # per beat and wave (P, Q, R, S, T): the subject's shape, the PVC's on ectopic beats, no P in AF
        shapes = np.tile(subject.ecg_amplitudes, (beats.size, 1))
        widths = np.tile(subject.ecg_width_scale * (_WIDE_QRS_WIDTHS if wide_qrs else 1.0), (beats.size, 1))
        if state.fibrillation:
            shapes[:, 0] = 0.0
        shapes[ectopic] = _PVC_AMPLITUDES * np.abs(subject.ecg_amplitudes[2])
        widths[ectopic] = subject.ecg_width_scale * _PVC_WIDTHS
        nxt = np.clip(np.searchsorted(beats, t), 1, beats.size - 1)
        pair = np.stack([nxt - 1, nxt], axis=1)  # the R peaks before and after each sample
        delay = t[:, None] - beats[pair]
        rr_pair = rr[pair][..., None]
        offset = _ECG_OFFSET * rr_pair**_ECG_OFFSET_EXP
        width = _ECG_WIDTH * widths[pair] * rr_pair**_ECG_WIDTH_EXP
        z = (delay[..., None] - offset) / width
        waves = shapes[pair] * np.exp(-0.5 * z * z)
        clean = (amplitude[pair] * waves.sum(axis=2)).sum(axis=1)
    else:
        beat, r_phase = _nk_simple_beat()
        position = np.interp(t, beats, np.arange(beats.size, dtype=np.float64))
        cycle = np.floor(position + r_phase).astype(np.int64).clip(0, beats.size - 1)
        phase = (position + r_phase) % 1.0
        # neurokit2's fixed beat has no PVC form: an ectopic beat is drawn inverted and taller (a
        # discordant ventricular complex), which keeps it distinct from the sinus beats around it
        amplitude = np.where(ectopic, -1.4 * amplitude, amplitude)
        clean = np.interp(phase * beat.size, np.arange(beat.size), beat) * amplitude[cycle]
    if state.fibrillation:  # fibrillatory f waves replace the P waves
        clean = clean + rng.uniform(0.03, 0.08) * _smooth(rng, t, 4.0, 9.0, terms=4)
    baseline = rng.uniform(0.02, 0.1) * np.sin(2 * np.pi * np.interp(t, state.grid, state.breath_phase) + 1.0)
    return subject.ecg_gain * (clean + baseline)


def _ppg(rng: np.random.Generator, subject: _Subject, state: _State, t: np.ndarray) -> np.ndarray:
    ptt = subject.ptt * (1.0 - 0.3 * state.level)
    onsets = state.beats + ptt + rng.normal(0, 0.004, size=state.beats.size)
    period = np.diff(onsets, append=onsets[-1] + (onsets[-1] - onsets[-2]))
    breath = np.sin(2 * np.pi * np.interp(onsets, state.grid, state.breath_phase) + 0.5)
    base = rng.normal(0, 0.03, size=onsets.size)
    height = 1.0 + rng.uniform(0.02, 0.15) * breath + rng.normal(0, 0.04, size=onsets.size)
    if state.ectopic is not None or state.fibrillation:
        # less filling time, a smaller pulse (Frank-Starling): premature and short-interval beats are weaker
        filling = np.diff(state.beats, prepend=state.beats[0] - (state.beats[1] - state.beats[0]))
        height = height * np.clip(filling / np.median(filling), 0.35, 1.3)
    notch = subject.ppg_notch + 0.15 * state.level
    dia = notch + subject.ppg_dia_extra * (1.0 - 0.8 * state.level)
    sys_f, notch_f, dia_f = subject.ppg_fractions
    x = np.empty(4 * onsets.size)
    y = np.empty_like(x)
    x[0::4], y[0::4] = onsets, base
    x[1::4], y[1::4] = onsets + sys_f * period, base + height
    x[2::4], y[2::4] = onsets + notch_f * period, base + notch * height
    x[3::4], y[3::4] = onsets + dia_f * period, base + dia * height
    pulse = Akima1DInterpolator(x, y)(t, extrapolate=True)
    baseline = rng.uniform(0.02, 0.15) * _breath_wave(state, t)
    return pulse + baseline


def _resp(rng: np.random.Generator, subject: _Subject, state: _State, t: np.ndarray) -> np.ndarray:
    phase = np.interp(t, state.grid, state.breath_phase)
    breath = np.floor(phase).astype(np.int64)
    f = phase - breath
    inhale = np.clip(subject.inhale_fraction + rng.normal(0, 0.02), 0.3, 0.55)
    pause = subject.pause_fraction * (1.0 - state.level)
    u = np.clip((f - inhale) / (1.0 - inhale - pause), 0.0, 1.0)
    wave = np.where(
        f < inhale, 0.5 * (1.0 - np.cos(np.pi * f / inhale)), 0.5 * (1.0 + np.cos(np.pi * u**subject.exhale_exponent))
    )
    depth = state.breath_depth[np.clip(breath - state.breath_first, 0, state.breath_depth.size - 1)]
    return subject.tidal * (1.0 + 1.5 * state.level) * depth * wave


def _eda(
    rng: np.random.Generator, nk_rng: np.random.Generator, subject: _Subject, state: _State, fs: float, n: int
) -> np.ndarray:
    window_s = state.t1 - state.t0
    span = window_s + 2 * MARGIN_S
    rate_per_min = rng.uniform(1, 4) + 6 * state.level
    scr_number = 1 + int(rng.poisson(rate_per_min * span / 60.0))
    shift = rng.uniform(0, span / scr_number)
    length = int(round((span + shift) * fs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = _nk().eda_simulate(
            duration=span + shift,
            length=length,
            sampling_rate=int(fs),
            noise=0,
            scr_number=scr_number,
            drift=rng.uniform(-0.02, 0.02),
            random_state=nk_rng,
        )
    start = int(round((MARGIN_S + shift) * fs))
    raw = np.asarray(raw, dtype=np.float64)[start : start + n]
    level = subject.scl * (1.0 + 0.5 * state.level) + rng.normal(0, 0.1)
    return np.maximum(level, 0.05) + subject.scr_gain * (raw - 1.0)


def _emg(
    rng: np.random.Generator, nk_rng: np.random.Generator, subject: _Subject, state: _State, fs: float, n: int
) -> np.ndarray:
    window_s = state.t1 - state.t0
    span = window_s + 2 * MARGIN_S
    if state.activity == "rest":
        bursts = int(rng.integers(0, 3))
        durations = list(rng.uniform(0.3, 1.5, size=bursts))
    else:
        cadence_hz = (state.steps.size - 1) / (state.steps[-1] - state.steps[0])
        bursts = int(span * cadence_hz)
        durations = [rng.uniform(0.25, 0.45) / cadence_hz] * bursts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = _nk().emg_simulate(
            duration=span,
            length=int(round(span * fs)),
            sampling_rate=int(fs),
            noise=0.01,
            burst_number=bursts,
            burst_duration=durations if bursts else 1.0,
            random_state=nk_rng,
        )
    start = int(round(MARGIN_S * fs))
    raw = np.asarray(raw, dtype=np.float64)[start : start + n]
    return subject.emg_gain * (1.0 + state.level) * (raw - 0.08)


def _acc(rng: np.random.Generator, subject: _Subject, state: _State, t: np.ndarray, fs: float) -> np.ndarray:
    """[T, 3] specific force in g in the device frame."""
    tilt_axis = _unit(rng.normal(size=3))
    tilt = rng.uniform(0, np.deg2rad(25))
    up = _unit(_rotate(subject.gravity, tilt_axis, tilt))
    forward = _unit(_rotate(subject.forward, tilt_axis, tilt))
    lateral = np.cross(up, forward)
    if state.activity == "rest":
        sway = np.deg2rad(rng.uniform(0.3, 3.0)) * _smooth(rng, t, 0.02, 0.3)
        acc = _rotate(up, forward, sway)
        tremor_hz = min(rng.uniform(8, 12), 0.4 * fs)
        acc += (
            rng.uniform(0.002, 0.01)
            * np.sin(2 * np.pi * tremor_hz * t + rng.uniform(0, 2 * np.pi))[:, None]
            * _unit(rng.normal(size=3))
        )
        if rng.random() < 0.25:
            centre, width = rng.uniform(state.t0, state.t1), rng.uniform(0.2, 0.6)
            bump = rng.uniform(0.02, 0.15) * np.exp(-0.5 * ((t - centre) / width) ** 2)
            acc += bump[:, None] * _unit(rng.normal(size=3))
        return acc
    step_phase = np.interp(t, state.grid, state.step_phase)
    gain = subject.gait_gain
    level = state.level
    vertical = (
        gain
        * (0.05 + 0.6 * level**2)
        * (
            np.cos(2 * np.pi * step_phase)
            + rng.uniform(0.1, 0.5) * np.cos(4 * np.pi * step_phase + rng.uniform(0, 2 * np.pi))
            + rng.uniform(0.0, 0.2) * np.cos(6 * np.pi * step_phase + rng.uniform(0, 2 * np.pi))
        )
    )
    # heel strikes: damped oscillation after the most recent step
    last = np.clip(np.searchsorted(state.steps, t) - 1, 0, state.steps.size - 1)
    since = t - state.steps[last]
    impact_hz = min(rng.uniform(10, 20), 0.4 * fs)
    impact = (
        gain
        * (0.1 + 2.0 * level**2)
        * (0.5 if subject.wrist else 1.0)
        * np.where(since >= 0, np.exp(-since / rng.uniform(0.02, 0.05)) * np.sin(2 * np.pi * impact_hz * since), 0.0)
    )
    swing_phase = np.pi * step_phase + rng.uniform(0, 2 * np.pi)  # stride = two steps
    swing = gain * (0.05 + 0.5 * level) * (1.0 if subject.wrist else 0.3) * np.cos(swing_phase)
    sway = gain * rng.uniform(0.02, 0.1) * np.cos(np.pi * step_phase + rng.uniform(0, 2 * np.pi))
    swing_angle = np.deg2rad(10 + 30 * level if subject.wrist else 2.0) * np.sin(swing_phase)
    gravity = _rotate(up, lateral, swing_angle)
    return gravity + (vertical + impact)[:, None] * up + swing[:, None] * forward + sway[:, None] * lateral


# ---------------------------------------------------------------------------------------------------------
# noise
# ---------------------------------------------------------------------------------------------------------
def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x)))


def _noise(rng: np.random.Generator, modality: str, state: _State, t: np.ndarray, fs: float) -> np.ndarray:
    """A unit-RMS random mix of noise and artefacts for one channel."""
    n = t.size
    duration = n / fs
    weights = np.array(_NOISE_PRIORS[modality]) * rng.uniform(0, 1, size=len(_NOISE_KINDS))
    weights *= rng.random(len(_NOISE_KINDS)) < 0.6
    weights[0] = max(weights[0], 0.1)  # some broadband noise always
    total = np.zeros(n)
    for kind, weight in zip(_NOISE_KINDS, weights):
        if weight <= 0:
            continue
        if kind == "white":
            part = rng.laplace(size=n)
        elif kind == "multi":  # neurokit2's recipe: Laplace samples at a few rates, interpolated
            part = np.zeros(n)
            for freq in (2.0, 5.0, 10.0, 25.0, 100.0):
                if freq <= fs / 2:
                    knots = max(int(duration * freq), 2)
                    part += np.interp(np.linspace(0, knots - 1, n), np.arange(knots), rng.laplace(size=knots))
        elif kind == "powerline":
            line = 50.0 if rng.random() < 0.5 else 60.0
            if line >= fs / 2:
                continue
            part = np.sin(2 * np.pi * line * t + rng.uniform(0, 2 * np.pi))
            if 3 * line < fs / 2:
                part += rng.uniform(0, 0.4) * np.sin(2 * np.pi * 3 * line * t + rng.uniform(0, 2 * np.pi))
        elif kind == "wander":
            part = _smooth(rng, t, 0.05, 0.5, terms=int(rng.integers(1, 4))) + rng.normal(0, 1) * (t - t[0]) / duration
        elif kind == "motion":
            if state.step_phase is not None:
                phase = np.interp(t, state.grid, state.step_phase)
                part = np.zeros(n)
                for harmonic in (0.5, 1.0, 2.0):
                    part += rng.uniform(0, 1) * np.cos(2 * np.pi * harmonic * phase + rng.uniform(0, 2 * np.pi))
            else:
                part = np.zeros(n)
                for _ in range(int(rng.integers(1, 4))):
                    centre, width = rng.uniform(t[0], t[-1]), rng.uniform(0.1, 0.5)
                    part += rng.normal(0, 1) * np.exp(-0.5 * ((t - centre) / width) ** 2)
        elif kind == "bursts":  # short high-frequency artefacts (neurokit2 "artifacts")
            part = np.zeros(n)
            for _ in range(int(rng.integers(1, 5))):
                length = max(int(n * rng.uniform(0.01, 0.08)), 1)
                start = int(rng.integers(0, max(n - length, 1)))
                part[start : start + length] += rng.laplace(size=min(length, n - start)) * rng.uniform(1, 3)
        else:  # electrode pop: a jump that recovers exponentially
            start = rng.uniform(t[0], t[-1])
            since = t - start
            part = np.where(since >= 0, np.exp(-np.maximum(since, 0) / rng.uniform(0.3, 2.0)), 0.0) * rng.choice(
                [-1.0, 1.0]
            )
        scale = _rms(part)
        if scale > 0:
            total += weight * part / scale
    scale = _rms(total)
    return total / scale if scale > 0 else rng.standard_normal(n)


# ---------------------------------------------------------------------------------------------------------
# one segment
# ---------------------------------------------------------------------------------------------------------
def _choose_channels(rng: np.random.Generator) -> tuple[list[str], bool]:
    count = int(rng.choice(np.arange(1, 6), p=_MODALITY_COUNT_PROBABILITIES))
    chosen = rng.choice(len(MODALITIES), size=count, replace=False, p=_MODALITY_WEIGHTS / _MODALITY_WEIGHTS.sum())
    modalities = [MODALITIES[i] for i in sorted(chosen)]
    acc_axes = "acc" in modalities and len(modalities) + 2 <= MAX_CHANNELS and bool(rng.random() < 0.6)
    return modalities, acc_axes


def _check_args(seed: int, window_s: float) -> None:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if not (isinstance(window_s, (int, float)) and math.isfinite(window_s) and window_s >= MIN_DURATION_S):
        raise ValueError(f"window_s must be a number of seconds >= {MIN_DURATION_S:g}, got {window_s!r}.")


def simulate_segment(
    index: int,
    seed: int = 0,
    window_s: float = 6.0,
    *,
    segments_per_subject: int = SEGMENTS_PER_SUBJECT,
    return_clean: bool = False,
    arrhythmias: bool = False,
) -> dict[str, Any] | tuple[dict[str, Any], list[np.ndarray]]:
    """Row ``index`` of ``generate_examples(..., seed=seed, window_s=window_s, arrhythmias=arrhythmias)``.

    ``arrhythmias`` adds rhythms (``ectopic``, ``af``) and a wide-QRS subject morphology, with the class labels
    ``rhythm`` and ``ecg_morphology``. It is off by default so that the evaluation tasks built from this
    generator (probing and zero-shot seeds) stay what their recorded results measured; corpora switch it on.

    With ``return_clean=True`` also returns the channels before noise (float64, same order and lengths as
    ``row["signals"]``): denoising pairs, and the ground truth behind ``noise_level``.
    """
    _check_args(seed, window_s)
    if index < 0:
        raise ValueError(f"index must be non-negative, got {index}.")
    seed, index, window_s = int(seed), int(index), float(window_s)
    subject_index = index // segments_per_subject
    subject = _subject(seed, subject_index)
    rng, noise_rng, nk_rng = _segment_rngs(seed, index)
    state, numeric = _draw_state(rng, subject, window_s)
    rhythm, morphology = "sinus", "normal"
    if arrhythmias:
        rhythm, rhythm_rng = _segment_rhythm(seed, index)
        morphology = _subject_morphology(seed, subject_index)
        if rhythm != "sinus":
            _apply_rhythm(rhythm_rng, state, rhythm)
            numeric = _realised_labels(state, window_s)
    modalities, acc_axes = _choose_channels(rng)

    clean: list[np.ndarray] = []
    rates: list[float] = []
    types: list[str] = []
    names: list[str] = []
    for modality in modalities:
        fs = float(rng.choice(SAMPLING_RATES[modality]))
        n = int(round(window_s * fs))
        t = state.t0 + np.arange(n) / fs
        if modality == "ecg":
            channels, labels = [_ecg(rng, subject, state, t, wide_qrs=morphology == "wide_qrs")], ["ecg"]
        elif modality == "ppg":
            channels, labels = [_ppg(rng, subject, state, t)], ["ppg"]
        elif modality == "resp":
            channels, labels = [_resp(rng, subject, state, t)], ["resp"]
        elif modality == "eda":
            channels, labels = [_eda(rng, nk_rng, subject, state, fs, n)], ["eda"]
        elif modality == "emg":
            channels, labels = [_emg(rng, nk_rng, subject, state, fs, n)], ["emg"]
        else:
            acc = _acc(rng, subject, state, t, fs)
            if acc_axes:
                channels, labels = [acc[:, 0], acc[:, 1], acc[:, 2]], ["acc_x", "acc_y", "acc_z"]
            else:
                channels, labels = [np.linalg.norm(acc, axis=1)], ["acc_mag"]
        for channel, name in zip(channels, labels):
            clean.append(channel)
            rates.append(fs)
            types.append(modality)
            names.append(name)

    signals = []
    for channel, fs, modality in zip(clean, rates, types):
        t = state.t0 + np.arange(channel.size) / fs
        spread = float(np.std(channel)) or 1.0
        signals.append(channel + state.noise_level * spread * _noise(noise_rng, modality, state, t, fs))

    row = make_example(
        signals,
        rates,
        types,
        recording_id=f"synth-s{seed}-w{window_s:g}-{index:07d}",
        source=SOURCE,
        subject_id=f"synth-s{seed}-{subject_index:06d}",
        channel_names=names,
        start_s=0.0,
        class_labels={
            "activity": state.activity,
            "noise": "noisy" if state.noise_level >= NOISY_THRESHOLD else "clean",
            "modalities": "+".join(sorted(set(types))),
            **({"rhythm": rhythm, "ecg_morphology": morphology} if arrhythmias else {}),
        },
        numeric_labels={name: (value, LABEL_UNITS[name]) for name, value in numeric.items()},
    )
    return (row, clean) if return_clean else row


# ---------------------------------------------------------------------------------------------------------
# many segments, optionally in worker processes
# ---------------------------------------------------------------------------------------------------------
def _generate_chunk(job: tuple[int, int, int, float, int, bool]) -> list[dict[str, Any]]:
    seed, start, stop, window_s, segments_per_subject, arrhythmias = job
    return [
        simulate_segment(index, seed, window_s, segments_per_subject=segments_per_subject, arrhythmias=arrhythmias)
        for index in range(start, stop)
    ]


def _worker_init() -> None:
    # Only what cannot fail: an exception in a Pool initializer makes the pool respawn workers forever (a hang).
    # The neurokit2 import happens in the first chunk instead, where an error reaches the parent through .get().
    warnings.simplefilter("ignore")  # this is the worker's own process


def generate_examples(
    count: int,
    seed: int = 0,
    window_s: float = 6.0,
    workers: int = 1,
    progress: bool = False,
    *,
    start: int = 0,
    segments_per_subject: int = SEGMENTS_PER_SUBJECT,
    chunk_size: int | None = None,
    mp_context: str = "spawn",
    arrhythmias: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield ``count`` synthetic schema rows (segments ``start .. start + count - 1``) in index order.

    Deterministic given ``(seed, index, window_s, segments_per_subject)``; ``workers > 1`` generates chunks of
    ``chunk_size`` segments in that many processes (``mp_context``, "spawn" by default, so it is safe from
    any parent) with at most two chunks per worker in flight, and yields exactly what ``workers=1`` would.
    ``progress`` shows a tqdm bar. Pass ``start`` to make disjoint shards of one corpus. ``arrhythmias``: see
    :func:`simulate_segment`.
    """
    _check_args(seed, window_s)
    if count < 0 or start < 0:
        raise ValueError(f"count and start must be non-negative, got count={count}, start={start}.")
    if segments_per_subject < 1:
        raise ValueError(f"segments_per_subject must be at least 1, got {segments_per_subject}.")
    from tqdm.auto import tqdm

    stop = start + count
    with tqdm(total=count, disable=not progress, desc="synthetic segments", unit="seg") as bar:
        if workers <= 1 or count <= 1:
            for index in range(start, stop):
                yield simulate_segment(
                    index, seed, window_s, segments_per_subject=segments_per_subject, arrhythmias=arrhythmias
                )
                bar.update(1)
            return
        import multiprocessing

        _nk()  # fail here, with the install hint, before any worker starts
        size = chunk_size or max(1, min(500, math.ceil(count / (workers * 8))))
        jobs = iter(
            [
                (int(seed), a, min(a + size, stop), float(window_s), segments_per_subject, bool(arrhythmias))
                for a in range(start, stop, size)
            ]
        )
        with multiprocessing.get_context(mp_context).Pool(workers, initializer=_worker_init) as pool:
            pending: deque = deque()
            for job in jobs:
                pending.append(pool.apply_async(_generate_chunk, (job,)))
                if len(pending) >= 2 * workers:
                    break
            while pending:
                rows = pending.popleft().get()
                job = next(jobs, None)
                if job is not None:
                    pending.append(pool.apply_async(_generate_chunk, (job,)))
                for row in rows:
                    yield row
                    bar.update(1)
