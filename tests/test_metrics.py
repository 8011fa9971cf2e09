"""The bundled `evaluate` metric modules: offline loading and agreement with scikit-learn."""

import os
import socket

import numpy as np
import pytest

from normwear_hf.evaluation.metrics import METRICS, load_metric, metric_path
from normwear_hf.evaluation.metrics.auroc import auroc_score
from normwear_hf.zero_shot.evaluate import zero_shot_auroc

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Offline flags on, and any attempt to open a socket fails the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError("a metric tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("name", METRICS)
def test_every_metric_is_a_local_evaluate_module_with_info(name):
    assert os.path.isfile(metric_path(name))
    metric = load_metric(name)
    assert metric.description and metric.citation and metric.features is not None


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="bundled metrics"):
        load_metric("bleu")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_auroc_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 60)
    scores = rng.random(60) + 0.3 * labels
    scores[:10] = np.round(scores[:10], 1)  # some ties
    got = load_metric("auroc").compute(predictions=scores, references=labels)["auroc"]
    assert got == pytest.approx(sklearn_metrics.roc_auc_score(labels, scores), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiclass_auroc_is_sklearn_ovo_macro(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, 80)
    logits = rng.standard_normal((80, 3)) + np.eye(3)[labels]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    got = load_metric("auroc", "multiclass").compute(predictions=probabilities, references=labels)["auroc"]
    expected = sklearn_metrics.roc_auc_score(labels, probabilities, multi_class="ovo", average="macro")
    assert got == pytest.approx(expected, abs=1e-12)
    assert 0.5 < got < 1


@pytest.mark.parametrize("classes", [2, 3, 5])
def test_one_vs_rest_auroc_is_sklearn_ovr_macro_over_present_classes(classes):
    rng = np.random.default_rng(classes)
    labels = rng.integers(0, classes, 90)
    if classes > 2:
        labels[labels == classes - 1] = 0  # one class absent: the macro runs over the present ones
    probabilities = rng.dirichlet(np.ones(classes), 90) + 0.4 * np.eye(classes)[labels]
    got = auroc_score(labels, probabilities, multi_class="ovr")
    present = np.unique(labels)
    if classes == 2:
        expected = sklearn_metrics.roc_auc_score(labels == 1, probabilities[:, 1])
    else:
        expected = np.mean([sklearn_metrics.roc_auc_score(labels == k, probabilities[:, k]) for k in present])
    assert got == pytest.approx(expected, abs=1e-12)
    assert zero_shot_auroc(probabilities, labels) == got  # zero-shot scoring is this function


def test_auroc_multi_class_argument():
    labels, probabilities = np.array([0, 1, 2, 2]), np.eye(3)[[0, 1, 2, 2]]
    assert auroc_score(labels, probabilities, multi_class="ovo") == auroc_score(labels, probabilities, "ovr") == 1.0
    with pytest.warns(DeprecationWarning, match="multi_class='ovo'"):
        assert auroc_score(labels, probabilities, multiclass=True) == 1.0
    with pytest.raises(ValueError, match="multi_class must be"):
        auroc_score(labels, probabilities, multi_class="macro")
    with pytest.raises(ValueError, match="at least two classes"):
        auroc_score([1, 1], [[0.2, 0.8], [0.3, 0.7]], multi_class="ovr")


def test_auroc_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        load_metric("auroc").compute(predictions=[0.1, 0.2], references=[1, 1])


@pytest.mark.parametrize("seed", [0, 1])
def test_accuracy_and_macro_f1_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, 50)
    predictions = np.where(rng.random(50) < 0.6, labels, rng.integers(0, 5, 50))  # 5: a label never true
    accuracy = load_metric("accuracy").compute(predictions=predictions, references=labels)["accuracy"]
    f1 = load_metric("macro_f1").compute(predictions=predictions, references=labels)["f1"]
    assert accuracy == pytest.approx(sklearn_metrics.accuracy_score(labels, predictions), abs=1e-12)
    assert f1 == pytest.approx(sklearn_metrics.f1_score(labels, predictions, average="macro"), abs=1e-12)


def test_mae_and_relative_accuracy_in_original_units():
    rng = np.random.default_rng(0)
    truth = rng.uniform(50, 150, 40)
    predictions = truth + rng.normal(0, 10, 40)
    mae = load_metric("mae").compute(predictions=predictions, references=truth)["mae"]
    assert mae == pytest.approx(sklearn_metrics.mean_absolute_error(truth, predictions), abs=1e-12)
    relative = load_metric("relative_accuracy").compute(predictions=predictions, references=truth)
    by_hand = 1 - np.mean(np.abs(predictions - truth) / np.abs(truth))
    assert relative["relative_accuracy"] == pytest.approx(by_hand, abs=1e-12)
    # the research code's log-space version is higher (flatters) on the same predictions
    log_space = 1 - np.mean(np.abs(np.log1p(predictions) - np.log1p(truth)) / np.log1p(truth))
    assert log_space > relative["relative_accuracy"]


def test_relative_accuracy_refuses_zero_reference():
    with pytest.raises(ValueError, match="undefined"):
        load_metric("relative_accuracy").compute(predictions=[1.0, 2.0], references=[0.0, 2.0])
