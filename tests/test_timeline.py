"""Timelines: streaming equals offline, live chunks equal whole arrays, quality masking, errors, CLI, sharding."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from conftest import micro_config

from normwear_hf import NormWearFeatureExtractor, NormWearModel
from normwear_hf.cli import main
from normwear_hf.inference import embed
from normwear_hf.modeling_normwear import channel_summaries, finish_pooling
from normwear_hf.quality import channel_quality, quality_mask
from normwear_hf.signal_processing import resample
from normwear_hf.streaming import StreamingResampler
from normwear_hf.timeline import LiveTimeline, timeline


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return NormWearModel(micro_config()).eval()


@pytest.fixture(scope="module")
def extractor():
    return NormWearFeatureExtractor()


def heart_like(seconds: float, rate: float, bpm: float = 70.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    phase = (t * bpm / 60.0) % 1.0
    return (
        np.exp(-(((phase - 0.3) / 0.03) ** 2))
        + 0.3 * np.sin(2 * np.pi * t * bpm / 60)
        + 0.05 * rng.standard_normal(t.size)
    )


@pytest.mark.parametrize("rate", [250.0, 64.0, 65.0, 117.1875, 25.0])
def test_streaming_resampler_equals_whole_recording_resampling(rate):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(int(rate * 120) + 3).cumsum()
    stream = StreamingResampler(rate)
    pieces, start = [], 0
    while start < x.size:
        size = int(rng.integers(1, int(rate * 20)))
        pieces.append(stream.push(x[start : start + size])[0])
        start += size
    pieces.append(stream.finish()[0])
    np.testing.assert_array_equal(np.concatenate(pieces), resample(x, rate, 65.0))


def test_timeline_windows_are_those_of_embed(model, extractor):
    """hop 6 s: the windows (and embeddings) of the existing offline path, feature_extractor.iter_batches."""
    ecg, acc = heart_like(300, 50), np.random.default_rng(2).standard_normal(300 * 25)
    rows = list(timeline([ecg, acc], [50, 25], 6.0, model=model, feature_extractor=extractor, quality_threshold=None))
    features = next(
        extractor.iter_batches([[ecg, acc]], sampling_rate=[[50, 25]], max_windows=100, return_tensors="pt")
    )
    with torch.no_grad():
        outputs = model(features["input_values"], features["channel_mask"], features["time_mask"], return_dict=True)
    expected = finish_pooling(*channel_summaries(outputs, "recording"), "recording").numpy()
    assert len(rows) == 50 and [row.start_s for row in rows[:2]] == [0.0, 6.0]
    np.testing.assert_allclose(np.stack([row.embedding for row in rows]), expected[:50], atol=2e-5)


def test_live_chunks_equal_offline_for_hours_of_signal(model, extractor):
    """2 h of a 2-channel recording at 8 and 5 Hz, hop 30 s, fed in random chunks: the same windows as offline."""
    hours = 2.0
    slow = heart_like(hours * 3600, 8.0, seed=3)
    slower = np.random.default_rng(4).standard_normal(int(hours * 3600 * 5)).cumsum() * 0.01
    options = dict(model=model, feature_extractor=extractor, batch_size=64)
    offline = list(timeline([slow, slower], [8.0, 5.0], 30.0, **options, progress=False))
    live = LiveTimeline([8.0, 5.0], 30.0, **options)
    rng = np.random.default_rng(5)
    got, i, j = [], 0, 0
    while i < slow.size:
        step = int(rng.uniform(0.1, 900) * 8)
        following = int(round((i + step) / 8.0 * 5.0))
        got += live.push([slow[i : i + step], slower[j:following]])
        i, j = i + step, following
    got += live.push([np.empty(0), slower[j:]])
    got += live.close()
    assert len(got) == len(offline) == int((hours * 3600 - 6) // 30) + 1
    assert [w.start_s for w in got] == [w.start_s for w in offline]
    np.testing.assert_allclose(
        np.stack([w.embedding for w in got]), np.stack([w.embedding for w in offline]), atol=2e-5
    )
    np.testing.assert_array_equal(np.stack([w.quality for w in got]), np.stack([w.quality for w in offline]))


def test_memmapped_npy_and_array_give_the_same_timeline(model, extractor, tmp_path):
    signals = np.stack([heart_like(120, 100), heart_like(120, 100, bpm=90, seed=1)])
    np.save(tmp_path / "rec.npy", signals)
    options = dict(model=model, feature_extractor=extractor)
    from_file = list(timeline(tmp_path / "rec.npy", 100, 6.0, chunk_seconds=25, **options))
    in_memory = list(timeline(signals, 100, 6.0, **options))
    np.testing.assert_allclose(np.stack([w.embedding for w in from_file]), np.stack([w.embedding for w in in_memory]))


def corrupted_channels(seconds: float = 60.0, rate: float = 100.0) -> dict[str, np.ndarray]:
    clean = heart_like(seconds, rate, seed=6)
    rng = np.random.default_rng(7)
    return {
        "flatline": np.full(clean.size, 0.4),
        "clipped": np.clip(clean, -0.1, 0.1),
        "saturated noise": np.clip(100 * rng.standard_normal(clean.size), -1, 1),
    }


def test_quality_scores_flag_corrupted_channels():
    rate = 65.0
    clean = heart_like(6, rate)[:390]
    bad = [channel[:390] for channel in corrupted_channels(6, rate).values()]
    scores = channel_quality(np.stack([clean, *bad]), rate, ["ecg"] * 4, np.array([0, 0, 0, 0.0]))
    assert scores.score[0] > 0.9 and (scores.score[1:] < 0.5).all()
    assert scores.problems(0.5) == ["", "flatline", "clipping", "clipping"]  # saturated noise sits at the rails
    missing = channel_quality(np.stack([clean]), rate, ["ecg"], np.array([0.5]))
    assert missing.problems(0.5) == ["missing"]


def test_quality_mask_keeps_one_channel():
    mask = quality_mask(np.ones((2, 2)), np.array([[0.9, 0.1], [0.2, 0.3]]), 0.5)
    np.testing.assert_array_equal(mask, [[1, 0], [0, 1]])
    np.testing.assert_array_equal(quality_mask(np.ones((1, 2)), np.zeros((1, 2)), None), [[1, 1]])


def masked_run(path: str, channels: list, types: list, threshold, model, extractor):
    """(embeddings, channels used [windows, C], quality [windows, C], problems) of a timeline or of ``embed``."""
    options = dict(model=model, feature_extractor=extractor, quality_threshold=threshold)
    if path == "timeline":
        rows = list(timeline(channels, 100.0, 6.0, channel_types=types, **options))
        used, quality = np.stack([r.channels_used for r in rows]), np.stack([r.quality for r in rows])
        return np.stack([r.embedding for r in rows]), used, quality, [r.problems for r in rows]
    out = embed([channels], [[100.0] * len(channels)], channel_types=[types], return_quality=True, **options)
    return out.embeddings, out.channels_used[0], out.quality[0], out.problems[0]


@pytest.mark.parametrize("path", ["timeline", "embed"])
@pytest.mark.parametrize("kind", ["flatline", "clipped", "saturated noise"])
def test_masking_protects_the_clean_channels_and_says_which_were_used(model, extractor, kind, path):
    ecg, ppg = heart_like(60, 100.0, seed=8), heart_like(60, 100.0, bpm=75, seed=9)
    bad = corrupted_channels(60, 100.0)[kind]
    reference = masked_run(path, [ecg, ppg], ["ecg", "ppg"], None, model, extractor)[0]
    masked, used, quality, problems = masked_run(path, [ecg, ppg, bad], ["ecg", "ppg", "ppg"], 0.5, model, extractor)
    unmasked = masked_run(path, [ecg, ppg, bad], ["ecg", "ppg", "ppg"], None, model, extractor)[0]
    assert np.abs(masked - reference).max() < 0.1 * np.abs(unmasked - reference).max()
    assert used.shape == (10, 3) and not used[:, 2].any() and used[:, :2].all()
    assert (quality[:, 2] < 0.5).all() and all(row[2] and not row[0] and not row[1] for row in problems)


def test_embed_and_the_timeline_score_quality_with_one_rule(model, extractor):
    """embed masks by default, with the timeline's scores (hop 6 s: the same windows); None feeds every channel."""
    channels, types = [heart_like(30, 100.0, seed=10), corrupted_channels(30, 100.0)["clipped"]], ["ecg", "ppg"]
    timeline_quality = masked_run("timeline", channels, types, 0.5, model, extractor)[2]
    default = embed([channels], [[100.0, 100.0]], model=model, feature_extractor=extractor, channel_types=[types])
    masked, used, quality, _ = masked_run("embed", channels, types, 0.5, model, extractor)
    np.testing.assert_allclose(quality, timeline_quality, atol=1e-6)
    np.testing.assert_array_equal(default, masked)
    assert isinstance(default, np.ndarray) and not used[:, 1].any() and used[:, 0].all()
    assert masked_run("embed", channels, types, None, model, extractor)[1].all()
    with pytest.raises(ValueError, match="quality_threshold"):
        embed([channels], [[100.0, 100.0]], model=model, feature_extractor=extractor, quality_threshold=2.0)


def test_huge_amplitudes_are_brought_to_unit_peak_as_the_extractor_does(model, extractor):
    """A channel beyond 1e30 (a unit or decoding error) scores and embeds as at unit scale, in timelines and embed."""
    ecg, ppg, types = heart_like(60, 100.0, seed=11), heart_like(60, 100.0, bpm=80, seed=12), ["ecg", "ppg"]
    for path in ("timeline", "embed"):
        plain = masked_run(path, [ecg, ppg], types, 0.5, model, extractor)
        huge = masked_run(path, [ecg * 1e200, ppg], types, 0.5, model, extractor)
        np.testing.assert_allclose(huge[2], plain[2], atol=1e-6)
        np.testing.assert_allclose(huge[0], plain[0], atol=1e-4)
        assert huge[1].all()
    with pytest.raises(ValueError, match="float64 limit"):  # resampling itself overflows: said, not NaN embeddings
        masked_run("timeline", [ecg * 1.7e308, ppg], types, 0.5, model, extractor)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(hop_seconds=0), "positive"),
        (dict(hop_seconds=-3), "positive"),
        (dict(hop_seconds=0.01), "too small"),
        (dict(hop_seconds=float("nan")), "positive"),
        (dict(candidate_labels=["only one"]), "at least two"),
        (dict(quality_threshold=2.0), "quality_threshold"),
        (dict(chunk_seconds=1), "chunk_seconds"),
        (dict(batch_size=0), "batch_size"),
    ],
)
def test_bad_arguments_are_clear_errors(model, extractor, kwargs, message):
    options = dict(hop_seconds=6.0, model=model, feature_extractor=extractor) | kwargs
    with pytest.raises(ValueError, match=message):
        timeline(np.zeros((1, 1000)), 65.0, **options)


def test_bad_recordings_are_clear_errors(model, extractor, tmp_path):
    options = dict(model=model, feature_extractor=extractor)
    with pytest.raises(ValueError, match="shorter than one"):
        timeline(np.zeros((1, 100)), 65.0, 6.0, **options)
    with pytest.raises(ValueError, match="time, channels"):
        timeline(np.zeros((1000, 3)), 65.0, 6.0, **options)
    with pytest.raises(ValueError, match="sampling_rate is required"):
        timeline(np.zeros((1, 1000)), None, 6.0, **options)
    with pytest.raises(ValueError, match="zero-shot"):
        timeline(np.zeros((1, 1000)), 65.0, 6.0, candidate_labels="a,b", **options)
    (tmp_path / "broken.npy").write_bytes(b"not a numpy file at all")
    with pytest.raises(ValueError, match="not a valid .npy file"):
        timeline(tmp_path / "broken.npy", 65.0, 6.0, **options)
    with pytest.raises(FileNotFoundError):
        timeline(tmp_path / "missing.npy", 65.0, 6.0, **options)


def test_long_gaps_are_masked_not_fatal(model, extractor):
    signal = heart_like(120, 100)
    signal[3000:6000] = np.nan  # 30 s gap: embed would refuse it, a timeline masks it
    rows = list(timeline([signal, heart_like(120, 100, seed=2)], 100, 6.0, model=model, feature_extractor=extractor))
    problems = [row.problems[0] for row in rows]
    assert "missing" in problems and not rows[0].problems[0]


def save_tiny_model(folder: Path) -> Path:
    torch.manual_seed(0)
    NormWearModel(micro_config()).save_pretrained(folder)
    NormWearFeatureExtractor().save_pretrained(folder)
    return folder


def test_cli_timeline_writes_table_and_picture(tmp_path, capsys):
    model = save_tiny_model(tmp_path / "tiny")
    np.save(tmp_path / "rec.npy", np.stack([heart_like(90, 50), np.full(90 * 50, 1.0)]))
    out = tmp_path / "timeline.parquet"
    args = ["timeline", str(tmp_path / "rec.npy"), "--hop", "3", "--sampling-rate", "50", "--model", str(model)]
    assert main([*args, "--channel-types", "ecg,ppg", "--out", str(out)]) == 0
    table = pq.read_table(out).to_pydict()
    assert len(table["start_s"]) == 29 and table["start_s"][1] == 3.0
    assert all(used == [True, False] for used in table["channels_used"])
    assert all(problem[1] == "flatline" for problem in table["problems"])
    assert (tmp_path / "timeline.png").stat().st_size > 10_000
    assert main([*args, "--out", str(out)]) == 2  # exists
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "t.parquet"), "--hop", "0"]) == 2
    assert main([*args, "--out", str(tmp_path / "t.parquet"), "--labels", "one"]) == 2
    no_rate = ["timeline", str(tmp_path / "rec.npy"), "--hop", "3", "--model", str(model)]
    assert main([*no_rate, "--out", str(tmp_path / "t.parquet")]) == 2
    assert "sampling rate" in capsys.readouterr().err


def _embed_command(folder: Path, model: Path, out: Path, rank: int, world: int) -> subprocess.Popen:
    env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": str(world), "NORMWEAR_RUN_ID": "test", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "normwear_hf.cli", "embed", str(folder), "--sampling-rate", "65"]
    return subprocess.Popen([*command, "--model", str(model), "--out", str(out)], env=env)


def test_two_processes_give_exactly_the_rows_of_one(tmp_path):
    model = save_tiny_model(tmp_path / "tiny")
    folder = tmp_path / "recordings"
    folder.mkdir()
    for index in range(5):
        np.save(folder / f"rec{index}.npy", heart_like(12 + index, 65.0, seed=index)[None])
    single = _embed_command(folder, model, tmp_path / "one.parquet", 0, 1)
    assert single.wait(timeout=300) == 0
    workers = [_embed_command(folder, model, tmp_path / "two.parquet", rank, 2) for rank in range(2)]
    assert all(worker.wait(timeout=300) == 0 for worker in workers)
    one, two = pq.read_table(tmp_path / "one.parquet"), pq.read_table(tmp_path / "two.parquet")
    assert one.column("file").to_pylist() == two.column("file").to_pylist()
    assert one.equals(two)
    assert not list(tmp_path.glob(".two.parquet*"))  # shards removed after the merge
