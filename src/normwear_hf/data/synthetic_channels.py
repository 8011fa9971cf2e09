"""The synthetic generator's channels: each modality rendered on its sample times from a segment's state, and the
per-modality noise mix (:mod:`normwear_hf.data.synthetic` documents the recipe).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.interpolate import Akima1DInterpolator

from .synthetic_state import (
    _ECG_OFFSET,
    _ECG_OFFSET_EXP,
    _ECG_WIDTH,
    _ECG_WIDTH_EXP,
    _NOISE_KINDS,
    _NOISE_PRIORS,
    MARGIN_S,
    _nk,
    _nk_simple_beat,
    _rotate,
    _smooth,
    _State,
    _Subject,
    _unit,
)


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
