"""Task heads: losses, pooling, frozen backbones, training with transformers.Trainer, Auto reloading."""

import numpy as np
import pytest
import torch
from conftest import micro_config, random_scalograms
from datasets import Dataset
from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

from normwear_hf import NormWearFeatureExtractor, NormWearForSignalClassification, NormWearForSignalRegression


def _frequency_task(count: int = 64, seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """Two channels at 65 Hz; class 0 oscillates at 1 Hz, class 1 at 4 Hz; the regression target is the frequency."""
    rng = np.random.default_rng(seed)
    t = np.arange(390) / 65.0
    classes = np.arange(count) % 2
    frequency = np.where(classes == 0, 1.0, 4.0) * rng.uniform(0.9, 1.1, count)
    signals = np.stack(
        [
            [np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) + 0.2 * rng.standard_normal(t.size) for _ in range(2)]
            for f in frequency
        ]
    )
    features = NormWearFeatureExtractor()(signals, sampling_rate=65.0)
    return {k: features[k] for k in ("input_values", "channel_mask", "time_mask")}, classes, frequency


def _trainer(model, data: Dataset, tmp_path, steps: int = 30) -> Trainer:
    args = TrainingArguments(
        output_dir=str(tmp_path / "trainer"),
        per_device_train_batch_size=16,
        per_device_eval_batch_size=32,
        learning_rate=3e-3,
        max_steps=steps,
        logging_steps=10,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    return Trainer(model=model, args=args, train_dataset=data, eval_dataset=data)


def test_classification_trains_with_trainer_and_reloads_through_auto(tmp_path):
    inputs, classes, _ = _frequency_task()
    data = Dataset.from_dict({**inputs, "labels": classes}).with_format("torch")
    torch.manual_seed(0)
    config = micro_config(num_labels=2, id2label={0: "slow", 1: "fast"}, label2id={"slow": 0, "fast": 1})
    model = NormWearForSignalClassification(config)
    trainer = _trainer(model, data, tmp_path)
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    after = trainer.evaluate()["eval_loss"]
    assert after < 0.7 * before, (before, after)
    assert model.config.problem_type == "single_label_classification"

    model.save_pretrained(tmp_path / "saved")
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "saved").eval()
    assert isinstance(reloaded, NormWearForSignalClassification) and reloaded.config.id2label[1] == "fast"
    batch = {k: torch.as_tensor(v[:4]) for k, v in inputs.items()}
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**batch).logits, model(**batch).logits)


def test_regression_head_trains_and_defaults_to_one_target(tmp_path):
    inputs, _, frequency = _frequency_task()
    data = Dataset.from_dict({**inputs, "labels": frequency.astype(np.float32)}).with_format("torch")
    torch.manual_seed(0)
    given = micro_config()
    model = NormWearForSignalRegression(given)
    assert model.num_labels == 1 and model.config.problem_type == "regression"
    assert given.num_labels == 2 and given.problem_type is None  # the caller's config is not changed
    trainer = _trainer(model, data, tmp_path, steps=40)
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    assert trainer.evaluate()["eval_loss"] < 0.5 * before
    with pytest.raises(ValueError, match="set config.num_labels"):
        model(torch.as_tensor(inputs["input_values"][:2]), labels=torch.ones(2, 3))


def test_frozen_backbone_trains_only_the_head(tmp_path):
    inputs, classes, _ = _frequency_task(count=32)
    data = Dataset.from_dict({**inputs, "labels": classes}).with_format("torch")
    torch.manual_seed(0)
    model = NormWearForSignalClassification(micro_config(num_labels=2))
    model.freeze_backbone()
    assert model.backbone_frozen and not any(p.requires_grad for p in model.normwear.parameters())
    backbone_before = {k: v.clone() for k, v in model.normwear.state_dict().items()}
    head_before = model.classifier.weight.clone()
    _trainer(model, data, tmp_path, steps=5).train()
    for name, value in model.normwear.state_dict().items():
        assert torch.equal(value, backbone_before[name]), name
    assert not torch.equal(model.classifier.weight, head_before)
    model.freeze_backbone(False)
    assert all(p.requires_grad for p in model.normwear.parameters()) and not model.backbone_frozen
    model.freeze_backbone()
    model.save_pretrained(tmp_path / "probe")
    assert "freeze_backbone" not in (tmp_path / "probe" / "config.json").read_text()
    reloaded = NormWearForSignalClassification.from_pretrained(tmp_path / "probe")
    assert not reloaded.backbone_frozen  # freezing is this run's choice, never inherited from a checkpoint


def test_an_old_config_with_freeze_backbone_does_not_freeze_the_loader():
    model = NormWearForSignalClassification(micro_config(num_labels=2, freeze_backbone=True))
    assert not model.backbone_frozen and not hasattr(model.config, "freeze_backbone")
    with pytest.raises(TypeError, match="backbone itself"):
        model.normwear.freeze_backbone()


def test_pooling_handles_padded_channels_and_multi_label():
    torch.manual_seed(0)
    model = NormWearForSignalClassification(micro_config(num_labels=3, classifier_pooling="cls")).eval()
    x = random_scalograms(1, 2)
    padded = torch.cat([x, 50 * random_scalograms(1, 1, seed=3)], dim=1)
    with torch.no_grad():
        alone = model(x).logits
        masked = model(padded, channel_mask=torch.tensor([[1, 1, 0]])).logits
    torch.testing.assert_close(alone, masked, atol=1e-5, rtol=1e-5)
    multi = NormWearForSignalClassification(micro_config(num_labels=3))
    loss = multi(random_scalograms(2, 1), labels=torch.tensor([[1.0, 0, 1], [0, 1, 0]])).loss
    assert multi.config.problem_type == "multi_label_classification" and torch.isfinite(loss)
    with pytest.raises(ValueError, match="classifier_pooling must be one of"):
        micro_config(classifier_pooling="max")


def test_head_starts_from_a_pretraining_or_backbone_folder(tmp_path):
    from normwear_hf import NormWearForMaskedReconstruction, NormWearModel

    torch.manual_seed(0)
    sources = {
        "pretraining": NormWearForMaskedReconstruction(micro_config()),
        "backbone": NormWearModel(micro_config()),
    }
    for name, source in sources.items():
        source.save_pretrained(tmp_path / name)
        head = NormWearForSignalClassification.from_pretrained(tmp_path / name, num_labels=4)
        backbone = source.normwear if name == "pretraining" else source
        assert head.num_labels == 4
        for (key, a), b in zip(head.normwear.state_dict().items(), backbone.state_dict().values()):
            assert torch.equal(a, b), (name, key)
