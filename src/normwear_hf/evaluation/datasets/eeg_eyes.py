"""biosignalsnotebooks EEG as a labelled task: eyes closed vs eyes open, from one occipital / parietal channel.

Data: OpenSignals files of biosignalsnotebooks 0.6.14 (``notebook_files/osf_files/signal_samples``), biosignalsplux
EEG at 1000 Hz, 16-bit raw ADC counts, stored as shipped. Each holds the EEG in ``raw/channel_1`` and a two-level
marker in ``raw/channel_5`` (about 22,000 and 54,000 counts; the corpus loader skips it as a marker):

- ``eeg_sample_closed_open_eyes`` (242 s; "Detection of neuronal alpha waves while eyes are opened or closed"):
  the marker is low for 0-57.9 s, then changes level about every 30 s (87.9, 118.0, 148.1, 178.8, 208.1,
  238.6 s): four low and four high periods.
- ``eeg_sample_o``, ``eeg_sample_0cm_h``, ``eeg_sample_1cm_h`` (65 s each; the electrode-placement recordings):
  the marker is low until 57.5-58.5 s, then high.

Labels: low = eyes closed, high = eyes open. The notebook "EEG - Electrode Placement" of biosignalsnotebooks
analyses these recordings over 0-60 s as the "time window of closed eyes", where the marker is low; and in every
file the relative alpha power (8-12 Hz over 2-30 Hz) is higher while the marker is low (alternating recording:
0.75-0.77 in each low period, 0.49-0.61 in each high period). The marker itself is how the recordings were
annotated; the level-to-state mapping rests on that notebook and on the alpha rhythm.

Left out: ``eeg_sample_p`` (its samples are the first 65 s of ``eeg_sample_closed_open_eyes``),
``eeg_sample_2cm_h`` (its marker stays at the low level throughout: no open period) and the
``*_v`` files (no marker channel).

Task: :data:`WINDOW_S` = 3 s windows without overlap, inside one marker period, at least :data:`MARGIN_S` = 1 s
from any level change; label ``eyes`` = ``closed`` / ``open``. Split by recording and time: the three 65 s
recordings and ``eeg_sample_closed_open_eyes`` before its third level change (closed, open, closed: 0-118 s)
train; the rest of ``eeg_sample_closed_open_eyes`` (open, closed, open, closed: 118-242 s) is the test set,
18 closed + 18 open windows, 2 s or more from the last train window. ``seed`` does not change the split.

Caveats: the participant(s) are not identified (likely one person); the test set is one recording; the
recordings are in the real pretraining corpus (source ``biosignalsnotebooks``, unlabelled).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...data.real_corpora import DATA_PACKAGES, MissingDataPackageError, install_command, package_dir
from ...data.schema import make_example
from ..tasks import Task

__all__ = ["MARGIN_S", "RECORDINGS", "WINDOW_S", "load_eeg_eyes", "marker_periods"]

WINDOW_S = 3.0
MARGIN_S = 1.0
EEG_CHANNEL, MARKER_CHANNEL = "channel_1", "channel_5"
ALTERNATING = "eeg_sample_closed_open_eyes"
RECORDINGS: dict[str, int] = {
    ALTERNATING: 7,
    "eeg_sample_o": 1,
    "eeg_sample_0cm_h": 1,
    "eeg_sample_1cm_h": 1,
}
"""Recording -> number of marker level changes it must show (the loader refuses a file that differs)."""
TEST_FROM_CHANGE = 3
"""The alternating recording is test from its third level change on."""
LEVEL_STATE = {False: "closed", True: "open"}


def marker_periods(marker: np.ndarray) -> list[tuple[int, int, bool]]:
    """``(start, stop, high)`` sample ranges of constant marker level (threshold: midway between the extremes)."""
    marker = np.asarray(marker, dtype=np.float64).reshape(-1)
    high = marker > (marker.min() + marker.max()) / 2
    changes = np.flatnonzero(np.diff(high.astype(np.int8))) + 1
    edges = [0, *changes.tolist(), marker.size]
    return [(start, stop, bool(high[start])) for start, stop in zip(edges[:-1], edges[1:])]


def _windows(start: int, stop: int, size: int, margin: int, first: bool, last: bool) -> list[int]:
    begin = start if first else start + margin
    end = stop if last else stop - margin
    return list(range(begin, end - size + 1, size))


def _read(path: Path) -> tuple[np.ndarray, np.ndarray, float, str]:
    import h5py

    with h5py.File(path, "r") as handle:
        devices = list(handle)
        if len(devices) != 1:
            raise ValueError(f"{path.name}: expected one device, found {devices}.")
        group = handle[devices[0]]
        eeg = np.asarray(group["raw"][EEG_CHANNEL][()], dtype=np.float64).reshape(-1)
        marker = np.asarray(group["raw"][MARKER_CHANNEL][()], dtype=np.float64).reshape(-1)
        label = str(group["raw"][EEG_CHANNEL].attrs.get("label", EEG_CHANNEL))
        return eeg, marker, float(group.attrs["sampling rate"]), f"EEG {label}"


def load_eeg_eyes(seed: int, **_: Any) -> Task:
    """The ``eeg_eyes`` task (see the module docstring)."""
    root = package_dir("biosignalsnotebooks")
    folder = None if root is None else root / DATA_PACKAGES["biosignalsnotebooks"].data_path
    if folder is None or package_dir("h5py") is None or not all((folder / f"{s}.h5").exists() for s in RECORDINGS):
        raise MissingDataPackageError(
            f"eeg_eyes needs biosignalsnotebooks' EEG samples and h5py. Install them with: "
            f"{install_command('biosignalsnotebooks')}"
        )
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    rates = set()
    names = set()
    for stem, expected in RECORDINGS.items():
        eeg, marker, rate, name = _read(folder / f"{stem}.h5")
        periods = marker_periods(marker)
        if len(periods) - 1 != expected or periods[0][2]:
            raise ValueError(
                f"{stem}: the marker changes level {len(periods) - 1} times (starting "
                f"{'high' if periods[0][2] else 'low'}); expected {expected} changes, starting low."
            )
        rates.add(rate)
        names.add(name)
        size, margin = int(round(WINDOW_S * rate)), int(round(MARGIN_S * rate))
        index = 0
        for number, (start, stop, high) in enumerate(periods):
            split = "test" if stem == ALTERNATING and number >= TEST_FROM_CHANGE else "train"
            for begin in _windows(start, stop, size, margin, number == 0, number == len(periods) - 1):
                parts[split].append(
                    make_example(
                        [eeg[begin : begin + size]],
                        rate,
                        ["eeg"],
                        recording_id=f"biosignalsnotebooks/{stem}#{index:03d}",
                        source="biosignalsnotebooks",
                        channel_names=[name],
                        start_s=begin / rate,
                        class_labels={"eyes": LEVEL_STATE[high], "recording": stem},
                    )
                )
                index += 1
    if len(rates) != 1 or len(names) != 1:
        raise ValueError(f"eeg_eyes: the recordings differ in rate {sorted(rates)} or channel {sorted(names)}.")
    return Task(
        name="eeg_eyes",
        kind="classification",
        label="eyes",
        train=parts["train"],
        test=parts["test"],
        split=(
            f"by recording and time: 3 recordings + {ALTERNATING} before its level change {TEST_FROM_CHANGE} "
            "(0-118 s) train, the rest of it (118-242 s) test"
        ),
        channel_types=("eeg",),
        channel_names=(names.pop(),),
        sampling_rate=rates.pop(),
        source="biosignalsnotebooks",
        notes=(
            "1 EEG channel, raw ADC counts at 1000 Hz; 3 s windows >= 1 s from marker level changes; label from the "
            "recorded two-level marker: low = eyes closed (biosignalsnotebooks' 'EEG - Electrode Placement' "
            "notebook analyses the low period as eyes closed; relative alpha power is higher there in every file), "
            "high = open; the test set is one recording, after its train part; the recordings are in the real "
            "pretraining corpus (source 'biosignalsnotebooks', unlabelled)"
        ),
        seed=seed,
    )
