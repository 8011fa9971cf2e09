"""Evaluation: downstream tasks, baseline features, linear probing, metrics and the benchmark runner."""

from .baselines import minirocket_features, raw_signal_features, statistical_features
from .benchmark import METHODS, run_benchmark
from .metrics import load_metric
from .probe import evaluate_features, extract_embeddings, few_shot_indices, linear_probe, partial_indices
from .tasks import TASKS, Task, available_tasks, load_task

__all__ = [
    "METHODS",
    "TASKS",
    "Task",
    "available_tasks",
    "evaluate_features",
    "extract_embeddings",
    "few_shot_indices",
    "linear_probe",
    "load_metric",
    "load_task",
    "minirocket_features",
    "partial_indices",
    "raw_signal_features",
    "run_benchmark",
    "statistical_features",
]
