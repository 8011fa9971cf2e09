"""The sample recordings that ship with the package, for the demo, docs and tests.

Three synthetic 30 s recordings of the same four channels (ECG 250 Hz, PPG 64 Hz, respiration 25 Hz, wrist
acceleration magnitude 32 Hz) whose physiology is known:

* ``resting``: heart rate 58 bpm, 12 breaths/min, still accelerometer (postural sway, faint tremor);
* ``walking``: 72 bpm, 15 breaths/min, 1.8 steps/s with arm swing;
* ``running``: 150 bpm, 28 breaths/min, 2.8 steps/s with heel-strike impacts.

All are clean (signal quality ``clean``). ``dataset_scripts/make_sample_recording.py`` made them (and rewrites
them bit for bit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

SAMPLE_FILE = "sample_recording.npz"
"""The walking recording (the original single sample)."""
SAMPLE_FILES = {"resting": "sample_resting.npz", "walking": SAMPLE_FILE, "running": "sample_running.npz"}
"""Recording name -> file in ``normwear_hf/sample_data``, in the order :func:`load_sample_recordings` returns."""
_ATTRIBUTES = ("heart_rate_bpm", "respiration_rate_bpm", "activity", "units", "step_rate_hz", "signal_quality")

__all__ = [
    "SAMPLE_FILE",
    "SAMPLE_FILES",
    "Recording",
    "SampleRecording",
    "heart_rate_band",
    "load_sample_recording",
    "load_sample_recordings",
]


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


def heart_rate_band(bpm: float) -> str:
    """``"slow"`` below 60 bpm, ``"fast"`` above 100, else ``"normal"`` (the zero-shot heart-rate task's bands)."""
    return "slow" if bpm < 60 else ("normal" if bpm <= 100 else "fast")


@dataclass
class SampleRecording(Recording):
    """A bundled recording with a name and its known labels (in ``attributes`` and as properties)."""

    name: str = ""

    @property
    def activity(self) -> str:
        return self.attributes["activity"]

    @property
    def heart_rate_bpm(self) -> float:
        return float(self.attributes["heart_rate_bpm"])

    @property
    def respiration_rate_bpm(self) -> float:
        return float(self.attributes["respiration_rate_bpm"])

    @property
    def signal_quality(self) -> str:
        return self.attributes.get("signal_quality", "clean")

    @property
    def labels(self) -> dict[str, str | float]:
        """The known labels: activity, heart rate (bpm and band), breathing rate, signal quality."""
        return {
            "activity": self.activity,
            "heart_rate_bpm": self.heart_rate_bpm,
            "heart_rate_band": heart_rate_band(self.heart_rate_bpm),
            "respiration_rate_bpm": self.respiration_rate_bpm,
            "signal_quality": self.signal_quality,
        }

    def channel(self, channel_type: str) -> tuple[np.ndarray, float]:
        """The signal and sampling rate of the channel of type ``channel_type`` (``"ecg"``, ``"ppg"``, ...)."""
        if channel_type not in self.channel_types:
            raise ValueError(
                f"The {self.name} recording has no {channel_type!r} channel (it has {self.channel_types})."
            )
        index = self.channel_types.index(channel_type)
        return self.signals[index], self.sampling_rate[index]


def _load(name: str, file: str) -> SampleRecording:
    path = resources.files("normwear_hf").joinpath("sample_data", file)
    with resources.as_file(path) as local, np.load(local, allow_pickle=False) as archive:
        metadata = json.loads(str(archive["metadata"]))
        signals = [archive[kind].astype(np.float32) for kind in metadata["channel_types"]]
    return SampleRecording(
        signals=signals,
        sampling_rate=[float(r) for r in metadata["sampling_rate"]],
        channel_types=list(metadata["channel_types"]),
        channel_names=list(metadata["channel_names"]),
        attributes={key: metadata[key] for key in _ATTRIBUTES if key in metadata},
        name=metadata.get("name", name),
    )


def load_sample_recording() -> SampleRecording:
    """30 s of synthetic ECG (250 Hz), PPG (64 Hz), respiration (25 Hz) and wrist acceleration (32 Hz).

    The walking recording: its physiology is known (``attributes``: heart rate 72 bpm, 15 breaths/min,
    walking); see ``dataset_scripts/make_sample_recording.py`` for how it was made.
    """
    return _load("walking", SAMPLE_FILE)


def load_sample_recordings() -> list[SampleRecording]:
    """The three bundled recordings, resting (58 bpm, 12 /min), walking (72, 15) and running (150, 28)."""
    return [_load(name, file) for name, file in SAMPLE_FILES.items()]
