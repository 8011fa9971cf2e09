"""The linear-probing protocol: embeddings with a cache, probes, few-/partial-shot subsets, bootstrap CIs."""

import pickle

import numpy as np
import pytest
import torch
from conftest import micro_config

from normwear_hf import NormWearFeatureExtractor, NormWearModel
from normwear_hf.data.schema import make_example
from normwear_hf.evaluation import probe
from normwear_hf.evaluation.probe import (
    bootstrap_ci,
    embedding_cache_key,
    evaluate_features,
    extract_embeddings,
    few_shot_indices,
    fit_probe,
    linear_probe,
    partial_indices,
)
from normwear_hf.inference import embed

pytest.importorskip("sklearn")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")


def separable(n, classes=2, dim=8, gap=6.0, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    centres = rng.standard_normal((classes, dim)) * gap
    return centres[labels] + rng.standard_normal((n, dim)), labels


# --------------------------------------------------------------------------------------------------- probes


@pytest.mark.parametrize("classes", [2, 3])
def test_probe_on_separable_features_is_perfect(classes):
    train_x, train_y = separable(60, classes, seed=0)
    test_x, test_y = separable(30, classes, seed=0)
    test_x = test_x + np.random.default_rng(1).standard_normal(test_x.shape) * 0.1
    scores = linear_probe(train_x, train_y, test_x, test_y, "classification")
    assert scores["auroc"] == pytest.approx(1.0, abs=1e-9)
    assert scores["accuracy"] == pytest.approx(1.0) and scores["f1"] == pytest.approx(1.0)
    assert scores["n_train"] == 60 and scores["n_test"] == 30


def test_probe_on_noise_is_chance():
    rng = np.random.default_rng(0)
    scores = linear_probe(
        rng.standard_normal((300, 5)),
        rng.integers(0, 2, 300),
        rng.standard_normal((400, 5)),
        rng.integers(0, 2, 400),
        "classification",
    )
    assert scores["auroc"] == pytest.approx(0.5, abs=0.08)
    assert scores["accuracy"] == pytest.approx(0.5, abs=0.08)


def test_string_labels_and_unseen_test_label():
    train_x, codes = separable(40, 3)
    names = np.array(["rest", "walk", "run"])[codes]
    scores = linear_probe(train_x, names, train_x, names, "classification")
    assert scores["accuracy"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="never occur in training"):
        linear_probe(train_x, names, train_x[:2], ["rest", "swim"], "classification")


def test_regression_probe_recovers_target_in_original_units_and_clips():
    rng = np.random.default_rng(0)
    weights = rng.standard_normal(6) * 0.3
    train_x, test_x = rng.standard_normal((200, 6)), rng.standard_normal((50, 6))
    train_y, test_y = np.expm1(4 + train_x @ weights), np.expm1(4 + test_x @ weights)
    scores = linear_probe(train_x, train_y, test_x, test_y, "regression")
    assert scores["mae"] < 0.05 * np.mean(test_y)
    assert scores["relative_accuracy"] > 0.97
    by_hand = 1 - np.mean(
        np.abs(fit_probe(train_x, train_y, test_x, test_y, "regression")["predictions"] - test_y) / test_y
    )
    assert scores["relative_accuracy"] == pytest.approx(by_hand)
    # far outside the training features: predictions stay inside the training range of y
    fit = fit_probe(train_x, train_y, test_x * 20, test_y, "regression")
    assert fit["predictions"].min() >= train_y.min() - 1e-9 and fit["predictions"].max() <= train_y.max() + 1e-9
    assert np.isclose(fit["predictions"], train_y.max()).any() or np.isclose(fit["predictions"], train_y.min()).any()


def test_bad_inputs_are_refused():
    x, y = separable(10)
    with pytest.raises(ValueError, match="kind"):
        linear_probe(x, y, x, y, "ranking")
    with pytest.raises(ValueError, match="single class"):
        linear_probe(x, np.zeros(10), x, y, "classification")
    with pytest.raises(ValueError, match="above -1"):
        linear_probe(x, np.full(10, -2.0), x, np.ones(10), "regression")


# --------------------------------------------------------------------------------------------------- subsets


def test_few_shot_takes_exactly_k_per_class_seeded():
    labels = np.array(["a"] * 12 + ["b"] * 7 + ["c"] * 30)
    for k in (1, 5, 7):
        chosen = few_shot_indices(labels, k, seed=3)
        assert len(set(chosen.tolist())) == len(chosen) == 3 * k
        assert all(np.sum(labels[chosen] == c) == k for c in "abc")
        assert np.array_equal(chosen, few_shot_indices(labels, k, seed=3))
    assert not np.array_equal(few_shot_indices(labels, 5, seed=0), few_shot_indices(labels, 5, seed=1))
    with pytest.raises(ValueError, match="'b' has 7 rows"):
        few_shot_indices(labels, 8, seed=0)


def test_partial_keeps_every_class_and_the_fraction():
    labels = np.array([0] * 95 + [1] * 3 + [2] * 2)
    chosen = partial_indices(100, 0.1, seed=0, labels=labels)
    counts = np.bincount(labels[chosen], minlength=3)
    assert counts.tolist() == [10, 1, 1]  # round(9.5) = 10 (banker's), at least 1 for the rare classes
    assert np.array_equal(chosen, partial_indices(100, 0.1, seed=0, labels=labels))
    plain = partial_indices(50, 0.1, seed=1)
    assert len(plain) == 5 and len(set(plain.tolist())) == 5 and plain.max() < 50
    assert len(partial_indices(3, 0.1, seed=0)) == 1
    with pytest.raises(ValueError, match="fraction"):
        partial_indices(10, 0.0)


# --------------------------------------------------------------------------------------------------- bootstrap


def test_bootstrap_ci_contains_point_and_narrows_with_more_cases():
    rng = np.random.default_rng(0)

    def noisy(n):
        labels = rng.integers(0, 2, n)
        return labels, labels + rng.standard_normal(n) * 1.2

    small = bootstrap_ci(*noisy(40), "auroc", n=500, seed=0)
    large = bootstrap_ci(*noisy(1000), "auroc", n=500, seed=0)
    for ci in (small, large):
        assert ci["low"] <= ci["point"] <= ci["high"] and ci["confidence"] == 0.95
    assert large["high"] - large["low"] < 0.5 * (small["high"] - small["low"])
    labels, scores = noisy(60)
    assert bootstrap_ci(labels, scores, "auroc", seed=5) == bootstrap_ci(labels, scores, "auroc", seed=5)


def test_bootstrap_skips_undefined_resamples_and_takes_callables():
    ci = bootstrap_ci([0, 0, 0, 0, 0, 0, 0, 1], np.linspace(0, 1, 8), "auroc", n=300, seed=0)
    assert 0 < ci["n_resamples"] < 300 and ci["point"] == 1.0
    truth = np.arange(1.0, 51.0)
    ci = bootstrap_ci(truth, truth + 1, lambda y, p: float(np.max(np.abs(y - p))), n=50)
    assert ci["point"] == ci["low"] == ci["high"] == 1.0


# --------------------------------------------------------------------------------------------------- evaluate_features


def test_evaluate_features_report():
    train_x, train_y = separable(60, 3, seed=0)
    test_x, test_y = separable(45, 3, seed=0)
    test_x = test_x + np.random.default_rng(2).standard_normal(test_x.shape) * 0.3
    report = evaluate_features(train_x, train_y, test_x, test_y, "classification", few_shot=(1, 5, 30), n_bootstrap=200)
    assert report["main_metric"] == "auroc" and report["full"]["auroc"] > 0.99
    assert report["ci"]["low"] <= report["full"]["auroc"] <= report["ci"]["high"]
    assert report["ci"]["point"] == pytest.approx(report["full"]["auroc"], abs=1e-12)  # same metric code
    assert report["few_shot"][5]["n_train"] == 15
    assert set(report["few_shot"][1]["auroc"]) == {"mean", "std"}
    assert report["few_shot"][5]["accuracy"]["mean"] > 0.9
    assert "skipped" in report["few_shot"][30]  # 20 rows per class
    assert report["partial"]["n_train"] == 6 and report["partial"]["fraction"] == 0.1


def test_evaluate_features_regression():
    rng = np.random.default_rng(1)
    weights = rng.standard_normal(4) * 0.2
    train_x, test_x = rng.standard_normal((80, 4)), rng.standard_normal((30, 4))
    train_y, test_y = np.expm1(3 + train_x @ weights), np.expm1(3 + test_x @ weights)
    report = evaluate_features(train_x, train_y, test_x, test_y, "regression", few_shot=(5,), n_bootstrap=200)
    assert report["main_metric"] == "relative_accuracy" and report["full"]["relative_accuracy"] > 0.95
    assert report["ci"]["low"] <= report["full"]["relative_accuracy"] <= report["ci"]["high"]
    assert report["few_shot"][5]["n_train"] == 5 and report["partial"]["n_train"] == 8
    assert report["few_shot"][5]["mae"]["std"] >= 0


# --------------------------------------------------------------------------------------------------- embeddings


def rows(count=4, seconds=(6.0, 13.0, 6.0, 8.0), seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        duration = seconds[i % len(seconds)]
        out.append(
            make_example(
                [rng.standard_normal(int(duration * 100)), rng.standard_normal(int(duration * 50))],
                [100.0, 50.0],
                ["ecg", "ppg"],
                recording_id=f"r{i}",
                source="test",
                subject_id=f"s{i}",
            )
        )
    return out


@pytest.fixture
def model_and_extractor():
    torch.manual_seed(0)
    return NormWearModel(micro_config()).eval(), NormWearFeatureExtractor()


def test_extract_embeddings_one_row_per_recording(model_and_extractor):
    model, extractor = model_and_extractor
    data = rows()
    vectors = extract_embeddings(model, extractor, data, pooling="probe", batch_size=3, progress=False)
    assert vectors.shape == (4, 2 * 32) and vectors.dtype == np.float32
    # the 13 s row (3 windows) is the average of its windows, as embed() gives it alone (probes mask no channel)
    alone = embed(
        [data[1]["signals"]],
        [data[1]["sampling_rate"]],
        model=model,
        feature_extractor=extractor,
        pooling="probe",
        channel_types=[data[1]["channel_types"]],
        quality_threshold=None,
    )
    np.testing.assert_allclose(vectors[1], alone[0], rtol=1e-4, atol=1e-5)


def test_extract_embeddings_takes_a_dataset(model_and_extractor):
    from datasets import Dataset

    from normwear_hf.data.schema import WEARABLE_FEATURES

    model, extractor = model_and_extractor
    data = rows(3, seconds=(6.0,))
    table = Dataset.from_list(data, features=WEARABLE_FEATURES)
    from_table = extract_embeddings(model, extractor, table, pooling="recording", batch_size=2, progress=False)
    from_list = extract_embeddings(model, extractor, data, pooling="recording", batch_size=2, progress=False)
    assert from_table.shape == (3, 32)
    np.testing.assert_allclose(from_table, from_list, rtol=1e-5, atol=1e-6)


def test_embedding_cache_hits_skip_the_model_and_key_tracks_weights(model_and_extractor, tmp_path, monkeypatch):
    model, extractor = model_and_extractor
    data = rows(3)
    calls = []

    def counting_embed(*args, **kwargs):
        calls.append(1)
        return embed(*args, **kwargs)

    monkeypatch.setattr(probe, "embed", counting_embed)

    def refuse(*args, **kwargs):
        raise AssertionError("something pickled")

    monkeypatch.setattr(pickle, "dump", refuse)
    monkeypatch.setattr(pickle, "dumps", refuse)

    first = extract_embeddings(model, extractor, data, cache_dir=tmp_path, progress=False)
    assert len(calls) == 1
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npy"
    assert files[0].stem == embedding_cache_key(model, extractor, data, pooling="probe")
    np.testing.assert_array_equal(np.load(files[0], allow_pickle=False), first)

    second = extract_embeddings(model, extractor, data, cache_dir=tmp_path, progress=False)
    assert len(calls) == 1  # a hit: the model did not run
    np.testing.assert_array_equal(first, second)

    key = embedding_cache_key(model, extractor, data)
    assert embedding_cache_key(model, extractor, data, pooling="recording") != key
    assert embedding_cache_key(model, extractor, data[:2]) != key
    changed = [dict(row) for row in data]
    changed[0] = {**changed[0], "signals": [np.asarray(changed[0]["signals"][0]) * 2, changed[0]["signals"][1]]}
    assert embedding_cache_key(model, extractor, changed) != key
    assert embedding_cache_key(model, NormWearFeatureExtractor(smoothing_sigma_seconds=0.03), data) != key
    # objective settings added later leave the key alone at their defaults (old caches stay valid), not otherwise
    for name in probe.LATER_OBJECTIVE_DEFAULTS:
        delattr(model.config, name)
    assert embedding_cache_key(model, extractor, data) == key
    model.config.auxiliary_weight = 1.0
    assert embedding_cache_key(model, extractor, data) != key
    model.config.auxiliary_weight = 0.0

    with torch.no_grad():
        next(model.parameters()).add_(1e-3)
    assert embedding_cache_key(model, extractor, data) != key
    extract_embeddings(model, extractor, data, cache_dir=tmp_path, progress=False)
    assert len(calls) == 2 and len(list(tmp_path.glob("*.npy"))) == 2
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.pkl"))


def test_level_embeddings_reuse_the_cached_probe_and_equal_embed(tmp_path, micro_model):
    rng = np.random.default_rng(3)
    rows = [
        {"signals": [rng.standard_normal(900) * s for s in (1.0, 10.0)], "sampling_rate": [100.0, 100.0],
         "channel_types": ["ecg", "ppg"]}
        for _ in range(5)
    ]  # fmt: skip
    extractor = NormWearFeatureExtractor()
    level = extract_embeddings(micro_model, extractor, rows, pooling="probe_level", batch_size=2, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 1  # only the model's part, the probe embedding, is cached
    signals, rates = [r["signals"] for r in rows], [r["sampling_rate"] for r in rows]
    direct = embed(
        signals, rates, model=micro_model, feature_extractor=extractor, pooling="probe_level", quality_threshold=None
    )
    np.testing.assert_allclose(level, direct, atol=1e-5)
