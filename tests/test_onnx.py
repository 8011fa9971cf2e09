"""ONNX export: onnxruntime agrees with PyTorch, the wrapper runs without torch, the command refuses bad input."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from conftest import micro_config, random_scalograms
from test_cli_zero_shot import make_backbone_folder, make_zero_shot_folder

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from normwear_hf import (  # noqa: E402
    NormWearFeatureExtractor,
    NormWearForZeroShotClassification,
    NormWearModel,
    rhythm_features,
)
from normwear_hf import normwear_onnx as wrapper  # noqa: E402
from normwear_hf.cli import main  # noqa: E402
from normwear_hf.inference import embed  # noqa: E402
from normwear_hf.onnx_export import PARITY_ATOL, export_encoder, export_frontend, export_onnx  # noqa: E402
from normwear_hf.signal_processing import DEFAULT_SCALES, cwt_numpy, derivative_planes, resample  # noqa: E402

# Stated tolerance: float32 graphs agree with PyTorch to PARITY_ATOL (1e-4) in absolute terms on LayerNorm'd tokens
# and on embeddings, and to 1e-5 of the peak on CWT coefficients.
CWT_RTOL = 1e-5


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_frontend_graph_equals_the_cwt(tmp_path):
    export_frontend(DEFAULT_SCALES, tmp_path / "frontend.onnx")
    session = _session(tmp_path / "frontend.onnx")
    rng = np.random.default_rng(0)
    for shape in [(1, 1, 390), (2, 3, 390), (1, 2, 130), (3, 1, 700)]:
        signals = rng.standard_normal(shape).astype(np.float32)
        (out,) = session.run(None, {"signals": signals})
        expected = cwt_numpy(derivative_planes(signals), DEFAULT_SCALES)
        assert out.shape == expected.shape
        assert np.abs(out - expected).max() <= CWT_RTOL * np.abs(expected).max()


@pytest.mark.parametrize("fusion_mode", ["cls_attention", "mean"])
def test_encoder_graph_matches_pytorch_on_many_shapes(tmp_path, fusion_mode):
    torch.manual_seed(0)
    model = NormWearModel(micro_config(fusion_mode=fusion_mode)).eval()
    export_encoder(model, 390, tmp_path / "encoder.onnx")
    session = _session(tmp_path / "encoder.onnx")
    cases = [(1, 1, 388), (2, 3, 388), (3, 2, 260), (1, 4, 520)]  # batch, channels, time steps (other lengths too)
    for seed, (batch, channels, steps) in enumerate(cases):
        values = random_scalograms(batch, channels, steps, seed=seed)
        channel_mask = torch.ones(batch, channels, dtype=torch.int64)
        time_mask = torch.ones(batch, steps, dtype=torch.int64)
        if batch > 1:
            time_mask[-1, steps // 2 :] = 0  # a short recording, zero-padded
            if channels > 1:
                channel_mask[0, -1] = 0  # a recording with fewer channels
                values[0, -1] = 0
        with torch.no_grad():
            expected = model(values, channel_mask=channel_mask, time_mask=time_mask)
        hidden, token_mask = session.run(
            None,
            {"input_values": values.numpy(), "channel_mask": channel_mask.numpy(), "time_mask": time_mask.numpy()},
        )
        assert hidden.shape == tuple(expected.last_hidden_state.shape)
        assert np.abs(hidden - expected.last_hidden_state.numpy()).max() < PARITY_ATOL
        assert np.array_equal(token_mask.astype(bool), expected.token_mask.numpy())


def test_numpy_preprocessing_equals_the_feature_extractor():
    rng = np.random.default_rng(1)
    for rate, samples in [(250.0, 1500), (64.0, 384), (25.0, 150), (1000.0, 3000), (117.1875, 700), (65.0, 390)]:
        x = np.cumsum(rng.standard_normal((2, samples)), axis=1)
        ours, theirs = wrapper.resample(x, rate, 65.0), resample(x, rate, 65.0)
        assert ours.shape == theirs.shape
        assert np.abs(ours - theirs).max() <= 1e-9 * np.abs(theirs).max()
    extractor = NormWearFeatureExtractor()
    settings = {"jump_percentile": 95.0, "smoothing_sigma_seconds": 0.02, "sampling_rate": 65.0}
    window = rng.standard_normal((3, 390))
    window[1] = 5.0  # a flat channel
    ours, flat = wrapper.clean_windows(window, settings)
    theirs, their_flat, _ = extractor._clean(window)
    assert np.abs(ours - theirs).max() < 1e-9 and np.array_equal(flat, their_flat)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny zero-shot checkpoint exported with labels and int8 (the text encoder embeds the labels)."""
    root = tmp_path_factory.mktemp("onnx")
    source = make_zero_shot_folder(root / "zero_shot")
    out, metadata = export_onnx(source, root / "exported", labels="resting,running", int8=True)
    return source, out, metadata


def test_export_writes_every_graph_and_states_what_is_fixed(exported):
    _, out, metadata = exported
    names = {path.name for path in out.iterdir()}
    expected = {"frontend.onnx", "encoder.onnx", "encoder.int8.onnx", "zero_shot_head.onnx", "zero_shot_labels.npz"}
    assert expected | {"normwear_onnx.py", "normwear_onnx.json"} <= names
    assert json.loads((out / "normwear_onnx.json").read_text()) == metadata
    assert "fixed" in metadata["fixed"] and metadata["zero_shot"]["labels"] == ["resting", "running"]
    assert max(metadata["parity_at_export"].values()) < PARITY_ATOL
    # a head without rhythm keeps the graph it always had, so exports from before rhythm heads still run
    assert metadata["zero_shot"]["rhythm_size"] == 0 and "rhythm_max_abs_error" not in metadata["parity_at_export"]
    head_inputs = [node.name for node in _session(out / "zero_shot_head.onnx").get_inputs()]
    assert head_inputs == ["last_hidden_state", "token_mask", "question_embeds", "text_embeds"]


def test_wrapper_embeddings_and_answers_match_pytorch(exported):
    from transformers import pipeline

    from normwear_hf.checkpoint import load_quietly
    from normwear_hf.zero_shot import SentenceEncoder

    source, out, _ = exported
    backbone, extractor = load_quietly(source, backbone=True)
    runtime = wrapper.NormWearOnnx(out)
    rng = np.random.default_rng(2)
    recordings = [
        (rng.standard_normal((1, 2000)), 250.0),  # one channel, 8 s: a full and a partial window
        (rng.standard_normal((3, 64 * 6)), 64.0),  # three channels, exactly one window
        ([rng.standard_normal(25 * 10), rng.standard_normal(100 * 10)], [25.0, 100.0]),  # mixed rates
    ]
    for signals, rate in recordings:
        for pooling in ("recording", "probe", "channel"):
            ours = runtime.embed(signals, rate, pooling=pooling)
            theirs = embed(  # the wrapper scores no quality: compare with embed's unmasked path
                [signals], [rate], model=backbone, feature_extractor=extractor, pooling=pooling, quality_threshold=None
            )[0]
            assert ours.shape == theirs.shape
            assert np.abs(ours - theirs).max() < PARITY_ATOL
    model, _ = load_quietly(source)
    clf = pipeline("zero-shot-physio-classification", model=model, feature_extractor=extractor,
                   text_encoder=SentenceEncoder())  # fmt: skip
    signals, rate = recordings[0]
    expected = {
        row["label"]: row["score"] for row in clf(signals, sampling_rate=rate, candidate_labels=["resting", "running"])
    }
    answered = {row["label"]: row["score"] for row in runtime.zero_shot(signals, rate)}
    assert answered.keys() == expected.keys()
    assert all(abs(answered[label] - expected[label]) < 1e-4 for label in expected)
    quantised = wrapper.NormWearOnnx(out, int8=True).embed(signals, rate)
    assert np.corrcoef(quantised, runtime.embed(signals, rate))[0, 1] > 0.99


BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"torch", "transformers", "scipy", "normwear_hf"}:
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, Blocker())
    """
)


def test_wrapper_embeds_a_recording_where_torch_cannot_be_imported(exported, tmp_path):
    _, out, _ = exported
    recording = np.random.default_rng(3).standard_normal((2, 64 * 9))
    np.save(tmp_path / "recording.npy", recording)
    script = BLOCKER + textwrap.dedent(
        f"""
        import numpy as np
        try:
            import torch
        except ImportError:
            pass
        else:
            raise SystemExit("torch was importable")
        sys.path.insert(0, {str(out)!r})
        from normwear_onnx import NormWearOnnx

        model = NormWearOnnx({str(out)!r})
        vector = model.embed(np.load({str(tmp_path / "recording.npy")!r}), 64)
        np.save({str(tmp_path / "vector.npy")!r}, vector)
        print(model.zero_shot(np.load({str(tmp_path / "recording.npy")!r}), 64)[0]["label"])
        assert not any(name.split(".")[0] in {{"torch", "transformers", "scipy"}} for name in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {"resting", "running"}
    in_process = wrapper.NormWearOnnx(out).embed(recording, 64)
    assert np.abs(np.load(tmp_path / "vector.npy") - in_process).max() < 1e-6


def _beats(seconds: float, rate: float, bpm: float, seed: int = 0) -> np.ndarray:
    """Two channels with a clear rhythm: sharp ECG-like beats at ``bpm`` with some jitter, and a 0.25 Hz breath."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    onsets = np.cumsum(rng.normal(60.0 / bpm, 0.01, int(seconds * bpm / 60) + 2))
    ecg = sum(np.exp(-0.5 * ((t - onset) / 0.015) ** 2) - 0.2 * np.exp(-0.5 * ((t - onset - 0.25) / 0.06) ** 2)
              for onset in onsets)  # fmt: skip
    breath = np.sin(2 * np.pi * 0.25 * t) + 0.3 * t / seconds
    return np.stack([ecg, breath]) + 0.01 * rng.standard_normal((2, t.size))


def test_numpy_rhythm_descriptor_equals_rhythm_features():
    """The wrapper's scipy-free copy of rhythm_features: the same constants, peaks and numbers, also on plateaus
    (quantised sensors) where one rounding difference in the smoothing would move a peak."""
    from scipy.signal import find_peaks

    assert wrapper.RHYTHM_SIZE == rhythm_features.RHYTHM_SIZE
    assert np.array_equal(wrapper.LAG_EDGES, rhythm_features.LAG_EDGES)
    rng = np.random.default_rng(4)
    for _ in range(300):
        x = rng.integers(0, 4, size=rng.integers(0, 40)).astype(float)  # plateaus and ties everywhere
        distance, height = int(rng.integers(1, 6)), float(rng.integers(0, 4))
        for kwargs in ({}, {"distance": distance}, {"height": height}, {"distance": distance, "height": height}):
            assert np.array_equal(wrapper._find_peaks(x, **kwargs), find_peaks(x, **kwargs)[0]), (x, kwargs)
    t = np.arange(390) / 65.0
    windows = [
        _beats(6, 65.0, 72)[0],
        _beats(6, 65.0, 150, seed=1)[1],
        np.round(3 * np.sin(2 * np.pi * 1.1 * t)),  # an 8-level quantised sine: plateaus
        np.cumsum(np.round(rng.standard_normal(390))),
        rng.standard_normal(390),
        rng.standard_normal(200) * 1e3 + 7.0,
        rng.standard_normal(31),  # barely long enough
        rng.standard_normal(29),  # too short: zeros
        np.full(390, 2.5),  # flat: zeros
    ]
    for window in windows:
        ours, theirs = wrapper.rhythm_descriptor(window, 65.0), rhythm_features.rhythm_descriptor(window, 65.0)
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    batch = [np.stack(windows[:2]), np.stack(windows[2:5])]
    assert np.array_equal(wrapper.rhythm_values(batch, 65.0), rhythm_features.rhythm_values(batch, 65.0))


@pytest.fixture(scope="module")
def rhythm_exported(tmp_path_factory):
    """A tiny zero-shot checkpoint whose head reads rhythm descriptors, exported with labels."""
    root = tmp_path_factory.mktemp("onnx_rhythm")
    torch.manual_seed(1)
    config = micro_config(zero_shot_aggregator="msitf", zero_shot_rhythm_size=rhythm_features.RHYTHM_SIZE)
    model = NormWearForZeroShotClassification(config)
    with torch.no_grad():  # an untrained rhythm token is tiny next to the backbone's; make it count
        for layer in model.rhythm.layers[::2]:
            layer.weight.normal_(std=0.3)
    model.save_pretrained(root / "zero_shot")
    NormWearFeatureExtractor().save_pretrained(root / "zero_shot")
    out, metadata = export_onnx(root / "zero_shot", root / "exported", labels="slow heart rate,fast heart rate")
    return root / "zero_shot", out, metadata


def test_rhythm_head_export_and_wrapper_match_pytorch(rhythm_exported):
    from transformers import pipeline

    from normwear_hf.checkpoint import load_quietly
    from normwear_hf.zero_shot import SentenceEncoder

    source, out, metadata = rhythm_exported
    assert metadata["zero_shot"]["rhythm_size"] == rhythm_features.RHYTHM_SIZE
    assert max(metadata["parity_at_export"].values()) < PARITY_ATOL
    assert "rhythm_max_abs_error" in metadata["parity_at_export"]
    head = _session(out / "zero_shot_head.onnx")
    rhythm_input = {node.name: node.shape for node in head.get_inputs()}["rhythm_values"]
    assert rhythm_input == ["batch", "channels", rhythm_features.RHYTHM_SIZE]

    model, extractor = load_quietly(source)
    runtime = wrapper.NormWearOnnx(out)
    assert runtime.rhythm_size == rhythm_features.RHYTHM_SIZE
    signals, rate = _beats(13, 250.0, 72), 250.0  # two full windows and a 1 s remainder
    features = extractor(signals, rate, long_input="split", return_tensors="pt", return_rhythm=True)
    _, _, rhythm = runtime.windows(signals, rate, return_rhythm=True)
    assert rhythm.shape == (3, 2, rhythm_features.RHYTHM_SIZE) and rhythm.dtype == np.float32
    assert np.array_equal(rhythm, features["rhythm_values"].numpy())
    assert np.abs(rhythm[:2, 0]).max() > 0  # the beats gave the descriptor something to describe

    embeddings = np.load(out / "zero_shot_labels.npz")
    text_embeds, question_embeds = (torch.from_numpy(embeddings[key]) for key in ("text_embeds", "question_embeds"))

    def logits_with(rhythm_values: torch.Tensor):
        with torch.no_grad():
            inputs = {name: features[name] for name in ("channel_mask", "time_mask")}
            return model(features["input_values"], text_embeds, question_embeds, **inputs, rhythm_values=rhythm_values)

    expected = logits_with(features["rhythm_values"]).logits.numpy()
    no_rhythm = logits_with(torch.zeros_like(features["rhythm_values"])).logits.numpy()
    logits = runtime.zero_shot_logits(signals, rate)
    assert logits.shape == expected.shape
    assert np.abs(logits - expected).max() < PARITY_ATOL
    assert np.abs(no_rhythm - expected).max() > 100 * PARITY_ATOL  # the head does read the descriptor

    clf = pipeline("zero-shot-physio-classification", model=model, feature_extractor=extractor,
                   text_encoder=SentenceEncoder())  # fmt: skip
    labels = ["slow heart rate", "fast heart rate"]
    theirs = {row["label"]: row["score"] for row in clf(signals, sampling_rate=rate, candidate_labels=labels)}
    ours = {row["label"]: row["score"] for row in runtime.zero_shot(signals, rate)}
    assert ours.keys() == theirs.keys()
    assert all(abs(ours[label] - theirs[label]) < 1e-4 for label in theirs)


def test_rhythm_wrapper_runs_without_scipy(rhythm_exported, tmp_path):
    _, out, _ = rhythm_exported
    recording = _beats(8, 100.0, 90, seed=2)
    np.save(tmp_path / "recording.npy", recording)
    script = BLOCKER + textwrap.dedent(
        f"""
        import json
        import numpy as np
        sys.path.insert(0, {str(out)!r})
        from normwear_onnx import NormWearOnnx

        answers = NormWearOnnx({str(out)!r}).zero_shot(np.load({str(tmp_path / "recording.npy")!r}), 100)
        assert not any(name.split(".")[0] in {{"torch", "transformers", "scipy"}} for name in sys.modules)
        print(json.dumps(answers))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answered = {row["label"]: row["score"] for row in json.loads(result.stdout)}
    in_process = {row["label"]: row["score"] for row in wrapper.NormWearOnnx(out).zero_shot(recording, 100)}
    assert answered.keys() == in_process.keys()
    assert all(abs(answered[label] - in_process[label]) < 1e-6 for label in in_process)


def test_export_command_and_its_errors(tmp_path, capsys, monkeypatch):
    source = make_backbone_folder(tmp_path / "backbone")
    out = tmp_path / "edge"
    assert main(["export", str(source), "--onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "zero-shot head: skipped" in printed and (out / "encoder.onnx").is_file()
    assert main(["export", str(source), "--onnx", "--out", str(out)]) == 2  # exists, no --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export", str(source), "--out", str(tmp_path / "x"), "--int8"]) == 2
    assert "add --onnx" in capsys.readouterr().err
    assert main(["export", str(source), "--onnx", "--out", str(tmp_path / "y"), "--labels", "only-one"]) == 2
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    assert main(["export", str(source), "--onnx", "--out", str(tmp_path / "z")]) == 2
    assert 'pip install "normwear-hf[onnx]"' in capsys.readouterr().err
    with pytest.raises(ImportError, match="pip install onnxruntime"):
        wrapper.NormWearOnnx(out)


def test_the_export_command_reports_the_heads_parity_and_rhythm(rhythm_exported, tmp_path, capsys):
    source, _, _ = rhythm_exported
    assert main(["export", str(source), "--onnx", "--out", str(tmp_path / "edge"), "--labels", "slow,fast"]) == 0
    printed = capsys.readouterr().out
    assert "zero-shot head parity: cosine max |diff|" in printed
    assert "it reads rhythm descriptors (numpy copy max |diff| 0.0e+00)" in printed
