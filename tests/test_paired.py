"""Paired bootstrap differences between two methods scored on the same test sets."""

import numpy as np
import pytest

from normwear_hf.evaluation.paired import PairedScores, excludes_zero, paired_bootstrap


def _task(n: int, seed: int, strength_first: float, strength_second: float, seeds: int = 1) -> PairedScores:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)

    def scores(strength, k):
        noise = np.random.default_rng(seed * 100 + k + int(strength * 10)).standard_normal(n)
        return 1 / (1 + np.exp(-(strength * (2 * labels - 1) + noise)))

    return PairedScores(
        labels, [scores(strength_first, k) for k in range(seeds)], [scores(strength_second, k) for k in range(seeds)]
    )


def test_identical_methods_differ_by_exactly_zero():
    task = _task(200, 0, 1.0, 1.0)
    task.second = task.first
    result = paired_bootstrap({"a": task}, n=100)
    assert result["a"]["point"] == 0 and result["a"]["low"] == 0 and result["a"]["high"] == 0
    assert excludes_zero(result["macro"]) == "tie"


def test_a_clearly_better_method_has_an_interval_above_zero_and_the_macro_averages_tasks():
    tasks = {"easy": _task(300, 1, 2.0, 0.3), "hard": _task(300, 2, 1.5, 0.2, seeds=3)}
    result = paired_bootstrap(tasks, n=300, seed=0)
    for name in tasks:
        assert result[name]["low"] > 0 and excludes_zero(result[name]) == "better"
    assert result["macro"]["point"] == pytest.approx(np.mean([result[n]["point"] for n in tasks]))
    assert result["macro"]["low"] > 0 and result["macro"]["n_resamples"] == 300
    flipped = paired_bootstrap({n: PairedScores(t.references, t.second, t.first) for n, t in tasks.items()}, n=50)
    assert excludes_zero(flipped["macro"]) == "worse"


def test_pairing_is_tighter_than_separate_intervals():
    """Two strongly correlated methods: the paired interval sees a small, consistent gain."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 150)
    base = labels + rng.normal(0, 1.2, 150)
    task = PairedScores(labels, [base + 0.25 * labels], [base])
    result = paired_bootstrap({"t": task}, n=400)
    assert result["t"]["low"] > 0


def test_per_seed_differences_broadcast_a_single_baseline():
    task = _task(100, 3, 1.0, 0.5, seeds=3)
    task.second = task.second[:1]
    assert len(task.per_seed_differences()) == 3


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="at least one task"):
        paired_bootstrap({})
    with pytest.raises(ValueError, match="rows for 3 test references"):
        PairedScores(np.array([0, 1, 0]), [np.zeros(2)], [np.zeros(3)])
    with pytest.raises(ValueError, match="at least one score array"):
        PairedScores(np.array([0, 1]), [], [np.zeros(2)])
