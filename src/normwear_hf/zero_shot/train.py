"""Align a frozen NormWear backbone with a frozen sentence encoder through the MSiTF aggregator.

    python examples/train_zero_shot.py --model runs/pre_small --output_dir runs/zero_shot
    accelerate launch examples/train_zero_shot.py --model runs/pre_small --output_dir runs/zero_shot

Steps: (1) labelled views of synthetic and real data for the held-in tasks (``prompts.HELD_IN_TASKS``);
(2) the backbone's tokens of every view, computed once; (3) contrastive training over each task's classes
with a learnable temperature: every step draws one task, class-balanced views, and a random question and
answer paraphrase per row; (4) a refine stage adding the paper's cosine + 0.5 x L1 pull towards the true
sentence; (5) a calibration temperature fitted on validation views from other generator subjects; (6)
zero-shot AUROC on the held-out tasks (``prompts.HELD_OUT_TASKS``), never used in training. The same is done
for the CLAP-style baseline (mean-pooled tokens, one linear map) so the two are compared on equal terms.
Writes the MSiTF model folder (backbone + aggregator + feature extractor) and ``zero_shot_results.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..configuration_normwear import ZERO_SHOT_AGGREGATORS
from ..evaluation.zero_shot_report import held_out_table
from ..feature_extraction_normwear import NormWearFeatureExtractor
from ..modeling_normwear_zero_shot import NormWearForZeroShotClassification
from .engine import WindowTokens, backbone_tokens, pad_windows
from .evaluate import bootstrap_auroc, fit_temperature, score_task, task_logits
from .prompts import (
    GENERIC_TEMPLATES,
    HELD_IN_TASKS,
    HELD_OUT_TASKS,
    TRANSFER_CHECK_TASKS,
    PromptTask,
    check_disjoint,
)
from .text_encoder import DEFAULT_TEXT_ENCODER, SentenceEncoder
from .views import (
    ECG5000_CLASSES,
    HELD_OUT_SEED,
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
SYNTHETIC_HELD_OUT = ("heart_rate_ecg", "hrv_band")


@dataclass
class ZeroShotArguments:
    model: str
    output_dir: str = "runs/zero_shot"
    text_encoder: str = DEFAULT_TEXT_ENCODER
    synthetic_count: int = 3000
    validation_count: int = 600
    held_out_count: int = 600
    real_per_type: int = 300
    real_sources: list[str] | None = None
    use_ecg5000: bool = True
    steps: int = 1500
    refine_steps: int = 300
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    cross_task_negatives: int = 0
    """Label sentences of other tasks added as extra wrong answers each step (0: the task's classes only)."""
    token_dropout: float = 0.0
    """Fraction of patch tokens hidden from the aggregator each training step ([CLS] tokens always kept)."""
    aggregators: list[str] = field(default_factory=lambda: ["msitf", "mean_linear"])
    seed: int = 0
    progress: bool = True


# ----------------------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class ViewSplits:
    """Views by task name: training, validation (temperature), transfer checks (recipe choice) and held out."""

    train: dict[str, list[View]]
    validation: dict[str, list[View]]
    transfer_check: dict[str, list[View]]
    held_out: dict[str, list[View]]


def build_views(args: ZeroShotArguments) -> ViewSplits:
    """Training, validation, transfer-check and held-out views by task name."""
    from ..data.synthetic import generate_examples

    check_disjoint(list(HELD_IN_TASKS), list(HELD_OUT_TASKS))
    synthetic_tasks = [name for name in HELD_IN_TASKS if name != "heartbeat_ecg5000"]

    def synthetic(count: int, seed: int, tasks: Sequence[str]) -> dict[str, list[View]]:
        rows = generate_examples(count, seed=seed, workers=2 if count >= 1000 else 1, progress=args.progress)
        return synthetic_views(rows, tasks, seed=seed)

    train = synthetic(args.synthetic_count, TRAIN_SEED, synthetic_tasks)
    validation = synthetic(args.validation_count, VALIDATION_SEED, synthetic_tasks + list(TRANSFER_CHECK_TASKS))
    transfer_check = {name: validation.pop(name) for name in TRANSFER_CHECK_TASKS if name in validation}
    held_out = synthetic(args.held_out_count, HELD_OUT_SEED, SYNTHETIC_HELD_OUT)
    if args.real_per_type > 0:
        real = real_modality_views(args.real_sources, args.real_per_type, args.seed, HELD_IN_TASKS["modality"].classes)
        train["modality"] = train.get("modality", []) + real
    if args.use_ecg5000:
        ecg5000 = task_views("ecg5000", "train", ECG5000_CLASSES)
        rng = np.random.default_rng(args.seed)
        order = rng.permutation(len(ecg5000))
        cut = len(ecg5000) // 5
        validation["heartbeat_ecg5000"] = [ecg5000[i] for i in order[:cut]]
        train["heartbeat_ecg5000"] = [ecg5000[i] for i in order[cut:]]
    held_out["basic_motions"] = task_views("basic_motions", "test", channel_type="acc")
    held_out["ecg200"] = task_views("ecg200", "test")
    return ViewSplits(train, validation, transfer_check, held_out)


def describe_views(views: Mapping[str, Sequence[View]]) -> dict[str, dict[str, int]]:
    return {name: count_classes(list(items)) for name, items in sorted(views.items())}


# ----------------------------------------------------------------------------------------------------------------
# prompts as tensors
# ----------------------------------------------------------------------------------------------------------------
class PromptBank:
    """Every question and every (template, class, phrase) sentence of a task, embedded once."""

    def __init__(self, task: PromptTask, encoder: SentenceEncoder) -> None:
        self.questions = encoder.encode(list(task.questions))
        templates = list(task.templates + GENERIC_TEMPLATES)
        self.sentences = [
            encoder.encode([template.format(phrase) for template in templates for phrase in phrases]).reshape(
                len(templates), len(phrases), -1
            )
            for phrases in task.phrases.values()
        ]
        self.all_sentences = torch.cat([bank.reshape(-1, bank.shape[-1]) for bank in self.sentences])

    def sample(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Random question ``[B, T]`` and, per row, one template with a random phrase per class ``[B, K, T]``."""
        question = self.questions[torch.randint(len(self.questions), (batch,), generator=generator)]
        template = torch.randint(self.sentences[0].shape[0], (batch,), generator=generator)
        text = [bank[template, torch.randint(bank.shape[1], (batch,), generator=generator)] for bank in self.sentences]
        return question, torch.stack(text, dim=1)


# ----------------------------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------------------------
class AlignmentObjective(nn.Module):
    """One training step's loss as a module, so Accelerate / DDP wrap (and synchronise) it."""

    def __init__(self, model: NormWearForZeroShotClassification) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        hidden: torch.Tensor,
        mask: torch.Tensor,
        question: torch.Tensor,
        text: torch.Tensor,
        labels: torch.Tensor,
        refine: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (total loss, contrastive part)."""
        embeds, _ = self.model.aggregate(hidden, mask, question)
        logits = self.model.similarity_logits(embeds, text)
        contrastive = F.cross_entropy(logits.float(), labels)
        loss = contrastive
        if refine:  # the paper's refine stage: pull the embedding onto its answer sentence (cosine + 0.5 x L1)
            target = F.normalize(text[torch.arange(len(labels), device=labels.device), labels], dim=-1)
            loss = loss + (1 - (embeds * target).sum(-1)).mean() + 0.5 * F.l1_loss(embeds, target)
        return loss, contrastive


@dataclass
class TaskCache:
    task: PromptTask
    tokens: WindowTokens
    labels: np.ndarray
    by_class: list[np.ndarray]


def add_wrong_answers(
    text: torch.Tensor, others: torch.Tensor | None, count: int, generator: torch.Generator
) -> torch.Tensor:
    """Append ``count`` random sentences of other tasks to every row's candidates ``[B, K, T] -> [B, K + count, T]``
    (the true class index is unchanged): the embedding must then also sit away from unrelated answers."""
    if count <= 0 or others is None:
        return text
    extra = others[torch.randint(len(others), (count,), generator=generator)]
    return torch.cat([text, extra.expand(len(text), -1, -1)], dim=1)


def drop_tokens(mask: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Hide a random ``fraction`` of the patch tokens of ``mask`` ``[B, C, 1 + P]``; [CLS] tokens stay visible."""
    if fraction <= 0:
        return mask
    keep = torch.rand(mask.shape, generator=generator) >= fraction
    keep[..., 0] = True
    return mask & keep


def first_windows(tokens: WindowTokens) -> list[int]:
    """Index of the first window of each recording (training views are single windows already)."""
    seen: dict[int, int] = {}
    for index, owner in enumerate(tokens.recording.tolist()):
        seen.setdefault(owner, index)
    return [seen[i] for i in range(len(seen))]


def train_aggregator(
    model: NormWearForZeroShotClassification,
    caches: Mapping[str, TaskCache],
    banks: Mapping[str, PromptBank],
    args: ZeroShotArguments,
) -> list[dict[str, float]]:
    """Contrastive then refine training of the aggregator (and the logit scale); the backbone stays frozen."""
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    model.freeze_backbone()
    trainable = [p for name, p in model.named_parameters() if not name.startswith("normwear.")]
    objective = AlignmentObjective(model)
    optimizer = torch.optim.AdamW(trainable, lr=args.learning_rate, weight_decay=args.weight_decay)
    total = args.steps + args.refine_steps
    warmup = max(1, total // 20)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    objective, optimizer, scheduler = accelerator.prepare(objective, optimizer, scheduler)
    rank_seed = args.seed * 1000 + accelerator.process_index
    rng = random.Random(rank_seed)
    generator = torch.Generator().manual_seed(rank_seed)
    names = sorted(caches)
    weights = [math.sqrt(len(caches[name].labels)) for name in names]
    wants_others = args.cross_task_negatives > 0 and len(names) > 1
    other_sentences = {  # every other task's sentences: the pool of extra wrong answers
        name: torch.cat([banks[other].all_sentences for other in names if other != name]) if wants_others else None
        for name in names
    }
    history, running = [], []
    log_every = max(1, min(50, total // 10))
    objective.train()
    bar = tqdm(range(total), desc=f"aligning ({model.config.zero_shot_aggregator})", disable=not args.progress)
    for step in bar:
        cache = caches[rng.choices(names, weights)[0]]
        classes = rng.choices(range(len(cache.by_class)), k=args.batch_size)
        picks = [int(rng.choice(cache.by_class[k])) for k in classes]
        hidden, mask = pad_windows([cache.tokens.hidden[i] for i in picks], [cache.tokens.mask[i] for i in picks])
        question, text = banks[cache.task.name].sample(len(picks), generator)
        text = add_wrong_answers(text, other_sentences[cache.task.name], args.cross_task_negatives, generator)
        mask = drop_tokens(mask, args.token_dropout, generator)
        labels = torch.as_tensor(classes, dtype=torch.long)
        batch = [t.to(accelerator.device) for t in (hidden, mask, question, text, labels)]
        loss, contrastive = objective(*batch, refine=step >= args.steps)
        accelerator.backward(loss)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        running.append((loss.item(), contrastive.item()))
        if (step + 1) % log_every == 0 or step + 1 == total:
            totals, contrastives = zip(*running)
            entry = {
                "step": step + 1,
                "stage": "refine" if step >= args.steps else "contrastive",
                "loss": float(np.mean(totals)),
                "contrastive_loss": float(np.mean(contrastives)),
                "logit_scale": model.logit_scale.exp().item(),
            }
            history.append(entry)
            bar.set_postfix(loss=f"{entry['loss']:.3f}")
            running = []
    objective.eval()
    model.eval()
    return history


def task_cache(
    task: PromptTask, views: Sequence[View], backbone, extractor, args: ZeroShotArguments, desc: str
) -> TaskCache:
    rows = [row for row, _ in views]
    tokens = backbone_tokens(backbone, extractor, rows, progress=args.progress, desc=desc)
    keep = first_windows(tokens)
    tokens = WindowTokens(
        [tokens.hidden[i] for i in keep], [tokens.mask[i] for i in keep], np.arange(len(keep), dtype=np.int64)
    )
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


def run_zero_shot_training(args: ZeroShotArguments) -> dict[str, Any]:
    """Everything in the module docstring; returns (and writes) the results dictionary."""
    for name in args.aggregators:
        if name not in ZERO_SHOT_AGGREGATORS:
            raise ValueError(f"Unknown aggregator {name!r}; choose from {ZERO_SHOT_AGGREGATORS}.")
    if not 0.0 <= args.token_dropout < 1.0:
        raise ValueError(f"token_dropout must be in [0, 1), got {args.token_dropout}.")
    if args.cross_task_negatives < 0:
        raise ValueError(f"cross_task_negatives must be >= 0, got {args.cross_task_negatives}.")
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    base, extractor = load_backbone(args.model)
    backbone_state = base.normwear.state_dict()
    encoder = SentenceEncoder(args.text_encoder)
    if encoder.width != base.config.text_hidden_size:
        base.config.text_hidden_size = encoder.width
    splits = build_views(args)
    caches = {
        name: task_cache(HELD_IN_TASKS[name], views, base.normwear, extractor, args, f"{name} tokens")
        for name, views in splits.train.items()
    }
    banks = {name: PromptBank(cache.task, encoder) for name, cache in caches.items()}

    def evaluation_tokens(views: Mapping[str, Sequence[View]]) -> dict[str, WindowTokens]:
        return {
            name: backbone_tokens(
                base.normwear, extractor, [row for row, _ in items], progress=args.progress, desc=f"{name} tokens"
            )
            for name, items in views.items()
        }

    validation_tokens = evaluation_tokens(splits.validation)
    transfer_tokens = evaluation_tokens(splits.transfer_check)
    held_out_tokens = evaluation_tokens(splits.held_out)
    results: dict[str, Any] = {
        "backbone": str(args.model),
        "text_encoder": args.text_encoder,
        "held_in_tasks": sorted(caches),
        "held_out_task_descriptions": {name: task.description for name, task in HELD_OUT_TASKS.items()},
        "held_in_task_descriptions": {name: HELD_IN_TASKS[name].description for name in sorted(caches)},
        "transfer_check_task_descriptions": {name: task.description for name, task in TRANSFER_CHECK_TASKS.items()},
        "training_views": describe_views(splits.train),
        "validation_views": describe_views(splits.validation),
        "transfer_check_views": describe_views(splits.transfer_check),
        "held_out_views": describe_views(splits.held_out),
        "arguments": asdict(args),
        "aggregators": {},
    }
    models = {}
    for aggregator in args.aggregators:
        config = base.config.__class__.from_dict(base.config.to_dict())
        config.zero_shot_aggregator = aggregator
        torch.manual_seed(args.seed)
        model = NormWearForZeroShotClassification(config)
        model.normwear.load_state_dict(backbone_state)
        history = train_aggregator(model, caches, banks, args)

        def logits_of(model, tasks, views, tokens):
            return {name: task_logits(model, encoder, tasks[name], views[name], tokens[name]) for name in views}

        validation = logits_of(model, HELD_IN_TASKS, splits.validation, validation_tokens)
        temperature = fit_temperature([v[0] for v in validation.values()], [v[1] for v in validation.values()])
        model.config.zero_shot_calibration_temperature = temperature
        transfer = logits_of(model, TRANSFER_CHECK_TASKS, splits.transfer_check, transfer_tokens)
        held_out = logits_of(model, HELD_OUT_TASKS, splits.held_out, held_out_tokens)
        entry = {
            "calibration_temperature": temperature,
            "uncalibrated_validation_nll": float(
                np.mean([score_task(lg, y, 1.0)["nll"] for lg, y in validation.values()])
            ),
            "validation": {name: score_task(lg, y, temperature) for name, (lg, y) in validation.items()},
            "transfer_check": {name: score_task(lg, y, temperature) for name, (lg, y) in transfer.items()},
            "held_out": {name: score_task(lg, y, temperature) for name, (lg, y) in held_out.items()},
            "held_out_bootstrap": bootstrap_auroc(
                {name: ((lg / temperature).softmax(dim=-1).numpy(), y) for name, (lg, y) in held_out.items()},
                seed=args.seed,
            ),
            "history": history,
        }
        entry["validation_nll"] = float(np.mean([v["nll"] for v in entry["validation"].values()]))
        entry["held_out_macro_auroc"] = float(np.mean([v["auroc"] for v in entry["held_out"].values()]))
        entry["validation_macro_auroc"] = float(np.mean([v["auroc"] for v in entry["validation"].values()]))
        entry["transfer_check_macro_auroc"] = (
            float(np.mean([v["auroc"] for v in entry["transfer_check"].values()])) if transfer else float("nan")
        )
        results["aggregators"][aggregator] = entry
        models[aggregator] = model
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
    parser.add_argument("--real_sources", nargs="*", default=None, help="real sources for the modality task")
    parser.add_argument("--no_ecg5000", action="store_true", help="skip the ECG5000 held-in task")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--no_progress", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    options = vars(build_parser().parse_args(argv))  # every option is a ZeroShotArguments field but the two "no_"s
    use_ecg5000, progress = not options.pop("no_ecg5000"), not options.pop("no_progress")
    args = ZeroShotArguments(**options, use_ecg5000=use_ecg5000, progress=progress)
    results = run_zero_shot_training(args)
    print(results_markdown(results), end="")
    print(f"calibration temperature {results['calibration_temperature']:.3f}; wrote {args.output_dir}")
    return 0
