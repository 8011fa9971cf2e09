"""Paired comparisons of two methods on the same test sets: does A beat B, by how much, and how sure are we?

Two methods probed on one task are scored on the *same* test recordings, so their scores are correlated; an
interval on each score separately (what ``bootstrap_ci`` gives) overlaps long after the difference itself is
clear. Here every bootstrap resample of a task's test set scores both methods, and the difference is taken
inside the resample. A macro over tasks redraws each task's test set independently and averages the tasks'
differences. Several pretraining seeds enter as lists of score arrays: each resample averages the metric over
the seeds of a side, so the interval covers test-set sampling for the seed-averaged model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .bootstrap import check_bootstrap_arguments, percentile_interval, resample
from .probe import _metric_function


@dataclass
class PairedScores:
    """One task: test references and, per side, one score array per seed (or one for a seedless baseline).

    ``metric`` is a :func:`~normwear_hf.evaluation.probe.bootstrap_ci` metric name (``"auroc"``, ...); for
    ``"auroc"`` the scores are positive-class probabilities ``[n]`` or class probabilities ``[n, classes]``.
    """

    references: np.ndarray
    first: Sequence[np.ndarray]
    second: Sequence[np.ndarray]
    metric: str = "auroc"

    def __post_init__(self) -> None:
        self.references = np.asarray(self.references)
        self.first = [np.asarray(s) for s in self.first]
        self.second = [np.asarray(s) for s in self.second]
        if not self.first or not self.second:
            raise ValueError("Each side needs at least one score array.")
        for scores in (*self.first, *self.second):
            if scores.shape[0] != self.references.shape[0]:
                raise ValueError(
                    f"A score array has {scores.shape[0]} rows for {self.references.shape[0]} test references."
                )

    def difference(self, sample: np.ndarray | None = None) -> float:
        """Seed-averaged metric of ``first`` minus that of ``second`` on the test rows ``sample`` (all: None)."""
        function = _metric_function(self.metric)
        rows = slice(None) if sample is None else sample
        references = self.references[rows]

        def side(arrays: Sequence[np.ndarray]) -> float:
            return float(np.mean([function(references, scores[rows]) for scores in arrays]))

        return side(self.first) - side(self.second)

    def per_seed_differences(self) -> list[float]:
        """Differences seed by seed (``first`` seed ``i`` against ``second`` seed ``i``, or its only array)."""
        function = _metric_function(self.metric)
        second = self.second if len(self.second) == len(self.first) else [self.second[0]] * len(self.first)
        return [float(function(self.references, a) - function(self.references, b)) for a, b in zip(self.first, second)]


def _interval(point: float, values: list[float], confidence: float) -> dict[str, float]:
    low, high = percentile_interval(values, confidence)
    return {"point": point, "low": low, "high": high, "n_resamples": len(values)}


def format_difference(interval: Mapping[str, float]) -> str:
    """A paired difference as the tables print it: ``+0.032 [+0.001, +0.064]``."""
    return f"{interval['point']:+.3f} [{interval['low']:+.3f}, {interval['high']:+.3f}]"


def paired_bootstrap(
    tasks: Mapping[str, PairedScores], n: int = 1000, seed: int = 0, confidence: float = 0.95
) -> dict[str, dict[str, float]]:
    """Paired percentile-bootstrap intervals of ``first - second`` per task and for their unweighted macro.

    Returns ``{task: {"point", "low", "high", "n_resamples"}, ..., "macro": {...}}``. A resample on which a
    task's metric is undefined (AUROC on a single class) is skipped for that task and for the macro.
    """
    if not tasks:
        raise ValueError("paired_bootstrap needs at least one task.")
    check_bootstrap_arguments(n, confidence)
    names = list(tasks)
    sizes = [tasks[name].references.shape[0] for name in names]
    per_task, macro = resample(sizes, lambda index, rows: tasks[names[index]].difference(rows), n, seed)
    points = {name: tasks[name].difference() for name in names}
    result = {name: _interval(points[name], values, confidence) for name, values in zip(names, per_task)}
    result["macro"] = _interval(float(np.mean(list(points.values()))), macro, confidence)
    return result


def excludes_zero(interval: Mapping[str, float]) -> str:
    """``"better"`` / ``"worse"`` when the interval lies above / below 0, else ``"tie"``."""
    if interval["low"] > 0:
        return "better"
    if interval["high"] < 0:
        return "worse"
    return "tie"


__all__ = ["PairedScores", "excludes_zero", "paired_bootstrap"]
