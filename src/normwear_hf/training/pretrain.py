"""Masked-reconstruction pretraining on Accelerate: one script for one CPU, several processes, GPUs or nodes.

    accelerate launch examples/pretrain.py --corpus corpus/ --output_dir runs/tiny --config tiny
    torchrun --nproc_per_node 2 examples/pretrain.py ...      # several CPU processes on one machine

Everything random is a function of ``--seed`` and the step, and checkpoints hold model, optimizer and scheduler
(safetensors + JSON), so a killed run resumed with ``--resume_from_checkpoint latest`` ends at the same weights
as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import signal
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..configuration_normwear import NORMWEAR_PRESETS, NormWearConfig
from ..data.collator import NormWearCollator, stable_seed
from ..data.corpus_io import corpus_folders
from ..feature_extraction_normwear import NormWearFeatureExtractor
from ..modeling_normwear import NormWearForMaskedReconstruction
from ..utils.atomic import make_staging_folder, publish_files
from .checkpointing import load_checkpoint, load_latest_checkpoint, prune_checkpoints, save_checkpoint
from .sampler import EpochBatchSampler
from .schedule import build_optimizer, scaled_learning_rate, warmup_cosine

logger = logging.getLogger(__name__)


# --fit_schedule_to_budget times the steps between these two (counted from the start or the resume), after the
# first steps' warm-up of kernels and data workers.
SCHEDULE_PROBE_STEPS = (10, 30)
OPTIONAL_LOSS_TERMS = (
    "contrastive_loss",
    "auxiliary_loss",
    "latent_loss",
)  # logged to metrics.jsonl when the objective has them
# The final model's staging folder is output_dir/.final_model.partial-<id>; its weights files (one file, or an index
# over shards) are what from_pretrained opens first, so they are published last.
FINAL_MODEL_STAGING = "final_model"
FINAL_MODEL_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")


@dataclass
class PretrainArguments:
    corpus: str = ""
    output_dir: str = "runs/pretrain"
    config: str = "tiny"
    config_overrides: dict[str, Any] = field(default_factory=dict)
    per_device_batch_size: int = 32
    gradient_accumulation_steps: int = 1
    max_steps: int = 1000
    max_minutes: float | None = None
    fit_schedule_to_budget: bool = False
    base_lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    max_grad_norm: float = 1.0
    mixed_precision: str = "no"
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    resume_from_checkpoint: str | None = None
    seed: int = 0
    log_every: int = 10
    num_workers: int = 0
    max_channels: int | None = 8
    augment: str = "none"
    report_to: str = "tensorboard"
    progress: bool = True
    cpu: bool = False
    simulate_crash_at_step: int | None = None


def build_parser() -> argparse.ArgumentParser:
    defaults = PretrainArguments()
    parser = argparse.ArgumentParser(
        prog="normwear-hf pretrain",
        description="Pretrain NormWear by masked reconstruction.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--corpus", required=True, help="folder written by build_corpus / write_corpus (several: comma-separated)"
    )
    parser.add_argument("--output_dir", default=defaults.output_dir)
    parser.add_argument(
        "--config", default=defaults.config, help=f"a preset ({', '.join(NORMWEAR_PRESETS)}) or a config.json path"
    )
    parser.add_argument(
        "--config_overrides", type=json.loads, default={}, help='JSON, e.g. \'{"mask_strategy": "random"}\''
    )
    parser.add_argument(
        "--fit_schedule_to_budget",
        action="store_true",
        help="with --max_minutes: time steps 10-30, then end the warm-up + cosine schedule (and the run) at the "
        "step the budget reaches, so a time-boxed run (a lent GPU) finishes its learning-rate decay",
    )
    parser.add_argument("--per_device_batch_size", type=int, default=defaults.per_device_batch_size)
    parser.add_argument("--gradient_accumulation_steps", type=int, default=defaults.gradient_accumulation_steps)
    parser.add_argument("--max_steps", type=int, default=defaults.max_steps, help="optimizer steps")
    parser.add_argument(
        "--max_minutes",
        type=float,
        default=None,
        help="time budget of this invocation: stop after it (at a step boundary), save a checkpoint and the model; "
        "--resume_from_checkpoint latest continues towards --max_steps in a later session",
    )
    parser.add_argument("--base_lr", type=float, default=defaults.base_lr, help="lr = base_lr x effective batch / 256")
    parser.add_argument("--weight_decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--warmup_steps", type=int, default=defaults.warmup_steps)
    parser.add_argument("--max_grad_norm", type=float, default=defaults.max_grad_norm)
    parser.add_argument("--mixed_precision", choices=["no", "bf16", "fp16"], default=defaults.mixed_precision)
    parser.add_argument("--checkpoint_every", type=int, default=defaults.checkpoint_every)
    parser.add_argument("--keep_checkpoints", type=int, default=defaults.keep_checkpoints)
    parser.add_argument("--resume_from_checkpoint", default=None, help='a checkpoint folder or "latest"')
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--log_every", type=int, default=defaults.log_every)
    parser.add_argument("--num_workers", type=int, default=defaults.num_workers, help="DataLoader workers")
    parser.add_argument("--max_channels", type=int, default=defaults.max_channels)
    parser.add_argument(
        "--augment",
        choices=["none", "chunk_swap", "physio"],
        default=defaults.augment,
        help="chunk_swap: the paper's; physio: rate jitter, amplitude / polarity, channel dropout, sensor noise "
        "and chunk swap (data/physio_augment.py)",
    )
    parser.add_argument("--report_to", choices=["tensorboard", "none"], default=defaults.report_to)
    parser.add_argument("--no_progress", dest="progress", action="store_false")
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even where a GPU is available")
    parser.add_argument("--simulate_crash_at_step", type=int, default=None, help=argparse.SUPPRESS)
    return parser


def parse_args(argv: list[str] | None = None) -> PretrainArguments:
    return PretrainArguments(**vars(build_parser().parse_args(argv)))


def load_config(name_or_path: str, overrides: dict[str, Any]) -> NormWearConfig:
    if name_or_path in NORMWEAR_PRESETS:
        return NormWearConfig.from_preset(name_or_path, **overrides)
    path = Path(name_or_path)
    if not path.exists():
        raise ValueError(f"--config {name_or_path!r} is neither a preset ({list(NORMWEAR_PRESETS)}) nor a file.")
    return NormWearConfig.from_pretrained(path.parent if path.is_file() else path, **overrides)


class _EpochRows(Dataset):
    """Looks up ``(epoch, index)`` pairs; the epoch travels with the row so augmentation differs per epoch."""

    def __init__(self, rows) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        epoch, index = key
        return {**self.rows[int(index)], "epoch": epoch}


def _resume(args: PretrainArguments, checkpoints_dir: Path, model, optimizer, scheduler, main: bool) -> int:
    """Restore what ``--resume_from_checkpoint`` names and return its step (0 when starting fresh)."""
    say = print if main else (lambda message: None)
    if not args.resume_from_checkpoint:
        return 0
    if args.resume_from_checkpoint == "latest":
        restored = load_latest_checkpoint(checkpoints_dir, model, optimizer, scheduler, warn=say)
        if restored is None:
            say(f"--resume_from_checkpoint latest: no complete checkpoint in {checkpoints_dir}; starting at step 0")
            return 0
        resume, state = restored
    else:
        resume = Path(args.resume_from_checkpoint)
        if not resume.is_dir():
            raise ValueError(f"--resume_from_checkpoint {resume} does not exist.")
        state = load_checkpoint(resume, model, optimizer, scheduler)
    say(f"resumed from {resume} at step {int(state['global_step'])}")
    return int(state["global_step"])


def save_final_model(model, extractor, output_dir: Path) -> None:
    """``save_pretrained`` into a staging folder, then move the files into ``output_dir`` with ``utils.atomic``, the
    weights last: ``output_dir`` also holds the run's checkpoints and logs, so it cannot be replaced whole, and a save
    killed half way must leave the previous model or no weights, never a config beside weights it does not match.
    A staging folder left by a killed save is swept here."""
    for leftover in output_dir.glob(f".{FINAL_MODEL_STAGING}.partial-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    staging = make_staging_folder(output_dir / FINAL_MODEL_STAGING, overwrite=True)
    model.save_pretrained(staging, safe_serialization=True)
    extractor.save_pretrained(staging)
    publish_files(staging, output_dir, markers=FINAL_MODEL_WEIGHTS)


def parameter_digest(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter's bytes, to prove that replicas ended identical."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def check_arguments(args: PretrainArguments, corpus_given: bool) -> None:
    """Fail before any work starts, with the option's name and the fix."""
    for name in ("per_device_batch_size", "gradient_accumulation_steps", "max_steps", "log_every"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be at least 1, got {getattr(args, name)}.")
    for name in ("warmup_steps", "checkpoint_every", "num_workers"):
        if getattr(args, name) < 0:
            raise ValueError(f"--{name} must be >= 0, got {getattr(args, name)}.")
    if args.max_minutes is not None and not 0 < args.max_minutes < float("inf"):
        raise ValueError(f"--max_minutes must be a positive number of minutes, got {args.max_minutes}.")
    if args.fit_schedule_to_budget and args.max_minutes is None:
        raise ValueError("--fit_schedule_to_budget needs --max_minutes (the budget the schedule is fitted to).")
    if args.base_lr <= 0 or args.weight_decay < 0 or args.max_grad_norm < 0:
        raise ValueError("--base_lr must be positive; --weight_decay and --max_grad_norm must be >= 0.")
    missing = [] if corpus_given else [str(f) for f in corpus_folders(args.corpus) if not f.is_dir()]
    if not corpus_given and (missing or not args.corpus):
        raise ValueError(
            f"--corpus {', '.join(missing) or repr(args.corpus)} is not a folder; build one with "
            "`python dataset_scripts/build_pretraining_corpus.py --out corpus/`."
        )


def run_pretraining(args: PretrainArguments, corpus=None) -> dict[str, Any]:
    """Train; returns a summary. ``corpus`` may be given as a ``datasets.Dataset`` instead of ``args.corpus``."""
    check_arguments(args, corpus is not None)
    config = load_config(args.config, args.config_overrides)
    output_dir = Path(args.output_dir)
    checkpoints_dir = output_dir / "checkpoints"
    trackers = _trackers(args.report_to)
    accelerator = _accelerator(args, output_dir, trackers)
    rank, world = accelerator.process_index, accelerator.num_processes
    main = accelerator.is_main_process

    if corpus is None:
        from ..data.corpus_io import load_corpus

        corpus = load_corpus(args.corpus)
    torch.manual_seed(args.seed)  # identical initial weights in every process
    model = NormWearForMaskedReconstruction(config)
    extractor = NormWearFeatureExtractor()
    effective_batch = args.per_device_batch_size * args.gradient_accumulation_steps * world
    lr = scaled_learning_rate(args.base_lr, effective_batch)
    optimizer = build_optimizer(model, lr, args.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(args.warmup_steps, args.max_steps))

    step = _resume(args, checkpoints_dir, model, optimizer, scheduler, main)
    model, optimizer = accelerator.prepare(model, optimizer)
    loader = _batches(args, config, extractor, corpus, step, world, rank)

    if main:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "pretrain_args.json").write_text(json.dumps(asdict(args), indent=2))
    if trackers:
        hparams = {k: v for k, v in asdict(args).items() if isinstance(v, (int, float, str, bool))}
        accelerator.init_trackers("pretrain", config=hparams)
    progress = tqdm(
        total=args.max_steps, initial=step, desc="pretraining", unit="step", disable=not (main and args.progress)
    )
    window = _MetricsWindow()
    started = time.perf_counter()
    deadline = None if args.max_minutes is None else started + 60.0 * args.max_minutes
    last_loss = float("nan")
    stopped_by_budget = False
    probe = _BudgetProbe(first_step=step)
    model.train()
    while step < args.max_steps:
        _optimizer_step(args, accelerator, model, optimizer, scheduler, loader, step, window)
        step += 1
        progress.update(1)
        if args.fit_schedule_to_budget:
            probe.fit_schedule(args, step, deadline, scheduler, progress, accelerator)
        if deadline is not None and step < args.max_steps:
            # every process must agree to stop at the same step, so the main process's clock decides
            out_of_time = torch.tensor(float(time.perf_counter() >= deadline), device=accelerator.device)
            stopped_by_budget = bool(accelerator.reduce(out_of_time, reduction="sum").item() > 0)
        if step % args.log_every == 0 or step == args.max_steps or stopped_by_budget:
            last_loss = _log_window(window, step, scheduler, started, accelerator, output_dir, progress, trackers)
        periodic = args.checkpoint_every > 0 and step % args.checkpoint_every == 0
        if (periodic or stopped_by_budget) and step < args.max_steps:
            _save_step_checkpoint(args, accelerator, model, optimizer, scheduler, step, checkpoints_dir)
        _simulate_crash_if_asked(args, step)
        if stopped_by_budget:
            if main:
                print(
                    f"--max_minutes {args.max_minutes:g} reached at step {step} of {args.max_steps}; checkpoint "
                    "saved, continue with --resume_from_checkpoint latest",
                    flush=True,
                )
            break
    progress.close()

    summary = {
        "steps": step,
        "world_size": world,
        "effective_batch": effective_batch,
        "learning_rate": lr,
        "final_loss": last_loss,
        "stopped_by_time_budget": stopped_by_budget,
    }
    return _finish(accelerator, model, extractor, output_dir, summary, started, trackers)


def _log_window(window, step, scheduler, started, accelerator, output_dir: Path, progress, trackers) -> float:
    """Flush the metrics window: one metrics.jsonl line (main process), the progress bar, the trackers; returns
    the window's mean loss."""
    record = window.flush(step, scheduler.get_last_lr()[0], started, accelerator)
    if accelerator.is_main_process:
        with (output_dir / "metrics.jsonl").open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        progress.set_postfix(loss=f"{record['loss']:.4f}", seg_s=f"{record['segments_per_s']:.1f}")
    if trackers:
        accelerator.log({k: v for k, v in record.items() if k != "step"}, step=step)
    return record["loss"]


def _trackers(report_to: str) -> str | None:
    """``"tensorboard"`` when asked for and installed; otherwise metrics.jsonl alone (with a warning if asked)."""
    if report_to != "tensorboard":
        return None
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        logger.warning("tensorboard is not installed; logging to metrics.jsonl only (pip install tensorboard).")
        return None
    return "tensorboard"


def _accelerator(args: PretrainArguments, output_dir: Path, trackers: str | None):
    """An ``Accelerator`` for this run: one process, or those a launcher (torchrun, accelerate launch) started."""
    from accelerate import Accelerator

    # Accelerate sets up several CPU processes (gloo) only when told it runs on the CPU; a launcher such as
    # torchrun says how many processes there are through WORLD_SIZE.
    several_processes = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if not several_processes:
        # Accelerate keeps its settings for the life of the process; a second run in one process (an ablation, a
        # notebook) may ask for another precision, so start from a clean state. Never done under a launcher.
        from accelerate.state import AcceleratorState

        AcceleratorState._reset_state(reset_partial_state=True)
    cpu = args.cpu or (several_processes and not torch.cuda.is_available())
    return Accelerator(cpu=cpu, mixed_precision=args.mixed_precision, log_with=trackers, project_dir=str(output_dir))


def _batches(args: PretrainArguments, config: NormWearConfig, extractor, corpus, step: int, world: int, rank: int):
    """This process's collated micro-batches from ``step`` on: an endless iterator (the sampler counts epochs)."""
    augment = None
    if args.augment == "chunk_swap":
        from ..data.augment import chunk_swap_example

        augment = chunk_swap_example
    elif args.augment == "physio":
        from ..data.physio_augment import physiological_augment

        augment = physiological_augment
    collator = NormWearCollator(
        extractor,
        max_channels=args.max_channels,
        return_signal=config.reconstruction_target != "scalogram",
        augment=augment,
        seed=args.seed,
        auxiliary_targets=config.auxiliary_targets if config.auxiliary_weight > 0 else (),
    )
    sampler = EpochBatchSampler(len(corpus), args.per_device_batch_size, world, rank, args.seed)
    micro_batches = (
        [(epoch, i) for i in indices]
        for epoch, indices in sampler.iterate(start=step * args.gradient_accumulation_steps)
    )
    return iter(
        DataLoader(
            _EpochRows(corpus),
            batch_sampler=micro_batches,
            collate_fn=collator,
            num_workers=args.num_workers,
            persistent_workers=args.num_workers > 0,
        )
    )


@dataclass
class _MetricsWindow:
    """Losses and throughput summed since the last metrics.jsonl line."""

    loss: float = 0.0
    count: int = 0
    start: float = field(default_factory=time.perf_counter)
    segments: int = 0
    terms: dict[str, float] = field(default_factory=dict)  # the objective's optional terms (contrastive, ...)

    def add(self, outputs, loss: torch.Tensor, segments: int) -> None:
        self.loss += loss.detach().float().item()
        for term in OPTIONAL_LOSS_TERMS:
            value = getattr(outputs, term)
            if value is not None:
                self.terms[term] = self.terms.get(term, 0.0) + value.detach().float().item()
        self.count += 1
        self.segments += segments

    def flush(self, step: int, lr: float, started: float, accelerator) -> dict[str, float]:
        """The window's means over every process (one metrics.jsonl record); then start a new window."""
        mean_loss = accelerator.reduce(
            torch.tensor(self.loss / max(1, self.count), device=accelerator.device), reduction="mean"
        ).item()
        elapsed = time.perf_counter() - self.start
        record = {
            "step": step,
            "loss": mean_loss,
            "lr": lr,
            "segments_per_s": self.segments / max(elapsed, 1e-9),
            "elapsed_s": time.perf_counter() - started,
        }
        for term, total in self.terms.items():
            record[term] = accelerator.reduce(
                torch.tensor(total / max(1, self.count), device=accelerator.device), reduction="mean"
            ).item()
        self.loss, self.count, self.start, self.segments, self.terms = 0.0, 0, time.perf_counter(), 0, {}
        return record


def _optimizer_step(args: PretrainArguments, accelerator, model, optimizer, scheduler, loader, step: int, window):
    """One optimizer step over ``gradient_accumulation_steps`` micro-batches (gradients synced on the last)."""
    rank, world = accelerator.process_index, accelerator.num_processes
    for micro in range(args.gradient_accumulation_steps):
        batch = {name: tensor.to(accelerator.device) for name, tensor in next(loader).items()}
        mask_seed = stable_seed(args.seed, "mask", step, micro, rank)
        sync = micro == args.gradient_accumulation_steps - 1
        context = accelerator.no_sync(model) if not sync else nullcontext()
        with context:
            outputs = model(**batch, mask_seed=mask_seed)
            loss = outputs.loss
            accelerator.backward(loss / args.gradient_accumulation_steps)
        window.add(outputs, loss, int(batch["input_values"].shape[0]) * world)
    if args.max_grad_norm > 0:
        accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
    optimizer.step()
    accelerator.unwrap_model(model).update_teacher()  # latent prediction's EMA teacher (no-op without one)
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


@dataclass
class _BudgetProbe:
    """``--fit_schedule_to_budget``: time the steps of SCHEDULE_PROBE_STEPS (counted from ``first_step``), then end
    the schedule at the step the time budget reaches."""

    first_step: int
    start: float = 0.0

    def fit_schedule(self, args: PretrainArguments, step: int, deadline: float, scheduler, progress, accelerator):
        probe_from, probe_to = (self.first_step + n for n in SCHEDULE_PROBE_STEPS)
        if step == probe_from:
            self.start = time.perf_counter()
        elif step == probe_to:
            per_step = (time.perf_counter() - self.start) / (probe_to - probe_from)
            fitted = step + int(0.98 * (deadline - time.perf_counter()) / per_step)
            fitted = int(accelerator.gather(torch.tensor([fitted], device=accelerator.device)).min().item())
            args.max_steps = max(step + 1, min(args.max_steps, fitted))
            scheduler.lr_lambdas = [warmup_cosine(args.warmup_steps, args.max_steps)] * len(scheduler.lr_lambdas)
            progress.total = args.max_steps
            if accelerator.is_main_process:
                print(f"schedule fitted to the budget: {per_step:.3f} s/step -> {args.max_steps} steps", flush=True)


def _save_step_checkpoint(args: PretrainArguments, accelerator, model, optimizer, scheduler, step, checkpoints_dir):
    """Every process waits while the main one writes the checkpoint and prunes the old ones."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        save_checkpoint(
            checkpoints_dir,
            accelerator.unwrap_model(model),
            optimizer,
            scheduler,
            step,
            extra={"world_size": accelerator.num_processes},
        )
        prune_checkpoints(checkpoints_dir, args.keep_checkpoints)
    accelerator.wait_for_everyone()


def _simulate_crash_if_asked(args: PretrainArguments, step: int) -> None:
    """Test hook (``--simulate_crash_at_step``, hidden from --help): the kill-and-resume test dies here."""
    if args.simulate_crash_at_step is not None and step == args.simulate_crash_at_step:
        os.kill(os.getpid(), signal.SIGKILL)  # a real kill: nothing gets flushed or saved


def _finish(accelerator, model, extractor, output_dir: Path, summary: dict, started: float, trackers) -> dict:
    """Each rank's parameter digest; the main process saves the model and training_summary.json."""
    rank, world = accelerator.process_index, accelerator.num_processes
    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(model)
    digest = parameter_digest(unwrapped)
    ranks_dir = output_dir / "ranks"
    ranks_dir.mkdir(parents=True, exist_ok=True)
    (ranks_dir / f"rank{rank}.json").write_text(
        json.dumps({"rank": rank, "world_size": world, "parameter_sha256": digest})
    )
    summary = {
        **summary,
        "wall_time_s": time.perf_counter() - started,
        "parameter_sha256": digest,
        "output_dir": str(output_dir),
    }
    if accelerator.is_main_process:
        save_final_model(unwrapped, extractor, output_dir)
        (output_dir / "training_summary.json").write_text(json.dumps(summary, indent=2))
    if trackers:
        accelerator.end_training()
    accelerator.wait_for_everyone()
    return summary


def main(argv: list[str] | None = None) -> int:
    summary = run_pretraining(parse_args(argv))
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary, indent=2))
    return 0
