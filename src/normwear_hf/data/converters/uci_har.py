"""UCI Human Activity Recognition Using Smartphones (text release) -> schema rows.

Layout (``UCI HAR Dataset.zip`` unpacked)::

    UCI HAR Dataset/activity_labels.txt                      "1 WALKING" ... "6 LAYING"
    UCI HAR Dataset/{train,test}/y_{split}.txt               one label (1-6) per window
    UCI HAR Dataset/{train,test}/subject_{split}.txt         one subject (1-30) per window
    UCI HAR Dataset/{train,test}/Inertial Signals/{kind}_{axis}_{split}.txt   one window (128 values) per line

Each line is one 2.56 s window (128 samples at 50 Hz, 50% overlap with its neighbours), already cut by the
corpus; every window becomes one row. Channels: the raw accelerometer (``total_acc``, gravity included, in g)
and the gyroscope (``body_gyro``, rad/s), x/y/z each: the six IMU signals of a smartphone on the waist. The
``body_acc`` files are ``total_acc`` minus a low-pass gravity estimate and add nothing a model cannot learn.
Labels: ``activity`` (the corpus' own names) and ``release_split`` (the published train/test split, which is
itself subject-disjoint). ``subject_id`` is ``uci_har:<volunteer>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..schema import make_example

NAME = "uci_har"
SAMPLING_RATE = 50.0
WINDOW_SAMPLES = 128
CHANNELS = (
    ("total_acc_x", "acc"),
    ("total_acc_y", "acc"),
    ("total_acc_z", "acc"),
    ("body_gyro_x", "gyro"),
    ("body_gyro_y", "gyro"),
    ("body_gyro_z", "gyro"),
)
ACTIVITIES = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING")

CARD = {
    "pretty_name": "UCI-HAR (Human Activity Recognition Using Smartphones)",
    "license": "cc-by-4.0",
    "homepage": "https://archive.ics.uci.edu/dataset/240/human+activity+recognition+using+smartphones",
    "citation": """@inproceedings{anguita2013public,
  title     = {A Public Domain Dataset for Human Activity Recognition Using Smartphones},
  author    = {Anguita, Davide and Ghio, Alessandro and Oneto, Luca and Parra, Xavier and Reyes-Ortiz, Jorge Luis},
  booktitle = {21st European Symposium on Artificial Neural Networks, Computational Intelligence and Machine
               Learning (ESANN)},
  pages     = {437--442},
  year      = {2013}
}""",
    "description": (
        "30 volunteers (19-48 years) performing six activities with a Samsung Galaxy S II on the waist. One row per "
        "published window: 2.56 s (128 samples at 50 Hz, 50% overlap), six channels = total (raw) acceleration "
        "x/y/z in g and gyroscope x/y/z in rad/s. Class labels: `activity` (6 classes) and `release_split` (the "
        "corpus' own subject-disjoint train/test split). subject_id = `uci_har:<volunteer 1-30>`."
    ),
    "processing": (
        "No re-windowing: every line of the Inertial Signals files is one published 2.56 s window (128 samples, "
        "50% overlap with the next), kept as one row, so `start_s` is 0. Channels: total_acc x/y/z (g, gravity "
        "included: the raw accelerometer) and body_gyro x/y/z (rad/s); body_acc (total_acc minus a low-pass "
        "gravity estimate) is left out. `activity` uses the names of activity_labels.txt; `release_split` keeps "
        "the published train/test split (subject-disjoint) alongside the converter's own subject-wise split."
    ),
    "task_categories": ["tabular-classification"],
    "modalities": ["acc", "gyro"],
    "sampling_rates": {"acc": SAMPLING_RATE, "gyro": SAMPLING_RATE},
    "label_names": {"activity": list(ACTIVITIES), "release_split": ["train", "test"]},
}


def _root(raw_dir: Path) -> Path:
    """The folder holding ``train/`` and ``test/``: ``raw_dir`` itself or its ``UCI HAR Dataset`` child."""
    raw_dir = Path(raw_dir)
    for candidate in (raw_dir, raw_dir / "UCI HAR Dataset"):
        if (candidate / "activity_labels.txt").is_file():
            return candidate
    raise ValueError(
        f"{raw_dir / 'UCI HAR Dataset' / 'activity_labels.txt'} not found: point raw_dir at the unpacked "
        "'UCI HAR Dataset' folder (or its parent)."
    )


def _read_table(path: Path, columns: int | None = None) -> np.ndarray:
    if not path.is_file():
        raise ValueError(f"{path} is missing from the UCI-HAR release.")
    try:
        values = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as error:
        raise ValueError(f"{path} is corrupt: {error}") from error
    if columns is not None and values.shape[1] != columns:
        raise ValueError(f"{path} is corrupt: expected {columns} values per line, got {values.shape[1]}.")
    if not np.isfinite(values).all():
        raise ValueError(f"{path} is corrupt: it holds non-finite values.")
    return values


def _activity_names(root: Path) -> dict[int, str]:
    path = root / "activity_labels.txt"
    names = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValueError(f"{path} is corrupt: line {number} is {line!r}, expected '<id> <NAME>'.")
        names[int(parts[0])] = parts[1]
    return names


def iter_examples(raw_dir: Path, progress: bool = True) -> Iterator[dict]:
    root = _root(raw_dir)
    activities = _activity_names(root)
    for split in ("train", "test"):
        folder = root / split
        labels = _read_table(folder / f"y_{split}.txt", 1)[:, 0].astype(int)
        subjects = _read_table(folder / f"subject_{split}.txt", 1)[:, 0].astype(int)
        channels = [
            _read_table(folder / "Inertial Signals" / f"{name}_{split}.txt", WINDOW_SAMPLES) for name, _ in CHANNELS
        ]
        counts = {len(labels), len(subjects), *(len(channel) for channel in channels)}
        if len(counts) != 1:
            raise ValueError(
                f"{folder} is corrupt: y_{split}.txt has {len(labels)} lines, subject_{split}.txt "
                f"{len(subjects)}, the Inertial Signals files {[len(c) for c in channels]}; they must agree."
            )
        unknown = sorted(set(labels.tolist()) - set(activities))
        if unknown:
            raise ValueError(f"{folder / f'y_{split}.txt'} holds labels {unknown} not in activity_labels.txt.")
        data = np.stack(channels, axis=1).astype(np.float32)  # [N, 6, 128]
        for index in tqdm(range(len(labels)), desc=f"uci_har {split}", disable=not progress):
            yield make_example(
                data[index],
                SAMPLING_RATE,
                [kind for _, kind in CHANNELS],
                recording_id=f"{split}/{index:05d}",
                source=NAME,
                subject_id=f"{NAME}:{subjects[index]}",
                channel_names=[name for name, _ in CHANNELS],
                class_labels={"activity": activities[labels[index]], "release_split": split},
            )
