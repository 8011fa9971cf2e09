"""WESAD (Schmidt et al., ICMI 2018): stress / affect detection, chest (RespiBAN) and wrist (Empatica E4) sensors.

Published layout: one folder per subject, ``S2`` ... ``S17`` (no ``S1``, ``S12``), each holding ``SX/SX.pkl``, a
Python-2 pickle (read with :func:`~normwear_hf.data.converters.safe_pickle.load_pickle`, latin1) of a dict::

    {"signal": {"chest": {"ACC": (N, 3), "ECG": (N, 1), "EMG": (N, 1), "EDA": (N, 1), "Temp": (N, 1),
                          "Resp": (N, 1)},
                "wrist": {"ACC": (M, 3) at 32 Hz, "BVP": (K, 1) at 64 Hz, "EDA": (L, 1) at 4 Hz,
                          "TEMP": (L, 1) at 4 Hz}},
     "label": (N,) at 700 Hz, "subject": "SX"}

Chest signals are at 700 Hz. Labels: 0 not defined / transient, 1 baseline, 2 stress, 3 amusement, 4 meditation,
5 / 6 / 7 to be ignored. The NormWear benchmark task is the 3-class one (baseline / stress / amusement).

Rows (:func:`iter_examples`): the recording is cut into runs of constant label; runs labelled 1, 2 or 3 are
windowed (``window_example``) into ``WINDOW_S``-second windows every ``HOP_S`` seconds that lie entirely inside
the run, so a window's label is constant over it; every other sample is dropped. Each row holds the 14 channels
(chest ACC x/y/z, ECG, EMG, EDA, Temp, Resp at 700 Hz; wrist ACC x/y/z at 32 Hz, BVP as ``ppg`` at 64 Hz, EDA and
TEMP at 4 Hz) at their native rates, cut at the same instants (wrist samples start at the nearest sample, up
to half a sample period (0.125 s at 4 Hz) off); the class label ``condition``; ``subject_id`` ``"wesad:S2"`` ...
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..schema import make_example, validate_example, window_example
from .common import (
    RESPIBAN_E4_CHANNELS,
    RESPIBAN_HZ,
    iter_subject_pickles,
    read_channels,
    require_keys,
)

logger = logging.getLogger(__name__)

NAME = "wesad"
CHEST_HZ = RESPIBAN_HZ
WINDOW_S = 6.0
"""Window length: the NormWear model window (6 s), so one row is one model input."""
HOP_S = 6.0
"""No overlap: windows of one run share no samples."""
LABELS = {1: "baseline", 2: "stress", 3: "amusement"}
"""Label ids kept, and their names (``condition``). 0 (transient), 4 (meditation) and 5-7 are dropped."""
ALL_LABELS = {
    0: "not defined / transient",
    1: "baseline",
    2: "stress",
    3: "amusement",
    4: "meditation",
    5: "ignore",
    6: "ignore",
    7: "ignore",
}
SUBJECTS = tuple(f"S{n}" for n in range(2, 18) if n != 12)

CHANNELS = RESPIBAN_E4_CHANNELS

CARD: dict[str, Any] = {
    "pretty_name": "WESAD (wearable stress and affect detection), 3-class windows",
    "license": "cc-by-4.0",
    "homepage": "https://archive.ics.uci.edu/dataset/465/wesad+wearable+stress+and+affect+detection",
    "citation": """@inproceedings{schmidt2018wesad,
  title     = {Introducing {WESAD}, a Multimodal Dataset for Wearable Stress and Affect Detection},
  author    = {Schmidt, Philip and Reiss, Attila and Duerichen, Robert and Marberger, Claus and Van Laerhoven, Kristof},
  booktitle = {Proceedings of the 20th ACM International Conference on Multimodal Interaction},
  pages     = {400--408},
  year      = {2018},
  doi       = {10.1145/3242969.3242985}
}""",
    "description": (
        "WESAD: 15 subjects (S2-S17 without S1 and S12) wore a chest RespiBAN (ACC, ECG, EMG, EDA, temperature, "
        "respiration at 700 Hz) and a wrist Empatica E4 (ACC 32 Hz, BVP 64 Hz, EDA and temperature 4 Hz) through a "
        "lab protocol of baseline, stress (Trier Social Stress Test) and amusement conditions (and meditation). "
        "This conversion keeps the 3-class task (baseline / stress / amusement) used by the NormWear benchmark. "
        "The Hub has no time-series classification category; `tabular-classification` is the closest one."
    ),
    "processing": (
        f"The 700 Hz label track is cut into runs of constant label; runs labelled 1 (baseline), 2 (stress) or "
        f"3 (amusement) are cut into {WINDOW_S:g} s windows every {HOP_S:g} s lying entirely inside the run (so the "
        "label is constant over every window); labels 0 (transient), 4 (meditation) and 5-7 and the tails of runs "
        "shorter than a window are dropped. All channels are cut at the same instants at their native rates "
        "(a 4 Hz channel starts at the nearest sample). A channel constant over a whole recording is dropped "
        "for that subject (logged). `start_s` is the window's offset in the subject's recording."
    ),
    "task_categories": ["tabular-classification"],
    "modalities": ["acc", "ecg", "emg", "eda", "temp", "resp", "ppg"],
    "sampling_rates": {name: rate for _, _, _, name, _, rate in CHANNELS},
    "label_names": {"condition": {str(k): v for k, v in LABELS.items()}},
}


def label_runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """``[(start, stop, label)]``: maximal runs of constant label (sample indices, ``stop`` exclusive)."""
    labels = np.asarray(labels).reshape(-1)
    if labels.size == 0:
        return []
    changes = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate(([0], changes))
    stops = np.concatenate((changes, [labels.size]))
    return [(int(a), int(b), int(labels[a])) for a, b in zip(starts, stops)]


def subject_examples(
    data: Any, subject: str, source: str, *, window_s: float = WINDOW_S, hop_s: float = HOP_S
) -> Iterator[dict[str, Any]]:
    """Rows of one subject's unpickled ``SX.pkl`` dict; ``source`` (the file) names errors."""
    require_keys(data, ("signal", "label"), source)
    require_keys(data["signal"], ("chest", "wrist"), f"{source}: signal")
    stored = data.get("subject", subject)
    stored = stored.decode("latin1") if isinstance(stored, bytes) else str(stored)
    if stored != subject:
        logger.warning("%s: the file says subject %r, its folder %r; using the folder name.", source, stored, subject)
    channels = read_channels(data["signal"], CHANNELS, source)
    labels = np.asarray(data["label"]).reshape(-1)
    duration = min([labels.size / CHEST_HZ] + [values.size / rate for _, _, rate, values in channels])
    for start, stop, value in label_runs(labels):
        if value not in LABELS:
            continue
        t0, t1 = start / CHEST_HZ, min(stop / CHEST_HZ, duration)
        if t1 - t0 < window_s:
            continue
        run = make_example(
            [values[int(round(t0 * rate)) : int(round(t1 * rate))] for _, _, rate, values in channels],
            [rate for _, _, rate, _ in channels],
            [kind for _, kind, _, _ in channels],
            recording_id=f"{NAME}/{subject}/{LABELS[value]}@{t0:.3f}s",
            source=NAME,
            subject_id=f"{NAME}:{subject}",
            channel_names=[name for name, _, _, _ in channels],
            start_s=t0,
            class_labels={"condition": LABELS[value]},
        )
        for row in window_example(run, window_s=window_s, hop_s=hop_s):
            validate_example(row)
            yield row


def iter_examples(
    raw_dir: str | os.PathLike, progress: bool = True, *, window_s: float = WINDOW_S, hop_s: float = HOP_S
) -> Iterator[dict[str, Any]]:
    """Labelled windows of every subject under ``raw_dir`` (the extracted ``WESAD/`` folder), subject by subject."""
    for subject, path, data in iter_subject_pickles(raw_dir, NAME, SUBJECTS, progress):
        yield from subject_examples(data, subject, path, window_s=window_s, hop_s=hop_s)
