"""seglearn: the smartwatch shoulder-exercise data set (6-axis wrist IMU at 50 Hz, labelled)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..schema import make_example
from .packages import DATA_PACKAGES

SEGLEARN_RATE_HZ = 50.0  # seglearn.datasets.load_watch: "sampled at 50 Hz"
SEGLEARN_TYPES = {"a": "acc", "w": "gyro"}


def load_seglearn(root: Path) -> Iterator[dict[str, Any]]:
    """140 series of 6-axis wrist IMU (``ax ay az`` accelerometer, ``wx wy wz`` gyroscope), labelled.

    Class labels: ``exercise`` (one of 7), ``side`` (left / right arm) and ``subject``; ``subject_id`` is
    ``seglearn:<n>`` so subject-wise splits work.
    """
    source = "seglearn"
    # The file is a pickled dict inside .npy; it ships with the installed package (trusted, as the package is).
    data = np.load(root / DATA_PACKAGES[source].data_path, allow_pickle=True).item()
    names = [str(n) for n in data["X_labels"]]
    kinds = [SEGLEARN_TYPES[n[0]] for n in names]
    exercises = [str(n) for n in data["y_labels"]]
    for index, (series, label, subject, side) in enumerate(zip(data["X"], data["y"], data["subject"], data["side"])):
        series = np.asarray(series, dtype=np.float64)
        yield make_example(
            series.T,
            SEGLEARN_RATE_HZ,
            kinds,
            recording_id=f"{source}/watch/{index:03d}",
            source=source,
            subject_id=f"seglearn:{int(subject)}",
            channel_names=names,
            class_labels={
                "exercise": exercises[int(label)],
                "side": "right" if int(side) == 1 else "left",
                "subject": str(int(subject)),
            },
        )
