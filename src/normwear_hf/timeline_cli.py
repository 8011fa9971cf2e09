"""``normwear-hf timeline``: per-window embeddings, label probabilities and channel quality of long recordings.

Kept apart from ``cli.py`` so that the subcommand is one file; like every command it imports numpy, torch and the
model only after the arguments are parsed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .cli_options import (
    add_quality_options,
    add_signal_options,
    add_zero_shot_options,
    check_device,
    input_files,
    quality_threshold,
)


def add_timeline_command(commands, model_help: str) -> None:
    command = commands.add_parser(
        "timeline",
        help="timeline of long recordings: per-window embeddings, zero-shot probabilities, channel quality",
        description="Stream recordings of any length (hours, days) through the model: one 6 s window every --hop "
        "seconds, each with its embedding, the probability of each --labels entry and a quality score per channel "
        "(channels below --quality-threshold are masked out of the model). Writes one Parquet row per window and a "
        "PNG per file (signals, label probabilities and channel quality over time). .npy files are memory-mapped. "
        "Under torchrun / accelerate launch the files are shared among the processes and the tables merged.",
    )
    command.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER", help="signal files or folders")
    command.add_argument("--hop", type=float, required=True, metavar="SECONDS", help="seconds between windows")
    command.add_argument("--out", required=True, metavar="OUT.parquet", help="the table: one row per window")
    add_zero_shot_options(command)
    add_signal_options(command, model_help)
    add_quality_options(command)
    command.add_argument("--no-plot", action="store_true", help="skip the PNG")
    command.add_argument("--batch-size", type=int, default=32, help="windows per forward pass (default 32)")
    command.add_argument("--bf16", action="store_true", help="run the model under bfloat16 autocast")
    command.add_argument("--device", default=None, help="torch device, e.g. cuda (default: cpu)")
    command.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    command.set_defaults(handler=run_timeline)


def _png_path(out: Path, file: Path, many: bool) -> Path:
    return out.with_name(f"{out.stem}.{file.stem}.png" if many else f"{out.stem}.png")


def run_timeline(args: argparse.Namespace) -> int:

    out = Path(args.out)
    if out.suffix.lower() != ".parquet":
        raise ValueError(f"--out {out}: the timeline is written as Parquet; name it OUT.parquet.")
    if out.exists() and not args.overwrite:
        raise ValueError(f"--out {out} already exists; pass --overwrite to replace it, or choose another name.")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}.")
    from .timeline import check_hop

    check_hop(args.hop, 65.0)
    labels = None
    if args.labels is not None:
        from .zero_shot.engine import check_candidate_labels

        try:
            labels = check_candidate_labels(args.labels)
        except ValueError as error:
            raise ValueError(f"--labels {args.labels!r}: {error}") from None
    threshold = quality_threshold(args)
    check_device(args.device)
    rates, files = input_files(args)

    import torch

    from .checkpoint import load_quietly, resolve_model_path
    from .sharding import shard_files
    from .timeline import timeline
    from .timeline_output import TimelineSummary, TimelineWriter, plot_timeline

    shard = shard_files(files, out)
    model_path = resolve_model_path(args.model)
    model, extractor = load_quietly(model_path, backbone=labels is None)
    writer = TimelineWriter(shard.path, labels)
    start = time.perf_counter()
    hours = 0.0
    for file in shard.files:
        try:
            run = timeline(
                file,
                sampling_rate=rates,
                hop_seconds=args.hop,
                candidate_labels=labels,
                channel_types=args.channel_types,
                model=model,
                feature_extractor=extractor,
                question=args.question,
                hypothesis_template=args.template,
                quality_threshold=threshold,
                batch_size=args.batch_size,
                dtype=torch.bfloat16 if args.bf16 else None,
                device=args.device,
                progress=None,
            )
            shown = [f"{name} ({kind})" if kind else name for name, kind in zip(run.channel_names, run.channel_types)]
            summary = TimelineSummary(shown, list(labels or []))
            for window in run:
                writer.add(str(file), list(run.channel_names), [window])
                summary.add([window])
        except ValueError as error:
            raise ValueError(f"{file}: {error}") from None
        hours += run.duration_s / 3600
        masked = sum(int((~used).sum()) for used in summary.used)
        line = f"{file}: {len(summary.start_s)} windows, {run.duration_s / 3600:.2f} h, {masked} channel windows masked"
        if not args.no_plot:
            png = plot_timeline(summary, _png_path(out, Path(file), len(files) > 1), title=f"{Path(file).name}")
            line += f" -> {png}"
        print(line)
    writer.close()
    shard.mark_done()
    shard.merge()
    elapsed = time.perf_counter() - start
    speed = hours * 3600 / elapsed if elapsed > 0 else float("inf")
    print(
        f"timeline of {len(shard.files)} file(s), {hours:.2f} h of signal in {elapsed:.1f} s "
        f"({speed:,.0f}x real time) -> {out}"
    )
    return 0
