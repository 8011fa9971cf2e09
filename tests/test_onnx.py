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

from normwear_hf import NormWearFeatureExtractor, NormWearModel  # noqa: E402
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
