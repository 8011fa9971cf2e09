"""PPG-DaLiA (Reiss et al., Sensors 2019): PPG-based heart-rate estimation during daily-life activities.

Published layout: ``PPG_FieldStudy/S1`` ... ``S15``, each holding ``SX/SX.pkl``, a Python-2 pickle (read with
:func:`~normwear_hf.data.converters.safe_pickle.load_pickle`, latin1) of a dict with keys ``signal``
(``chest``: RespiBAN ``ACC`` (N, 3), ``ECG``, ``EMG``, ``EDA``, ``Temp``, ``Resp`` (N, 1) at 700 Hz; ``wrist``:
Empatica E4 ``ACC`` (M, 3) at 32 Hz, ``BVP`` at 64 Hz, ``EDA`` and ``TEMP`` at 4 Hz), ``label`` (the ECG-derived
ground-truth heart rate in bpm, one value per 8 s window, windows shifted by 2 s: value ``i`` covers
``[2 i, 2 i + 8)`` s), ``activity`` ((A, 1) at 4 Hz, ids 0-8, see :data:`ACTIVITIES`), ``questionnaire``,
``rpeaks`` and ``subject``.

Rows (:func:`iter_examples`): the 8 s windows of the heart-rate labels (``window_example`` with 8 s windows every
2 s, so row ``i`` is exactly label ``i``'s window), every channel at its native rate; numeric label
``heart_rate`` (bpm); class label ``activity``: the most frequent activity id over the window's 32 activity
samples (a tie goes to the smaller id, so a window half transient is ``transient``). Windows whose 8 s reach
past the end of any channel are dropped. ``subject_id`` is ``"ppg_dalia:S1"`` ... Chest EMG, EDA and Temp are
optional (some copies carry only ACC, ECG and Resp) and, like any channel, dropped with a warning when constant
over a whole recording.
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

NAME = "ppg_dalia"
CHEST_HZ = RESPIBAN_HZ
ACTIVITY_HZ = 4.0
WINDOW_S = 8.0
"""Length of the windows the heart-rate labels are given for."""
HOP_S = 2.0
"""Shift between consecutive heart-rate label windows."""
ACTIVITIES = {
    0: "transient",
    1: "sitting",
    2: "stairs",
    3: "table_soccer",
    4: "cycling",
    5: "driving",
    6: "lunch",
    7: "walking",
    8: "working",
}
SUBJECTS = tuple(f"S{n}" for n in range(1, 16))

CHANNELS = RESPIBAN_E4_CHANNELS
OPTIONAL = (("chest", "EMG"), ("chest", "EDA"), ("chest", "Temp"))

CARD: dict[str, Any] = {
    "pretty_name": "PPG-DaLiA (PPG heart-rate estimation in daily life), 8 s windows",
    "license": "cc-by-4.0",
    "homepage": "https://archive.ics.uci.edu/dataset/495/ppg+dalia",
    "citation": """@article{reiss2019deep,
  title   = {Deep {PPG}: Large-Scale Heart Rate Estimation with Convolutional Neural Networks},
  author  = {Reiss, Attila and Indlekofer, Ina and Schmidt, Philip and Van Laerhoven, Kristof},
  journal = {Sensors},
  volume  = {19},
  number  = {14},
  pages   = {3079},
  year    = {2019},
  doi     = {10.3390/s19143079}
}""",
    "description": (
        "PPG-DaLiA: 15 subjects (S1-S15) wore a chest RespiBAN (ACC, ECG, respiration at 700 Hz) and a wrist "
        "Empatica E4 (ACC 32 Hz, BVP 64 Hz, EDA and temperature 4 Hz) for about 2.5 hours of daily-life "
        "activities (sitting, stairs, table soccer, cycling, driving, lunch, walking, working). The ground-truth "
        "heart rate comes from the ECG. Tasks: heart-rate regression from the wrist PPG and accelerometer (the "
        "chest ECG carries the answer: leave it out of the inputs for that task), and activity classification. "
        "The Hub has no time-series regression category; `tabular-regression` / `tabular-classification` are the "
        "closest ones."
    ),
    "processing": (
        f"One row per heart-rate label: the {WINDOW_S:g} s window the label was computed on (windows every "
        f"{HOP_S:g} s, row i starts at 2 i s), every channel at its native rate, cut at the same instants. "
        "`heart_rate` is the published ground truth (bpm). `activity` is the most frequent of the window's 32 "
        "activity samples (4 Hz); a tie goes to the smaller id, so a window that is half transient is "
        "`transient`. Windows reaching past the end of a channel are dropped. Chest EMG / EDA / Temp are kept "
        "when present and not constant; a channel constant over a whole recording is dropped for that subject."
    ),
    "task_categories": ["tabular-regression", "tabular-classification"],
    "modalities": ["acc", "ecg", "emg", "eda", "temp", "resp", "ppg"],
    "sampling_rates": {name: rate for _, _, _, name, _, rate in CHANNELS},
    "label_names": {
        "activity": {str(k): v for k, v in ACTIVITIES.items()},
        "heart_rate": ["heart rate in beats per minute (bpm), ECG-derived ground truth"],
    },
}


def window_activity(activity: np.ndarray, index: int) -> str | None:
    """The activity name of label window ``index`` (majority over its samples, ties to the smaller id)."""
    first = int(round(index * HOP_S * ACTIVITY_HZ))
    piece = activity[first : first + int(round(WINDOW_S * ACTIVITY_HZ))]
    if piece.size == 0:
        return None
    ids = piece.astype(np.int64)
    if ids.min() < 0 or ids.max() >= len(ACTIVITIES):
        raise ValueError(f"activity ids {sorted(set(ids.tolist()))} outside 0-{len(ACTIVITIES) - 1}.")
    return ACTIVITIES[int(np.bincount(ids).argmax())]


def subject_examples(data: Any, subject: str, source: str) -> Iterator[dict[str, Any]]:
    """Rows of one subject's unpickled ``SX.pkl`` dict; ``source`` (the file) names errors."""
    require_keys(data, ("signal", "label", "activity"), source)
    require_keys(data["signal"], ("chest", "wrist"), f"{source}: signal")
    stored = data.get("subject", subject)
    stored = stored.decode("latin1") if isinstance(stored, bytes) else str(stored)
    if stored != subject:
        logger.warning("%s: the file says subject %r, its folder %r; using the folder name.", source, stored, subject)
    channels = read_channels(data["signal"], CHANNELS, source, optional=OPTIONAL)
    heart_rate = np.asarray(data["label"], dtype=np.float64).reshape(-1)
    activity = np.asarray(data["activity"]).reshape(-1)
    recording = make_example(
        [values for _, _, _, values in channels],
        [rate for _, _, rate, _ in channels],
        [kind for _, kind, _, _ in channels],
        recording_id=f"{NAME}/{subject}",
        source=NAME,
        subject_id=f"{NAME}:{subject}",
        channel_names=[name for name, _, _, _ in channels],
    )
    kept = 0
    for index, row in enumerate(window_example(recording, window_s=WINDOW_S, hop_s=HOP_S)):
        if index >= heart_rate.size:
            break
        if not np.isfinite(heart_rate[index]):
            logger.warning("%s: heart-rate label %d is %r; window skipped.", source, index, heart_rate[index])
            continue
        try:
            name = window_activity(activity, index)
        except ValueError as error:
            raise ValueError(f"{source}: window {index}: {error}") from None
        row["numeric_labels"] = [{"name": "heart_rate", "value": float(heart_rate[index]), "unit": "bpm"}]
        row["class_labels"] = [] if name is None else [{"name": "activity", "value": name}]
        validate_example(row)
        kept += 1
        yield row
    if kept < heart_rate.size:
        logger.info(
            "%s: %d of %d heart-rate windows kept (the rest reach past a channel's end).", source, kept, heart_rate.size
        )


def iter_examples(raw_dir: str | os.PathLike, progress: bool = True) -> Iterator[dict[str, Any]]:
    """Heart-rate windows of every subject under ``raw_dir`` (the extracted ``PPG_FieldStudy/`` folder)."""
    for subject, path, data in iter_subject_pickles(raw_dir, NAME, SUBJECTS, progress):
        yield from subject_examples(data, subject, path)
