"""Linear probing, the NormWear paper's downstream protocol, with its weak points fixed.

Protocol (paper, section 4 of the reference): frozen embeddings (``pooling="probe"``: token mean per channel,
channels concatenated), standardised on the training set; classification by logistic regression (C = 1) scored
by AUROC (one-vs-one macro for several classes), accuracy and macro F1; regression by ridge (alpha = 1) on
``log(y + 1)`` with predictions clipped to the training range.

What differs from the research code, and why
---------------------------------------------
- Regression errors (MAE, relative accuracy = 1 - MAPE) are computed in ORIGINAL units after back-transforming
  the clipped log-space predictions; the research code scored in log space, which flatters.
- Test sets of 40-100 cases carry 5-7 points of standard error, so :func:`evaluate_features` reports a
  bootstrap 95% confidence interval of the main metric and, for few-shot and partial-shot probes, the mean and
  standard deviation over several seeds instead of single numbers.
- Embeddings are cached on disk as ``.npy`` (loaded with ``allow_pickle=False``; never pickles), keyed by a
  SHA-256 of the model weights and config, the feature-extractor config, the pooling, the dtype and the data.
- Every metric goes through the package's offline ``evaluate`` modules (:mod:`normwear_hf.evaluation.metrics`);
  the bootstrap calls the same modules' score functions directly (``evaluate``'s per-call overhead times 1000
  resamples would dominate).

Decisions
---------
- Main metric: AUROC for classification; relative accuracy (in original units) for regression, the paper's
  headline, or MAE when a test target is 0 (relative accuracy is undefined there). ``main_metric=`` overrides.
- Class labels may be strings or numbers; the classes are those of the training labels. A test label never seen
  in training raises (the probe cannot score it). Binary AUROC scores the second class in sorted order.
- Few-shot for regression (no classes) draws ``k`` training rows at random.
- Bootstrap: percentile interval over ``n`` resamples of the test cases with replacement; resamples on which
  the metric is undefined (one class only, for AUROC) are skipped and counted.
- Standard deviations over seeds use ``ddof=1`` (0 for a single seed).
- Splits: :func:`normwear_hf.utils.splits.subject_split` (subject-wise, seeded, fraction of subjects), the
  converters' own.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .._lazy import moved_getattr
from ..configuration_normwear import NormWearConfig
from ..data.schema import extractor_inputs
from ..inference import embed
from ..utils.atomic import atomic_writer
from .bootstrap import check_bootstrap_arguments, percentile_interval, resample
from .metrics import load_metric
from .metrics.accuracy import accuracy_score
from .metrics.auroc import auroc_score
from .metrics.macro_f1 import macro_f1_score
from .metrics.mae import mean_absolute_error
from .metrics.relative_accuracy import relative_accuracy_score

__all__ = [
    "bootstrap_ci",
    "embedding_cache_key",
    "evaluate_features",
    "extract_embeddings",
    "few_shot_indices",
    "fit_probe",
    "linear_probe",
    "partial_indices",
]

KINDS = ("classification", "regression")
CLASSIFICATION_METRICS = ("auroc", "accuracy", "f1")
REGRESSION_METRICS = ("mae", "relative_accuracy")


# ---------------------------------------------------------------------------------------------------------------
# Embeddings with an on-disk cache
# ---------------------------------------------------------------------------------------------------------------


def _json_digest(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True, default=str).encode()


# Pretraining-objective settings added after the cache format was fixed. They never change what the backbone
# computes; left out of the key while at their defaults, so caches written before they existed stay valid.
LATER_OBJECTIVE_DEFAULTS: dict[str, Any] = {
    name: getattr(NormWearConfig(), name)
    for name in (
        "auxiliary_targets",
        "auxiliary_weight",
        "latent_weight",
        "latent_target_layers",
        "ema_decay",
        "reconstruction_weight",
    )
}


def _config_dict(obj: Any) -> dict[str, Any]:
    config = dict(obj.to_dict()) if hasattr(obj, "to_dict") else dict(vars(obj))
    config.pop("transformers_version", None)
    for name, default in LATER_OBJECTIVE_DEFAULTS.items():
        if name in config and config[name] == default:
            del config[name]
    return config


def embedding_cache_key(
    model: torch.nn.Module,
    feature_extractor: Any,
    rows: Sequence[Mapping[str, Any]],
    pooling: str = "probe",
    dtype: torch.dtype | None = None,
) -> str:
    """SHA-256 hex digest of everything the embeddings depend on.

    Covers every tensor of ``model.state_dict()`` (name, dtype, shape, bytes), the model config, the feature
    extractor's config, ``pooling``, ``dtype`` and, per row, the signals (as float32), sampling rates, channel
    types, ``recording_id`` and ``subject_id``.
    """
    digest = hashlib.sha256()
    digest.update(b"normwear-probe-embeddings-v1")
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(_json_digest([name, str(tensor.dtype), list(tensor.shape)]))
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    config = getattr(model, "config", None)
    digest.update(_json_digest(_config_dict(config) if config is not None else type(model).__name__))
    digest.update(_json_digest(_config_dict(feature_extractor)))
    digest.update(_json_digest([pooling, str(dtype)]))
    for row in rows:
        meta = [
            [float(rate) for rate in row["sampling_rate"]],
            list(row.get("channel_types") or []),
            str(row.get("recording_id", "")),
            str(row.get("subject_id", "")),
        ]
        digest.update(_json_digest(meta))
        for channel in row["signals"]:
            values = np.ascontiguousarray(np.asarray(channel, dtype=np.float32).reshape(-1))
            digest.update(str(values.size).encode())
            digest.update(values.tobytes())
    return digest.hexdigest()


def extract_embeddings(
    model: torch.nn.Module,
    feature_extractor: Any,
    rows: Sequence[Mapping[str, Any]],
    pooling: str = "probe",
    batch_size: int = 16,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    dtype: torch.dtype | None = None,
) -> np.ndarray:
    """One embedding per schema row, ``[len(rows), ...]``, through :func:`normwear_hf.inference.embed`.

    ``rows``: a list of schema rows (e.g. ``Task.train``) or a ``datasets.Dataset`` in the schema.

    Rows are embedded ``batch_size`` recordings at a time (long recordings are split into 6 s windows whose
    embeddings are averaged, so one row still gives one vector), with a progress bar over rows. With
    ``cache_dir``, the result is stored as ``<cache_dir>/<key>.npy`` (:func:`embedding_cache_key`) and a later
    call with the same model, extractor, pooling, dtype and data loads it without running the model.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if len(rows) == 0:
        raise ValueError("No rows to embed.")
    if pooling == "probe_level":  # the model's part is the probe embedding (cached as such); levels need no model
        probe = extract_embeddings(model, feature_extractor, rows, "probe", batch_size, cache_dir, progress, dtype)
        return with_levels(probe, channel_levels(feature_extractor, rows, batch_size))
    path = None
    if cache_dir is not None:
        key = embedding_cache_key(model, feature_extractor, rows, pooling=pooling, dtype=dtype)
        path = Path(cache_dir) / f"{key}.npy"
        if path.is_file():
            return np.load(path, allow_pickle=False)
    chunks = []
    with tqdm(total=len(rows), desc="embedding rows", unit="row", disable=not progress) as bar:
        for start in range(0, len(rows), batch_size):
            batch = [rows[index] for index in range(start, min(start + batch_size, len(rows)))]
            signals, rates, types = extractor_inputs(batch, dtype=np.float32)
            chunks.append(
                embed(
                    signals,
                    sampling_rate=rates,
                    model=model,
                    feature_extractor=feature_extractor,
                    pooling=pooling,
                    channel_types=types,
                    batch_size=batch_size,
                    dtype=dtype,
                    progress=False,
                    quality_threshold=None,  # probes see every channel (the noise tasks are about bad ones)
                )
            )
            bar.update(len(batch))
    shapes = {chunk.shape[1:] for chunk in chunks}
    if len(shapes) > 1:
        raise ValueError(
            f"Rows gave embeddings of different shapes {sorted(shapes)}; pooling={pooling!r} needs the same "
            "channel count in every row (use pooling='recording' for varying channels)."
        )
    embeddings = np.concatenate(chunks).astype(np.float32, copy=False)
    if path is not None:
        with atomic_writer(path, "wb", suffix=".npy.tmp") as file:
            np.save(file, embeddings, allow_pickle=False)
    return embeddings


def channel_levels(feature_extractor: Any, rows: Sequence[Mapping[str, Any]], batch_size: int = 16) -> np.ndarray:
    """Each row's per-channel level ``[len(rows), C]``: the mean over its windows of the extractor's
    ``input_levels`` (log10 mean |x| before normalisation), exactly the numbers ``pooling="probe_level"`` appends.

    It needs no model, so one call serves every model probed on the same rows (``probe_level`` = ``probe`` with
    these appended per channel, see :func:`with_levels`).
    """
    levels = []
    for start in range(0, len(rows), batch_size):
        batch = [rows[index] for index in range(start, min(start + batch_size, len(rows)))]
        signals, rates, types = extractor_inputs(batch, dtype=np.float32)
        levels += feature_extractor.recording_levels(signals, sampling_rate=rates, channel_types=types)
    table = np.zeros((len(levels), max(len(level) for level in levels)), dtype=np.float32)
    for row, level in enumerate(levels):
        table[row, : len(level)] = level
    return table


def with_levels(probe: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``probe`` embeddings ``[N, C * D]`` and levels ``[N, C]`` -> the ``probe_level`` layout ``[N, C * (D + 1)]``."""
    count, channels = levels.shape
    per_channel = probe.reshape(count, channels, -1)
    return np.concatenate([per_channel, levels[..., None].astype(per_channel.dtype)], axis=-1).reshape(count, -1)


# ---------------------------------------------------------------------------------------------------------------
# Sub-sampling the training set
# ---------------------------------------------------------------------------------------------------------------


def few_shot_indices(labels: Sequence[Any], k: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of exactly ``k`` rows of every class, drawn without replacement with ``seed``.

    Raises ``ValueError`` when a class has fewer than ``k`` rows.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if members.size < k:
            raise ValueError(f"Class {label.item()!r} has {members.size} rows, fewer than k = {k}.")
        chosen.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(chosen))


def partial_indices(n: int, fraction: float = 0.1, seed: int = 0, labels: Sequence[Any] | None = None) -> np.ndarray:
    """Sorted indices of a seeded ``fraction`` of ``n`` rows (at least one row).

    With ``labels`` the draw is stratified: ``max(1, round(fraction * class size))`` rows of every class.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    rng = np.random.default_rng(seed)
    if labels is None:
        count = max(1, int(round(fraction * n)))
        return np.sort(rng.choice(n, size=count, replace=False))
    labels = np.asarray(labels)
    if labels.shape[0] != n:
        raise ValueError(f"labels has {labels.shape[0]} entries for n = {n} rows.")
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = max(1, int(round(fraction * members.size)))
        chosen.append(rng.choice(members, size=count, replace=False))
    return np.sort(np.concatenate(chosen))


# ---------------------------------------------------------------------------------------------------------------
# The probe
# ---------------------------------------------------------------------------------------------------------------


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")


def _standardise(train_x: np.ndarray, test_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_x)
    return scaler.transform(train_x), scaler.transform(test_x)


def _as_matrix(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        x = x.reshape(x.shape[0], -1)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} holds NaN or infinite values.")
    return x


def fit_probe(train_x, train_y, test_x, test_y, kind: str) -> dict[str, Any]:
    """Fit the probe of :func:`linear_probe` and return what it predicts on the test set, unscored.

    Returns ``references`` (test labels as class indices into the sorted training classes, or float targets),
    ``predictions`` (class indices, or back-transformed regression values in original units) and, for
    classification, ``scores`` (positive-class probability when binary, else ``[n, classes]`` probabilities)
    and ``n_classes``.
    """
    _check_kind(kind)
    train_x, test_x = _as_matrix(train_x, "train_x"), _as_matrix(test_x, "test_x")
    if train_x.shape[0] != len(train_y) or test_x.shape[0] != len(test_y):
        raise ValueError("features and labels differ in length.")
    if train_x.shape[1] != test_x.shape[1]:
        raise ValueError(f"train has {train_x.shape[1]} features, test {test_x.shape[1]}.")
    train_x, test_x = _standardise(train_x, test_x)
    if kind == "classification":
        from sklearn.linear_model import LogisticRegression

        classes, train_codes = np.unique(np.asarray(train_y), return_inverse=True)
        if classes.size < 2:
            raise ValueError(f"The training labels hold a single class {classes.tolist()}; a probe needs two.")
        test_y = np.asarray(test_y)
        unseen = sorted(set(test_y.tolist()) - set(classes.tolist()), key=str)
        if unseen:
            raise ValueError(f"Test labels {unseen} never occur in training; the probe cannot score them.")
        test_codes = np.searchsorted(classes, test_y)
        probe = LogisticRegression(C=1.0, max_iter=2000).fit(train_x, train_codes)
        probabilities = probe.predict_proba(test_x)
        return {
            "references": test_codes,
            "scores": probabilities[:, 1] if classes.size == 2 else probabilities,
            "predictions": probabilities.argmax(axis=1),
            "n_classes": int(classes.size),
        }
    from sklearn.linear_model import Ridge

    train_y = np.asarray(train_y, dtype=np.float64)
    if np.any(train_y <= -1):
        raise ValueError("Regression targets must be above -1 for the log(y + 1) transform.")
    log_y = np.log1p(train_y)
    probe = Ridge(alpha=1.0).fit(train_x, log_y)
    predictions = np.expm1(np.clip(probe.predict(test_x), log_y.min(), log_y.max()))
    return {"references": np.asarray(test_y, dtype=np.float64), "predictions": predictions}


def _score_classification(fit: Mapping[str, Any]) -> dict[str, float]:
    references, predictions = fit["references"], fit["predictions"]
    multiclass = fit["n_classes"] > 2
    if np.unique(references).size < 2:
        auroc = float("nan")
        warnings.warn("The test set holds a single class; AUROC is undefined (NaN).", stacklevel=3)
    else:
        auroc = load_metric("auroc", "multiclass" if multiclass else "binary").compute(
            predictions=fit["scores"], references=references
        )["auroc"]
    return {
        "auroc": auroc,
        "accuracy": load_metric("accuracy").compute(predictions=predictions, references=references)["accuracy"],
        "f1": load_metric("macro_f1").compute(predictions=predictions, references=references)["f1"],
    }


def _score_regression(fit: Mapping[str, Any]) -> dict[str, float]:
    references, predictions = fit["references"], fit["predictions"]
    scores = {"mae": load_metric("mae").compute(predictions=predictions, references=references)["mae"]}
    if np.any(references == 0):
        scores["relative_accuracy"] = float("nan")
        warnings.warn("A test target is 0; relative accuracy is undefined (NaN).", stacklevel=3)
    else:
        scores["relative_accuracy"] = load_metric("relative_accuracy").compute(
            predictions=predictions, references=references
        )["relative_accuracy"]
    return scores


def linear_probe(train_x, train_y, test_x, test_y, kind: str) -> dict[str, float]:
    """Fit the paper's linear probe on ``train`` and score it on ``test``.

    Features are standardised with the training mean and standard deviation. ``"classification"``:
    logistic regression (C = 1, up to 2000 iterations) -> ``auroc`` (binary, or one-vs-one macro), ``accuracy``,
    ``f1`` (macro). ``"regression"``: ridge (alpha = 1) on ``log(y + 1)``, predictions clipped to the training
    range of ``log(y + 1)`` and back-transformed -> ``mae`` and ``relative_accuracy`` in original units.
    Also returns ``n_train`` and ``n_test``.
    """
    fit = fit_probe(train_x, train_y, test_x, test_y, kind)
    scores = _score_classification(fit) if kind == "classification" else _score_regression(fit)
    return {**scores, "n_train": len(train_y), "n_test": len(test_y)}


# ---------------------------------------------------------------------------------------------------------------
# Uncertainty and the full evaluation
# ---------------------------------------------------------------------------------------------------------------


def _metric_function(metric: str | Callable[[np.ndarray, np.ndarray], float]) -> Callable:
    if callable(metric):
        return metric
    functions = {
        "auroc": lambda y, s: auroc_score(y, s, multi_class="ovo" if np.asarray(s).ndim == 2 else None),
        "accuracy": accuracy_score,
        "f1": macro_f1_score,
        "mae": mean_absolute_error,
        "relative_accuracy": relative_accuracy_score,
    }
    if metric not in functions:
        raise ValueError(f"Unknown metric {metric!r}; use one of {sorted(functions)} or a callable.")
    return functions[metric]


def bootstrap_ci(
    y_true,
    y_score_or_pred,
    metric: str | Callable[[np.ndarray, np.ndarray], float],
    n: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Percentile bootstrap confidence interval of ``metric(y_true, y_score_or_pred)`` on a test set.

    ``metric`` is ``"auroc"`` (scores: ``[n]`` positive-class scores or ``[n, classes]`` probabilities,
    ``y_true`` class indices), ``"accuracy"``, ``"f1"``, ``"mae"``, ``"relative_accuracy"`` or a callable
    ``(y_true, y_pred) -> float``. Test cases are resampled with replacement ``n`` times; resamples on which the
    metric is undefined (it raises ``ValueError``, e.g. AUROC on one class) are skipped.

    Returns ``{"point", "low", "high", "confidence", "n_resamples"}`` (``n_resamples``: the valid ones).
    """
    check_bootstrap_arguments(n, confidence)
    function = _metric_function(metric)
    y_true, y_score = np.asarray(y_true), np.asarray(y_score_or_pred)
    if y_true.shape[0] != y_score.shape[0] or y_true.shape[0] == 0:
        raise ValueError(f"y_true has {y_true.shape[0]} cases, the scores {y_score.shape[0]}; need equal, > 0.")
    point = float(function(y_true, y_score))
    (values,), _ = resample([y_true.shape[0]], lambda _, rows: function(y_true[rows], y_score[rows]), n, seed)
    low, high = percentile_interval(values, confidence)
    return {"point": point, "low": low, "high": high, "confidence": confidence, "n_resamples": len(values)}


def _mean_std(runs: Sequence[Mapping[str, float]], names: Sequence[str]) -> dict[str, dict[str, float]]:
    summary = {}
    for name in names:
        values = np.asarray([run[name] for run in runs], dtype=np.float64)
        summary[name] = {
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if values.size > 1 else 0.0,
        }
    return summary


def evaluate_features(
    train_x,
    train_y,
    test_x,
    test_y,
    kind: str,
    few_shot: Sequence[int] = (1, 5, 10),
    seeds: Sequence[int] = (0, 1, 2),
    partial: float | None = 0.1,
    n_bootstrap: int = 1000,
    main_metric: str | None = None,
) -> dict[str, Any]:
    """The full probing report for one task's features.

    Returns a dict with
    - ``"full"``: :func:`linear_probe` on the whole training set;
    - ``"ci"``: :func:`bootstrap_ci` of ``main_metric`` for the full-shot probe on the test set;
    - ``"test_outputs"``: ``{"references", "values"}``, the test labels and the scores (or predictions) that
      ``main_metric`` was computed from, for paired comparisons (:mod:`~normwear_hf.evaluation.paired`);
    - ``"few_shot"``: per ``k``, ``{"n_train", metric: {"mean", "std"}}`` over ``seeds`` (``k`` rows per class;
      ``k`` rows for regression), or ``{"skipped": reason}`` when a class has fewer than ``k`` rows;
    - ``"partial"``: the same for a stratified ``partial`` fraction of the training set (``None`` to skip);
    - ``"main_metric"``, ``"kind"``, ``"seeds"``.
    """
    _check_kind(kind)
    train_x, test_x = _as_matrix(train_x, "train_x"), _as_matrix(test_x, "test_x")
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    names = CLASSIFICATION_METRICS if kind == "classification" else REGRESSION_METRICS
    if main_metric is None:
        if kind == "classification":
            main_metric = "auroc"
        else:
            main_metric = "mae" if np.any(test_y.astype(np.float64) == 0) else "relative_accuracy"
    if main_metric not in names:
        raise ValueError(f"main_metric must be one of {names} for {kind}, got {main_metric!r}.")

    fit = fit_probe(train_x, train_y, test_x, test_y, kind)
    full = _score_classification(fit) if kind == "classification" else _score_regression(fit)
    full.update(n_train=len(train_y), n_test=len(test_y))
    scores = fit["scores"] if main_metric == "auroc" else fit["predictions"]
    report: dict[str, Any] = {
        "kind": kind,
        "main_metric": main_metric,
        "seeds": list(seeds),
        "full": full,
        "ci": bootstrap_ci(fit["references"], scores, main_metric, n=n_bootstrap, seed=0),
        # what the main metric was computed from, so that methods can be compared pairwise on the same test rows
        "test_outputs": {"references": fit["references"], "values": scores},
    }

    def subset_runs(pick: Callable[[int], np.ndarray]) -> dict[str, Any]:
        runs, sizes = [], set()
        for seed in seeds:
            chosen = pick(seed)
            sizes.add(len(chosen))
            runs.append(linear_probe(train_x[chosen], train_y[chosen], test_x, test_y, kind))
        return {"n_train": sorted(sizes)[0] if len(sizes) == 1 else sorted(sizes), **_mean_std(runs, names)}

    report["few_shot"] = {}
    for k in few_shot:
        if kind == "classification":
            try:
                few_shot_indices(train_y, k, seed=0)  # a class with fewer than k rows: skip this k
            except ValueError as error:
                report["few_shot"][k] = {"skipped": str(error)}
                continue
            report["few_shot"][k] = subset_runs(lambda seed, k=k: few_shot_indices(train_y, k, seed))
        elif k > len(train_y):
            report["few_shot"][k] = {"skipped": f"k = {k} exceeds the {len(train_y)} training rows."}
        else:
            report["few_shot"][k] = subset_runs(
                lambda seed, k=k: np.sort(np.random.default_rng(seed).choice(len(train_y), k, replace=False))
            )
    if partial is not None:
        labels = train_y if kind == "classification" else None
        report["partial"] = {
            "fraction": partial,
            **subset_runs(lambda seed: partial_indices(len(train_y), partial, seed, labels=labels)),
        }
    return report


# subject_split moved to normwear_hf.utils.splits; the old path works for one more release.
__getattr__ = moved_getattr(__name__, {"subject_split": "..utils.splits"})
