"""systole: .npy arrays of Task 1 (ECG + EDA + respiration, one participant) and a PPG recording."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..schema import make_example
from .packages import DATA_PACKAGES, log_skip

logger = logging.getLogger(__name__)


SYSTOLE_TASK1_RATE_HZ = 1000.0  # systole.datasets.import_dataset1: "The sampling frequency is 1000 Hz"
SYSTOLE_PPG_RATE_HZ = 75.0  # systole.datasets.import_ppg: time = arange(n) / 75
SYSTOLE_TASK1_CHANNELS = (("Task1_ECG", "ecg"), ("Task1_EDA", "eda"), ("Task1_Respiration", "resp"))


def load_systole(root: Path) -> Iterator[dict[str, Any]]:
    """Task 1 (ECG + EDA + respiration, one participant, 1000 Hz) and the 75 Hz PPG recording.

    ``Task1_Stim.npy`` is the stimulus code (0 / 1 / 2: none, neutral, disgusting image), not a signal: skipped.
    """
    source = "systole"
    folder = root / DATA_PACKAGES[source].data_path
    log_skip(source, "Task1", "Task1_Stim", "stimulus channel (image condition code), not a physiological signal")
    paths = [folder / f"{stem}.npy" for stem, _ in SYSTOLE_TASK1_CHANNELS]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        logger.warning("%s: Task1 files %s missing in %s; skipping Task1", source, missing, folder)
    else:
        channels = [np.load(p, allow_pickle=False).astype(np.float64).reshape(-1) for p in paths]
        length = min(c.size for c in channels)
        yield make_example(
            [c[:length] for c in channels],
            SYSTOLE_TASK1_RATE_HZ,
            [kind for _, kind in SYSTOLE_TASK1_CHANNELS],
            recording_id=f"{source}/Task1",
            source=source,
            subject_id="systole:task1",
            channel_names=[stem for stem, _ in SYSTOLE_TASK1_CHANNELS],
        )
    ppg_path = folder / "ppg.npy"
    if ppg_path.exists():
        yield make_example(
            [np.load(ppg_path, allow_pickle=False).astype(np.float64).reshape(-1)],
            SYSTOLE_PPG_RATE_HZ,
            ["ppg"],
            recording_id=f"{source}/ppg",
            source=source,
            channel_names=["ppg"],
        )
    else:
        logger.warning("%s: %s missing; skipping the PPG recording", source, ppg_path)
