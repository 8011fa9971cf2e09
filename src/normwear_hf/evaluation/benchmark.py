"""One command from a model folder to honest numbers: every task, every baseline, the same splits.

    normwear-hf benchmark --model runs/tiny --tasks all --out benchmark/
    normwear-hf benchmark --tasks ecg200 synthetic_effort --quick --out /tmp/bench   # the bundled default model

For each task the model's frozen embeddings, the same architecture with random weights, 16 statistics per
channel, a raw-signal linear model and MiniRocket (where aeon is installed) go through the same linear probes
(logistic regression C = 1 / ridge alpha = 1 on log(y + 1)) on the same splits, with few-shot, 10% partial-shot
and bootstrap 95% intervals. Writes ``results.json``, ``results.md`` and PNG plots to ``--out``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import platform
import sys
import textwrap
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..feature_extraction_normwear import NormWearFeatureExtractor
from ..inference import DEFAULT_MODEL_DESCRIPTION, load_default_model, seeded_model
from ..modeling_normwear import NormWearModel
from .baselines import minirocket_features, raw_signal_features, statistical_features
from .paired import PairedScores, excludes_zero, format_difference, paired_bootstrap
from .probe import evaluate_features, extract_embeddings
from .tasks import REAL_TASKS, TASKS, Task, load_task
from .zero_shot_report import held_out_table

logger = logging.getLogger(__name__)

METHODS = ("normwear", "random_init", "statistical", "raw_linear", "minirocket")
#: Fixed-width embeddings a linear probe can take (see ``NormWearModel.get_embeddings``).
PROBE_POOLINGS = ("probe", "probe_level", "probe_rich")
METHOD_LABELS = {
    "normwear": "NormWear (this model)",
    "random_init": "NormWear, random weights",
    "statistical": "16 statistics / channel",
    "raw_linear": "raw signal, linear",
    "minirocket": "MiniRocket",
}


def load_model(model: str | None) -> tuple[NormWearModel, NormWearFeatureExtractor, str]:
    """A model folder (backbone or pretraining checkpoint), or the bundled default when ``None``."""
    if model in (None, "", "default"):
        backbone, extractor = load_default_model()
        return backbone, extractor, DEFAULT_MODEL_DESCRIPTION
    folder = Path(model)
    if not (folder / "config.json").exists():
        raise ValueError(f"--model {model!r} is not a model folder (no config.json); omit it for the default model.")
    from ..checkpoint import no_progress_bars

    with no_progress_bars():
        backbone = NormWearModel.from_pretrained(folder).eval()
    has_extractor = (folder / "preprocessor_config.json").exists()
    extractor = NormWearFeatureExtractor.from_pretrained(folder) if has_extractor else NormWearFeatureExtractor()
    return backbone, extractor, str(folder)


def random_twin(model: NormWearModel, seed: int) -> NormWearModel:
    """The same architecture with seeded random weights: what pretraining adds is the difference."""
    return seeded_model(model.config, seed)


def method_features(
    method: str,
    task: Task,
    model: NormWearModel,
    extractor: NormWearFeatureExtractor,
    seed: int,
    cache_dir: Path | None,
    pooling: str = "probe",
) -> tuple[np.ndarray, np.ndarray]:
    if method in ("normwear", "random_init"):
        encoder = model if method == "normwear" else random_twin(model, seed)
        return tuple(
            extract_embeddings(encoder, extractor, rows, pooling=pooling, cache_dir=cache_dir, progress=False)
            for rows in (task.train, task.test)
        )
    if method == "statistical":
        return statistical_features(task.train), statistical_features(task.test)
    if method == "raw_linear":
        return raw_signal_features(task.train), raw_signal_features(task.test)
    if method == "minirocket":
        return minirocket_features(task.train, task.test, seed=seed)
    raise ValueError(f"Unknown method {method!r}; choose from {METHODS}.")


def run_benchmark(
    model: str | None = None,
    tasks: Sequence[str] | str = "all",
    out_dir: str | Path = "benchmark",
    methods: Sequence[str] = METHODS,
    seed: int = 0,
    quick: bool = False,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    pooling: str = "probe",
) -> dict[str, Any]:
    """Run ``methods`` on ``tasks``; write results.json, results.md and plots to ``out_dir``; return the results.

    ``pooling`` is the probe embedding of NormWear and its random twin (both the same): one of
    :data:`PROBE_POOLINGS`.

    ``quick`` shrinks everything (small synthetic tasks, at most 100 test rows, one few-shot k and seed, 200
    bootstrap resamples) for smoke tests and CI.
    """
    names = _checked_task_names(tasks, methods, pooling)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = Path(cache_dir) if cache_dir is not None else out_dir / "embedding_cache"
    backbone, extractor, description = load_model(model)
    task_kwargs = {"synthetic_size": (120, 60), "max_test": 100} if quick else {"max_test": 1000}
    probe_kwargs = (
        {"few_shot": (5,), "seeds": (0,), "n_bootstrap": 200}
        if quick
        else {"few_shot": (1, 5, 10), "seeds": (0, 1, 2), "n_bootstrap": 1000}
    )
    results: dict[str, Any] = {
        "model": description,
        "date": date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}",
        "quick": quick,
        "seed": seed,
        "pooling": pooling,
        "tasks": {},
    }
    from tqdm.auto import tqdm

    for name in tqdm(names, desc="benchmark", unit="task", disable=not progress):
        try:
            task = load_task(name, seed=seed, **task_kwargs)
        except ImportError as error:  # a data package is missing: say so, keep going
            logger.warning("skipping task %s: %s", name, error)
            results["tasks"][name] = {"skipped": str(error)}
            continue
        features = functools.partial(
            method_features, task=task, model=backbone, extractor=extractor, seed=seed, cache_dir=cache, pooling=pooling
        )
        results["tasks"][name] = _run_task(task, methods, features, probe_kwargs)
    results["paired"] = paired_comparisons(results, n_bootstrap=probe_kwargs["n_bootstrap"])
    zero_shot = recorded_zero_shot(model)
    if zero_shot is not None:
        results["zero_shot"] = zero_shot
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, default=_jsonable))
    (out_dir / "results.md").write_text(to_markdown(results))
    plot_results(results, out_dir)
    return results


def _checked_task_names(tasks: Sequence[str] | str, methods: Sequence[str], pooling: str) -> list[str]:
    """The task names ``tasks`` means (``"all"``: every task), after checking tasks, methods and pooling."""
    names = list(TASKS) if tasks == "all" or tasks == ["all"] else list(tasks)
    unknown = [name for name in names if name not in TASKS]
    if unknown:
        raise ValueError(f"Unknown task(s) {unknown}; choose from {list(TASKS)} or 'all'.")
    if pooling not in PROBE_POOLINGS:
        raise ValueError(f"pooling must be one of {PROBE_POOLINGS}, got {pooling!r}.")
    bad_methods = [m for m in methods if m not in METHODS]
    if bad_methods:
        raise ValueError(f"Unknown method(s) {bad_methods}; choose from {list(METHODS)}.")
    return names


def _run_task(task, methods: Sequence[str], features, probe_kwargs: dict[str, Any]) -> dict[str, Any]:
    """One task's entry of results.json: its description and each method's probe results (or why it was skipped).
    ``features(method)`` gives a method's train and test features."""
    entry: dict[str, Any] = {
        "kind": task.kind,
        "label": task.label,
        "unit": task.unit,
        "split": task.split,
        "n_train": len(task.train),
        "n_test": len(task.test),
        "notes": task.notes,
        "methods": {},
    }
    for method in methods:
        start = time.perf_counter()
        try:
            train_x, test_x = features(method)
        except ImportError as error:
            entry["methods"][method] = {"skipped": str(error)}
            continue
        evaluation = evaluate_features(train_x, task.y_train, test_x, task.y_test, task.kind, **probe_kwargs)
        evaluation["seconds"] = time.perf_counter() - start
        entry["methods"][method] = evaluation
    return entry


PAIRED_AGAINST = ("random_init", "statistical")


def task_group(name: str) -> str:
    """``"real"`` for recorded data, ``"synthetic"`` for generator tasks: claims are made on the real ones."""
    return "real" if name in REAL_TASKS else "synthetic"


def paired_comparisons(results: dict[str, Any], n_bootstrap: int = 1000) -> dict[str, Any]:
    """NormWear minus each of :data:`PAIRED_AGAINST`, per task and as a macro per task group (real, synthetic),
    with paired bootstrap 95% intervals (both methods scored on the same resamples of each test set)."""
    comparisons: dict[str, Any] = {}
    for other in PAIRED_AGAINST:
        groups: dict[str, dict[str, PairedScores]] = {}
        for name, entry in results["tasks"].items():
            methods = entry.get("methods", {})
            mine, theirs = methods.get("normwear", {}), methods.get(other, {})
            if "test_outputs" not in mine or "test_outputs" not in theirs:
                continue
            groups.setdefault(task_group(name), {})[name] = PairedScores(
                mine["test_outputs"]["references"],
                [mine["test_outputs"]["values"]],
                [theirs["test_outputs"]["values"]],
                metric=mine["main_metric"],
            )
        if groups:
            comparisons[other] = {
                group: paired_bootstrap(tasks, n=n_bootstrap, seed=0) for group, tasks in sorted(groups.items())
            }
    return comparisons


def paired_markdown(paired: dict[str, Any]) -> list[str]:
    """The paired table: per task and per group macro, NormWear minus the random twin and minus statistics."""
    if not paired:
        return []
    others = list(paired)
    lines = [
        "",
        "Paired differences, NormWear minus each method (same bootstrap resamples of each test set; 95% "
        "intervals; macro = unweighted mean over the group's tasks, each task redrawn independently). "
        "Claims are made on the real-task macro.",
        "",
        "| group | task | " + " | ".join(f"vs {METHOD_LABELS[o]}" for o in others) + " |",
        "|---|---|" + "---|" * len(others),
    ]
    groups = sorted({group for other in others for group in paired[other]})
    for group in groups:
        names = [n for n in paired[others[0]].get(group, {}) if n != "macro"] + ["macro"]
        for name in names:
            cells = []
            for other in others:
                interval = paired[other].get(group, {}).get(name)
                if interval is None:
                    cells.append("n/a")
                    continue
                verdict = excludes_zero(interval)
                cells.append(format_difference(interval) + ("" if verdict == "tie" else f" {verdict}"))
            label = f"**{group} macro**" if name == "macro" else name
            lines.append(f"| {group} | {label} | " + " | ".join(cells) + " |")
    return lines


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def main_score(evaluation: dict[str, Any]) -> tuple[float, float, float] | None:
    """(point, low, high) of a method's main metric on a task, or None if it was skipped."""
    if "ci" not in evaluation:
        return None
    ci = evaluation["ci"]
    return float(ci["point"]), float(ci["low"]), float(ci["high"])


def recorded_zero_shot(model: str | None) -> dict[str, Any] | None:
    """The held-out zero-shot results written beside a zero-shot model by examples/train_zero_shot.py (MSiTF vs
    the CLAP-style baseline trained on the same data), or ``None`` for a model without them."""
    from ..checkpoint import resolve_model_path

    path = Path(resolve_model_path(model or None)) / "zero_shot_results.json"
    if not path.is_file():
        return None
    recorded = json.loads(path.read_text())
    keys = (
        "held_out_tasks",
        "macro_auroc",
        "macro_auroc_ci",
        "clap_macro_auroc",
        "clap_macro_auroc_ci",
        "calibration_temperature",
        "text_encoder",
    )
    return {key: recorded.get(key) for key in keys} | {"source": str(path)}


def zero_shot_markdown(zero_shot: dict[str, Any]) -> list[str]:
    source = f"Zero-shot on held-out tasks (recorded when the aggregator was trained: {zero_shot['source']}):"
    return ["", source, "", *held_out_table(zero_shot)]


def to_markdown(results: dict[str, Any]) -> str:
    tasks = {name: entry for name, entry in results["tasks"].items() if "methods" in entry}
    methods = [m for m in METHODS if any(m in entry["methods"] for entry in tasks.values())]
    lines = [
        f"Model: `{results['model']}` | date {results['date']} | {results['machine']}"
        + (" | QUICK settings (smoke test, not a result)" if results["quick"] else ""),
        "",
        "Main metric per task: AUROC (classification; one-vs-one macro for several classes) or relative accuracy "
        "in original units (regression), with a bootstrap 95% interval on the test set. NormWear's probe "
        f"embedding (it and its random twin alike): `{results.get('pooling', 'probe')}`.",
        "",
        "| task | metric | n train / test | " + " | ".join(METHOD_LABELS[m] for m in methods) + " |",
        "|---|---|---|" + "---|" * len(methods),
    ]
    per_method: dict[str, list[float]] = {m: [] for m in methods}
    for name, entry in tasks.items():
        cells = []
        metric = next((e.get("main_metric") for e in entry["methods"].values() if "main_metric" in e), "?")
        for method in methods:
            score = main_score(entry["methods"].get(method, {}))
            if score is None:
                cells.append("skipped")
                continue
            per_method[method].append(score[0])
            cells.append(f"{score[0]:.3f} [{score[1]:.3f}, {score[2]:.3f}]")
        lines.append(f"| {name} | {metric} | {entry['n_train']} / {entry['n_test']} | " + " | ".join(cells) + " |")
    complete = [m for m in methods if len(per_method[m]) == len(tasks)]
    if tasks:
        lines.append(
            "| **mean** | | | "
            + " | ".join(f"**{np.mean(per_method[m]):.3f}**" if m in complete else "n/a" for m in methods)
            + " |"
        )
    for group in ("real", "synthetic"):
        members = [name for name in tasks if task_group(name) == group]
        if members and len(members) < len(tasks):
            row = []
            for method in methods:
                values = [main_score(tasks[n]["methods"].get(method, {})) for n in members]
                row.append(f"{np.mean([v[0] for v in values]):.3f}" if all(values) else "n/a")
            lines.append(f"| {group} tasks mean | | | " + " | ".join(row) + " |")
    lines += paired_markdown(results.get("paired", {}))
    skipped = {name: entry["skipped"] for name, entry in results["tasks"].items() if "skipped" in entry}
    for name, reason in skipped.items():
        lines.append(f"\nSkipped task {name}: {reason}")
    notes = {name: entry["notes"] for name, entry in tasks.items() if entry.get("notes")}
    if notes:
        lines += ["", "Notes:"] + [f"- {name}: {note}" for name, note in notes.items()]
    if results.get("zero_shot"):
        lines += zero_shot_markdown(results["zero_shot"])
    return "\n".join(lines) + "\n"


def plot_results(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """``task_scores.png`` (main metric per task and method, with intervals) and ``few_shot.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = {name: entry for name, entry in results["tasks"].items() if "methods" in entry}
    methods = [m for m in METHODS if any(m in entry["methods"] for entry in tasks.values())]
    written = []
    figure, axis = plt.subplots(figsize=(max(6, 1.6 * len(tasks)), 4.6))
    width = 0.8 / max(1, len(methods))
    for offset, method in enumerate(methods):
        xs, ys, errors = [], [], [[], []]
        for index, entry in enumerate(tasks.values()):
            score = main_score(entry["methods"].get(method, {}))
            if score is None:
                continue
            xs.append(index + offset * width)
            ys.append(score[0])
            errors[0].append(score[0] - score[1])
            errors[1].append(score[2] - score[0])
        axis.bar(xs, ys, width, yerr=errors, capsize=2, label=METHOD_LABELS[method])
    axis.set_xticks([i + 0.4 - width / 2 for i in range(len(tasks))], list(tasks), rotation=20, ha="right")
    axis.set_ylabel("AUROC / relative accuracy")
    axis.set_ylim(0, 1.05)
    axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, frameon=False)
    model_name = textwrap.shorten(str(results["model"]), width=70, placeholder="...")
    axis.set_title(f"Linear probes per task\n{model_name}", fontsize=8)
    figure.tight_layout()
    path = out_dir / "task_scores.png"
    figure.savefig(path, dpi=120)
    plt.close(figure)
    written.append(path)

    figure, axis = plt.subplots(figsize=(5, 3.5))
    for method in methods:
        curve: dict[int, list[float]] = {}
        for entry in tasks.values():
            evaluation = entry["methods"].get(method, {})
            metric = evaluation.get("main_metric")
            for k, shot in evaluation.get("few_shot", {}).items():
                if metric in shot:
                    curve.setdefault(int(k), []).append(shot[metric]["mean"])
        if curve:
            ks = sorted(curve)
            axis.plot(ks, [np.mean(curve[k]) for k in ks], marker="o", label=METHOD_LABELS[method])
    axis.set_xlabel("training examples per class (k)")
    axis.set_ylabel("mean main metric over tasks")
    axis.legend(fontsize=7)
    axis.set_title("Few-shot linear probes", fontsize=9)
    figure.tight_layout()
    path = out_dir / "few_shot.png"
    figure.savefig(path, dpi=120)
    plt.close(figure)
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="normwear-hf benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    parser.add_argument("--tasks", nargs="+", default=["all"], help=f"'all' or some of: {', '.join(TASKS)}")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--out", required=True, help="output folder for results.json, results.md and plots")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small, fast settings for smoke tests")
    parser.add_argument("--cache_dir", default=None, help="embedding cache (default: <out>/embedding_cache)")
    parser.add_argument(
        "--pooling",
        default="probe",
        choices=PROBE_POOLINGS,
        help="NormWear's probe embedding: token means per channel (probe), plus each channel's log10 amplitude "
        "(probe_level), or plus max and time-third means (probe_rich)",
    )
    args = parser.parse_args(argv)
    results = run_benchmark(
        model=args.model,
        tasks=args.tasks,
        out_dir=args.out,
        methods=args.methods,
        seed=args.seed,
        quick=args.quick,
        cache_dir=args.cache_dir,
        pooling=args.pooling,
    )
    print(to_markdown(results))
    print(f"wrote {Path(args.out) / 'results.json'}, results.md, task_scores.png, few_shot.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
