"""Model cards for NormWear checkpoints, filled from what the runs wrote: nothing in a card is typed by hand.

    python modeling_cards/generate_model_card.py --out_dir runs/tiny --benchmark_results bench/results.json \\
        --training_run runs/tiny --command "normwear-hf pretrain ..." --corpus "..." --machine "1x H100"

:func:`write_model_card` fills ``model_card_template.md`` (shipped in the package) and writes ``README.md`` and
``loss_curve.png`` to a model folder. Inputs:

- ``benchmark_results`` (required): the ``results.json`` of ``normwear-hf benchmark``. Gives the ``model-index``
  block (one entry per task: the NormWear model's main metric with its 95% interval, then the other metrics),
  the per-task table (NormWear vs random init vs 16 statistics vs MiniRocket vs raw signal) and the count of
  tasks on which the weights beat their random-init twin.
- ``training_run``: a ``normwear-hf pretrain`` output folder (``metrics.jsonl`` -> loss curve,
  ``training_summary.json``, ``pretrain_args.json``, ``config.json``; the corpus ``manifest.json`` when the
  corpus folder is still where the run read it).
- ``zero_shot_results``: held-out zero-shot AUROCs against the CLAP-style baseline (see
  :func:`load_zero_shot_results`).
- Free text that no file records: the exact command, a corpus description, the machine, the wall time.

Decisions
---------
- "Beats random init": the main metric differs by more than ``tie_tolerance`` (0.001, the resolution of the
  tables) in the better direction (lower for MAE); smaller differences are ties. When the weights do not beat
  their random twin on a majority of the compared tasks, the card says so in a sentence.
- ``model-index`` task types are ``classification`` / ``regression`` (no Hugging Face task tag covers
  physiological signals); the dataset ``type`` is the benchmark's task name, its ``name`` the task description.
- A zero-shot file that is named but missing is an error (a silent card without it would hide a typo); pass
  ``None`` when there is no zero-shot evaluation, and the card says that nothing is claimed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import shlex
import shutil
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .evaluation.benchmark import METHOD_LABELS
from .evaluation.zero_shot_report import INTERVAL_NOTE, has_interval, with_interval
from .utils.atomic import write_text_atomic

__all__ = [
    "CARD_NAME",
    "LOSS_CURVE_NAME",
    "TEMPLATE_PATH",
    "RandomInitComparison",
    "TrainingRun",
    "build_front_matter",
    "compare_with_random_init",
    "fill_template",
    "load_benchmark_results",
    "load_training_run",
    "load_zero_shot_results",
    "main",
    "model_index",
    "plot_loss_curve",
    "write_model_card",
]

TEMPLATE_PATH = Path(__file__).resolve().parent / "model_card_template.md"
CARD_NAME = "README.md"
LOSS_CURVE_NAME = "loss_curve.png"
TASK_SCORES_NAME = "task_scores.png"
DEFAULT_MODEL_NAME = "normwear"
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
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


# ---------------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------------


def _read_json(path: Path, what: str, hint: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{what} {path} does not exist; {hint}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{what} {path} is not valid JSON ({error}); {hint}.") from None


def _is_real(value: Any) -> bool:
    """A JSON number, NaN included (an AUROC is NaN when a test set holds one class)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _score(evaluation: Any) -> tuple[float, float, float] | None:
    """(point, low, high) of a method's main metric, or None when the method was skipped or is absent."""
    if not isinstance(evaluation, Mapping) or "ci" not in evaluation:
        return None
    ci = evaluation["ci"]
    return float(ci["point"]), float(ci["low"]), float(ci["high"])


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
    results = _read_json(path, "Benchmark results", BENCHMARK_HINT)

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
            if not isinstance(ci, dict) or not all(_is_number(ci.get(key)) for key in ("point", "low", "high")):
                raise malformed(f"task {name!r}, method {method!r}: 'ci' needs numeric point / low / high")
            if not isinstance(evaluation.get("full"), dict):
                raise malformed(f"task {name!r}, method {method!r} has no 'full' metrics")
    if not any(_score(entry.get("methods", {}).get("normwear")) for entry in results["tasks"].values()):
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
        if not isinstance(record, dict) or not _is_number(record.get("step")) or not _is_number(record.get("loss")):
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
            value = _read_json(folder / name, "Training run file", hint)
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
    data = _read_json(path, "Zero-shot results", hint)

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


# ---------------------------------------------------------------------------------------------------------------
# What the numbers say
# ---------------------------------------------------------------------------------------------------------------


def _scored_tasks(results: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: entry for name, entry in results["tasks"].items() if "methods" in entry}


def _main_metric(entry: Mapping[str, Any]) -> str:
    return next((e["main_metric"] for e in entry["methods"].values() if "main_metric" in e), "?")


@dataclass
class RandomInitComparison:
    """Per task, the pretrained weights against the same architecture with random weights (main metric)."""

    wins: list[str] = field(default_factory=list)
    ties: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    separated_wins: list[str] = field(default_factory=list)  # wins whose 95% intervals do not overlap
    identical: bool = False  # every compared task has exactly the same score: the weights are random
    tolerance: float = TIE_TOLERANCE

    @property
    def compared(self) -> int:
        return len(self.wins) + len(self.ties) + len(self.losses)

    @property
    def beats_on_most(self) -> bool:
        return self.compared > 0 and len(self.wins) > self.compared / 2

    def sentence(self) -> str:
        if not self.compared:
            return (
                "No task has scores for both the model and its random-init twin: what pretraining adds is not measured."
            )
        line = (
            f"**Pretrained vs random init: the pretrained weights beat the same architecture with random weights on "
            f"{len(self.wins)} of {self.compared} tasks** (ties on {len(self.ties)}, losses on {len(self.losses)}; "
            f"a main-metric difference under {self.tolerance:g} counts as a tie)"
        )
        line += (
            f"; the 95% intervals separate on {len(self.separated_wins)} of those {len(self.wins)}."
            if self.wins
            else "."
        )
        if self.identical:
            line += (
                " The model's scores equal the random-init scores on every task: these weights are the random "
                "initialisation, not a pretrained model."
            )
        elif not self.beats_on_most:
            line += (
                " Pretraining does not beat random initialisation on most tasks: on this benchmark the learned "
                "weights add little over the architecture and the wavelet front end, so treat the embeddings as a "
                "random-feature baseline until a larger evaluation shows otherwise."
            )
        return line


def compare_with_random_init(results: Mapping[str, Any], tie_tolerance: float = TIE_TOLERANCE) -> RandomInitComparison:
    """Count the tasks on which ``normwear`` beats, ties or loses to ``random_init`` (see the module's Decisions)."""
    comparison = RandomInitComparison(tolerance=tie_tolerance)
    exact = []
    for name, entry in _scored_tasks(results).items():
        model, random = _score(entry["methods"].get("normwear")), _score(entry["methods"].get("random_init"))
        if model is None or random is None:
            continue
        sign = -1.0 if _main_metric(entry) in LOWER_IS_BETTER else 1.0
        gain = sign * (model[0] - random[0])
        exact.append(model[0] == random[0])
        if gain > tie_tolerance:
            comparison.wins.append(name)
            separated = model[1] > random[2] if sign > 0 else model[2] < random[1]
            if separated:
                comparison.separated_wins.append(name)
        elif gain < -tie_tolerance:
            comparison.losses.append(name)
        else:
            comparison.ties.append(name)
    comparison.identical = bool(exact) and all(exact)
    return comparison


def _task_description(name: str) -> str:
    from .evaluation.tasks import TASKS

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
    for name, entry in _scored_tasks(results).items():
        evaluation = entry["methods"].get("normwear")
        score = _score(evaluation)
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
            if metric != main and _is_number(value):
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
    if zero_shot is not None and _is_number(zero_shot["macro_auroc"]):  # NaN has no place in model-index
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


# ---------------------------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------------------------


def plot_loss_curve(metrics: Sequence[Mapping[str, Any]], path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw the pretraining loss (and the learning rate, when logged) per optimizer step into a PNG."""
    if not metrics:
        raise ValueError("No metrics to plot: metrics.jsonl is empty.")
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("The loss curve needs matplotlib: pip install 'normwear-hf[bench]'.") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [int(record["step"]) for record in metrics]
    losses = [float(record["loss"]) for record in metrics]
    figure, axis = plt.subplots(figsize=(6, 3.6))
    axis.plot(steps, losses, color="tab:blue", marker="o" if len(steps) <= 30 else None, markersize=3, label="loss")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("masked-reconstruction loss")
    if min(losses) > 0 and max(losses) / min(losses) > 10:
        axis.set_yscale("log")
    axis.grid(alpha=0.3)
    if all(_is_number(record.get("lr")) for record in metrics):
        twin = axis.twinx()
        twin.plot(steps, [float(record["lr"]) for record in metrics], color="tab:gray", linestyle="--", label="lr")
        twin.set_ylabel("learning rate", color="tab:gray")
        twin.tick_params(axis="y", colors="tab:gray")
    axis.set_title(title or "Pretraining loss", fontsize=9)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


# ---------------------------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds:.0f} s ({seconds / 60:.1f} min)"
    return f"{seconds / 3600:.1f} h"


def _architecture(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """Width, depth, heads, patch and backbone parameters of a NormWear ``config.json`` (None for other models)."""
    if config.get("model_type") != "normwear":
        return None
    import torch

    from .configuration_normwear import NormWearConfig
    from .modeling_normwear import NormWearModel

    known = {key: value for key, value in config.items() if key not in ("architectures", "auto_map")}
    normwear_config = NormWearConfig.from_dict(known)
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        backbone = NormWearModel(normwear_config)
    return {
        "width": normwear_config.hidden_size,
        "layers": normwear_config.num_hidden_layers,
        "fusion": len(backbone.encoder.fusion_layers),
        "heads": normwear_config.num_attention_heads,
        "mlp": normwear_config.intermediate_size,
        "patch": tuple(normwear_config.patch_size),
        "parameters": sum(parameter.numel() for parameter in backbone.parameters()),
        "mask_strategy": normwear_config.mask_strategy,
        "mask_time_ratio": normwear_config.mask_time_ratio,
        "mask_scale_ratio": normwear_config.mask_scale_ratio,
        "mask_ratio": normwear_config.mask_ratio,
        "target": normwear_config.reconstruction_target,
    }


def _reconstructed_command(args: Mapping[str, Any]) -> str:
    """``normwear-hf pretrain`` with every option that differs from its default, from ``pretrain_args.json``."""
    from .training.pretrain import PretrainArguments

    defaults = dataclasses.asdict(PretrainArguments())
    parts = ["normwear-hf", "pretrain", "--corpus", shlex.quote(str(args.get("corpus", "")))]
    for key, value in args.items():
        if key in ("corpus", "progress", "simulate_crash_at_step") or key not in defaults or value == defaults[key]:
            continue
        if isinstance(value, bool):
            if value:
                parts.append(f"--{key}")
            continue
        if value is None:
            continue
        text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        parts += [f"--{key}", shlex.quote(text)]
    return " ".join(parts)


def _corpus_statistics(composition: Mapping[str, Any]) -> tuple[str, float | None, float | None]:
    """A sentence about the corpus, its hours and its synthetic share (None when unknown)."""
    hours = composition.get("hours")
    segments = composition.get("segments")
    origin = composition.get("by_origin") or {}
    synthetic_hours = (origin.get("synthetic") or {}).get("hours")
    share = synthetic_hours / hours if _is_number(synthetic_hours) and _is_number(hours) and hours > 0 else None
    parts = []
    if _is_number(segments) and _is_number(hours):
        parts.append(f"{int(segments):,} segments, {hours:.2f} h")
    if share is not None:
        parts.append(f"{(1 - share) * 100:.0f}% real ({hours - synthetic_hours:.2f} h), {share * 100:.0f}% synthetic")
    sources = composition.get("by_source") or {}
    if sources:
        listed = ", ".join(
            f"{name} {source.get('hours', 0):.2f} h"
            for name, source in sorted(sources.items(), key=lambda item: -float(item[1].get("hours") or 0))
        )
        parts.append(f"sources: {listed}")
    by_type = composition.get("by_channel_type") or {}
    if by_type:
        types = ", ".join(
            f"{name} {entry.get('channel_hours', 0):.2f}"
            for name, entry in sorted(by_type.items(), key=lambda item: -float(item[1].get("channel_hours") or 0))
        )
        parts.append(f"channel-hours by type: {types}")
    return "; ".join(parts), (float(hours) if _is_number(hours) else None), share


def _training_section(
    run: TrainingRun | None,
    config: Mapping[str, Any] | None,
    architecture: Mapping[str, Any] | None,
    command: str | None,
    corpus: str | None,
    machine: str | None,
    wall_time: str | None,
    loss_curve: str | None,
) -> str:
    lines = []
    if run is None:
        lines.append(
            "No pretraining run folder was given to the card generator, so steps, batch, loss and wall time are not "
            "recorded here."
        )
    composition = run.corpus_composition if run is not None else None
    corpus_line = corpus.strip() if corpus else ""
    if composition:
        statistics, _, _ = _corpus_statistics(composition)
        corpus_line = f"{corpus_line} ({statistics})" if corpus_line else statistics
        corpus_line += " (from the corpus manifest)."
    lines += ["", f"**Corpus.** {corpus_line or 'not described.'}"]

    if architecture:
        preset = (run.args or {}).get("config") if run is not None else None
        overrides = (run.args or {}).get("config_overrides") if run is not None else None
        name = f"`{preset}`" if preset else "from config.json"
        if overrides:
            name += f" with `{json.dumps(overrides)}`"
        patch = architecture["patch"]
        lines += [
            "",
            "| config | width | depth (encoder + fusion blocks) | heads | MLP width | patch (time x scale) "
            "| parameters |",
            "|---|---|---|---|---|---|---|",
            f"| {_cell(name)} | {architecture['width']} | {architecture['layers']} + {architecture['fusion']} | "
            f"{architecture['heads']} | {architecture['mlp']} | {patch[0]} x {patch[1]} | "
            f"{architecture['parameters'] / 1e6:.1f} M ({architecture['parameters']:,}) |",
            "",
        ]
        if architecture["mask_strategy"] == "structured":
            masking = (
                f"structured masking ({architecture['mask_time_ratio']:.0%} of time rows, "
                f"{architecture['mask_scale_ratio']:.0%} of scale columns)"
            )
        else:
            masking = f"random masking ({architecture['mask_ratio']:.0%} of patches)"
        lines.append(
            f"Masked-reconstruction pretraining: {masking}, reconstruction target `{architecture['target']}`. "
            "The parameter count is the backbone's (the pretraining decoder is not part of the checkpoint's "
            "`NormWearModel`)."
        )
    elif config is not None:
        lines += ["", f"The config is not a NormWear one (model_type {config.get('model_type')!r})."]

    if run is not None:
        summary, args = run.summary or {}, run.args or {}
        steps = summary.get("steps", run.metrics[-1]["step"] if run.metrics else args.get("max_steps"))
        batch = summary.get("effective_batch")
        if batch is None and args:
            batch = args.get("per_device_batch_size", 0) * args.get("gradient_accumulation_steps", 1)
        batch_note = ""
        if args:
            batch_note = (
                f" ({args.get('per_device_batch_size')} per device x {args.get('gradient_accumulation_steps', 1)} "
                f"accumulation x {summary.get('world_size', 1)} process(es))"
            )
        seen = f"{int(steps) * int(batch):,}" if _is_number(steps) and _is_number(batch) else "unknown"
        if wall_time:
            wall = wall_time
        elif _is_number(summary.get("wall_time_s")):
            wall = _duration(float(summary["wall_time_s"]))
        else:
            wall = "not recorded"
        learning_rate = summary.get("learning_rate")
        lr_text = f"{learning_rate:.3g}" if _is_number(learning_rate) else "unknown"
        if args.get("base_lr") is not None and _is_number(learning_rate):
            lr_text += f" (base {args['base_lr']:g} x batch / 256)"
        loss_text = "not logged"
        if run.metrics:
            first, last = run.metrics[0], run.metrics[-1]
            loss_text = f"{first['loss']:.3f} (step {first['step']}) -> {last['loss']:.3f} (step {last['step']})"
        lines += [
            "",
            "| steps | effective batch | segments seen | learning rate (after warm-up) | precision | loss | wall time "
            "| machine |",
            "|---|---|---|---|---|---|---|---|",
            f"| {steps if steps is not None else 'unknown'} | "
            f"{batch if batch is not None else 'unknown'}{batch_note} | "
            f"{seen} | {lr_text} | {args.get('mixed_precision', 'unknown')} | {loss_text} | {_cell(wall)} | "
            f"{_cell(machine or 'not recorded')} |",
        ]
    elif wall_time or machine:
        lines += ["", f"Wall time: {wall_time or 'not recorded'}. Machine: {machine or 'not recorded'}."]

    if command:
        lines += ["", "Command:", "", "```bash", command.strip(), "```"]
    elif run is not None and run.args:
        lines += [
            "",
            "Command (reconstructed from `pretrain_args.json`: options that differ from their defaults):",
            "",
            "```bash",
            _reconstructed_command(run.args),
            "```",
        ]
    if loss_curve:
        lines += ["", f"![Pretraining loss per optimizer step]({loss_curve})"]
    elif run is not None:
        lines += ["", "No `metrics.jsonl` in the run folder: no loss curve."]
    return "\n".join(lines).strip()


def _format_score(score: tuple[float, float, float] | None) -> str:
    return "skipped" if score is None else f"{score[0]:.3f} [{score[1]:.3f}, {score[2]:.3f}]"


def _evaluation_section(results: Mapping[str, Any], comparison: RandomInitComparison, task_scores: str | None) -> str:
    tasks = _scored_tasks(results)
    methods = [m for m in CARD_METHODS if any(m in entry["methods"] for entry in tasks.values())]
    lines = [
        "Linear probes on frozen embeddings, the paper's protocol (`normwear-hf benchmark`): the probing embedding "
        "(token mean per channel, channels concatenated) goes through logistic regression (C = 1) or ridge on "
        "log(y + 1), beside the same architecture with random weights and three baselines on the same splits. "
        "Main metric: AUROC for classification (one-vs-one macro for several classes), relative accuracy in "
        "original units for regression (MAE where a target is 0); in brackets a bootstrap 95% interval over the "
        "test set.",
        "",
        f"Benchmark run: model `{results['model']}`, {results['date']}, {results['machine']}"
        + (", **quick settings (a smoke test, not a result)**" if results.get("quick") else "")
        + ".",
        "",
        "| task | kind | metric | n train / test | " + " | ".join(METHOD_LABELS[m] for m in methods) + " |",
        "|---|---|---|---|" + "---|" * len(methods),
    ]
    per_method: dict[str, list[float]] = {m: [] for m in methods}
    bounded = True
    for name, entry in tasks.items():
        metric = _main_metric(entry)
        bounded = bounded and metric in BOUNDED_METRICS
        arrow = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
        cells = []
        for method in methods:
            score = _score(entry["methods"].get(method))
            if score is not None:
                per_method[method].append(score[0])
            cells.append(_format_score(score))
        lines.append(
            f"| {name} | {entry['kind']} | {metric} ({arrow}) | {entry['n_train']} / {entry['n_test']} | "
            + " | ".join(cells)
            + " |"
        )
    complete = [m for m in methods if len(per_method[m]) == len(tasks)]
    means = {m: sum(per_method[m]) / len(per_method[m]) for m in complete}
    if bounded and means:
        lines.append(
            "| **mean** | | | | " + " | ".join(f"**{means[m]:.3f}**" if m in means else "n/a" for m in methods) + " |"
        )
    lines += ["", comparison.sentence(), ""]
    if bounded and "normwear" in means and len(means) > 1:
        best = max(means, key=means.get)
        if best == "normwear":
            lines.append(f"Best mean main metric over the tasks: this model ({means[best]:.3f}).")
        else:
            lines.append(
                f"Best mean main metric over the tasks: {METHOD_LABELS[best]} ({means[best]:.3f}), against "
                f"{means['normwear']:.3f} for this model."
            )
    if task_scores:
        lines += ["", f"![Main metric per task and method, with 95% intervals]({task_scores})"]
    skipped = {name: entry["skipped"] for name, entry in results["tasks"].items() if "skipped" in entry}
    if skipped:
        lines += [
            "",
            "Skipped tasks (their data package was missing): " + "; ".join(f"{k} ({v})" for k, v in skipped.items()),
        ]
    notes = {name: entry["notes"] for name, entry in tasks.items() if entry.get("notes")}
    if notes:
        lines += ["", "Task notes:", ""] + [f"- {name}: {_cell(note)}" for name, note in notes.items()]
    lines += ["", "Few-shot (k per class) and 10% partial-shot probes are in the benchmark's `results.json`."]
    return "\n".join(lines)


def _number_or_na(value: Any, spec: str = ".3f") -> str:
    return format(value, spec) if _is_number(value) else "n/a"


def _zero_shot_section(zero_shot: Mapping[str, Any] | None) -> str:
    if zero_shot is None:
        return (
            "Not evaluated: no zero-shot results were given to the card generator, so this card claims nothing "
            "about zero-shot accuracy."
        )
    tasks = zero_shot["held_out_tasks"]
    lines = []
    if zero_shot.get("text_encoder"):
        lines += [f"Text encoder (frozen): `{zero_shot['text_encoder']}`.", ""]
    held_in = zero_shot.get("held_in_tasks") or []
    if held_in:
        lines += [
            f"Held-in tasks (their labels trained the zero-shot head): {', '.join(map(str, held_in))}. "
            "The tasks below were never seen in training.",
            "",
        ]
    if _is_number(zero_shot.get("calibration_temperature")):
        lines += [
            f"Scores are softmax(logits / T) with T = {zero_shot['calibration_temperature']:.3g}, fitted on held-in "
            "validation data.",
            "",
        ]
    has_n = any("n" in task for task in tasks)
    has_clap = any(_is_number(task.get("clap_baseline_auroc")) for task in tasks)
    columns = ["held-out task", "classes"] + (["n"] if has_n else []) + ["NormWear zero-shot AUROC"]
    columns += (["CLAP-style baseline AUROC"] if has_clap else []) + ["chance"]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    wins = compared = 0
    for task in tasks:
        cells = [_cell(task["task"]), str(task.get("num_classes", "?"))] + ([str(task.get("n", "?"))] if has_n else [])
        cells.append(_scored(task["auroc"], task.get("auroc_ci")))
        if has_clap:
            clap = task.get("clap_baseline_auroc")
            cells.append(_scored(clap, task.get("clap_baseline_auroc_ci")))
            if _is_number(clap) and _is_number(task["auroc"]):
                compared += 1
                wins += int(task["auroc"] > clap)
        cells.append(_number_or_na(task.get("chance", 0.5), ".2f"))
        lines.append("| " + " | ".join(cells) + " |")
    macro = ["**macro**", ""] + ([""] if has_n else [])
    macro.append(f"**{_scored(zero_shot['macro_auroc'], zero_shot.get('macro_auroc_ci'))}**")
    if has_clap:
        clap_macro = _scored(zero_shot.get("clap_macro_auroc"), zero_shot.get("clap_macro_auroc_ci"))
        macro.append(f"**{clap_macro}**")
    lines.append("| " + " | ".join(macro + [""]) + " |")
    if has_interval(zero_shot.get("macro_auroc_ci")):
        lines += ["", INTERVAL_NOTE]
    if has_clap:
        lines += ["", f"NormWear beats the CLAP-style baseline on {wins} of {compared} held-out tasks."]
    undefined = [task["task"] for task in tasks if not _is_number(task["auroc"])]
    if undefined:
        lines += ["", f"AUROC undefined (one class only in the test views): {', '.join(map(str, undefined))}."]
    lines += _seed_spread(zero_shot.get("seed_runs") or [])
    return "\n".join(lines).strip()


def _scored(value: Any, interval: Any) -> str:
    """A score cell: the number with its interval when the results carry a valid one; n/a when there is none."""
    return with_interval(float(value), interval) if _is_number(value) else _number_or_na(value)


def _seed_spread(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """A sentence on how much the held-out macro AUROC moves with the training seed (``seed_runs`` entries:
    ``{"seed", "macro_auroc", "clap_macro_auroc"}``); nothing for fewer than two runs."""
    scores = [float(run["macro_auroc"]) for run in runs if _is_number(run.get("macro_auroc"))]
    if len(scores) < 2:
        return []
    clap = [float(run["clap_macro_auroc"]) for run in runs if _is_number(run.get("clap_macro_auroc"))]
    listed = ", ".join(f"{score:.3f}" for score in scores)
    text = (
        f"Across {len(scores)} training seeds (this checkpoint is one of them) the held-out macro AUROC is "
        f"{statistics.mean(scores):.3f} +- {statistics.stdev(scores):.3f} ({listed})"
    )
    if len(clap) >= 2:
        text += f"; the CLAP-style baseline {statistics.mean(clap):.3f} +- {statistics.stdev(clap):.3f}"
    return ["", text + "."]


def _benchmark_limitation(results: Mapping[str, Any], comparison: RandomInitComparison) -> str:
    tasks = _scored_tasks(results)
    sizes = [int(entry["n_test"]) for entry in tasks.values() if _is_number(entry.get("n_test"))]
    synthetic = sum(name.startswith("synthetic") for name in tasks)
    size_text = ""
    if sizes:
        span = f"{min(sizes):,}" if min(sizes) == max(sizes) else f"{min(sizes):,} to {max(sizes):,}"
        size_text = f", test sets of {span} cases"
    overlap = comparison.compared - len(comparison.separated_wins)
    return (
        f"- **Small benchmark.** {len(tasks)} tasks ({synthetic} of them synthetic){size_text}, linear probes "
        f"only, one pretraining seed; the 95% intervals of the model and its random-init twin overlap (or the model "
        f"does not win) on {overlap} of {comparison.compared} tasks."
    )


def _untested_limitation(results: Mapping[str, Any], zero_shot: Mapping[str, Any] | None) -> str:
    """The applications this card has no number for; one drops out when a task name matches its keywords."""
    evaluated = [name.lower() for name in _scored_tasks(results)]
    if zero_shot is not None:
        evaluated += [str(task["task"]).lower() for task in zero_shot["held_out_tasks"]]
    untested = [
        label for label, keywords in UNTESTED_APPLICATIONS if not any(k in name for name in evaluated for k in keywords)
    ]
    if not untested:
        return ""
    return (
        f"- **Never evaluated on:** {'; '.join(untested)}. Expect nothing on these until it is measured; the "
        "tables above are all this card claims."
    )


def _corpus_limitation(run: TrainingRun | None) -> str:
    composition = run.corpus_composition if run is not None else None
    if composition:
        _, hours, share = _corpus_statistics(composition)
        mostly = share is not None and share > 0.5
        size = f"{hours:.1f} h of segments" if hours is not None else "An unrecorded number of hours"
        synthetic = f", {share * 100:.0f}% of it synthetic" if share is not None else ""
        return (
            f"- **Small{', mostly synthetic,' if mostly else ''} pretraining corpus.** {size}{synthetic}, against "
            f"the paper's {PAPER_CORPUS_HOURS} h of real recordings over nine corpora. Synthetic signals have simpler "
            "morphology, artefacts and device effects than real ones; what the model learned from them may not "
            "transfer to real devices."
        )
    return (
        "- **Small, mostly synthetic pretraining corpus** (the corpora normwear-hf builds hold tens of hours, most of "
        f"them synthetic; see Training), against the paper's {PAPER_CORPUS_HOURS} h of real recordings over nine "
        "corpora. What the model learned from synthetic signals may not transfer to real devices."
    )


# ---------------------------------------------------------------------------------------------------------------
# The card
# ---------------------------------------------------------------------------------------------------------------


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """Replace every ``{{ name }}``; a placeholder without a value, or a value without a placeholder, raises.

    A placeholder alone on its line whose value is empty removes the line; runs of blank lines shrink to one.
    """
    used = set(_PLACEHOLDER.findall(template))
    missing, unused = sorted(used - set(values)), sorted(set(values) - used)
    if missing or unused:
        raise ValueError(
            f"Model card template and values disagree: no value for {missing}, no placeholder for {unused}."
        )
    lines = [
        line
        for line in template.split("\n")
        if not ((match := _PLACEHOLDER.fullmatch(line.strip())) and not values[match.group(1)].strip())
    ]  # a placeholder alone on its line with nothing to say leaves no blank line (e.g. in a list)
    text = _PLACEHOLDER.sub(lambda match: values[match.group(1)], "\n".join(lines))
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


def write_model_card(
    out_dir: str | os.PathLike,
    benchmark_results: str | os.PathLike,
    training_run: str | os.PathLike | None = None,
    zero_shot_results: str | os.PathLike | None = None,
    command: str | None = None,
    corpus: str | None = None,
    machine: str | None = None,
    *,
    wall_time: str | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    tie_tolerance: float = TIE_TOLERANCE,
    template: str | os.PathLike | None = None,
) -> Path:
    """Write ``out_dir/README.md`` (and ``loss_curve.png``, and the benchmark's ``task_scores.png``); return the card.

    Args:
        out_dir: the model folder (created if needed); its ``config.json`` describes the architecture when no
            training run is given.
        benchmark_results: ``results.json`` of ``normwear-hf benchmark`` (or its folder). Required.
        training_run: the ``--output_dir`` of ``normwear-hf pretrain``.
        zero_shot_results: zero-shot results JSON (:func:`load_zero_shot_results`); ``None`` when there is none.
        command, corpus, machine, wall_time: free text the files do not record (``wall_time`` defaults to the
            run's ``training_summary.json``; ``command`` to one reconstructed from ``pretrain_args.json``).
        model_name: the ``model-index`` name.
        tie_tolerance: main-metric differences up to this count as ties against random init.
        template: another template file (default: the package's ``model_card_template.md``).

    Every input is read and checked before anything is written; problems raise a ``ValueError`` naming the file.
    """
    results = load_benchmark_results(benchmark_results)
    run = load_training_run(training_run) if training_run is not None else None
    zero_shot = load_zero_shot_results(zero_shot_results) if zero_shot_results is not None else None
    template_text = Path(template or TEMPLATE_PATH).read_text()
    out_dir = Path(out_dir)
    model_config = None
    if (out_dir / "config.json").is_file():
        model_config = _read_json(out_dir / "config.json", "Model config", "save the model again")
    out_dir.mkdir(parents=True, exist_ok=True)

    loss_curve = None
    if run is not None and run.metrics:
        title = f"Pretraining loss ({run.args.get('config')} config)" if run.args and run.args.get("config") else None
        plot_loss_curve(run.metrics, out_dir / LOSS_CURVE_NAME, title=title)
        loss_curve = LOSS_CURVE_NAME
    task_scores = None
    source_plot = Path(results["_path"]).parent / TASK_SCORES_NAME
    if source_plot.is_file():
        target = out_dir / TASK_SCORES_NAME
        if source_plot.resolve() != target.resolve():
            shutil.copyfile(source_plot, target)
        task_scores = TASK_SCORES_NAME

    comparison = compare_with_random_init(results, tie_tolerance)
    front_matter = yaml.safe_dump(
        build_front_matter(results, zero_shot, model_name), sort_keys=False, allow_unicode=True, width=1000
    ).strip()
    config = (run.config if run is not None else None) or model_config
    architecture = _architecture(config) if config else None
    size = f" ({architecture['parameters'] / 1e6:.1f} M parameters)" if architecture else ""
    preset = (run.args or {}).get("config") if run is not None else None
    title = f"NormWear{' ' + preset if preset and '/' not in preset and '.' not in preset else ''}{size}"
    summary = (
        f"A [NormWear]({PAPER_URL}) backbone for multivariate wearable physiological signals, re-implemented in "
        "normwear-hf: every channel is resampled to 65 Hz and turned into a Mexican-hat wavelet scalogram (signal, "
        "first and second difference), a channel-shared transformer encodes its patches, and [CLS] tokens are "
        "fused across channels. It maps recordings of any sampling rate, length and channel count (PPG, ECG, EEG, "
        "EDA, respiration, IMU, EMG) to embeddings: one vector per recording, per channel, or the paper's probing "
        "embedding."
    )
    if run is not None and run.summary and _is_number(run.summary.get("steps")):
        summary += f" Pretrained by masked reconstruction for {int(run.summary['steps']):,} steps (see Training)."
    warnings = []
    if results.get("quick"):
        warnings.append(
            "> **Warning.** The benchmark numbers below come from `--quick` settings (small test sets, few "
            "resamples): a smoke test, not a result."
        )
    if comparison.identical:
        warnings.append(
            "> **Warning.** On every benchmark task this model scores exactly like its random-init twin: the "
            "weights evaluated are the random initialisation."
        )
    elif comparison.compared and not comparison.beats_on_most:
        warnings.append(
            f"> **Note.** Pretraining beats random initialisation on only {len(comparison.wins)} of "
            f"{comparison.compared} benchmark tasks (see Evaluation)."
        )
    zero_shot_usage_note = (
        "Zero-shot accuracy on held-out tasks is reported under [Zero-shot classification](#zero-shot-classification)."
        if zero_shot is not None
        else "> The zero-shot pipeline needs a checkpoint with a trained zero-shot head "
        "(`NormWearForZeroShotClassification`); no zero-shot evaluation was given for this card, so it makes no "
        "claim about zero-shot accuracy."
    )
    values = {
        "front_matter": front_matter,
        "title": title,
        "summary": summary,
        "warnings": "\n\n".join(warnings),
        "zero_shot_usage_note": zero_shot_usage_note,
        "training": _training_section(run, config, architecture, command, corpus, machine, wall_time, loss_curve),
        "evaluation": _evaluation_section(results, comparison, task_scores),
        "zero_shot": _zero_shot_section(zero_shot),
        "corpus_limitation": _corpus_limitation(run),
        "benchmark_limitation": _benchmark_limitation(results, comparison),
        "untested_limitation": _untested_limitation(results, zero_shot),
    }
    card = out_dir / CARD_NAME
    write_text_atomic(card, fill_template(template_text, values))
    return card


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------


def build_parser(prog: str = "generate_model_card") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Write a NormWear model folder's README.md (model card) and loss_curve.png from a benchmark's "
        "results.json, a pretraining run and optional zero-shot results.",
    )
    parser.add_argument("--out_dir", "--out", dest="out_dir", required=True, help="model folder to write the card to")
    parser.add_argument(
        "--benchmark_results", required=True, help="results.json written by `normwear-hf benchmark` (or its folder)"
    )
    parser.add_argument("--training_run", default=None, help="the --output_dir of `normwear-hf pretrain`")
    parser.add_argument("--zero_shot_results", default=None, help="zero-shot results JSON (leave out if none)")
    parser.add_argument("--command", default=None, help="the exact pretraining command, as run")
    parser.add_argument("--corpus", default=None, help="a description of the pretraining corpus")
    parser.add_argument("--machine", default=None, help="the machine that trained the model, e.g. '1x H100 80GB'")
    parser.add_argument("--wall_time", default=None, help="training wall time (default: from training_summary.json)")
    parser.add_argument("--model_name", default=DEFAULT_MODEL_NAME, help="name in the model-index block")
    parser.add_argument(
        "--tie_tolerance", type=float, default=TIE_TOLERANCE, help="main-metric difference counted as a tie"
    )
    return parser


def main(argv: list[str] | None = None, prog: str = "generate_model_card") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        card = write_model_card(
            args.out_dir,
            args.benchmark_results,
            training_run=args.training_run,
            zero_shot_results=args.zero_shot_results,
            command=args.command,
            corpus=args.corpus,
            machine=args.machine,
            wall_time=args.wall_time,
            model_name=args.model_name,
            tie_tolerance=args.tie_tolerance,
        )
    except (ValueError, ImportError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
