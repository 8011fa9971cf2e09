"""The bundled sample recordings (known physiology, reproducible) and `normwear-hf demo`."""

import importlib.util
import json
import re
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import find_peaks
from test_cli_zero_shot import make_backbone_folder, make_zero_shot_folder

from normwear_hf.checkpoint import DEFAULT_CHECKPOINT
from normwear_hf.cli import main
from normwear_hf.demo import DEMO_QUESTIONS, PICTURE_NAME, patch_weight_map, run_demo
from normwear_hf.samples import SAMPLE_FILES, SampleRecording, load_sample_recording, load_sample_recordings
from normwear_hf.zero_shot import SentenceEncoder

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KNOWN = {  # name: (activity, heart rate bpm, breaths per minute, heart-rate band)
    "resting": ("resting", 58.0, 12.0, "slow"),
    "walking": ("walking", 72.0, 15.0, "normal"),
    "running": ("running", 150.0, 28.0, "fast"),
}


@pytest.fixture(scope="module")
def recordings() -> list[SampleRecording]:
    return load_sample_recordings()


@pytest.fixture(scope="module")
def zero_shot_folder(tmp_path_factory):
    return make_zero_shot_folder(tmp_path_factory.mktemp("models") / "zero_shot")


def _dominant_frequency(signal: np.ndarray, rate: float, low: float, high: float) -> float:
    """Peak of the zero-padded spectrum between ``low`` and ``high`` Hz (finer than 1 / duration)."""
    x = np.asarray(signal, dtype=np.float64) - np.mean(signal)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), n=1 << 16))
    frequencies = np.fft.rfftfreq(1 << 16, 1 / rate)
    band = (frequencies >= low) & (frequencies <= high)
    return float(frequencies[band][spectrum[band].argmax()])


def test_sample_recordings_have_the_documented_physiology(recordings):
    assert [r.name for r in recordings] == list(KNOWN) == list(SAMPLE_FILES)
    for recording in recordings:
        activity, heart_rate, breathing, band = KNOWN[recording.name]
        assert recording.channel_types == ["ecg", "ppg", "resp", "acc"]
        assert recording.sampling_rate == [250.0, 64.0, 25.0, 32.0]
        assert [len(s) for s in recording.signals] == [7500, 1920, 750, 960]
        assert all(s.dtype == np.float32 and np.isfinite(s).all() for s in recording.signals)
        assert recording.duration_s == pytest.approx(30.0)
        assert recording.labels == {
            "activity": activity,
            "heart_rate_bpm": heart_rate,
            "heart_rate_band": band,
            "respiration_rate_bpm": breathing,
            "signal_quality": "clean",
        }
        # ECG: R peaks (the only waves above 0.6 mV) at the stated heart rate
        ecg, rate = recording.channel("ecg")
        peaks, _ = find_peaks(ecg, height=0.6, distance=int(0.25 * rate))
        assert 60.0 / np.diff(peaks / rate).mean() == pytest.approx(heart_rate, abs=3.0), recording.name
        # PPG: one systolic peak per beat
        ppg, rate = recording.channel("ppg")
        pulses, _ = find_peaks(ppg, prominence=0.5 * np.ptp(ppg), distance=int(0.25 * rate))
        assert 60.0 / np.diff(pulses / rate).mean() == pytest.approx(heart_rate, abs=3.0), recording.name
        # respiration: the breathing rate dominates its spectrum
        resp, rate = recording.channel("resp")
        assert 60 * _dominant_frequency(resp, rate, 0.05, 1.0) == pytest.approx(breathing, abs=1.0), recording.name
    acc = {r.name: r.channel("acc")[0] for r in recordings}
    assert np.std(acc["resting"]) < 0.02 < 0.1 < np.std(acc["walking"]) < np.std(acc["running"])
    assert all(np.mean(values) == pytest.approx(1.0, abs=0.05) for values in acc.values())  # gravity, in g
    assert _dominant_frequency(acc["walking"], 32.0, 1.0, 5.0) == pytest.approx(1.8, abs=0.05)
    assert _dominant_frequency(acc["running"], 32.0, 1.0, 5.0) == pytest.approx(2.8, abs=0.05)


def test_load_sample_recording_is_the_walking_recording(recordings):
    walking = load_sample_recording()
    assert isinstance(walking, SampleRecording) and walking.name == "walking"
    assert walking.attributes["heart_rate_bpm"] == 72.0 and walking.attributes["activity"] == "walking"
    for got, want in zip(walking.signals, recordings[1].signals):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="has no 'eeg' channel"):
        walking.channel("eeg")


def test_generator_script_reproduces_the_bundled_files():
    spec = importlib.util.spec_from_file_location(
        "make_sample_recording", ROOT / "dataset_scripts/make_sample_recording.py"
    )
    script = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = script  # its dataclasses resolve their annotations through sys.modules
    try:
        spec.loader.exec_module(script)
    finally:
        del sys.modules[spec.name]
    assert [profile.name for profile in script.PROFILES] == list(SAMPLE_FILES)
    for profile in script.PROFILES:
        assert SAMPLE_FILES[profile.name] == profile.file
        channels, metadata = script.make_recording(profile)
        source = resources.files("normwear_hf").joinpath("sample_data", profile.file)
        with resources.as_file(source) as local, np.load(local, allow_pickle=False) as archive:
            assert json.loads(str(archive["metadata"])) == json.loads(json.dumps(metadata))
            for kind, values in channels.items():
                np.testing.assert_array_equal(archive[kind], values.astype(np.float32))
            assert local.stat().st_size < 64 * 1024


def test_patch_weight_map_is_time_major():
    grid_t, grid_s = 388 // 13, 65 // 13
    weights = np.zeros(1 + grid_t * grid_s)
    weights[0] = 0.5  # [CLS] does not appear in the map
    weights[1 + 3 * grid_s + 2] = 0.25  # time patch 3, scale patch 2
    weights[1 + grid_t * grid_s - 1] = 0.25  # last patch: last time row, last scale column
    full = patch_weight_map(weights, 388, 65, (13, 13))
    assert full.shape == (388, 65)
    assert np.all(full[39:52, 26:39] == 0.25) and np.all(full[364:377, 52:65] == 0.25)
    assert full.sum() == pytest.approx(0.5 * 13 * 13)
    assert np.all(full[377:] == 0)  # time steps no patch covers


def test_demo_prints_answers_table_and_draws_the_picture(tmp_path, zero_shot_folder):
    lines = []
    result = run_demo(
        model=str(zero_shot_folder), out=tmp_path / "out", text_encoder=SentenceEncoder(), echo=lines.append
    )
    printed = "\n".join(lines)
    assert result.zero_shot and result.model_path == str(zero_shot_folder)
    for name in KNOWN:
        assert result.embeddings[name].shape == (32,) and np.isfinite(result.embeddings[name]).all()
        for question in DEMO_QUESTIONS:
            ranking = result.rankings[name][question.name]
            scores = [entry["score"] for entry in ranking]
            assert sorted(entry["label"] for entry in ranking) == sorted(question.labels)
            assert scores == sorted(scores, reverse=True) and sum(scores) == pytest.approx(1.0, abs=1e-5)
    assert re.search(r"known: running, heart rate 150 bpm \(fast\), breathing 28 /min, clean signal", printed)
    assert printed.count("embedding: shape (32,), norm ") == 3
    assert re.search(r"^\| recording +\| activity +\| heart rate +\| signal quality +\|$", printed, re.M)
    for name in KNOWN:
        assert re.search(rf"^\| {name} +\| (resting|walking|running) \d\.\d\d", printed, re.M)
    assert re.search(r"top label = known label for \d of 9", printed)
    assert re.search(r"where the model looked \(running, .*\): PPG \d+%, ACC \d+% of the MSiTF weight", printed)
    assert re.search(r"^time: [\d.]+ s in all", printed, re.M)
    picture = tmp_path / "out" / PICTURE_NAME
    assert result.picture == picture and f"picture: {picture}" in printed
    data = picture.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 20_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 1000 and height > 600


def test_demo_command_on_a_backbone_prints_embeddings_and_says_what_zero_shot_needs(tmp_path, monkeypatch, capsys):
    folder = make_backbone_folder(tmp_path / "backbone")
    assert main(["demo", "--model", str(folder), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert printed.count("embedding: shape (32,)") == 3
    assert "zero-shot classification needs a zero-shot checkpoint" in printed
    assert "| recording" not in printed and "where the model looked" not in printed
    assert (tmp_path / "out" / PICTURE_NAME).read_bytes().startswith(PNG_SIGNATURE)  # signals and scalograms only

    assert main(["demo", "--model", str(folder), "--out", str(tmp_path / "none"), "--no-plot"]) == 0
    assert "picture" not in capsys.readouterr().out and not (tmp_path / "none").exists()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # not installed: the demo still runs
    assert main(["demo", "--model", str(folder), "--out", str(tmp_path / "none")]) == 0
    assert "picture: skipped, matplotlib is not installed" in capsys.readouterr().out
    assert not (tmp_path / "none").exists()


def test_demo_help_and_bad_model(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--help"])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert all(flag in printed for flag in ("--model", "--out", "--bf16", "--no-plot"))
    assert main(["demo", "--model", "no/such/folder"]) == 2
    assert capsys.readouterr().err.startswith("normwear-hf demo: error: No model folder 'no/such/folder'")


@pytest.mark.skipif(
    not (Path(DEFAULT_CHECKPOINT) / "config.json").is_file(), reason="the bundled checkpoint is not installed"
)
def test_demo_with_the_bundled_checkpoint(tmp_path, capsys):
    """The README's first command: `normwear-hf demo` with the bundled zero-shot checkpoint."""
    assert main(["demo", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^\| recording +\| activity", printed, re.M)
    assert (tmp_path / PICTURE_NAME).read_bytes().startswith(PNG_SIGNATURE)
    seconds = float(re.search(r"^time: ([\d.]+) s in all", printed, re.M).group(1))
    assert seconds < 60  # < 30 s on 2 idle cores; slack for a busy test machine
