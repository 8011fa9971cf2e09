"""Explanations: gradient x input lands where the label is (synthetic cases), the picture, the command."""

import numpy as np
import pytest
import torch
from conftest import micro_config
from test_cli_zero_shot import make_zero_shot_folder

from normwear_hf import NormWearFeatureExtractor, NormWearModel
from normwear_hf.cli import main
from normwear_hf.explain import LinearProbe, explain, plot_explanation

RATE = 65.0
SPAN = (2.0, 4.0)  # seconds of the window that carry the label


def _recording(rng, label: int, n: int = 390) -> np.ndarray:
    """Channel 0: a 1.2 Hz wave (pulse-like), never informative. Channel 1: weak noise, plus an 8 Hz burst in SPAN for
    label 1."""
    t = np.arange(n) / RATE
    x = rng.standard_normal((2, n)) * np.array([[0.1], [0.2]])
    x[0] += np.sin(2 * np.pi * 1.2 * t + rng.uniform(0, 2 * np.pi))
    if label:
        burst = (t >= SPAN[0]) & (t < SPAN[1])
        x[1] += 4.0 * np.sin(2 * np.pi * 8.0 * t + rng.uniform(0, 2 * np.pi)) * burst
    return x


@pytest.fixture(scope="module")
def zero_shot_folder(tmp_path_factory):
    return make_zero_shot_folder(tmp_path_factory.mktemp("models") / "zero_shot")


@pytest.fixture(scope="module")
def tiny_backbone() -> NormWearModel:
    torch.manual_seed(0)
    return NormWearModel(micro_config()).eval()


def test_probe_attribution_lands_on_the_informative_channel(tiny_backbone):
    """A linear probe trained on frozen embeddings: the channel that carries the label gets most of the credit."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    extractor = NormWearFeatureExtractor()
    labels = np.array([0, 1] * 16)
    features = extractor(np.stack([_recording(rng, y) for y in labels]), sampling_rate=RATE, return_tensors="pt")
    with torch.no_grad():
        embeddings = tiny_backbone.get_embeddings(
            features["input_values"], features["channel_mask"], features["time_mask"], pooling="probe"
        ).numpy()
    clf = LogisticRegression(C=0.1, max_iter=1000).fit(embeddings, labels)
    probe = LinearProbe(clf.coef_[0], clf.intercept_[0], pooling="probe", class_names=["burst"])
    result = explain(_recording(rng, 1), RATE, model=tiny_backbone, probe=probe, feature_extractor=extractor)
    assert result.kind == "probe" and result.answer == "burst"
    assert result.attribution.shape == (2, 388, 65) and result.signal.shape == (2, 388)
    assert result.channel_share[1] > 0.6, result.channel_share


def test_detector_attribution_lands_on_the_channel_and_time_span(tiny_backbone):
    """A hand-built differentiable detector that looks everywhere alike (8 Hz energy above a threshold, summed over
    every channel and time step): only the channel and span with the burst may get the credit."""
    rng = np.random.default_rng(1)
    scales = slice(1, 4)  # 1.1 .. 3.1: pseudo-frequencies 15 .. 5 Hz

    def detector(input_values, channel_mask, time_mask):
        energy = input_values[:, :, 0, :, scales].abs().mean(dim=-1)  # [N, C, T]
        return torch.nn.functional.softplus(4.0 * (energy - 2.0)).sum(dim=(1, 2))

    result = explain(_recording(rng, 1), RATE, model=tiny_backbone, score_fn=detector)
    assert result.kind == "custom"
    assert result.channel_share[1] > 0.9, result.channel_share
    profile = result.time_profile[1]
    seconds = (np.arange(profile.size) + 2) / RATE  # time step t ends on sample t + 2
    inside = profile[(seconds >= SPAN[0] - 0.25) & (seconds < SPAN[1] + 0.25)].sum() / profile.sum()
    assert inside > 0.9, inside


def test_windows_are_laid_end_to_end_and_the_picture_is_written(tiny_backbone, tmp_path):
    rng = np.random.default_rng(2)
    long = np.concatenate([_recording(rng, 0), _recording(rng, 1), _recording(rng, 0)[:, :200]], axis=1)
    result = explain(
        long, RATE, model=tiny_backbone, score_fn=lambda x, cm, tm: x.mean(dim=(1, 2, 3, 4)), channel_names=["a", "b"]
    )
    assert result.attribution.shape[1] == 388 + 388 + 198 and result.window_steps == 388
    assert "b:" in result.summary()
    picture = plot_explanation(result, tmp_path / "why.png")
    assert picture.stat().st_size > 10_000


def test_bad_requests_say_what_to_do(tiny_backbone):
    x = _recording(np.random.default_rng(3), 1)
    with pytest.raises(ValueError, match="nothing to explain"):
        explain(x, RATE, model=tiny_backbone)
    with pytest.raises(ValueError, match="no zero-shot head"):
        explain(x, RATE, model=tiny_backbone, labels=["a", "b"])
    with pytest.raises(ValueError, match="probe takes 5 features"):
        explain(x, RATE, model=tiny_backbone, probe=LinearProbe(np.ones(5)))
    with pytest.raises(ValueError, match="not one of"):
        explain(x, RATE, model=tiny_backbone, score_fn=lambda v, cm, tm: v.mean(dim=(1, 2, 3, 4)), target="zzz")


def test_explain_command_on_a_zero_shot_folder(zero_shot_folder, tmp_path, capsys):
    data = tmp_path / "walk.npy"
    np.save(data, _recording(np.random.default_rng(4), 1))
    out = tmp_path / "why.png"
    code = main(
        ["explain", str(data), "--sampling-rate", "65", "--labels", "resting,walking", "--model", str(zero_shot_folder)]
        + ["--out", str(out)]
    )
    assert code == 0 and out.stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "zero-shot answer" in printed and "of the attribution" in printed
    assert main(["explain", str(data), "--sampling-rate", "65", "--model", str(zero_shot_folder)]) == 2
    assert "nothing to explain" in capsys.readouterr().err
