"""The checkpoint that ships in the package: layout, size, loading paths, model card, and zero-shot behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import yaml
from transformers import AutoModel, pipeline

import normwear_hf
from normwear_hf import NormWearFeatureExtractor, NormWearForZeroShotClassification, NormWearModel
from normwear_hf.samples import load_sample_recordings

FOLDER = Path(normwear_hf.DEFAULT_CHECKPOINT)
EXPECTED_FILES = (
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "README.md",
    "zero_shot_results.json",
    "benchmark_results.json",
    "loss_curve.png",
)


def test_the_folder_is_complete_small_and_free_of_pickles_and_code():
    present = {path.name for path in FOLDER.iterdir()}
    assert set(EXPECTED_FILES) <= present
    assert not any(name.endswith((".bin", ".pt", ".pkl", ".py")) for name in present)
    assert sum(path.stat().st_size for path in FOLDER.iterdir()) <= 60 * 1024 * 1024
    config = json.loads((FOLDER / "config.json").read_text())
    assert config["architectures"] == ["NormWearForZeroShotClassification"]
    assert config["zero_shot_aggregator"] == "msitf" and config["zero_shot_calibration_temperature"] != 1.0


def test_one_call_loads_it_as_backbone_auto_model_and_zero_shot_model():
    backbone = NormWearModel.from_pretrained(normwear_hf.DEFAULT_CHECKPOINT).eval()
    auto = AutoModel.from_pretrained(normwear_hf.DEFAULT_CHECKPOINT).eval()
    zero_shot = NormWearForZeroShotClassification.from_pretrained(normwear_hf.DEFAULT_CHECKPOINT).eval()
    assert type(auto) is NormWearModel
    extractor = NormWearFeatureExtractor.from_pretrained(normwear_hf.DEFAULT_CHECKPOINT)
    recording = load_sample_recordings()[0]
    features = extractor([recording.signals], sampling_rate=[recording.sampling_rate], return_tensors="pt")
    inputs = {name: features[name] for name in ("input_values", "channel_mask", "time_mask")}
    with torch.no_grad():
        reference = backbone(**inputs).last_hidden_state
        assert torch.equal(auto(**inputs).last_hidden_state, reference)
        assert torch.equal(zero_shot.normwear(**inputs).last_hidden_state, reference)
    # pretrained, not random: the weights differ from a fresh initialisation of the same config
    fresh = NormWearModel(backbone.config)
    assert not torch.allclose(
        fresh.embeddings.patch_embeddings.projection.weight, backbone.embeddings.patch_embeddings.projection.weight
    )


def test_the_model_card_has_metadata_results_and_limits():
    text = (FOLDER / "README.md").read_text()
    front = yaml.safe_load(text.split("---")[1])
    assert front["library_name"] == "transformers"
    results = front["model-index"][0]["results"]
    benchmark = json.loads((FOLDER / "benchmark_results.json").read_text())
    assert len(results) >= len(benchmark["tasks"])
    for phrase in ("Not a medical device", "Never evaluated on", "normwear-hf pretrain", "loss_curve.png"):
        assert phrase in text


def test_zero_shot_answers_follow_the_sample_recordings_activity():
    clf = pipeline("zero-shot-physio-classification", model=normwear_hf.DEFAULT_CHECKPOINT)
    labels = ["resting", "walking", "running"]
    running_scores = {}
    for recording in load_sample_recordings():
        acc = [i for i, kind in enumerate(recording.channel_types) if kind == "acc"]
        result = clf(
            {"signal": [recording.signals[i] for i in acc], "sampling_rate": [recording.sampling_rate[i] for i in acc]},
            candidate_labels=labels,
            question="What activity is the person doing?",
        )
        assert abs(sum(entry["score"] for entry in result) - 1) < 1e-5
        scores = {entry["label"]: entry["score"] for entry in result}
        running_scores[recording.name] = scores["running"]
        assert result[0]["label"] == recording.activity
    # scores move with the input (the research code's stay at 0.496 / 0.504 whatever the signal)
    assert running_scores["running"] - running_scores["resting"] > 0.5
    assert np.isfinite(list(running_scores.values())).all()


def test_fine_tuning_from_it_trains_the_backbone_by_default():
    """Issue: the shipped config once carried freeze_backbone, so fine-tuning silently trained 2 of 115 tensors."""
    from normwear_hf import NormWearForSignalClassification

    assert "freeze_backbone" not in json.loads((FOLDER / "config.json").read_text())
    model = NormWearForSignalClassification.from_pretrained(normwear_hf.DEFAULT_CHECKPOINT, num_labels=4)
    assert not model.backbone_frozen
    extractor = NormWearFeatureExtractor.from_pretrained(normwear_hf.DEFAULT_CHECKPOINT)
    inputs = extractor(
        np.random.default_rng(0).standard_normal((2, 390)),
        sampling_rate=65,
        channel_types=["ecg", "ppg"],
        return_tensors="pt",
    )
    model(**inputs, labels=torch.tensor([1])).loss.backward()
    without_gradient = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert without_gradient == [], without_gradient
    model.zero_grad()
    model.freeze_backbone()
    model(**inputs, labels=torch.tensor([1])).loss.backward()
    with_gradient = sorted(name for name, p in model.named_parameters() if p.grad is not None)
    assert with_gradient == ["classifier.bias", "classifier.weight"]
    assert all(not p.requires_grad for p in model.normwear.parameters())
