"""The sample recording that ships with the package, for the demo, docs and tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

SAMPLE_FILE = "sample_recording.npz"


@dataclass
class Recording:
    """One recording whose channels may each have their own sampling rate and length."""

    signals: list[np.ndarray]
    sampling_rate: list[float]
    channel_types: list[str]
    channel_names: list[str]
    attributes: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return min(len(s) / r for s, r in zip(self.signals, self.sampling_rate))


def load_sample_recording() -> Recording:
    """30 s of synthetic ECG (250 Hz), PPG (64 Hz), respiration (25 Hz) and wrist acceleration (32 Hz).

    Its physiology is known (``attributes``: heart rate 72 bpm, 15 breaths/min, walking); see
    ``dataset_scripts/make_sample_recording.py`` for how it was made.
    """
    path = resources.files("normwear_hf").joinpath("sample_data", SAMPLE_FILE)
    with resources.as_file(path) as local, np.load(local, allow_pickle=False) as archive:
        metadata = json.loads(str(archive["metadata"]))
        signals = [archive[name].astype(np.float32) for name in metadata["channel_types"]]
    attributes = {key: metadata[key] for key in ("heart_rate_bpm", "respiration_rate_bpm", "activity", "units")}
    return Recording(
        signals=signals,
        sampling_rate=[float(r) for r in metadata["sampling_rate"]],
        channel_types=list(metadata["channel_types"]),
        channel_names=list(metadata["channel_names"]),
        attributes=attributes,
    )
