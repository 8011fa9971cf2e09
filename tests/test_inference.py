"""The one-call embedding API, the bundled sample, bad CLI usage and the README's promises (demo: test_demo.py)."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

import normwear_hf
from normwear_hf import NormWearFeatureExtractor, NormWearModel
from normwear_hf.cli import main
from normwear_hf.inference import embed, load_default_model
from normwear_hf.samples import load_sample_recording

ROOT = Path(__file__).resolve().parents[1]


def test_sample_recording_has_known_physiology():
    recording = load_sample_recording()
    assert recording.channel_types == ["ecg", "ppg", "resp", "acc"]
    assert recording.sampling_rate == [250.0, 64.0, 25.0, 32.0]
    assert [len(s) for s in recording.signals] == [7500, 1920, 750, 960]
    assert recording.duration_s == pytest.approx(30.0)
    assert recording.attributes["heart_rate_bpm"] == 72.0
    # the PPG's dominant frequency is the heart rate (72 bpm = 1.2 Hz)
    ppg = recording.signals[1] - recording.signals[1].mean()
    spectrum = np.abs(np.fft.rfft(ppg))
    frequencies = np.fft.rfftfreq(ppg.size, 1 / 64.0)
    assert frequencies[spectrum.argmax()] == pytest.approx(1.2, abs=0.1)


def test_default_model_is_the_bundled_checkpoint_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    first, extractor = load_default_model()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert isinstance(first, NormWearModel) and isinstance(extractor, NormWearFeatureExtractor)
    bundled = NormWearModel.from_pretrained(normwear_hf.DEFAULT_CHECKPOINT)
    for a, b in zip(first.parameters(), bundled.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "pooling, shape",
    [("recording", (1, 128)), ("channel", (1, 4, 128)), ("probe", (1, 512)), ("cls", (1, 4, 128))],
)
def test_embed_sample_recording(pooling, shape):
    """The bundled model is 128 wide (tiny); the sample recording has 4 channels."""
    recording = load_sample_recording()
    vectors = embed([recording.signals], sampling_rate=[recording.sampling_rate], pooling=pooling)
    assert vectors.shape == shape and np.isfinite(vectors).all()


def test_embed_long_recording_averages_its_windows():
    model, extractor = load_default_model()
    rng = np.random.default_rng(0)
    signals = rng.standard_normal((2, 3, 65 * 18)).astype(np.float32)  # 2 recordings of 3 windows
    # white noise fails the spectrum check: compare with the model's own path without quality masking
    whole = embed(
        signals, sampling_rate=65.0, model=model, feature_extractor=extractor, batch_size=2, quality_threshold=None
    )
    features = extractor(signals, sampling_rate=65.0, long_input="split", return_tensors="pt")
    assert features["recording_index"].tolist() == [0, 0, 0, 1, 1, 1]
    per_window = model.get_embeddings(
        features["input_values"], features["channel_mask"], features["time_mask"], pooling="recording"
    )
    np.testing.assert_allclose(whole[1], per_window[3:].mean(0).numpy(), rtol=1e-4, atol=1e-5)


def test_embed_mixed_channel_counts_and_bf16():
    rng = np.random.default_rng(1)
    recordings = [rng.standard_normal((1, 800)), rng.standard_normal((3, 500))]
    fp32 = embed(recordings, sampling_rate=[100.0, 100.0])
    bf16 = embed(recordings, sampling_rate=[100.0, 100.0], dtype=torch.bfloat16)
    assert fp32.shape == bf16.shape == (2, 128)
    cosine = (fp32 * bf16).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(bf16, axis=1)
    assert cosine.min() > 0.99


def test_embed_rejects_bad_arguments():
    with pytest.raises(ValueError, match="pooling must be one of"):
        embed(np.zeros((1, 500)), sampling_rate=100.0, pooling="max")
    with pytest.raises(ValueError, match="batch_size"):
        embed(np.zeros((1, 500)), sampling_rate=100.0, batch_size=0)
    with pytest.raises(ValueError, match="sampling_rate"):
        embed(np.zeros((1, 500)), sampling_rate=None)


def test_cli_reports_bad_usage():
    assert main([]) == 2


def test_readme_starts_with_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    head = readme.split("```bash", 1)[0].strip()
    assert head == "# normwear-hf", "nothing may come before the two commands but the title"
    install_and_demo, install_and_test = blocks[0].strip(), blocks[1].strip()
    assert install_and_demo.endswith("normwear-hf demo")
    assert install_and_test in (ROOT / ".ci" / "run").read_text()


def test_embed_accepts_one_channel_and_a_dataframe_like_the_pipeline(micro_model):
    import pandas as pd

    from normwear_hf import NormWearFeatureExtractor
    from normwear_hf.inference import embed
    from normwear_hf.zero_shot.pipeline import one_recording

    x = np.random.default_rng(0).standard_normal((2, 650))
    extractor = NormWearFeatureExtractor()
    one = embed(x[0], 65, model=micro_model, feature_extractor=extractor)
    np.testing.assert_allclose(one, embed(x[:1], 65, model=micro_model, feature_extractor=extractor))
    frame = pd.DataFrame(x.T, columns=["ecg", "ppg"])
    np.testing.assert_allclose(
        embed(frame, 65, model=micro_model, feature_extractor=extractor),
        embed(x, 65, model=micro_model, feature_extractor=extractor),
    )
    assert len(one_recording(x[0])) == 1 and len(one_recording(frame)) == 2
    with pytest.raises(ValueError, match="real numbers"):
        one_recording(np.array([1 + 2j, 3j]))  # the pipeline no longer drops imaginary parts silently


def test_one_window_loop_serves_embed_and_the_zero_shot_engine(micro_model):
    """forward_window_batches over iter_batches (embed's loop, the pipeline's, and the engine's token cache): the
    windows, their owners and the outputs are those of one direct call on the whole input."""
    from normwear_hf.modeling_normwear import forward_window_batches
    from normwear_hf.zero_shot.engine import backbone_tokens

    extractor = NormWearFeatureExtractor()
    rng = np.random.default_rng(0)
    signals = [rng.standard_normal((2, 65 * 20)), rng.standard_normal((3, 65 * 7))]  # 4 windows + 2 windows
    whole = extractor(signals, sampling_rate=65, long_input="split", return_tensors="pt")
    with torch.no_grad():
        direct = micro_model(whole["input_values"], whole["channel_mask"], whole["time_mask"], return_dict=True)
        pieces = list(
            forward_window_batches(
                micro_model, extractor.iter_batches(signals, sampling_rate=65, max_windows=4, return_tensors="pt")
            )
        )
    assert [len(features["recording_index"]) for features, _ in pieces] == [4, 2]
    owners = torch.cat([torch.as_tensor(features["recording_index"]) for features, _ in pieces])
    assert owners.tolist() == torch.as_tensor(whole["recording_index"]).tolist() == [0, 0, 0, 0, 1, 1]
    first, second = (outputs.pooler_output for _, outputs in pieces)
    torch.testing.assert_close(first, direct.pooler_output[:4, :2], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(second, direct.pooler_output[4:], atol=1e-5, rtol=1e-5)

    rows = [{"signals": list(x), "sampling_rate": [65.0] * len(x), "channel_types": ["ecg"] * len(x)} for x in signals]
    tokens = backbone_tokens(micro_model, extractor, rows, batch_size=4, progress=False)
    assert tokens.recording.tolist() == [0, 0, 0, 0, 1, 1]
    assert [h.shape[0] for h in tokens.hidden] == [2, 2, 2, 2, 3, 3]  # the real channels of each window
    torch.testing.assert_close(tokens.hidden[5].float(), direct.last_hidden_state[5], atol=2e-3, rtol=2e-3)
