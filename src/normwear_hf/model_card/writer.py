"""The card itself: read every input, draw the figure, render the sections into the template, write atomically;
and the ``generate_model_card`` command line (``modeling_cards/generate_model_card.py``)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..signal_processing import TARGET_SAMPLING_RATE
from ..utils.atomic import write_text_atomic
from .comparison import compare_with_random_init
from .constants import (
    CARD_NAME,
    DEFAULT_MODEL_NAME,
    LOSS_CURVE_NAME,
    PREPROCESSOR_NAME,
    TASK_SCORES_NAME,
    TIE_TOLERANCE,
)
from .inputs import (
    TrainingRun,
    is_number,
    load_benchmark_results,
    load_seed_ablation,
    load_training_run,
    load_zero_shot_results,
    read_json,
)
from .metadata import build_front_matter
from .plots import plot_loss_curve
from .sections import (
    architecture_of,
    benchmark_limitation,
    card_title,
    corpus_limitation,
    evaluation_section,
    seed_ablation_section,
    summary_paragraph,
    training_section,
    untested_limitation,
    warning_notes,
)
from .template import TEMPLATE_PATH, fill_template, read_filled
from .zero_shot_sections import zero_shot_section, zero_shot_usage_note

__all__ = ["build_parser", "main", "write_model_card"]


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
    seed_ablation: str | os.PathLike | None = None,
    seed_recipe: str = "mae",
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
        template: another template file (default: the package's ``model_card/template.md``).
        seed_ablation, seed_recipe: the ``evaluation.json`` of the pretraining ablation, and the recipe of this
            model in it: its seeds against their random twins (:func:`load_seed_ablation`); optional.

    Every input is read and checked before anything is written; problems raise a ``ValueError`` naming the file.
    """
    results = load_benchmark_results(benchmark_results)
    run = load_training_run(training_run) if training_run is not None else None
    zero_shot = load_zero_shot_results(zero_shot_results) if zero_shot_results is not None else None
    template_text = Path(template or TEMPLATE_PATH).read_text()
    out_dir = Path(out_dir)
    model_config = None
    if (out_dir / "config.json").is_file():
        model_config = read_json(out_dir / "config.json", "Model config", "save the model again")
    out_dir.mkdir(parents=True, exist_ok=True)

    loss_curve, task_scores = _figures(out_dir, results, run)
    comparison = compare_with_random_init(results, tie_tolerance)
    config = (run.config if run is not None else None) or model_config
    architecture = architecture_of(config) if config else None
    rate = model_sampling_rate(out_dir, run)
    values = {
        **_zero_shot_values(results, zero_shot, model_name),
        "title": card_title(run, architecture),
        "summary": summary_paragraph(run, rate),
        "warnings": warning_notes(results, comparison),
        "training": training_section(run, config, architecture, command, corpus, machine, wall_time, loss_curve),
        "evaluation": evaluation_section(results, comparison, task_scores),
        "seed_ablation": seed_ablation_section(
            load_seed_ablation(seed_ablation, seed_recipe) if seed_ablation is not None else None
        ),
        "corpus_limitation": corpus_limitation(run),
        "benchmark_limitation": benchmark_limitation(results, comparison),
        "sampling_rate": f"{rate:g}",
        "nyquist_rate": f"{rate / 2:g}",
    }
    card = out_dir / CARD_NAME
    write_text_atomic(card, fill_template(template_text, values))
    return card


def refresh_model_card(
    out_dir: str | os.PathLike,
    benchmark_results: str | os.PathLike,
    *,
    zero_shot_results: str | os.PathLike | None = None,
    seed_ablation: str | os.PathLike | None = None,
    seed_recipe: str = "mae",
    model_name: str = DEFAULT_MODEL_NAME,
    template: str | os.PathLike | None = None,
    card_template: str | os.PathLike | None = None,
) -> Path:
    """Regenerate the parts of ``out_dir/README.md`` whose inputs are given and keep every other part as the card
    states it: with ``zero_shot_results`` the front matter, usage note, zero-shot section and untested-use
    limitation; with ``seed_ablation`` the pretraining-seed table.

    For a new zero-shot head on an unchanged backbone, or a new seed ablation, once the pretraining run's folder
    (which the training section is drawn from) is gone. The card must come from ``template`` (:func:`read_filled`
    checks it); ``card_template`` is the template the card was written with when it differs (an earlier version:
    its values carry over, placeholders new to ``template`` take their empty-input text)."""
    card = Path(out_dir) / CARD_NAME
    template_text = Path(template or TEMPLATE_PATH).read_text()
    values = read_filled(Path(card_template).read_text() if card_template else template_text, card.read_text())
    values.setdefault("seed_ablation", seed_ablation_section(None))
    if zero_shot_results is not None:
        zero_shot = load_zero_shot_results(zero_shot_results)
        values.update(_zero_shot_values(load_benchmark_results(benchmark_results), zero_shot, model_name))
    if seed_ablation is not None:
        values["seed_ablation"] = seed_ablation_section(load_seed_ablation(seed_ablation, seed_recipe))
    write_text_atomic(card, fill_template(template_text, values))
    return card


def _zero_shot_values(
    results: Mapping[str, Any], zero_shot: Mapping[str, Any] | None, model_name: str
) -> dict[str, str]:
    """The card's parts that the zero-shot results decide (the front matter's model-index holds both kinds)."""
    front_matter = build_front_matter(results, zero_shot, model_name)
    return {
        "front_matter": yaml.safe_dump(front_matter, sort_keys=False, allow_unicode=True, width=1000).strip(),
        "zero_shot_usage_note": zero_shot_usage_note(zero_shot),
        "zero_shot": zero_shot_section(zero_shot),
        "untested_limitation": untested_limitation(results, zero_shot),
    }


def _figures(out_dir: Path, results: Mapping[str, Any], run: TrainingRun | None) -> tuple[str | None, str | None]:
    """Draw the loss curve and copy the benchmark's task-score figure into ``out_dir``; their names (None: absent)."""
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
    return loss_curve, task_scores


def model_sampling_rate(out_dir: Path, run: TrainingRun | None = None) -> float:
    """The rate the model's feature extractor resamples every channel to: ``sampling_rate`` in the model folder's
    ``preprocessor_config.json`` (else the training run's), else the extractor's default."""
    folders = [out_dir] + ([run.folder] if run is not None else [])
    for folder in folders:
        if (folder / PREPROCESSOR_NAME).is_file():
            config = read_json(folder / PREPROCESSOR_NAME, "Preprocessor config", "save the feature extractor again")
            rate = config.get("sampling_rate") if isinstance(config, dict) else None
            if is_number(rate) and rate > 0:
                return float(rate)
    return TARGET_SAMPLING_RATE


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
