"""Names and fixed facts of the model card: file names, Hub metadata, metric tables, the paper's corpus.

``CARD_NAME`` and ``DEFAULT_MODEL_NAME`` are the checkpoint's own (:mod:`normwear_hf.checkpoint`), defined once there.
"""

from __future__ import annotations

from ..checkpoint import CARD_NAME, DEFAULT_MODEL_NAME, PREPROCESSOR_NAME

__all__ = ["CARD_NAME", "DEFAULT_MODEL_NAME", "LOSS_CURVE_NAME", "PREPROCESSOR_NAME", "TASK_SCORES_NAME"]

LOSS_CURVE_NAME = "loss_curve.png"
TASK_SCORES_NAME = "task_scores.png"
LICENSE = "apache-2.0"
LIBRARY_NAME = "transformers"
PIPELINE_TAG = "feature-extraction"
TAGS = (
    "normwear",
    "wearables",
    "ppg",
    "ecg",
    "eeg",
    "eda",
    "physiological-signals",
    "time-series",
    "biosignals",
)
PAPER_URL = "https://arxiv.org/abs/2412.09758"
PAPER_CORPUS_HOURS = 385  # the paper's pretraining data: 385 h of real recordings over nine corpora (docs/data.md)
TIE_TOLERANCE = 1e-3
BENCHMARK_HINT = (
    "run `normwear-hf benchmark --model <model folder> --tasks all --out <dir>` and pass <dir>/results.json"
)

# Column order of the card's table (the brief's order: the model, its random twin, then the baselines).
CARD_METHODS = ("normwear", "random_init", "statistical", "minirocket", "raw_linear")
LOWER_IS_BETTER = frozenset({"mae"})
BOUNDED_METRICS = frozenset({"auroc", "accuracy", "f1", "relative_accuracy"})  # in [0, 1]: a mean means something
METRIC_TYPES = {
    "auroc": "roc_auc",
    "accuracy": "accuracy",
    "f1": "f1",
    "mae": "mae",
    "relative_accuracy": "relative_accuracy",
}
METRIC_NAMES = {
    "auroc": "AUROC",
    "accuracy": "accuracy",
    "f1": "macro F1",
    "mae": "MAE",
    "relative_accuracy": "relative accuracy (1 - MAPE)",
}
METRIC_ORDER = ("auroc", "accuracy", "f1", "relative_accuracy", "mae")
# Applications a wearable model is asked about that the benchmark may not cover, with the task-name keywords that
# would cover them (a benchmark or held-out zero-shot task whose name contains one).
UNTESTED_APPLICATIONS = (
    ("sleep staging", ("sleep",)),
    ("arrhythmia detection beyond the ECG200 / ECG5000 beat classes", ("arrhythmia", "mitbih", "mit_bih", "afib")),
    ("stress or affect recognition", ("stress", "wesad", "affect", "emotion")),
    ("blood-pressure estimation", ("blood_pressure", "ppg_bp", "bp_", "_bp")),
    ("any EEG task (seizures, sleep, mental workload)", ("eeg", "bonn", "seizure", "workload")),
    ("anything on real wrist PPG in motion (heart rate under motion artefacts)", ("dalia", "wrist", "motion_ppg")),
)
