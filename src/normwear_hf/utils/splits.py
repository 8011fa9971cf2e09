"""Seeded train / test splits and subsamples, as row indices.

One implementation for every caller: the converters split published corpora by subject, the probes split
embeddings by subject, the probing tasks cap their test sets with a stratified subsample. The same seed gives the
same split everywhere, and a test in one place covers them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["check_test_fraction", "row_split", "stratified_subsample", "subject_split"]


def subject_split(subject_ids: Sequence[str], test_fraction: float = 0.2, seed: int = 0) -> tuple[list[int], list[int]]:
    """Row indices ``(train, test)`` such that no subject has rows in both.

    Rule: the distinct subject ids, sorted, are permuted by ``numpy.random.default_rng(seed)``; the first
    ``round(test_fraction * n_subjects)`` of them (at least 1 and at most ``n_subjects - 1`` when
    ``test_fraction > 0``) are the test subjects. The fraction is one of subjects, not of rows. Indices keep
    the input order. Needs at least two subjects (unless ``test_fraction == 0``) and no empty id.
    """
    check_test_fraction(test_fraction)
    ids = [str(subject) for subject in subject_ids]
    if any(subject == "" for subject in ids):
        empty = sum(subject == "" for subject in ids)
        raise ValueError(f"{empty} of {len(ids)} rows have no subject id; a subject-wise split needs one on every row.")
    subjects = sorted(set(ids))
    if test_fraction == 0:
        return list(range(len(ids))), []
    if len(subjects) < 2:
        raise ValueError(
            f"A subject-wise split needs at least 2 subjects, got {len(subjects)} ({subjects}); "
            "convert more subjects or pass test_fraction=0."
        )
    count = min(max(int(round(test_fraction * len(subjects))), 1), len(subjects) - 1)
    order = np.random.default_rng(seed).permutation(len(subjects))
    test_subjects = {subjects[i] for i in order[:count]}
    train = [i for i, subject in enumerate(ids) if subject not in test_subjects]
    test = [i for i, subject in enumerate(ids) if subject in test_subjects]
    return train, test


def row_split(num_rows: int, test_fraction: float = 0.2, seed: int = 0) -> tuple[list[int], list[int]]:
    """Seeded row-wise split (for corpora without subject ids): ``round(test_fraction * num_rows)`` test rows."""
    check_test_fraction(test_fraction)
    count = int(round(test_fraction * num_rows))
    if test_fraction > 0 and num_rows >= 2:
        count = min(max(count, 1), num_rows - 1)
    test = set(np.random.default_rng(seed).permutation(num_rows)[:count].tolist())
    return [i for i in range(num_rows) if i not in test], sorted(test)


def check_test_fraction(test_fraction: float) -> None:
    """``ValueError`` unless ``0 <= test_fraction < 1`` (callers check before they start reading a corpus)."""
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}.")


def stratified_subsample(labels: Sequence[Any] | np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded subsample of ``size`` items with class proportions kept.

    Each class first gets one item (when ``size`` is at least the number of classes), the remainder is shared
    in proportion to class size by largest remainder, never more than a class holds. ``size`` at or above the
    number of items returns all indices.
    """
    labels = np.asarray(labels)
    n = labels.size
    if size < 0:
        raise ValueError(f"size must be non-negative, got {size}.")
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    take = np.zeros(classes.size, dtype=np.int64)
    if size >= classes.size:
        take[:] = 1
    remaining = size - int(take.sum())
    room = counts - take
    while remaining > 0:
        quota = remaining * room / room.sum()
        whole = np.minimum(np.floor(quota).astype(np.int64), room)
        if whole.sum() == 0:  # hand out single items by largest fractional part
            order = np.argsort(-(quota - np.floor(quota)), kind="stable")
            for index in order[:remaining]:
                if room[index] > 0:
                    whole[index] += 1
        take += whole
        room -= whole
        remaining -= int(whole.sum())
    chosen = [rng.choice(np.flatnonzero(inverse == c), size=int(k), replace=False) for c, k in enumerate(take)]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
