"""Align a frozen NormWear backbone with a frozen sentence encoder through the MSiTF aggregator.

    python examples/train_zero_shot.py --model runs/pre_small --output_dir runs/zero_shot
    accelerate launch examples/train_zero_shot.py --model runs/pre_small --output_dir runs/zero_shot

Steps: (1) labelled views of synthetic and real data for the held-in tasks (``prompts.HELD_IN_TASKS``);
(2) the backbone's tokens of every view, computed once; (3) contrastive training over each task's classes
with a learnable temperature: every step draws one task, class-balanced views, and a random question and
answer paraphrase per row; (4) a refine stage adding the paper's cosine + 0.5 x L1 pull towards the true
sentence; (5) a calibration temperature fitted on validation views from other generator subjects; (6)
zero-shot AUROC on the held-out tasks (``prompts.HELD_OUT_TASKS``, views from ``held_out.py``), never used in
training. The same is done for the CLAP-style baseline (mean-pooled tokens, one linear map) so the two are
compared on equal terms. With ``--objective captions`` most steps of (3) contrast views against the batch's
captions of many concept families instead (``captioned.py``); a ``caption_task_fraction`` of the steps stay
task steps, which keep the question / label-set format that users query with.
Writes the MSiTF model folder (backbone + aggregator + feature extractor) and ``zero_shot_results.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..configuration_normwear import ZERO_SHOT_AGGREGATORS
from ..evaluation.zero_shot_report import held_out_table
from ..feature_extraction_normwear import NormWearFeatureExtractor
from ..modeling_normwear_zero_shot import NormWearForZeroShotClassification
from ..rhythm_features import RHYTHM_SIZE
from .align import (  # noqa: F401  (add_wrong_answers, drop_tokens: imported from here before align.py split off)
    AlignmentObjective,
    PromptBank,
    TaskCache,
    ZeroShotArguments,
    add_wrong_answers,
    drop_tokens,
    train_aggregator,
)
from .captioned import (
    RETIME_FACTORS,
    VIEW_SECONDS,
    CaptionBank,
    CaptionedView,
    captioned_views,
    training_texts,
    vary_view,
)
from .engine import WindowTokens, backbone_tokens, first_windows
from .evaluate import bootstrap_auroc, fit_temperature, score_task, task_logits
from .held_out import TRAINING_REAL_SOURCES, check_training_disjoint, held_out_views
from .prompts import HELD_IN_TASKS, HELD_OUT_TASKS, TRANSFER_CHECK_TASKS, PromptTask
from .text_encoder import SentenceEncoder
from .views import (
    ECG5000_CLASSES,
    TRAIN_SEED,
    VALIDATION_SEED,
    View,
    count_classes,
    real_modality_views,
    synthetic_views,
    task_views,
)

logger = logging.getLogger(__name__)
RESULTS_FILE = "zero_shot_results.json"
OBJECTIVES = ("tasks", "captions")


# ----------------------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class ViewSplits:
    """Views by task name: training, validation (temperature), transfer checks (recipe choice) and held out;
    and the captioned training views (empty unless the objective is ``captions``)."""

    train: dict[str, list[View]]
    validation: dict[str, list[View]]
    transfer_check: dict[str, list[View]]
    held_out: dict[str, list[View]]
    captioned: list[CaptionedView] = field(default_factory=list)


def build_views(args: ZeroShotArguments) -> ViewSplits:
    """Training, validation, transfer-check and held-out views by task name (and the captioned views)."""
    from ..data.real_corpora import iter_real_examples
    from ..data.synthetic import generate_examples

    synthetic_tasks = [name for name in HELD_IN_TASKS if name != "heartbeat_ecg5000"]

    def rows_of(count: int, seed: int, seconds: float = VIEW_SECONDS) -> list[dict[str, Any]]:
        workers = 2 if count >= 1000 else 1
        return list(generate_examples(count, seed, seconds, workers=workers, progress=args.progress, arrhythmias=True))

    train_rows = rows_of(args.synthetic_count, TRAIN_SEED)
    train = synthetic_views(train_rows, synthetic_tasks, seed=TRAIN_SEED)
    checked = synthetic_tasks + list(TRANSFER_CHECK_TASKS) + ["heart_rate_ecg"]
    validation = synthetic_views(rows_of(args.validation_count, VALIDATION_SEED), checked, seed=VALIDATION_SEED)
    transfer_check = {name: validation.pop(name) for name in TRANSFER_CHECK_TASKS if name in validation}
    varied = np.random.default_rng(VALIDATION_SEED)
    for name, source in (("heart_rate_ecg_varied", "heart_rate_ecg"), ("respiration_rate_varied", "respiration_rate")):
        views = validation.pop(source) if source == "heart_rate_ecg" else validation.get(source, [])
        transfer_check[name] = [(vary_view(row, varied), key) for row, key in views]
    real_sources = list(TRAINING_REAL_SOURCES if args.real_sources is None else args.real_sources)
    captioned: list[CaptionedView] = []
    if args.objective == "captions":
        real_rows = list(iter_real_examples(real_sources)) if args.real_per_type > 0 else []
        caption_rows = train_rows  # retimed views need rows long enough for the slowest tempo
        if args.caption_retime_fraction > 0:
            caption_rows = rows_of(args.synthetic_count, TRAIN_SEED, VIEW_SECONDS * max(RETIME_FACTORS))
        captioned = captioned_views(
            caption_rows + real_rows,
            seed=args.seed,
            vary_fraction=args.caption_vary_fraction,
            retime_fraction=args.caption_retime_fraction,
        )
    task_texts = [phrase for task in HELD_IN_TASKS.values() for phrases in task.phrases.values() for phrase in phrases]
    read_sources = real_sources if args.real_per_type > 0 else []
    check_training_disjoint([TRAIN_SEED, VALIDATION_SEED], read_sources, training_texts(captioned) + task_texts)
    if args.real_per_type > 0:
        real = real_modality_views(real_sources, args.real_per_type, args.seed, HELD_IN_TASKS["modality"].classes)
        train["modality"] = train.get("modality", []) + real
    if args.use_ecg5000:
        ecg5000 = task_views("ecg5000", "train", ECG5000_CLASSES)
        order = np.random.default_rng(args.seed).permutation(len(ecg5000))
        cut = len(ecg5000) // 5
        validation["heartbeat_ecg5000"] = [ecg5000[i] for i in order[:cut]]
        train["heartbeat_ecg5000"] = [ecg5000[i] for i in order[cut:]]
    held_out = held_out_views(args.held_out_count, progress=args.progress)
    return ViewSplits(train, validation, transfer_check, held_out, captioned)


def describe_views(views: Mapping[str, Sequence[View]]) -> dict[str, dict[str, int]]:
    return {name: count_classes(list(items)) for name, items in sorted(views.items())}


def task_cache(
    task: PromptTask, views: Sequence[View], backbone, extractor, args: ZeroShotArguments, desc: str
) -> TaskCache:
    rows = [row for row, _ in views]
    tokens = backbone_tokens(backbone, extractor, rows, progress=args.progress, desc=desc)
    tokens = first_windows(tokens)
    present = {key for _, key in views}
    missing = [key for key in task.classes if key not in present]
    if len(present) < 2:
        raise ValueError(f"Task {task.name!r} has training views of {sorted(present)} only; it needs two classes.")
    if missing:  # e.g. no EEG without the real sources: train on the classes there are
        logger.warning("task %s: no training views of %s; those classes are left out of training", task.name, missing)
        task = dataclasses.replace(task, phrases={key: task.phrases[key] for key in task.classes if key in present})
    labels = np.asarray([task.classes.index(key) for _, key in views])
    by_class = [np.flatnonzero(labels == k) for k in range(len(task.classes))]
    return TaskCache(task, tokens, labels, by_class)


def load_backbone(model: str) -> tuple[NormWearForZeroShotClassification, NormWearFeatureExtractor]:
    """A zero-shot model whose backbone comes from ``model`` (a backbone, pretraining or zero-shot folder)."""
    from ..checkpoint import resolve_model_path

    folder = Path(resolve_model_path(model))
    zero_shot = NormWearForZeroShotClassification.from_pretrained(folder)
    has_extractor = (folder / "preprocessor_config.json").exists()
    extractor = NormWearFeatureExtractor.from_pretrained(folder) if has_extractor else NormWearFeatureExtractor()
    return zero_shot.eval(), extractor


def check_arguments(args: ZeroShotArguments) -> None:
    for name in args.aggregators:
        if name not in ZERO_SHOT_AGGREGATORS:
            raise ValueError(f"Unknown aggregator {name!r}; choose from {ZERO_SHOT_AGGREGATORS}.")
    if args.objective not in OBJECTIVES:
        raise ValueError(f"Unknown objective {args.objective!r}; choose from {OBJECTIVES}.")
    if not 0.0 <= args.token_dropout < 1.0:
        raise ValueError(f"token_dropout must be in [0, 1), got {args.token_dropout}.")
    for name in ("caption_task_fraction", "caption_vary_fraction", "caption_retime_fraction"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {getattr(args, name)}.")
    if args.cross_task_negatives < 0:
        raise ValueError(f"cross_task_negatives must be >= 0, got {args.cross_task_negatives}.")


@dataclass
class AlignmentData:
    """Everything the aggregators train and are scored on, computed once for all of them."""

    caches: dict[str, TaskCache]
    banks: dict[str, PromptBank]
    captions: CaptionBank | None
    tokens: dict[str, dict[str, WindowTokens]]
    """Split name (validation, transfer_check, held_out) -> task -> backbone tokens of its views."""


def prepare_alignment(base, extractor, encoder: SentenceEncoder, splits: ViewSplits, args) -> AlignmentData:
    """The frozen backbone's tokens of every view and the text side's embeddings, once."""
    caches = {
        name: task_cache(HELD_IN_TASKS[name], views, base.normwear, extractor, args, f"{name} tokens")
        for name, views in splits.train.items()
    }
    banks = {name: PromptBank(cache.task, encoder) for name, cache in caches.items()}
    captions = None
    if splits.captioned:
        tokens = backbone_tokens(
            base.normwear, extractor, [v.row for v in splits.captioned], progress=args.progress, desc="caption tokens"
        )
        captions = CaptionBank(splits.captioned, first_windows(tokens), encoder)
    tokens = {
        split: {
            name: backbone_tokens(
                base.normwear, extractor, [row for row, _ in items], progress=args.progress, desc=f"{name} tokens"
            )
            for name, items in getattr(splits, split).items()
        }
        for split in ("validation", "transfer_check", "held_out")
    }
    return AlignmentData(caches, banks, captions, tokens)


@torch.no_grad()
def fit_text_center(model: NormWearForZeroShotClassification, banks, captions=None) -> None:
    """Set a centring head's ``text_center`` to the mean of every sentence training compares against (the task
    banks' sentences and, with the caption objective, the captions); nothing for a head that does not centre."""
    if model.text_center is not None:
        texts = [bank.all_sentences for bank in banks] + ([captions.texts] if captions is not None else [])
        model.text_center.copy_(F.normalize(torch.cat(texts).float(), dim=-1).mean(dim=0))


def train_and_score(
    aggregator: str, base, encoder: SentenceEncoder, splits: ViewSplits, data: AlignmentData, args
) -> tuple[NormWearForZeroShotClassification, dict[str, Any]]:
    """Train one aggregator on ``data``, fit its calibration temperature on validation, score every split."""
    config = base.config.__class__.from_dict(base.config.to_dict())
    config.zero_shot_aggregator = aggregator
    config.zero_shot_rhythm_size = RHYTHM_SIZE if args.rhythm else 0
    config.zero_shot_question_conditioning = args.question_conditioning
    config.zero_shot_text_centering = args.text_centering
    torch.manual_seed(args.seed)
    model = NormWearForZeroShotClassification(config)
    model.normwear.load_state_dict(base.normwear.state_dict())
    captions = data.captions if args.objective == "captions" else None
    fit_text_center(model, data.banks.values(), captions)
    history = train_aggregator(model, data.caches, data.banks, args, captions)
    split_tasks = {"validation": HELD_IN_TASKS, "transfer_check": TRANSFER_CHECK_TASKS, "held_out": HELD_OUT_TASKS}
    logits = {
        split: {
            name: task_logits(model, encoder, tasks[name], views, data.tokens[split][name])
            for name, views in getattr(splits, split).items()
        }
        for split, tasks in split_tasks.items()
    }
    validation = logits["validation"].values()
    temperature = fit_temperature([lg for lg, _ in validation], [y for _, y in validation])
    model.config.zero_shot_calibration_temperature = temperature
    entry: dict[str, Any] = {
        "calibration_temperature": temperature,
        "uncalibrated_validation_nll": float(np.mean([score_task(lg, y, 1.0)["nll"] for lg, y in validation])),
    }
    for split in split_tasks:
        entry[split] = {name: score_task(lg, y, temperature) for name, (lg, y) in logits[split].items()}
        aurocs = [v["auroc"] for v in entry[split].values()]
        entry[f"{split}_macro_auroc"] = float(np.mean(aurocs)) if aurocs else float("nan")
    entry["held_out_bootstrap"] = bootstrap_auroc(
        {name: ((lg / temperature).softmax(dim=-1).numpy(), y) for name, (lg, y) in logits["held_out"].items()},
        seed=args.seed,
    )
    entry["validation_nll"] = float(np.mean([v["nll"] for v in entry["validation"].values()]))
    entry["history"] = history
    return model, entry


def prepare_run(args: ZeroShotArguments):
    """Check ``args``, load the backbone and the sentence encoder, build every split's views and their tokens.

    -> ``(backbone model, feature extractor, encoder, ViewSplits, AlignmentData)``; several aggregators, seeds or
    objectives can then train on the same data (``benchmarks/zero_shot_held_out.py`` does)."""
    check_arguments(args)
    torch.manual_seed(args.seed)
    base, extractor = load_backbone(args.model)
    encoder = SentenceEncoder(args.text_encoder)
    if encoder.width != base.config.text_hidden_size:
        base.config.text_hidden_size = encoder.width
    splits = build_views(args)
    return base, extractor, encoder, splits, prepare_alignment(base, extractor, encoder, splits, args)


def run_zero_shot_training(args: ZeroShotArguments) -> dict[str, Any]:
    """Everything in the module docstring; returns (and writes) the results dictionary."""
    started = time.perf_counter()
    base, extractor, encoder, splits, data = prepare_run(args)
    results: dict[str, Any] = {
        "backbone": str(args.model),
        "text_encoder": args.text_encoder,
        "objective": args.objective,
        "held_in_tasks": sorted(data.caches),
        "held_out_task_descriptions": {name: task.description for name, task in HELD_OUT_TASKS.items()},
        "held_in_task_descriptions": {name: HELD_IN_TASKS[name].description for name in sorted(data.caches)},
        "transfer_check_task_descriptions": {name: task.description for name, task in TRANSFER_CHECK_TASKS.items()},
        "training_views": describe_views(splits.train),
        "captioned_views": len(splits.captioned),
        "validation_views": describe_views(splits.validation),
        "transfer_check_views": describe_views(splits.transfer_check),
        "held_out_views": describe_views(splits.held_out),
        "arguments": asdict(args),
        "command": command_line(args),
        "aggregators": {},
    }
    models = {}
    for aggregator in args.aggregators:
        models[aggregator], entry = train_and_score(aggregator, base, encoder, splits, data, args)
        results["aggregators"][aggregator] = entry
        logger.info(
            "%s: validation macro AUROC %.3f, transfer-check macro AUROC %.3f, held-out macro AUROC %.3f",
            aggregator,
            entry["validation_macro_auroc"],
            entry["transfer_check_macro_auroc"],
            entry["held_out_macro_auroc"],
        )
    results.update(summary_table(results))
    results["wall_time_s"] = time.perf_counter() - started
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())
    if state.is_main_process:  # every process trained the same synchronised weights: one writes them
        save_outputs(results, models, extractor, Path(args.output_dir))
    state.wait_for_everyone()
    return results


HEAD_OPTIONS = {
    "rhythm": "the head reads the backbone's tokens only",
    "question_conditioning": "MSiTF's question sets token weights only (paper)",
    "text_centering": "compare the encoder's sentences as they are",
}
"""The head's additions: ZeroShotArguments fields, on by default, each turned off by ``--no_<name>`` (its help)."""
NEGATED_FLAGS = {"use_ecg5000": "--no_ecg5000", **{name: f"--no_{name}" for name in HEAD_OPTIONS}}


def add_head_options(parser: argparse.ArgumentParser) -> None:
    """``--no_rhythm``, ``--no_question_conditioning``, ``--no_text_centering`` (training and the benchmark)."""
    for name, help_text in HEAD_OPTIONS.items():
        parser.add_argument(f"--no_{name}", action="store_true", help=help_text)


def head_options(options: Mapping[str, Any]) -> dict[str, bool]:
    """The head's additions as ZeroShotArguments fields, from parsed options holding ``no_<name>``."""
    return {name: not options[f"no_{name}"] for name in HEAD_OPTIONS}


def command_line(args: ZeroShotArguments) -> str:
    """The ``examples/train_zero_shot.py`` call that gives ``args`` (options at their defaults left out), for the
    model card."""
    defaults = ZeroShotArguments(model=args.model)
    parts = ["python examples/train_zero_shot.py", f"--model {args.model}", f"--output_dir {args.output_dir}"]
    for option in fields(args):
        name, value = option.name, getattr(args, option.name)
        if name in ("model", "output_dir", "progress") or value == getattr(defaults, name):
            continue
        if name in NEGATED_FLAGS:
            parts.append(NEGATED_FLAGS[name])
        elif isinstance(value, bool):
            parts.append(f"--{name}")
        elif isinstance(value, list):
            parts.append(f"--{name} " + " ".join(map(str, value)))
        else:
            parts.append(f"--{name} {value}")
    return " ".join(parts)


def summary_table(results: Mapping[str, Any]) -> dict[str, Any]:
    """The flat summary the model card reads: held-out AUROC of MSiTF and of the CLAP-style baseline."""
    aggregators = results["aggregators"]
    main = aggregators.get("msitf") or next(iter(aggregators.values()))
    clap = aggregators.get("mean_linear", {})
    baseline = clap.get("held_out", {})
    intervals = main.get("held_out_bootstrap", {})
    baseline_intervals = clap.get("held_out_bootstrap", {})
    rows = [
        {
            "task": name,
            "num_classes": scores["num_classes"],
            "n": scores["n"],
            "auroc": scores["auroc"],
            "accuracy": scores["accuracy"],
            "clap_baseline_auroc": baseline.get(name, {}).get("auroc", float("nan")),
            "auroc_ci": intervals.get("tasks", {}).get(name),
            "clap_baseline_auroc_ci": baseline_intervals.get("tasks", {}).get(name),
            "chance": 0.5,
        }
        for name, scores in main["held_out"].items()
    ]
    return {
        "held_out_tasks": rows,
        "macro_auroc": main["held_out_macro_auroc"],
        "macro_auroc_ci": intervals.get("macro"),
        "clap_macro_auroc_ci": baseline_intervals.get("macro"),
        "clap_macro_auroc": clap.get("held_out_macro_auroc"),
        "calibration_temperature": main["calibration_temperature"],
    }


def save_outputs(
    results: Mapping[str, Any],
    models: Mapping[str, NormWearForZeroShotClassification],
    extractor: NormWearFeatureExtractor,
    out: Path,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for aggregator, model in models.items():
        folder = out if aggregator == "msitf" or len(models) == 1 else out / f"baseline_{aggregator}"
        model.save_pretrained(folder)
        extractor.save_pretrained(folder)
    (out / RESULTS_FILE).write_text(json.dumps(results, indent=2, default=float) + "\n")
    (out / "zero_shot_results.md").write_text(results_markdown(results))


def results_markdown(results: Mapping[str, Any]) -> str:
    return "\n".join(held_out_table(results)) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="normwear-hf train-zero-shot",
        description="Align a frozen NormWear backbone with a sentence encoder (MSiTF) and evaluate zero-shot.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    defaults = ZeroShotArguments(model="")
    parser.add_argument("--model", required=True, help="backbone / pretraining run folder, or 'normwear'")
    parser.add_argument("--output_dir", default=defaults.output_dir)
    parser.add_argument("--text_encoder", default=defaults.text_encoder)
    for name in ("synthetic_count", "validation_count", "held_out_count", "real_per_type", "steps", "refine_steps"):
        parser.add_argument(f"--{name}", type=int, default=getattr(defaults, name))
    parser.add_argument("--batch_size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning_rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--weight_decay", type=float, default=defaults.weight_decay)
    parser.add_argument(
        "--cross_task_negatives",
        type=int,
        default=defaults.cross_task_negatives,
        help="other tasks' label sentences added as wrong answers each step",
    )
    parser.add_argument(
        "--token_dropout",
        type=float,
        default=defaults.token_dropout,
        help="fraction of patch tokens hidden from the aggregator each training step",
    )
    parser.add_argument("--aggregators", nargs="+", default=defaults.aggregators, choices=ZERO_SHOT_AGGREGATORS)
    parser.add_argument(
        "--objective",
        default=defaults.objective,
        choices=OBJECTIVES,
        help="tasks: contrast over each task's classes; captions: over the batch's captions of many concepts",
    )
    for name in ("caption_task_fraction", "caption_vary_fraction", "caption_retime_fraction"):
        parser.add_argument(f"--{name}", type=float, default=getattr(defaults, name))
    parser.add_argument("--real_sources", nargs="*", default=None, help="real sources for the modality task")
    parser.add_argument("--no_ecg5000", action="store_true", help="skip the ECG5000 held-in task")
    add_head_options(parser)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--no_progress", action="store_true")
    return parser


def parse_arguments(argv: list[str] | None = None) -> ZeroShotArguments:
    """The command line as :class:`ZeroShotArguments` (every option is a field, the ``--no_`` ones negated)."""
    options = vars(build_parser().parse_args(argv))
    heads = head_options(options)
    use_ecg5000, progress = not options.pop("no_ecg5000"), not options.pop("no_progress")
    fields_only = {name: value for name, value in options.items() if not name.startswith("no_")}
    return ZeroShotArguments(**fields_only, use_ecg5000=use_ecg5000, progress=progress, **heads)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_arguments(argv)
    results = run_zero_shot_training(args)
    print(results_markdown(results), end="")
    print(f"calibration temperature {results['calibration_temperature']:.3f}; wrote {args.output_dir}")
    return 0
