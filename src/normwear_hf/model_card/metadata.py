"""The card's YAML front matter: license, tags and the Hugging Face ``model-index`` block.

``model-index`` task types are ``classification`` / ``regression`` (no Hugging Face task tag covers physiological
signals); the dataset ``type`` is the benchmark's task name, its ``name`` the task description.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .constants import (
    DEFAULT_MODEL_NAME,
    LIBRARY_NAME,
    LICENSE,
    METRIC_NAMES,
    METRIC_ORDER,
    METRIC_TYPES,
    PIPELINE_TAG,
    TAGS,
)
from .inputs import is_number, main_score, scored_tasks

__all__ = ["build_front_matter", "model_index"]


def _task_description(name: str) -> str:
    from ..evaluation.tasks import TASKS

    spec = TASKS.get(name)
    return spec.description if spec is not None else name


def model_index(
    results: Mapping[str, Any], zero_shot: Mapping[str, Any] | None = None, model_name: str = DEFAULT_MODEL_NAME
) -> list[dict[str, Any]]:
    """The Hugging Face ``model-index`` block: one result per benchmark task (and one for zero-shot if given).

    Each result: ``task`` {type, name}, ``dataset`` {name, type, split}, ``metrics`` [{type, value, name}] with
    the main metric first (its name carries the 95% interval), then the task's other full-training metrics.
    """
    entries = []
    for name, entry in scored_tasks(results).items():
        evaluation = entry["methods"].get("normwear")
        score = main_score(evaluation)
        if score is None:
            continue
        main = evaluation["main_metric"]
        metrics = [
            {
                "type": METRIC_TYPES[main],
                "value": round(score[0], 4),
                "name": f"{METRIC_NAMES[main]}, linear probe (95% CI {score[1]:.3f} to {score[2]:.3f})",
            }
        ]
        for metric in METRIC_ORDER:
            value = evaluation["full"].get(metric)
            if metric != main and is_number(value):
                metrics.append(
                    {"type": METRIC_TYPES[metric], "value": round(float(value), 4), "name": METRIC_NAMES[metric]}
                )
        entries.append(
            {
                "task": {
                    "type": entry["kind"],
                    "name": f"{entry['kind'].capitalize()} (linear probe, frozen embeddings)",
                },
                "dataset": {"name": _task_description(name), "type": name, "split": "test"},
                "metrics": metrics,
            }
        )
    if zero_shot is not None and is_number(zero_shot["macro_auroc"]):  # NaN has no place in model-index
        held_out = [task["task"] for task in zero_shot["held_out_tasks"]]
        entries.append(
            {
                "task": {"type": "zero-shot-classification", "name": "Zero-shot classification (held-out tasks)"},
                "dataset": {"name": f"held-out tasks: {', '.join(held_out)}", "type": "normwear-zero-shot-held-out"},
                "metrics": [
                    {
                        "type": "roc_auc",
                        "value": round(float(zero_shot["macro_auroc"]), 4),
                        "name": f"macro AUROC over {len(held_out)} held-out tasks",
                    }
                ],
            }
        )
    return [{"name": model_name, "results": entries}]


def build_front_matter(
    results: Mapping[str, Any], zero_shot: Mapping[str, Any] | None = None, model_name: str = DEFAULT_MODEL_NAME
) -> dict[str, Any]:
    return {
        "license": LICENSE,
        "library_name": LIBRARY_NAME,
        "pipeline_tag": PIPELINE_TAG,
        "tags": list(TAGS),
        "model-index": model_index(results, zero_shot, model_name),
    }
