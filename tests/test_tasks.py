"""Downstream tasks: sizes, classes, rates, channel types, splits, caps (normwear_hf.evaluation.tasks)."""

from collections import Counter

import numpy as np
import pytest

from normwear_hf.data.schema import validate_example
from normwear_hf.evaluation import tasks as tasks_module
from normwear_hf.evaluation.tasks import (
    TASKS,
    TaskSpec,
    available_tasks,
    load_task,
    missing_task_reason,
    stratified_subsample,
    ucr_data_dir,
)


def _needs(name):
    reason = missing_task_reason(name)
    if reason is not None:
        pytest.skip(reason)


def test_registry_lists_every_task():
    assert set(TASKS) == {
        "basic_motions",
        "seglearn_watch",
        "ecg200",
        "ecg5000",
        "synthetic_hr",
        "synthetic_rr",
        "synthetic_noise",
        "synthetic_effort",
    }
    assert set(available_tasks()) <= set(TASKS)
    with pytest.raises(KeyError, match="unknown task"):
        load_task("no_such_task")


def test_missing_package_is_skipped_with_the_pip_command(monkeypatch, capsys):
    spec = TaskSpec("fake", "classification", "fake", "no_such_module_xyz", "pip install no-such-pkg", None)
    monkeypatch.setitem(TASKS, "fake", spec)
    assert "fake" not in available_tasks(verbose=True)
    assert "pip install no-such-pkg" in capsys.readouterr().out
    with pytest.raises(ImportError, match="pip install no-such-pkg"):
        load_task("fake")


def test_basic_motions_official_split():
    _needs("basic_motions")
    from aeon.datasets import load_classification

    task = load_task("basic_motions")
    assert (task.kind, task.label, task.split, task.sampling_rate) == ("classification", "activity", "official", 10.0)
    assert task.channel_types == ("acc", "acc", "acc", "gyro", "gyro", "gyro")
    assert len(task.train) == len(task.test) == 40
    assert task.classes == ["badminton", "running", "standing", "walking"]
    assert Counter(task.y_train.tolist()) == Counter(task.y_test.tolist()) == {c: 10 for c in task.classes}
    X, y = load_classification("BasicMotions", split="test")
    row = task.test[7]
    assert row["sampling_rate"] == [10.0] * 6 and [len(s) for s in row["signals"]] == [100] * 6
    np.testing.assert_allclose(np.stack(row["signals"]), X[7], rtol=1e-6, atol=1e-6)
    assert task.y_test[7] == y[7]
    validate_example(row)


def test_seglearn_watch_subject_wise_split_is_seeded():
    _needs("seglearn_watch")
    task = load_task("seglearn_watch", seed=0)
    assert (len(task.train), len(task.test)) == (112, 28)
    assert task.split == "subject-wise 80/20 seed 0"
    assert task.sampling_rate == 50.0 and task.channel_types == ("acc", "acc", "acc", "gyro", "gyro", "gyro")
    assert len(task.classes) == 7 and set(task.y_test) == set(task.classes)
    train_subjects = {row["subject_id"] for row in task.train}
    test_subjects = {row["subject_id"] for row in task.test}
    assert len(train_subjects) == 8 and len(test_subjects) == 2 and not train_subjects & test_subjects
    lengths = {len(row["signals"][0]) for row in task.train + task.test}
    assert len(lengths) > 10  # variable length series
    again = load_task("seglearn_watch", seed=0)
    assert [r["recording_id"] for r in again.test] == [r["recording_id"] for r in task.test]
    splits = {frozenset(r["subject_id"] for r in load_task("seglearn_watch", seed=s).test) for s in range(4)}
    assert len(splits) > 1


def test_ecg200_official_split_at_model_rate():
    _needs("ecg200")
    task = load_task("ecg200")
    assert (len(task.train), len(task.test)) == (100, 100)
    assert task.channel_types == ("ecg",) and task.sampling_rate == 65.0
    assert "65 Hz" in task.notes and "not stated" in task.notes
    assert Counter(task.y_train.tolist()) == {"-1": 31, "1": 69}
    table = np.loadtxt(ucr_data_dir() / "ECG200_TRAIN.tsv")
    np.testing.assert_allclose(task.train[3]["signals"][0], table[3, 1:], rtol=1e-6)
    assert len(task.train[3]["signals"][0]) == 96


def test_ecg5000_max_test_is_a_stratified_seeded_subsample():
    _needs("ecg5000")
    full = load_task("ecg5000")
    assert (len(full.train), len(full.test)) == (500, 4500)
    assert Counter(full.y_test.tolist()) == {"1": 2627, "2": 1590, "3": 86, "4": 175, "5": 22}
    capped = load_task("ecg5000", max_test=100, seed=1)
    assert len(capped.test) == 100 and len(capped.train) == 500
    counts = Counter(capped.y_test.tolist())
    assert set(counts) == {"1", "2", "3", "4", "5"}
    for label, count in counts.items():  # proportional within one row (after one per class)
        assert abs(count - 100 * full.y_test.tolist().count(label) / 4500) <= 2
    full_ids = {r["recording_id"] for r in full.test}
    assert {r["recording_id"] for r in capped.test} <= full_ids
    same = load_task("ecg5000", max_test=100, seed=1)
    other = load_task("ecg5000", max_test=100, seed=2)
    ids = [r["recording_id"] for r in capped.test]
    assert ids == [r["recording_id"] for r in same.test] != [r["recording_id"] for r in other.test]
    assert "capped at 100" in capped.notes


def test_stratified_subsample_allocation():
    labels = np.array(["a"] * 60 + ["b"] * 30 + ["c"] * 10)
    picked = stratified_subsample(labels, 10, seed=0)
    assert Counter(labels[picked].tolist()) == {"a": 6, "b": 3, "c": 1}
    assert np.all(np.diff(picked) > 0)
    rare = np.array(["a"] * 98 + ["b", "c"])
    assert Counter(rare[stratified_subsample(rare, 5, seed=3)].tolist()) == {"a": 3, "b": 1, "c": 1}
    np.testing.assert_array_equal(stratified_subsample(labels, 500), np.arange(100))


@pytest.mark.parametrize(
    "name, modality, label",
    [
        ("synthetic_hr", "ppg", "heart_rate_bpm"),
        ("synthetic_rr", "resp", "respiration_rate_bpm"),
        ("synthetic_noise", "ecg", "noise"),
        ("synthetic_effort", "acc", "effort"),
    ],
)
def test_synthetic_tasks_have_disjoint_subjects(name, modality, label):
    _needs(name)
    task = load_task(name, seed=3, synthetic_size=(24, 12))
    assert (len(task.train), len(task.test)) == (24, 12)
    assert task.label == label and task.channel_types == (modality,) and task.sampling_rate is None
    assert all(row["channel_types"] == [modality] for row in task.train + task.test)
    train_subjects = {row["subject_id"] for row in task.train}
    test_subjects = {row["subject_id"] for row in task.test}
    assert not train_subjects & test_subjects
    assert all(s.startswith("synth-s10006-") for s in train_subjects)
    assert all(s.startswith("synth-s10007-") for s in test_subjects)
    if task.kind == "regression":
        y = task.y_train
        assert y.dtype == np.float64 and task.unit in {"bpm", "breaths/min"}
        low, high = (45.0, 180.0) if name == "synthetic_hr" else (8.0, 35.0)
        assert low <= y.min() and y.max() <= high and y.std() > 1.0
    else:
        assert set(task.y_train) <= ({"clean", "noisy"} if name == "synthetic_noise" else {"rest", "effort"})
    same = load_task(name, seed=3, synthetic_size=(24, 12))
    np.testing.assert_array_equal(same.train[5]["signals"][0], task.train[5]["signals"][0])


def test_synthetic_effort_label_follows_activity_and_acc_is_magnitude():
    _needs("synthetic_effort")
    task = load_task("synthetic_effort", synthetic_size=(30, 5))
    for row in task.train:
        classes = {e["name"]: e["value"] for e in row["class_labels"]}
        assert classes["effort"] == ("rest" if classes["activity"] == "rest" else "effort")
        assert row["channel_names"] == ["acc_mag"] and 0.5 < np.mean(row["signals"][0]) < 2.0
    assert set(task.y_train) == {"rest", "effort"}


def test_load_task_arguments_are_checked():
    with pytest.raises(ValueError, match="seed"):
        load_task("ecg200", seed=-1)
    with pytest.raises(ValueError, match="max_test"):
        load_task("ecg200", max_test=0)
    assert tasks_module.row_label({"numeric_labels": [{"name": "x", "value": 2.5}]}, "x", "regression") == 2.5
    with pytest.raises(KeyError, match="no classification label"):
        tasks_module.row_label({"class_labels": [], "recording_id": "r"}, "x")
