"""The neutral helpers in normwear_hf.utils: seeded splits and atomic writes."""

import os
from collections import Counter

import numpy as np
import pytest

from normwear_hf.utils.atomic import (
    atomic_writer,
    make_staging_folder,
    publish_files,
    publish_folder,
    write_text_atomic,
)
from normwear_hf.utils.splits import row_split, stratified_subsample, subject_split

# ---------------------------------------------------------------------------------------------------------- splits


def test_subject_split_keeps_subjects_apart_and_is_seeded():
    ids = [f"S{n}" for n in range(10) for _ in range(n + 1)]  # 10 subjects, 1..10 rows each
    train, test = subject_split(ids, test_fraction=0.2, seed=3)
    assert sorted(train + test) == list(range(len(ids)))
    assert {ids[i] for i in train}.isdisjoint({ids[i] for i in test})
    assert len({ids[i] for i in test}) == 2  # 0.2 of 10 subjects
    assert train == sorted(train) and test == sorted(test)
    assert subject_split(ids, 0.2, seed=3) == (train, test)
    others = {tuple(subject_split(ids, 0.2, seed=s)[1]) for s in range(8)}
    assert len(others) > 1  # the seed matters


def test_subject_split_bounds_and_errors():
    ids = ["a", "b", "a", "c"]
    _, test = subject_split(ids, test_fraction=0.01, seed=0)
    assert len({ids[i] for i in test}) == 1  # at least one test subject
    train, _ = subject_split(ids, test_fraction=0.99, seed=0)
    assert len({ids[i] for i in train}) == 1  # at least one train subject
    assert subject_split(ids, test_fraction=0.0) == ([0, 1, 2, 3], [])
    with pytest.raises(ValueError, match="at least 2 subjects"):
        subject_split(["a", "a"], 0.2)
    with pytest.raises(ValueError, match="no subject id"):
        subject_split(["a", "", "b"], 0.2)
    with pytest.raises(ValueError, match=r"test_fraction must be in \[0, 1\)"):
        subject_split(ids, 1.0)


def test_row_split_is_seeded_and_covering():
    train, test = row_split(10, 0.3, seed=1)
    assert len(test) == 3 and sorted(train + test) == list(range(10))
    assert row_split(10, 0.3, seed=1) == (train, test)
    assert row_split(10, 0.3, seed=2) != (train, test)


def test_stratified_subsample_allocation():
    labels = np.array(["a"] * 60 + ["b"] * 30 + ["c"] * 10)
    picked = stratified_subsample(labels, 10, seed=0)
    assert Counter(labels[picked].tolist()) == {"a": 6, "b": 3, "c": 1}
    assert np.all(np.diff(picked) > 0)
    rare = np.array(["a"] * 98 + ["b", "c"])
    assert Counter(rare[stratified_subsample(rare, 5, seed=3)].tolist()) == {"a": 3, "b": 1, "c": 1}
    np.testing.assert_array_equal(stratified_subsample(labels, 500), np.arange(100))


# --------------------------------------------------------------------------------------------------- atomic writes


def test_write_text_atomic_replaces_whole_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "card.md"
    target.write_text("old")
    assert write_text_atomic(target, "new") == target
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["card.md"]


def test_atomic_writer_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "cache.npy"
    np.save(target, np.zeros(3))
    with pytest.raises(RuntimeError, match="interrupted"), atomic_writer(target, "wb", suffix=".npy.tmp") as file:
        np.save(file, np.ones(3))
        raise RuntimeError("interrupted")
    np.testing.assert_array_equal(np.load(target), np.zeros(3))
    assert os.listdir(tmp_path) == ["cache.npy"]


def test_atomic_writer_uses_the_scratch_folder(tmp_path):
    refs, scratch = tmp_path / "refs", tmp_path / "scratch"
    seen = []
    with atomic_writer(refs / "main", scratch=scratch) as file:
        file.write("abc")
        seen = os.listdir(scratch)
    assert len(seen) == 1 and not os.listdir(scratch)  # the temporary lived in scratch, never in refs
    assert os.listdir(refs) == ["main"] and (refs / "main").read_text() == "abc"


def test_staging_folder_and_publish(tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(FileExistsError, match="not empty"):
        make_staging_folder(out, overwrite=False)
    staging = make_staging_folder(out, overwrite=True)
    assert staging.parent == tmp_path and staging.name.startswith(".model.partial-")
    (staging / "new.txt").write_text("new")
    publish_folder(staging, out)
    assert sorted(os.listdir(out)) == ["new.txt"] and sorted(os.listdir(tmp_path)) == ["model"]


def test_publish_files_removes_old_markers_first_and_moves_new_ones_last(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    for name, text in {"weights": "old", "index": "old", "config": "old", "log": "kept"}.items():
        (run / name).write_text(text)
    staging = make_staging_folder(run / "final", overwrite=True)
    for name in ("weights", "config", "index", "extra"):
        (staging / name).write_text("new")
    real_replace, seen = os.replace, []

    def replace(source, target):
        seen.append((os.path.basename(target), sorted(n for n in ("weights", "index") if (run / n).exists())))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    publish_files(staging, run, markers=("index", "weights"))
    assert [name for name, _ in seen] == ["config", "extra", "index", "weights"]
    assert seen[0][1] == []  # the old markers were gone before the first file moved
    assert {n: (run / n).read_text() for n in sorted(os.listdir(run))} == {
        "config": "new",
        "extra": "new",
        "index": "new",
        "log": "kept",
        "weights": "new",
    }


def test_atomic_writes_get_the_permissions_open_would_give(tmp_path):
    """mkstemp creates 0600 files; a model card or cache written atomically must stay readable to others."""
    previous = os.umask(0o022)
    try:
        written = write_text_atomic(tmp_path / "README.md", "card")
    finally:
        os.umask(previous)
    assert written.stat().st_mode & 0o777 == 0o644
