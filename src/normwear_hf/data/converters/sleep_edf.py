"""Sleep-EDF Database Expanded (PhysioNet ``sleep-edfx``) -> 30 s epochs with sleep-stage labels.

Layout: ``sleep-cassette/SC4ssNE0-PSG.edf`` with ``SC4ssNx-Hypnogram.edf`` (``ss`` subject, ``N`` night, ``x`` the
scorer letter) and ``sleep-telemetry/ST7ssNJ0-PSG.edf`` with ``ST7ssNx-Hypnogram.edf``. A PSG file is paired with
the hypnogram that shares its first six characters. PSG signals (SC): EEG Fpz-Cz and Pz-Oz, EOG horizontal at
100 Hz; oro-nasal respiration, submental EMG (an envelope in SC) and rectal temperature at 1 Hz; the event marker
is dropped. Channel types: EEG -> ``eeg``, EOG -> ``other``, EMG -> ``emg``, Resp -> ``resp``, Temp -> ``temp``.

Hypnograms are EDF+ annotations 'Sleep stage W/1/2/3/4/R/?' and 'Movement time' (R&K scoring). Every scored 30 s
epoch becomes a row with class label ``stage`` (AASM names): W, N1, N2, N3 (R&K stages 3 and 4 merged), REM;
'?' and movement epochs are dropped. The cassette recordings last about 22 h, mostly wake, so only the sleep
period with 30 min of wake either side is kept (first to last non-wake epoch, +-30 min), as is customary.
subject_id = ``sleep_edf:`` + the first five characters (``SC400`` = cassette subject 00, both nights).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..schema import make_example
from .edf import read_edf

logger = logging.getLogger(__name__)

NAME = "sleep_edf"
EPOCH_S = 30.0
WAKE_MARGIN_S = 30 * 60.0
STAGES = {
    "Sleep stage W": "W",
    "Sleep stage 1": "N1",
    "Sleep stage 2": "N2",
    "Sleep stage 3": "N3",
    "Sleep stage 4": "N3",
    "Sleep stage R": "REM",
}
DROPPED = {"Sleep stage ?", "Movement time"}
CHANNEL_TYPES = {"EEG": "eeg", "EOG": "other", "EMG": "emg", "Resp": "resp", "Temp": "temp"}
PSG_FILE = re.compile(r"^(S[CT]\d{4})[A-Z0-9]{2}-PSG\.edf$", re.IGNORECASE)
HYPNOGRAM_FILE = re.compile(r"^(S[CT]\d{4})[A-Z0-9]{2}-Hypnogram\.edf$", re.IGNORECASE)

CARD = {
    "pretty_name": "Sleep-EDF Database Expanded (30 s sleep-stage epochs)",
    "license": "odc-by",
    "homepage": "https://physionet.org/content/sleep-edfx/1.0.0/",
    "citation": """@article{kemp2000analysis,
  title   = {Analysis of a sleep-dependent neuronal feedback loop: the slow-wave microcontinuity of the EEG},
  author  = {Kemp, Bob and Zwinderman, Aeilko H. and Tuk, Bert and Kamphuisen, Hilbert A. C. and Obery{\\'e}, Josefien
             J. L.},
  journal = {IEEE Transactions on Biomedical Engineering},
  volume  = {47},
  number  = {9},
  pages   = {1185--1194},
  year    = {2000}
}""",
    "description": (
        "Whole-night polysomnograms (Sleep Cassette: 78 healthy subjects, two nights; Sleep Telemetry: 22 subjects) "
        "with R&K hypnograms. One row per 30 s epoch: EEG Fpz-Cz, Pz-Oz and horizontal EOG at 100 Hz, plus "
        "respiration, submental EMG and temperature at 1 Hz where present (EMG at 100 Hz in Sleep Telemetry). "
        "Class label `stage` (W, N1, N2, N3 = R&K 3+4, REM); unscored and movement epochs dropped; sleep period "
        "kept with 30 min of wake either side. "
        "subject_id = `sleep_edf:SC4ss` / `sleep_edf:ST7ss` (both nights of a subject)."
    ),
    "processing": (
        "Every scored 30 s hypnogram epoch (onsets shifted by the hypnogram's start time relative to the PSG) becomes "
        "a row with all PSG channels but the event marker at their native rates. R&K stages 3 and 4 merge into N3; "
        "'Sleep stage ?' and 'Movement time' epochs are dropped. Only the sleep period is kept: from 30 min before "
        "the first to 30 min after the last non-wake epoch."
    ),
    "task_categories": ["tabular-classification"],
    "modalities": ["eeg", "other", "emg", "resp", "temp"],
    "sampling_rates": {"eeg": 100.0, "other": 100.0, "emg": 1.0, "resp": 1.0, "temp": 1.0},
    "label_names": {"stage": ["W", "N1", "N2", "N3", "REM"]},
}


def _channel_type(label: str) -> str | None:
    return CHANNEL_TYPES.get(label.split(" ")[0])


def scored_epochs(annotations: list[tuple[float, float, str]], path: Path) -> list[tuple[float, str]]:
    """(onset s, stage) per 30 s epoch, unscored and movement epochs left out; a stage lasting a fraction of an
    epoch beyond whole epochs keeps the whole ones (logged)."""
    epochs = []
    for onset, duration, text in annotations:
        if text in DROPPED:
            continue
        if text not in STAGES:
            if text.startswith("Sleep stage"):
                raise ValueError(f"{path} is corrupt: unknown stage annotation {text!r}.")
            continue
        count = int(duration / EPOCH_S + 1e-9)
        if abs(count * EPOCH_S - duration) > 1e-6:
            logger.warning(
                "%s: %r at %g s lasts %g s, not a whole number of 30 s epochs; keeping the %d whole epochs.",
                path,
                text,
                onset,
                duration,
                count,
            )
        epochs.extend((onset + k * EPOCH_S, STAGES[text]) for k in range(count))
    return epochs


def _pairs(raw_dir: Path) -> list[tuple[Path, Path]]:
    hypnograms = {}
    for path in raw_dir.rglob("*"):
        if match := HYPNOGRAM_FILE.match(path.name):
            hypnograms[(path.parent, match[1].upper())] = path
    pairs = []
    for path in sorted(raw_dir.rglob("*")):
        if match := PSG_FILE.match(path.name):
            key = (path.parent, match[1].upper())
            if key not in hypnograms:
                raise ValueError(f"{path.parent / (match[1] + '??-Hypnogram.edf')} is missing (the scoring of {path}).")
            pairs.append((path, hypnograms[key]))
    return pairs


def iter_examples(raw_dir: Path, progress: bool = True) -> Iterator[dict]:
    raw_dir = Path(raw_dir)
    pairs = _pairs(raw_dir) if raw_dir.is_dir() else []
    if not pairs:
        raise ValueError(f"{raw_dir} holds no Sleep-EDF recordings (SC4ssNE0-PSG.edf + SC4ssNx-Hypnogram.edf).")
    for psg_path, hypnogram_path in tqdm(pairs, desc=NAME, disable=not progress):
        psg = read_edf(psg_path)
        hypnogram = read_edf(hypnogram_path)
        offset = (hypnogram.start - psg.start).total_seconds()
        epochs = [(onset + offset, stage) for onset, stage in scored_epochs(hypnogram.annotations, hypnogram_path)]
        asleep = [onset for onset, stage in epochs if stage != "W"]
        if asleep:
            first, last = min(asleep) - WAKE_MARGIN_S, max(asleep) + WAKE_MARGIN_S
            epochs = [(onset, stage) for onset, stage in epochs if first <= onset <= last]
        signals = [signal for signal in psg.signals if _channel_type(signal.label)]
        if not signals:
            raise ValueError(f"{psg_path} has no EEG/EOG/EMG/Resp/Temp signal: {[s.label for s in psg.signals]}.")
        record = psg_path.name.split("-")[0]
        subject = record[:5].upper()
        for onset, stage in epochs:
            if onset < 0 or onset + EPOCH_S > psg.duration + 1e-6:
                continue
            pieces = []
            for signal in signals:
                start = int(round(onset * signal.sampling_rate))
                pieces.append(signal.data[start : start + int(round(EPOCH_S * signal.sampling_rate))])
            keep = [i for i, piece in enumerate(pieces) if not np.isnan(piece).all()]
            yield make_example(
                [pieces[i] for i in keep],
                [signals[i].sampling_rate for i in keep],
                [_channel_type(signals[i].label) for i in keep],
                recording_id=f"{record}#{int(round(onset / EPOCH_S))}",
                source=NAME,
                subject_id=f"{NAME}:{subject}",
                channel_names=[signals[i].label for i in keep],
                start_s=onset,
                class_labels={"stage": stage},
            )
