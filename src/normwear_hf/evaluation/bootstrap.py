"""The percentile bootstrap over one or several test sets, shared by every interval the package reports.

:func:`~normwear_hf.evaluation.probe.bootstrap_ci` (one probe's score), :func:`~normwear_hf.evaluation.paired.
paired_bootstrap` (the difference of two methods on the same test sets) and :func:`~normwear_hf.zero_shot.evaluate.
bootstrap_auroc` (zero-shot AUROCs on held-out tasks) differ only in the statistic they score on a resample. They
all call :func:`resample`, so one seed draws the same resamples everywhere, and a resample on which a statistic is
undefined (AUROC of a single class) is treated the same way everywhere: skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["check_bootstrap_arguments", "percentile_interval", "resample"]


def check_bootstrap_arguments(n: int, confidence: float) -> None:
    """``ValueError`` unless ``n >= 1`` and ``0 < confidence < 1``."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}.")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")


def resample(
    sizes: Sequence[int], statistic: Callable[[int, np.ndarray], float], n: int, seed: int
) -> tuple[list[list[float]], list[float]]:
    """Score ``n`` bootstrap resamples of several test sets; returns each set's values and their macro means.

    In every resample each test set ``t`` (of ``sizes[t]`` cases, in order) is redrawn with replacement by one
    ``rng.integers`` call, and ``statistic(t, rows)`` scores it. A ``ValueError`` from ``statistic`` marks the value
    undefined: it is left out of that set's values, and the resample out of the macro values (the unweighted mean
    over the sets, kept only when every set is defined).
    """
    rng = np.random.default_rng(seed)
    per_set: list[list[float]] = [[] for _ in sizes]
    macro: list[float] = []
    for _ in range(n):
        drawn = []
        for index, size in enumerate(sizes):
            try:
                value = statistic(index, rng.integers(0, size, size))
            except ValueError:
                drawn.append(None)
                continue
            per_set[index].append(value)
            drawn.append(value)
        if all(value is not None for value in drawn):
            macro.append(float(np.mean(drawn)))
    return per_set, macro


def percentile_interval(values: Sequence[float], confidence: float) -> tuple[float, float]:
    """The central ``confidence`` percentile interval of ``values``; ``(nan, nan)`` when there are none."""
    if not len(values):
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
