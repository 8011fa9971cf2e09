"""heartpy: three PPG recordings as csv, each rate read from the file's own timer (or its documentation)."""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..schema import make_example

logger = logging.getLogger(__name__)


HEARTPY_DEFAULT_RATE_HZ = 100.0  # data.csv has no timer; heartpy's documentation analyses it at 100 Hz


def _heartpy_rate(header: list[str], rows: list[list[str]]) -> tuple[float, str]:
    """Rate from the file's timer column: ``timer`` (milliseconds) or ``datetime`` (timestamps)."""
    column = {name.strip().lower(): i for i, name in enumerate(header)}
    if "timer" in column:
        times = np.array([float(row[column["timer"]]) for row in rows]) / 1000.0
        how = "timer column (ms)"
    elif "datetime" in column:
        times = np.array([dt.datetime.fromisoformat(row[column["datetime"]]).timestamp() for row in rows])
        how = "datetime column"
    else:
        return HEARTPY_DEFAULT_RATE_HZ, "documentation (no timer column)"
    span = times[-1] - times[0]
    if not span > 0:
        raise ValueError(f"heartpy: the {how} does not advance.")
    return (times.size - 1) / span, how


def load_heartpy(root: Path) -> Iterator[dict[str, Any]]:
    """``data.csv`` (no header, 100 Hz), ``data2.csv`` (``timer`` in ms: about 117 Hz), ``data3.csv``
    (``datetime`` stamps, jittery: mean rate about 100.4 Hz). All are PPG (the column is called ``hr``). The
    ``.log`` / ``.mat`` files are copies of the same recordings and are not read."""
    source = "heartpy"
    folder = root / "data"
    for stem in ("data", "data2", "data3"):
        path = folder / f"{stem}.csv"
        if not path.exists():
            logger.warning("%s: %s missing; skipped", source, path)
            continue
        with path.open(newline="") as handle:
            lines = [row for row in csv.reader(handle) if row]
        try:
            float(lines[0][-1])
            header, rows = [], lines
        except ValueError:
            header, rows = lines[0], lines[1:]
        column = [name.strip().lower() for name in header].index("hr") if header else 0
        values = np.array([float(row[column]) for row in rows], dtype=np.float64)
        rate, how = _heartpy_rate(header, rows) if header else (HEARTPY_DEFAULT_RATE_HZ, "documentation")
        logger.info("%s: %s.csv at %.4f Hz (from the %s)", source, stem, rate, how)
        yield make_example(
            [values],
            rate,
            ["ppg"],
            recording_id=f"{source}/{stem}",
            source=source,
            channel_names=["ppg"],
        )
