"""Reading and checking what the runs wrote: benchmark results, a pretraining run folder, zero-shot results.

Every input is checked before a card is written; a problem is a ``ValueError`` that names the file and says how to
make a good one. The small predicates here (:func:`is_number`, :func:`main_score`, ...) are what the other modules
of the card use to read those structures.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .constants import BENCHMARK_HINT, METRIC_TYPES

__all__ = ["TrainingRun", "load_benchmark_results", "load_training_run", "load_zero_shot_results"]


def read_json(path: Path, what: str, hint: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{what} {path} does not exist; {hint}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{what} {path} is not valid JSON ({error}); {hint}.") from None


def _is_real(value: Any) -> bool:
    """A JSON number, NaN included (an AUROC is NaN when a test set holds one class)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def main_score(evaluation: Any) -> tuple[float, float, float] | None:
    """(point, low, high) of a method's main metric, or None when the method was skipped or is absent."""
    if not isinstance(evaluation, Mapping) or "ci" not in evaluation:
        return None
    ci = evaluation["ci"]
    return float(ci["point"]), float(ci["low"]), float(ci["high"])


def scored_tasks(results: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: entry for name, entry in results["tasks"].items() if "methods" in entry}


def main_metric(entry: Mapping[str, Any]) -> str:
    return next((e["main_metric"] for e in entry["methods"].values() if "main_metric" in e), "?")


def load_benchmark_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a ``normwear-hf benchmark`` ``results.json`` (or the folder holding one).

    Raises a ``ValueError`` that names the file and says how to make one when it is missing, is not JSON, or
    does not have the benchmark's structure (tasks -> methods -> main_metric / ci / full), or when no task has
    scores for the NormWear model.
    """
    if path is None:
        raise ValueError(f"No benchmark results given; {BENCHMARK_HINT}.")
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    results = read_json(path, "Benchmark results", BENCHMARK_HINT)

    def malformed(problem: str) -> ValueError:
        return ValueError(
            f"Benchmark results {path} are malformed: {problem}. Expected the results.json written by "
            f"`normwear-hf benchmark`; {BENCHMARK_HINT}."
        )

    if not isinstance(results, dict) or not isinstance(results.get("tasks"), dict):
        raise malformed("no 'tasks' mapping")
    if not results["tasks"]:
        raise malformed("'tasks' is empty")
    for name, entry in results["tasks"].items():
        if not isinstance(entry, dict):
            raise malformed(f"task {name!r} is not a mapping")
        if "skipped" in entry:
            continue
        for key in ("kind", "methods", "n_train", "n_test"):
            if key not in entry:
                raise malformed(f"task {name!r} has no {key!r}")
        if entry["kind"] not in ("classification", "regression"):
            raise malformed(f"task {name!r} has kind {entry['kind']!r} (not classification / regression)")
        if not isinstance(entry["methods"], dict):
            raise malformed(f"task {name!r}: 'methods' is not a mapping")
        for method, evaluation in entry["methods"].items():
            if not isinstance(evaluation, dict):
                raise malformed(f"task {name!r}, method {method!r} is not a mapping")
            if "skipped" in evaluation:
                continue
            ci = evaluation.get("ci")
            if evaluation.get("main_metric") not in METRIC_TYPES:
                raise malformed(
                    f"task {name!r}, method {method!r}: unknown main_metric {evaluation.get('main_metric')!r}"
                )
            if not isinstance(ci, dict) or not all(is_number(ci.get(key)) for key in ("point", "low", "high")):
                raise malformed(f"task {name!r}, method {method!r}: 'ci' needs numeric point / low / high")
            if not isinstance(evaluation.get("full"), dict):
                raise malformed(f"task {name!r}, method {method!r} has no 'full' metrics")
    if not any(main_score(entry.get("methods", {}).get("normwear")) for entry in results["tasks"].values()):
        raise malformed("no task has scores for the NormWear model (method 'normwear')")
    results.setdefault("model", "unknown model")
    results.setdefault("date", "unknown date")
    results.setdefault("machine", "unknown machine")
    results.setdefault("quick", False)
    results["_path"] = str(path)
    return results


@dataclass
class TrainingRun:
    """What a ``normwear-hf pretrain`` output folder holds (every part may be missing)."""

    folder: Path
    metrics: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    args: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    corpus_composition: dict[str, Any] | None = None


def _read_metrics(path: Path) -> list[dict[str, Any]]:
    """``metrics.jsonl`` records with a step and a finite loss, one per step (a resumed run's repeat wins)."""
    by_step: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}, line {number}, is not JSON ({error}); the pretraining log is damaged.") from None
        if not isinstance(record, dict) or not is_number(record.get("step")) or not is_number(record.get("loss")):
            raise ValueError(f"{path}, line {number}, has no numeric 'step' and 'loss'.")
        by_step[int(record["step"])] = record
    return [by_step[step] for step in sorted(by_step)]


def load_training_run(path: str | os.PathLike) -> TrainingRun:
    """Read a pretraining output folder; files that are absent stay ``None`` / empty, damaged ones raise."""
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"Training run {folder} is not a folder; pass the --output_dir of `normwear-hf pretrain`.")
    run = TrainingRun(folder=folder)
    hint = "pass the --output_dir of `normwear-hf pretrain`"
    if (folder / "metrics.jsonl").is_file():
        run.metrics = _read_metrics(folder / "metrics.jsonl")
    for attribute, name in (
        ("summary", "training_summary.json"),
        ("args", "pretrain_args.json"),
        ("config", "config.json"),
    ):
        if (folder / name).is_file():
            value = read_json(folder / name, "Training run file", hint)
            if not isinstance(value, dict):
                raise ValueError(f"Training run file {folder / name} is not a JSON object; {hint}.")
            setattr(run, attribute, value)
    corpus = (run.args or {}).get("corpus")
    if corpus:
        manifest = Path(corpus) / "manifest.json"
        if manifest.is_file():
            try:
                run.corpus_composition = json.loads(manifest.read_text()).get("composition")
            except (json.JSONDecodeError, AttributeError):
                run.corpus_composition = None  # a damaged manifest only costs the card its corpus statistics
    return run


def load_zero_shot_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check zero-shot results.

    Structure: ``{"held_out_tasks": [{"task", "num_classes", "auroc", "clap_baseline_auroc", "chance"}],
    "macro_auroc", "clap_macro_auroc", "held_in_tasks": [str], "text_encoder": str}``; ``held_out_tasks`` (each
    with ``task`` and ``auroc``) and ``macro_auroc`` are required, the rest is optional.
    """
    path = Path(path)
    hint = "pass the JSON written by the zero-shot evaluation, or leave --zero_shot_results out"
    data = read_json(path, "Zero-shot results", hint)

    def malformed(problem: str) -> ValueError:
        return ValueError(f"Zero-shot results {path} are malformed: {problem}; {hint}.")

    if not isinstance(data, dict):
        raise malformed("not a JSON object")
    tasks = data.get("held_out_tasks")
    if not isinstance(tasks, list) or not tasks:
        raise malformed("'held_out_tasks' must be a non-empty list")
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("task"), str) or not _is_real(task.get("auroc")):
            raise malformed(f"held_out_tasks[{index}] needs a 'task' name and a numeric 'auroc'")
    if not _is_real(data.get("macro_auroc")):
        raise malformed("'macro_auroc' must be a number")
    data["_path"] = str(path)
    return data


def load_seed_ablation(path: str | os.PathLike, recipe: str) -> dict[str, Any]:
    """Read the ``evaluation.json`` of ``benchmarks/ablate_pretraining_objective.py evaluate`` and keep ``recipe``'s
    entries (one per pooling): ``{"recipe", "entries": {pooling: entry}, "plan", "unseen_tasks", "date"}``."""
    path = Path(path)
    hint = "pass the evaluation.json that `benchmarks/ablate_pretraining_objective.py evaluate` wrote"
    data = read_json(path, "Pretraining-seed ablation", hint)
    recipes = data.get("recipes") if isinstance(data, dict) else None
    if not isinstance(recipes, dict):
        raise ValueError(f"Pretraining-seed ablation {path} is malformed: no 'recipes' object; {hint}.")
    entries = {entry["pooling"]: entry for name, entry in recipes.items() if name.split(" (")[0] == recipe}
    if not entries:
        raise ValueError(f"Pretraining-seed ablation {path} holds no runs of recipe {recipe!r}; {hint}.")
    keys = ("plan", "unseen_tasks", "date", "statistics_auroc")
    return {"recipe": recipe, "entries": entries, "_path": str(path), **{k: data.get(k) for k in keys}}
