"""Evaluation metrics that ship inside the package as `evaluate` metric modules, loadable offline.

Each ``<name>.py`` here is a self-contained ``evaluate.Metric`` script (numpy / scipy only) that
``evaluate.load`` can read from its local path; :func:`load_metric` does that and never asks the Hub.

>>> from normwear_hf.evaluation.metrics import load_metric
>>> load_metric("auroc", "multiclass").compute(predictions=probabilities, references=labels)
"""

from __future__ import annotations

from importlib import resources

import evaluate

METRICS = ("accuracy", "auroc", "macro_f1", "mae", "relative_accuracy")
"""Names of the bundled metric modules (``auroc`` has the configurations ``binary`` and ``multiclass``)."""


def metric_path(name: str) -> str:
    """Local path of a bundled metric script, for ``evaluate.load(metric_path(name))``."""
    if name not in METRICS:
        raise ValueError(f"Unknown metric {name!r}; the bundled metrics are {list(METRICS)}.")
    path = resources.files(__name__) / f"{name}.py"
    if not path.is_file():  # e.g. a zipped install: evaluate needs a real file
        raise FileNotFoundError(f"The metric script {path} is not a file on disk; install the package unzipped.")
    return str(path)


def load_metric(name: str, config_name: str | None = None, **kwargs) -> evaluate.EvaluationModule:
    """The bundled ``evaluate`` metric ``name``, loaded from its local script (offline by construction).

    ``evaluate.load`` is given a file path, so it takes its local-module route and makes no Hub request whatever
    ``HF_HUB_OFFLINE`` / ``HF_EVALUATE_OFFLINE`` say. Results are kept in memory (no Arrow cache files) unless
    ``keep_in_memory=False`` is passed.
    """
    kwargs.setdefault("keep_in_memory", True)
    return evaluate.load(metric_path(name), config_name, **kwargs)
