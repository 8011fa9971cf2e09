"""Bonn University epilepsy EEG (Andrzejak et al. 2001) -> schema rows.

Layout as downloaded: five sets, each a folder or a zip archive named after its letter (``Z``, ``O``, ``N``,
``F``, ``S``, any case; the paper calls them A-E) holding 100 single-channel segments ``Z001.txt`` ...
``Z100.txt`` (some sets use ``.TXT``): 4097 integer samples, one per line, at 173.61 Hz (23.6 s), in µV.

Sets: Z/A healthy, eyes open; O/B healthy, eyes closed (both surface EEG, 5 volunteers); N/C seizure-free
interval, hippocampal formation of the opposite hemisphere; F/D seizure-free interval, epileptogenic zone;
S/E seizure activity (all intracranial, 5 patients). Each segment is cut into four 6 s windows every 5.8 s (the
last one ends at 23.4 s), so each row matches the model window. The corpus does not say which volunteer or
patient recorded a segment, so ``subject_id`` is the segment (``bonn:Z001``): windows of one segment never straddle
a split. Class labels: ``set`` (Z/O/N/F/S) and ``seizure`` (``yes`` for set S, else ``no``).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..schema import make_example, window_example

NAME = "bonn"
SAMPLING_RATE = 173.61
SEGMENT_SAMPLES = 4097
WINDOW_S = 6.0
HOP_S = 5.8
SETS = {
    "Z": "A: healthy volunteers, eyes open (surface)",
    "O": "B: healthy volunteers, eyes closed (surface)",
    "N": "C: seizure-free interval, hippocampal formation of the opposite hemisphere (intracranial)",
    "F": "D: seizure-free interval, epileptogenic zone (intracranial)",
    "S": "E: seizure activity (intracranial)",
}
SEGMENT_FILE = re.compile(r"^([ZONFS])(\d{3})\.txt$", re.IGNORECASE)

CARD = {
    "pretty_name": "Bonn University epilepsy EEG (sets Z, O, N, F, S)",
    "license": "other",
    "homepage": "https://www.ukbonn.de/epileptologie/arbeitsgruppen/ag-lehnertz-neurophysik/downloads/",
    "citation": """@article{andrzejak2001indications,
  title   = {Indications of nonlinear deterministic and finite-dimensional structures in time series of brain
             electrical activity: Dependence on recording region and brain state},
  author  = {Andrzejak, Ralph G. and Lehnertz, Klaus and Mormann, Florian and Rieke, Christoph and David, Peter
             and Elger, Christian E.},
  journal = {Physical Review E},
  volume  = {64},
  number  = {6},
  pages   = {061907},
  year    = {2001}
}""",
    "description": (
        "500 single-channel EEG segments (5 sets x 100, 23.6 s at 173.61 Hz, µV): healthy surface EEG with eyes "
        "open (Z) and closed (O), intracranial EEG of epilepsy patients in seizure-free intervals (N, F) and during "
        "seizures (S). Each segment gives four 6 s windows (hop 5.8 s). Class labels: `set` and `seizure`. The "
        "corpus publishes no subject ids, so subject_id is the segment: windows of one segment stay in one split."
    ),
    "processing": (
        f"Each 4097-sample segment (23.6 s) is cut into four {WINDOW_S:g} s windows every {HOP_S:g} s (the last "
        "ends at 23.4 s; neighbouring windows share 0.2 s). Values are as published (µV). `seizure` is yes for set "
        "S only; the paper's binary tasks (e.g. Z vs S, O vs S, N/F vs S) are subsets of `set`."
    ),
    "task_categories": ["tabular-classification"],
    "modalities": ["eeg"],
    "sampling_rates": {"eeg": SAMPLING_RATE},
    "label_names": {"set": list(SETS), "seizure": ["no", "yes"]},
}


def _parse(text: bytes, where: str) -> np.ndarray:
    try:
        values = np.loadtxt(io.BytesIO(text), dtype=np.float64, ndmin=1)
    except ValueError as error:
        raise ValueError(f"{where} is corrupt: {error}") from error
    if values.ndim != 1 or values.size != SEGMENT_SAMPLES or not np.isfinite(values).all():
        raise ValueError(
            f"{where} is corrupt: expected {SEGMENT_SAMPLES} finite samples, one per line; got shape {values.shape}."
        )
    return values


def _segments(raw_dir: Path) -> dict[str, tuple[str, Callable[[], bytes]]]:
    """Segment id (``Z001``) -> (where, reader), from set folders and set zip archives under ``raw_dir``."""
    found: dict[str, tuple[str, Callable[[], bytes]]] = {}
    for path in sorted(raw_dir.rglob("*")):
        match = SEGMENT_FILE.match(path.name)
        if match and path.is_file():
            found.setdefault(match[1].upper() + match[2], (str(path), path.read_bytes))
    for archive in sorted(raw_dir.rglob("*.zip")):
        try:
            with zipfile.ZipFile(archive) as handle:
                members = [m for m in handle.namelist() if SEGMENT_FILE.match(Path(m).name)]
        except zipfile.BadZipFile as error:
            raise ValueError(f"{archive} is corrupt: {error}") from error
        for member in members:
            match = SEGMENT_FILE.match(Path(member).name)

            def read(archive=archive, member=member) -> bytes:
                with zipfile.ZipFile(archive) as handle:
                    return handle.read(member)

            found.setdefault(match[1].upper() + match[2], (f"{archive}:{member}", read))
    return found


def iter_examples(raw_dir: Path, progress: bool = True) -> Iterator[dict]:
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise ValueError(f"{raw_dir} is not a folder; point raw_dir at the folder holding the Z/O/N/F/S sets.")
    segments = _segments(raw_dir)
    if not segments:
        raise ValueError(
            f"{raw_dir} holds no Bonn segments (Z001.txt ... S100.txt, in set folders or Z.zip ... S.zip)."
        )
    for segment in tqdm(sorted(segments, key=lambda s: ("ZONFS".index(s[0]), s)), desc=NAME, disable=not progress):
        where, read = segments[segment]
        values = _parse(read(), where)
        row = make_example(
            [values],
            SAMPLING_RATE,
            ["eeg"],
            recording_id=segment,
            source=NAME,
            subject_id=f"{NAME}:{segment}",
            channel_names=["EEG"],
            class_labels={"set": segment[0], "seizure": "yes" if segment[0] == "S" else "no"},
        )
        yield from window_example(row, WINDOW_S, HOP_S)
