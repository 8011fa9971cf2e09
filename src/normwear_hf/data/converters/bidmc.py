"""BIDMC PPG and Respiration dataset (CSV release) -> schema rows.

Layout (``bidmc_csv/`` of the PhysioNet release, records 01-53, 8 min each)::

    bidmc_01_Signals.csv    'Time [s], RESP, PLETH, V, AVR, II' at 125 Hz (ECG leads differ between records)
    bidmc_01_Numerics.csv   'Time [s], HR, PULSE, RESP, SpO2' at 1 Hz (monitor values)

Each record is cut into 30 s windows without overlap (16 per record; respiratory rate needs several breaths, the
model embeds a long row as 6 s pieces). Channels: RESP -> ``resp`` (impedance pneumography), PLETH -> ``ppg``,
every other column -> ``ecg`` (named by its lead). Numeric labels, the monitor's 1 Hz values averaged over the
window (zeros and NaN ignored; a label is left out when the window has none): ``heart_rate`` (HR, bpm),
``pulse_rate`` (PULSE, bpm), ``respiratory_rate`` (RESP, breaths/min) and ``spo2`` (%).
subject_id = ``bidmc:<record number>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..schema import make_example

NAME = "bidmc"
SAMPLING_RATE = 125.0
WINDOW_S = 30.0
NUMERICS = {
    "HR": ("heart_rate", "bpm"),
    "PULSE": ("pulse_rate", "bpm"),
    "RESP": ("respiratory_rate", "breaths/min"),
    "SpO2": ("spo2", "%"),
}
SIGNALS_FILE = re.compile(r"^bidmc_(\d+)_Signals\.csv$")

CARD = {
    "pretty_name": "BIDMC PPG and Respiration Dataset",
    "license": "odc-by",
    "homepage": "https://physionet.org/content/bidmc/1.0.0/",
    "citation": """@article{pimentel2017toward,
  title   = {Toward a Robust Estimation of Respiratory Rate From Pulse Oximeters},
  author  = {Pimentel, Marco A. F. and Johnson, Alistair E. W. and Charlton, Peter H. and Birrenkott, Drew and
             Watkinson, Peter J. and Tarassenko, Lionel and Clifton, David A.},
  journal = {IEEE Transactions on Biomedical Engineering},
  volume  = {64},
  number  = {8},
  pages   = {1914--1923},
  year    = {2017}
}""",
    "description": (
        "53 eight-minute ICU recordings (MIMIC-II, BIDMC) of impedance respiration, PPG and ECG at 125 Hz, with "
        "the monitor's 1 Hz heart rate, pulse rate, respiratory rate and SpO2. Rows are 30 s windows without "
        "overlap; numeric labels average the monitor values over the window. subject_id = `bidmc:<record>`."
    ),
    "processing": (
        f"Each 8 min record is cut into {WINDOW_S:g} s windows without overlap (a shorter tail is dropped). "
        "RESP -> resp, PLETH -> ppg, every other column (ECG leads II, V, AVR, ...) -> ecg, named by the column. "
        "Numeric labels average the 1 Hz monitor numerics whose time lies in the window; zeros and NaN count as "
        "missing, and a label with no valid value in the window is left out of that row."
    ),
    "task_categories": ["tabular-regression"],
    "modalities": ["resp", "ppg", "ecg"],
    "sampling_rates": {"resp": SAMPLING_RATE, "ppg": SAMPLING_RATE, "ecg": SAMPLING_RATE},
    "label_names": {"numeric labels (unit)": {name: unit for name, unit in NUMERICS.values()}},
}


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Header names (stripped) and a float matrix; empty cells and 'NaN' read as NaN."""
    if not path.is_file():
        raise ValueError(f"{path} is missing from the BIDMC CSV release.")
    with path.open() as handle:
        header = [name.strip() for name in handle.readline().strip().split(",")]
    if not header or header[0] != "Time [s]":
        raise ValueError(f"{path} is corrupt: the header must start with 'Time [s]', got {header[:1]}.")
    try:
        with np.errstate(invalid="ignore"):
            values = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=np.float64, invalid_raise=True)
    except ValueError as error:
        raise ValueError(f"{path} is corrupt: {error}") from error
    values = np.atleast_2d(values)
    if values.size == 0 or values.shape[1] != len(header):
        raise ValueError(f"{path} is corrupt: expected {len(header)} columns ({header}), got {values.shape}.")
    if np.isnan(values[:, 0]).any():
        raise ValueError(f"{path} is corrupt: the 'Time [s]' column has empty or non-numeric cells.")
    return header, values


def _channel_type(name: str) -> str:
    return {"RESP": "resp", "PLETH": "ppg"}.get(name, "ecg")


def iter_examples(raw_dir: Path, progress: bool = True) -> Iterator[dict]:
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise ValueError(f"{raw_dir} is not a folder; point raw_dir at the unpacked bidmc_csv folder.")
    records = sorted(
        (match[1], path) for path in raw_dir.rglob("bidmc_*_Signals.csv") if (match := SIGNALS_FILE.match(path.name))
    )
    if not records:
        raise ValueError(f"{raw_dir} holds no bidmc_XX_Signals.csv files (the BIDMC CSV release).")
    for number, signals_path in tqdm(records, desc=NAME, disable=not progress):
        record = f"bidmc_{number}"
        header, signals = _read_csv(signals_path)
        numerics_path = signals_path.with_name(f"{record}_Numerics.csv")
        numeric_header, numerics = _read_csv(numerics_path)
        steps = np.diff(signals[:, 0])
        if steps.size == 0 or abs(np.median(steps) - 1 / SAMPLING_RATE) > 1e-4:
            raise ValueError(f"{signals_path} is corrupt: its time column does not step at {SAMPLING_RATE:g} Hz.")
        names = header[1:]
        window = int(WINDOW_S * SAMPLING_RATE)
        for index, start in enumerate(range(0, len(signals) - window + 1, window)):
            piece = signals[start : start + window, 1:].T
            keep = [c for c in range(len(names)) if not np.isnan(piece[c]).all()]
            if not keep:
                continue
            start_s = float(signals[start, 0])
            inside = (numerics[:, 0] >= start_s) & (numerics[:, 0] < start_s + WINDOW_S)
            labels = {}
            for column, (label, unit) in NUMERICS.items():
                if column in numeric_header:
                    values = numerics[inside, numeric_header.index(column)]
                    values = values[np.isfinite(values) & (values > 0)]
                    if values.size:
                        labels[label] = (float(values.mean()), unit)
            yield make_example(
                [piece[c] for c in keep],
                SAMPLING_RATE,
                [_channel_type(names[c]) for c in keep],
                recording_id=f"{record}#{index}",
                source=NAME,
                subject_id=f"{NAME}:{number}",
                channel_names=[names[c] for c in keep],
                start_s=start_s,
                numeric_labels=labels,
            )
