"""pyphysio: the tab-separated, bz2-compressed ``medical`` test recording (ECG, EDA, BVP, respiration)."""

from __future__ import annotations

import bz2
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..schema import make_example

logger = logging.getLogger(__name__)


PYPHYSIO_RATE_HZ = 2048.0  # pyphysio.TestData._fsamp_medical
PYPHYSIO_TYPES = {"ecg": "ecg", "eda": "eda", "bvp": "ppg", "resp": "resp"}


def _read_key_values(path: Path) -> dict[str, str]:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition(":")
            if sep:
                out[key.strip().lower()] = value.strip()
    return out


def load_pyphysio(root: Path) -> Iterator[dict[str, Any]]:
    """``medical.txt.bz2``: ECG, EDA, BVP and respiration, synchronous.

    The rate is the row count over the stated length (``info_medical``: 120 s): 245,760 rows give 2048 Hz, as
    pyphysio's own loader uses. (``info_medical`` also says ``fsamp: 1024``, which would make the heart beat
    at 34 bpm and the length 240 s; that line is wrong.)
    """
    source = "pyphysio"
    folder = root / "test_data"
    info = _read_key_values(folder / "info_medical")
    names = [n.strip() for n in info.get("signals", "ecg,eda,bvp,resp").split(",")]
    with bz2.open(folder / "medical.txt.bz2", "rt") as handle:
        table = np.loadtxt(handle, dtype=np.float64, ndmin=2)
    if table.shape[1] != len(names):
        raise ValueError(f"{source}: medical.txt.bz2 has {table.shape[1]} columns, info_medical names {names}.")
    rate = PYPHYSIO_RATE_HZ
    length_match = re.match(r"([\d.]+)", info.get("length", ""))
    if length_match:
        derived = table.shape[0] / float(length_match.group(1))
        if abs(derived - PYPHYSIO_RATE_HZ) > 1e-6 * PYPHYSIO_RATE_HZ:
            logger.warning(
                "%s: %d rows over %s gives %g Hz, not %g Hz", source, table.shape[0], info["length"], derived, rate
            )
        rate = derived
    stated = info.get("fsamp")
    if stated and float(stated) != rate:
        logger.info("%s: info_medical states fsamp %s; using %g Hz (rows / stated length)", source, stated, rate)
    kinds = []
    for name in names:
        if name.lower() not in PYPHYSIO_TYPES:
            raise ValueError(f"{source}: unknown signal {name!r} in info_medical.")
        kinds.append(PYPHYSIO_TYPES[name.lower()])
    yield make_example(
        table.T,
        rate,
        kinds,
        recording_id=f"{source}/medical",
        source=source,
        channel_names=names,
    )
