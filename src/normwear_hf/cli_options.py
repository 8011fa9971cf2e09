"""Options and checks that several ``normwear-hf`` commands share (signal files, zero-shot labels, quality masking,
devices).

A module of its own, below every command module, so that ``cli.py``, ``timeline_cli.py`` and ``cli_edge.py`` all
import it and none imports another. Like the commands, it imports numpy and torch only inside the checks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .zero_shot.prompts import DEFAULT_HYPOTHESIS_TEMPLATE


def _rates_flag(text: str | None) -> list[float] | None:
    import numpy as np

    if text is None:
        return None
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(
            f"--sampling-rate {text!r}: give Hz as one number or one per channel, e.g. 250 or 250,64."
        ) from None
    if not rates or not all(np.isfinite(rate) and rate > 0 for rate in rates):
        raise ValueError(f"--sampling-rate {text!r}: rates must be positive numbers in Hz.")
    return rates


def input_files(args: argparse.Namespace) -> tuple[list[float] | None, list[Path]]:
    """The --sampling-rate flag and the signal files named by the inputs; a .npy without a rate fails here,
    before any model is loaded. A command's own --out is never an input (a .parquet output in an input folder)."""
    from .io_readers import iter_signal_files

    rates = _rates_flag(args.sampling_rate)
    out = Path(args.out).expanduser().resolve() if getattr(args, "out", None) else None
    files = [file for file in iter_signal_files(args.inputs) if file.resolve() != out]
    if not files:
        raise ValueError(f"No signal files to read: the only one given is the output {args.out}.")
    if rates is None and any(file.suffix.lower() == ".npy" for file in files):
        first = next(file for file in files if file.suffix.lower() == ".npy")
        raise ValueError(f"{first}: a .npy file carries no sampling rate; pass --sampling-rate HZ.")
    return rates, files


def add_signal_options(command: argparse.ArgumentParser, model_help: str) -> None:
    """--model, --sampling-rate and --channel-types: shared by the commands that read signal files."""
    command.add_argument("--model", default="normwear", help=model_help)
    command.add_argument(
        "--sampling-rate",
        metavar="HZ",
        help="sampling rate in Hz: one, or one per channel comma separated (overrides the file's; needed for .npy)",
    )
    command.add_argument(
        "--channel-types",
        metavar="TYPES",
        help="channel types, one per channel comma separated, e.g. ecg,ppg (overrides the file's and the guesses "
        "from channel names)",
    )


def add_zero_shot_options(command: argparse.ArgumentParser) -> None:
    """--labels, --template and --question: the zero-shot answer that the zero-shot, timeline and explain
    commands ask for."""
    command.add_argument(
        "--labels", metavar="LABELS", help='candidate labels, comma separated (at least two), e.g. "resting,running"'
    )
    command.add_argument(
        "--template",
        default=DEFAULT_HYPOTHESIS_TEMPLATE,
        help=f"sentence each label is put in; {{}} marks the label (default {DEFAULT_HYPOTHESIS_TEMPLATE!r})",
    )
    command.add_argument(
        "--question",
        help="the task question, e.g. 'What activity is the person doing?' (default: the model's default question)",
    )


def add_quality_options(command: argparse.ArgumentParser) -> None:
    """--quality-threshold and --no-quality-mask: which channel windows the embed and timeline commands leave out."""
    command.add_argument(
        "--quality-threshold",
        type=float,
        metavar="Q",
        help="leave a channel out of a 6 s window when its quality (0-1: flatline, clipping, noise, implausible "
        "heart rate) is below Q (default 0.5)",
    )
    command.add_argument("--no-quality-mask", action="store_true", help="score quality but feed every channel")


def quality_threshold(args: argparse.Namespace) -> float | None:
    """The threshold the quality options ask for (None: mask nothing); a ValueError for a bad or contradictory one."""
    from .quality import DEFAULT_QUALITY_THRESHOLD, check_threshold

    if args.no_quality_mask:
        if args.quality_threshold is not None:
            raise ValueError("--quality-threshold and --no-quality-mask contradict each other; pass one of them.")
        return None
    value = DEFAULT_QUALITY_THRESHOLD if args.quality_threshold is None else args.quality_threshold
    try:
        return check_threshold(value)
    except ValueError as error:
        raise ValueError(f"--quality-threshold {value:g}: {error}") from None


def check_device(name: str | None) -> None:
    """A device the machine has, before any model is loaded (torch's own errors are asserts and tracebacks)."""
    if name is None:
        return
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ValueError(f"--device {name!r} is not a torch device; use cpu, cuda, cuda:1 or mps.") from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count(),
        "mps": torch.backends.mps.is_available(),
    }.get(device.type, False)
    if not available:
        raise ValueError(f"--device {name}: this machine has no such device; omit --device to run on the CPU.")
