"""The alignment loop: the aggregator (and logit scale) learn to place a frozen backbone's tokens near the text of
what they show, with the backbone and the sentence encoder frozen.

A step is a *task step* (one held-in task: class-balanced views, a random question paraphrase, one sentence per
class; cross-entropy over the classes, plus in the refine stage the paper's cosine + 0.5 x L1 pull towards the
true sentence) or, when a :class:`~normwear_hf.zero_shot.captioned.CaptionBank` is given, a *caption step* (the
batch's captions and hard negatives, multi-positive targets). ``train.py`` builds the data and scores the result.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..modeling_normwear_zero_shot import NormWearForZeroShotClassification
from .captioned import CaptionBank
from .engine import WindowTokens
from .prompts import GENERIC_TEMPLATES, PromptTask
from .text_encoder import DEFAULT_TEXT_ENCODER, SentenceEncoder


@dataclass
class ZeroShotArguments:
    """Options of ``examples/train_zero_shot.py``; the defaults are the shipped head's recipe (docs/zero_shot.md)."""

    model: str
    output_dir: str = "runs/zero_shot"
    text_encoder: str = DEFAULT_TEXT_ENCODER
    synthetic_count: int = 8000
    validation_count: int = 600
    held_out_count: int = 1000
    real_per_type: int = 300
    real_sources: list[str] | None = None
    use_ecg5000: bool = True
    steps: int = 4800
    refine_steps: int = 800
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    cross_task_negatives: int = 0
    """Label sentences of other tasks added as extra wrong answers each step (0: the task's classes only)."""
    token_dropout: float = 0.0
    """Fraction of patch tokens hidden from the aggregator each training step ([CLS] tokens always kept)."""
    aggregators: list[str] = field(default_factory=lambda: ["msitf", "mean_linear"])
    objective: str = "captions"
    """``tasks``: contrast over each held-in task's classes; ``captions``: over the batch's captions (mostly)."""
    caption_task_fraction: float = 0.25
    """With ``objective="captions"``: the share of steps that are task steps."""
    caption_vary_fraction: float = 0.5
    """With ``objective="captions"``: the share of captioned views at another rate, unit and sign."""
    caption_retime_fraction: float = 0.5
    """With ``objective="captions"``: the share of ECG / PPG / respiration views played faster or slower."""
    rhythm: bool = True
    """The head also reads each channel's rhythm descriptor (``rhythm_features``), pooled beside the tokens."""
    question_conditioning: bool = True
    """MSiTF adds the question to the pooled tokens (``config.zero_shot_question_conditioning``)."""
    text_centering: bool = True
    """Compare sentences after taking out the training texts' mean (``config.zero_shot_text_centering``)."""
    seed: int = 0
    progress: bool = True


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


class AlignmentObjective(nn.Module):
    """One training step's loss as a module, so Accelerate / DDP wrap (and synchronise) it."""

    def __init__(self, model: NormWearForZeroShotClassification) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        hidden: torch.Tensor,
        mask: torch.Tensor,
        rhythm: torch.Tensor,
        question: torch.Tensor,
        text: torch.Tensor,
        labels: torch.Tensor,
        refine: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (total loss, contrastive part). ``labels`` are class indices ``[B]`` (task steps) or, in caption
        steps, probabilities over the candidates ``[B, M]`` (multi-positive); ``refine`` needs indices."""
        embeds, _ = self.model.aggregate(hidden, mask, question, rhythm)
        logits = self.model.similarity_logits(embeds, text)
        contrastive = F.cross_entropy(logits.float(), labels)
        loss = contrastive
        if refine:  # the paper's refine stage: pull the embedding onto its answer sentence (cosine + 0.5 x L1)
            target = self.model.text_directions(text[torch.arange(len(labels), device=labels.device), labels])
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


def task_batch(
    cache: TaskCache,
    bank: PromptBank,
    others: torch.Tensor | None,
    args: ZeroShotArguments,
    rng: random.Random,
    generator: torch.Generator,
) -> tuple[torch.Tensor, ...]:
    """A task step's batch: class-balanced views, a random question and one sentence per class for each row."""
    classes = rng.choices(range(len(cache.by_class)), k=args.batch_size)
    picks = [int(rng.choice(cache.by_class[k])) for k in classes]
    hidden, mask, rhythm = cache.tokens.batch(picks)
    question, text = bank.sample(len(picks), generator)
    text = add_wrong_answers(text, others, args.cross_task_negatives, generator)
    return hidden, drop_tokens(mask, args.token_dropout, generator), rhythm, question, text, torch.as_tensor(classes)


def cosine_schedule(total: int) -> Callable[[int], float]:
    """Linear warm-up over the first 5% of ``total`` steps, then cosine decay to 0."""
    warmup = max(1, total // 20)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    return schedule


def train_aggregator(
    model: NormWearForZeroShotClassification,
    caches: Mapping[str, TaskCache],
    banks: Mapping[str, PromptBank],
    args: ZeroShotArguments,
    captions: CaptionBank | None = None,
) -> list[dict[str, float]]:
    """Contrastive then refine training of the aggregator (and the logit scale); the backbone stays frozen.

    Each step is a task step (one task's classes) or, with ``captions``, with probability
    ``1 - caption_task_fraction`` a caption step (the batch's captions, multi-positive targets)."""
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    model.freeze_backbone()
    trainable = [p for name, p in model.named_parameters() if not name.startswith("normwear.")]
    optimizer = torch.optim.AdamW(trainable, lr=args.learning_rate, weight_decay=args.weight_decay)
    total = args.steps + args.refine_steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_schedule(total))
    objective, optimizer, scheduler = accelerator.prepare(AlignmentObjective(model), optimizer, scheduler)
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
        caption_step = captions is not None and rng.random() >= args.caption_task_fraction
        if caption_step:
            batch = captions.sample(args.batch_size, rng, generator)
        else:
            name = rng.choices(names, weights)[0]
            batch = task_batch(caches[name], banks[name], other_sentences[name], args, rng, generator)
        loss, contrastive = objective(
            *(t.to(accelerator.device) for t in batch), refine=step >= args.steps and not caption_step
        )
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
