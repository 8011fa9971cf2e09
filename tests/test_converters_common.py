"""Converter machinery: the restricted unpickler, atomic conversion and the dataset card.

A fake corpus module (installed under a corpus name in ``sys.modules``) stands in for a real converter, so these
tests need no corpus files; the WESAD and PPG-DaLiA tests run the real converters end to end.
"""

import logging
import os
import pickle
import sys
import types

import numpy as np
import pytest
import yaml

from normwear_hf.data.converters import CORPORA, common
from normwear_hf.data.converters.safe_pickle import (
    CorruptPickleError,
    UnsafePickleError,
    dump_legacy_pickle,
    load_pickle,
)
from normwear_hf.data.schema import WEARABLE_FEATURES, make_example


def test_size_category():
    assert common.size_category(5) == "n<1K"
    assert common.size_category(1_000) == "1K<n<10K"
    assert common.size_category(65_000) == "10K<n<100K"


# ----------------------------------------------------------------------------------------------------------------
# Restricted unpickler
# ----------------------------------------------------------------------------------------------------------------


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


class _EvalExploit:
    def __reduce__(self):
        return (eval, ("__import__('pathlib').Path('pwned_eval.txt').write_text('x')",))


def test_legacy_pickle_loads_like_the_releases(tmp_path):
    data = {
        "signal": {"wrist": {"BVP": np.linspace(0, 1, 5).reshape(-1, 1)}},
        "label": np.array([0, 1, 2], dtype=np.int32),
        "subject": "S2",
        "questionnaire": {"AGE": np.float64(27.0), "Gender": " m"},
    }
    path = tmp_path / "S2.pkl"
    dump_legacy_pickle(data, path)
    with open(path, "rb") as handle, pytest.raises(UnicodeDecodeError):
        pickle.load(handle)  # like the published files: Python-2 strings need encoding="latin1"
    loaded = load_pickle(path)
    np.testing.assert_array_equal(loaded["signal"]["wrist"]["BVP"], data["signal"]["wrist"]["BVP"])
    assert loaded["label"].dtype == np.int32 and loaded["subject"] == "S2"
    assert loaded["questionnaire"] == {"AGE": 27.0, "Gender": " m"}


def test_modern_pickles_of_arrays_load(tmp_path):
    data = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "y": [1, (2, 3)], "z": {4, 5}}
    for protocol in (2, 5):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps(data, protocol=protocol))
        loaded = load_pickle(path)
        np.testing.assert_array_equal(loaded["x"], data["x"])
        assert loaded["y"] == [1, (2, 3)] and loaded["z"] == {4, 5}


@pytest.mark.parametrize(
    "payload, marker, global_name", [(_Exploit, "pwned.txt", "system"), (_EvalExploit, "pwned_eval.txt", "eval")]
)
def test_malicious_pickle_is_refused_without_running(tmp_path, monkeypatch, payload, marker, global_name):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "S2" / "S2.pkl"
    path.parent.mkdir()
    path.write_bytes(pickle.dumps({"signal": payload()}, protocol=2))
    with pytest.raises(UnsafePickleError, match=global_name) as error:
        load_pickle(path)
    assert str(path) in str(error.value)
    assert isinstance(error.value, ValueError)
    assert not (tmp_path / marker).exists()


def test_corrupt_and_truncated_pickles_name_the_file(tmp_path):
    good = pickle.dumps({"x": np.arange(1000.0)}, protocol=2)
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(good[: len(good) // 2])
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"this is not a pickle at all")
    for path in (truncated, garbage):
        with pytest.raises(CorruptPickleError, match="truncated or corrupt") as error:
            load_pickle(path)
        assert str(path) in str(error.value)
    with pytest.raises(FileNotFoundError, match="missing.pkl"):
        load_pickle(tmp_path / "missing.pkl")


# ----------------------------------------------------------------------------------------------------------------
# convert() with a fake corpus module
# ----------------------------------------------------------------------------------------------------------------

FAKE = "bonn"  # a corpus name from CORPORA; the module is replaced by a fake in sys.modules


def _fake_module(subjects=("A", "B", "C", "D", "E"), windows=4, fail_after=None):
    module = types.ModuleType(f"normwear_hf.data.converters.{FAKE}")
    module.NAME = FAKE
    module.CARD = {
        "pretty_name": "Fake corpus",
        "license": "cc-by-4.0",
        "homepage": "https://example.org/fake",
        "citation": "@misc{fake, title={Fake}}",
        "description": "A fake corpus for tests.",
        "processing": "Two-second windows.",
        "task_categories": ["tabular-classification"],
        "modalities": ["ecg", "ppg"],
        "sampling_rates": {"ecg": 100.0, "ppg": 50.0},
        "label_names": {"state": {"0": "rest", "1": "active"}},
    }

    def iter_examples(raw_dir, progress=True):
        count = 0
        for s, subject in enumerate(subjects):
            for w in range(windows):
                if fail_after is not None and count == fail_after:
                    raise RuntimeError("simulated crash while reading the corpus")
                yield make_example(
                    [np.full(200, s + w / 10.0), np.arange(100.0)],
                    [100.0, 50.0],
                    ["ecg", "ppg"],
                    recording_id=f"{FAKE}/{subject or 'x'}/{s}#{w}",
                    source=FAKE,
                    subject_id=subject,
                    class_labels={"state": "rest" if w % 2 == 0 else "active"},
                    numeric_labels={"score": (float(w), "points")},
                )
                count += 1

    module.iter_examples = iter_examples
    return module


@pytest.fixture
def raw_dir(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    return folder


def _install(monkeypatch, module):
    monkeypatch.setitem(sys.modules, f"normwear_hf.data.converters.{FAKE}", module)


def _front_matter(path):
    text = path.read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1]), text


def test_convert_writes_split_dataset_and_card(tmp_path, raw_dir, monkeypatch):
    import datasets
    from huggingface_hub import DatasetCard

    _install(monkeypatch, _fake_module())
    out = tmp_path / "out"
    result = common.convert(FAKE, raw_dir, out, seed=0, test_fraction=0.2, progress=False)
    assert set(result) == {"train", "test"}
    assert result["train"].features == WEARABLE_FEATURES
    train_subjects, test_subjects = set(result["train"]["subject_id"]), set(result["test"]["subject_id"])
    assert len(test_subjects) == 1 and len(train_subjects) == 4 and train_subjects.isdisjoint(test_subjects)
    assert len(result["train"]) + len(result["test"]) == 20
    reloaded = datasets.load_from_disk(str(out))
    row = reloaded["test"][0]
    assert row["sampling_rate"] == [100.0, 50.0] and len(row["signals"][0]) == 200 and len(row["signals"][1]) == 100
    meta, text = _front_matter(out / "README.md")
    assert meta["license"] == "cc-by-4.0" and meta["pretty_name"] == "Fake corpus"
    assert meta["task_categories"] == ["tabular-classification"]
    assert {"ecg", "ppg", "wearables"} <= set(meta["tags"])
    assert meta["size_categories"] == ["n<1K"]
    assert meta["configs"][0]["data_files"] == [
        {"split": "train", "path": "data/train-*"},
        {"split": "test", "path": "data/test-*"},
    ]
    assert {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]} == {"train": 16, "test": 4}
    for fragment in ("A fake corpus for tests.", "| ecg | 100 |", "Two-second windows.", "0 = rest, 1 = active"):
        assert fragment in text
    assert "subject-wise" in text and "default_rng(0)" in text and "@misc{fake" in text
    assert f"| test | 4 | {next(iter(test_subjects))} | state: active 2, rest 2 | score: 0 / 1.5 / 3 points |" in text
    assert DatasetCard.load(out / "README.md").data.license == "cc-by-4.0"
    # Same seed, same split; another seed, another split.
    again = common.convert(FAKE, raw_dir, tmp_path / "again", seed=0, progress=False)
    assert again["test"]["recording_id"] == result["test"]["recording_id"]
    other = [
        set(common.convert(FAKE, raw_dir, tmp_path / f"s{s}", seed=s, progress=False)["test"]["subject_id"])
        for s in (1, 2, 3)
    ]
    assert any(subjects != test_subjects for subjects in other)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "out", "raw", "s1", "s2", "s3"]


def test_convert_without_subject_ids_falls_back_to_row_split(tmp_path, raw_dir, monkeypatch, caplog):
    _install(monkeypatch, _fake_module(subjects=("", ""), windows=5))
    with caplog.at_level(logging.WARNING, logger="normwear_hf.data.converters.common"):
        result = common.convert(FAKE, raw_dir, tmp_path / "out", test_fraction=0.2, progress=False)
    assert "row-wise split" in caplog.text
    assert len(result["test"]) == 2 and len(result["train"]) == 8
    assert "row-wise (the corpus has no subject ids)" in (tmp_path / "out" / "README.md").read_text()


def test_convert_test_fraction_zero_writes_train_only(tmp_path, raw_dir, monkeypatch):
    _install(monkeypatch, _fake_module())
    result = common.convert(FAKE, raw_dir, tmp_path / "out", test_fraction=0.0, progress=False)
    assert list(result) == ["train"] and len(result["train"]) == 20


def test_convert_errors(tmp_path, raw_dir, monkeypatch):
    with pytest.raises(ValueError, match="Unknown corpus 'nope'") as error:
        common.convert("nope", raw_dir, tmp_path / "out")
    assert all(name in str(error.value) for name in CORPORA)
    _install(monkeypatch, _fake_module())
    with pytest.raises(FileNotFoundError, match="does-not-exist"):
        common.convert(FAKE, tmp_path / "does-not-exist", tmp_path / "out", progress=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="overwrite"):
        common.convert(FAKE, raw_dir, tmp_path / "full", progress=False)
    _install(monkeypatch, _fake_module(subjects=()))
    with pytest.raises(ValueError, match="no rows"):
        common.convert(FAKE, raw_dir, tmp_path / "out", progress=False)
    broken = types.ModuleType("broken")
    broken.NAME = FAKE
    _install(monkeypatch, broken)
    with pytest.raises(ValueError, match="lacks CARD, iter_examples"):
        common.convert(FAKE, raw_dir, tmp_path / "out", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "raw"]


def test_crash_mid_conversion_leaves_nothing_that_looks_complete(tmp_path, raw_dir, monkeypatch):
    import datasets

    _install(monkeypatch, _fake_module(fail_after=7))
    with pytest.raises(RuntimeError, match="simulated crash"):
        common.convert(FAKE, raw_dir, tmp_path / "out", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]

    # A crash after the arrays are written (while writing the card): still nothing, and an old copy survives.
    _install(monkeypatch, _fake_module())
    common.convert(FAKE, raw_dir, tmp_path / "out", seed=0, progress=False)
    before = (tmp_path / "out" / "README.md").read_text()

    def boom(*args, **kwargs):
        raise OSError("disk full while writing the card")

    monkeypatch.setattr(common, "build_card", boom)
    with pytest.raises(OSError, match="disk full"):
        common.convert(FAKE, raw_dir, tmp_path / "out", seed=5, progress=False, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw"]
    assert (tmp_path / "out" / "README.md").read_text() == before
    assert len(datasets.load_from_disk(str(tmp_path / "out"))["train"]) == 16

    # A crash inside save_to_disk, part-way through the files.
    monkeypatch.undo()
    _install(monkeypatch, _fake_module())
    original = datasets.Dataset.save_to_disk

    def half_save(self, path, *args, **kwargs):
        original(self, path, *args, **kwargs)
        if path.endswith("test"):
            raise OSError("killed while saving")

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", half_save)
    with pytest.raises(OSError, match="killed while saving"):
        common.convert(FAKE, raw_dir, tmp_path / "new", progress=False)
    assert not (tmp_path / "new").exists()
    assert not any(p.name.startswith(".new") for p in tmp_path.iterdir())


def test_overwrite_replaces_a_finished_conversion(tmp_path, raw_dir, monkeypatch):
    _install(monkeypatch, _fake_module())
    common.convert(FAKE, raw_dir, tmp_path / "out", progress=False)
    _install(monkeypatch, _fake_module(subjects=("X", "Y"), windows=2))
    result = common.convert(FAKE, raw_dir, tmp_path / "out", progress=False, overwrite=True)
    assert len(result["train"]) + len(result["test"]) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw"]


def test_main_parses_the_cli(tmp_path, raw_dir, monkeypatch, capsys):
    _install(monkeypatch, _fake_module())
    out = tmp_path / "cli"
    assert (
        common.main([FAKE, str(raw_dir), "--out", str(out), "--seed", "2", "--test-fraction", "0.4", "--no-progress"])
        == 0
    )
    assert "train 12 rows, test 8 rows" in capsys.readouterr().out
    assert "seed 2" in (out / "README.md").read_text()
    assert common.main([str(raw_dir), "--out", str(out), "--overwrite", "--no-progress"], corpus=FAKE) == 0
    with pytest.raises(SystemExit):
        common.main([FAKE, str(raw_dir)])  # --out is required
    assert common.build_parser().prog == "normwear-hf convert"


def test_corpus_without_a_module_yet(monkeypatch):
    monkeypatch.setitem(sys.modules, "normwear_hf.data.converters.sleep_edf", None)
    with pytest.raises(ValueError, match="'sleep_edf' has no converter module"):
        common.load_corpus_module("sleep_edf")


def _bomb(tmp_path, name: str, payload: bytes):
    path = tmp_path / name
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize(
    "payload",
    [
        # bytearray(4e9): 35 bytes that used to allocate 4 GB
        b"\x80\x02cbuiltins\nbytearray\n\x8a\x08" + (4 * 10**9).to_bytes(8, "little") + b"\x85R.",
        # list(range(1e10))
        b"\x80\x02cbuiltins\nlist\ncbuiltins\nrange\n\x8a\x05" + (10**10).to_bytes(5, "little") + b"\x85R\x85R.",
        # numpy _reconstruct(ndarray, (1e10,), 'b')
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n\x8a\x05"
        + (10**10).to_bytes(5, "little")
        + b"\x85C\x01b\x87R.",
    ],
)
def test_pickle_bombs_are_refused_before_allocation(tmp_path, payload):
    from normwear_hf.data.converters.safe_pickle import PickleBombError

    with pytest.raises(PickleBombError, match=r"b\.pkl: the pickle asks for .* MiB"):
        load_pickle(_bomb(tmp_path, "b.pkl", payload))


def test_unknown_codec_is_a_clear_error(tmp_path):
    payload = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x07\x00\x00\x00nocodec\x86R."
    with pytest.raises(CorruptPickleError, match="codec 'nocodec'"):
        load_pickle(_bomb(tmp_path, "c.pkl", payload))
