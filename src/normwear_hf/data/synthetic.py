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

import math
import warnings
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from .schema import MIN_DURATION_S, make_example
from .synthetic_channels import _acc, _ecg, _eda, _emg, _noise, _ppg, _resp
from .synthetic_state import (
    _MODALITY_COUNT_PROBABILITIES,
    _MODALITY_WEIGHTS,
    ACTIVITIES,
    ACTIVITY_LEVEL_RANGES,
    ECG_MORPHOLOGIES,
    LABEL_UNITS,
    MAX_CHANNELS,
    MODALITIES,
    NOISY_THRESHOLD,
    RHYTHMS,
    SAMPLING_RATES,
    SEGMENTS_PER_SUBJECT,
    SOURCE,
    _apply_rhythm,
    _draw_state,
    _nk,
    _realised_labels,
    _segment_rhythm,
    _segment_rngs,
    _State,
    _Subject,
    _subject,
    _subject_morphology,
)

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


def _render_channels(
    rng: np.random.Generator,
    nk_rng: np.random.Generator,
    subject: _Subject,
    state: _State,
    modalities: list[str],
    acc_axes: bool,
    window_s: float,
    wide_qrs: bool,
) -> tuple[list[np.ndarray], list[float], list[str], list[str]]:
    """The clean channels of the chosen modalities at a rate drawn per modality: signals, rates, types, names."""
    clean: list[np.ndarray] = []
    rates: list[float] = []
    types: list[str] = []
    names: list[str] = []
    for modality in modalities:
        fs = float(rng.choice(SAMPLING_RATES[modality]))
        n = int(round(window_s * fs))
        t = state.t0 + np.arange(n) / fs
        if modality == "ecg":
            channels, labels = [_ecg(rng, subject, state, t, wide_qrs=wide_qrs)], ["ecg"]
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

    return clean, rates, types, names


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

    clean, rates, types, names = _render_channels(
        rng, nk_rng, subject, state, modalities, acc_axes, window_s, wide_qrs=morphology == "wide_qrs"
    )

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
