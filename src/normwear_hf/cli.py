"""The ``normwear-hf`` command line. Thin: it parses arguments and calls library code."""

from __future__ import annotations

import argparse
import importlib
import sys
import time

import numpy as np
import torch

from . import __version__


def run_demo(args: argparse.Namespace) -> int:
    """Embed the bundled sample recording with the bundled default model; print shapes and timing."""
    from .inference import DEFAULT_MODEL_DESCRIPTION, embed, load_default_model
    from .samples import load_sample_recording

    recording = load_sample_recording()
    model, extractor = load_default_model()
    print(f"normwear-hf {__version__} | model: {DEFAULT_MODEL_DESCRIPTION}")
    print(
        f"sample recording: {recording.duration_s:.0f} s, {len(recording.signals)} channels "
        + ", ".join(f"{kind} @ {rate:g} Hz" for kind, rate in zip(recording.channel_types, recording.sampling_rate))
    )
    dtype = torch.bfloat16 if args.bf16 else None
    common = dict(
        sampling_rate=[recording.sampling_rate],
        channel_types=[recording.channel_types],
        model=model,
        feature_extractor=extractor,
        dtype=dtype,
    )
    embed([recording.signals], pooling="recording", **common)  # warm-up: caches and kernels
    start = time.perf_counter()
    recording_embedding = embed([recording.signals], pooling="recording", **common)
    elapsed = time.perf_counter() - start
    channel_embedding = embed([recording.signals], pooling="channel", **common)
    print(
        f"recording embedding: shape {tuple(recording_embedding.shape)}, norm {np.linalg.norm(recording_embedding):.3f}"
    )
    print(f"per-channel embeddings: shape {tuple(channel_embedding.shape)}")
    windows = int(np.ceil(recording.duration_s / 6.0))
    print(
        f"time: {elapsed * 1000:.1f} ms for {recording.duration_s:.0f} s of signal "
        f"({windows} windows of 6 s, feature extraction included, {torch.get_num_threads()} threads"
        f"{', bf16' if args.bf16 else ', fp32'})"
    )
    return 0


# Subcommands whose options belong to another program: everything after the name is handed to that module's
# main(argv) untouched (imported only when used). Name -> (module, help).
PASS_THROUGH = {
    "pretrain": ("normwear_hf.training.pretrain", "pretrain by masked reconstruction (Accelerate)"),
    "build-corpus": (
        "normwear_hf.data.build_corpus",
        "build the pretraining corpus (real + synthetic) as Parquet shards",
    ),
    "convert": ("normwear_hf.data.converters.common", "convert a public corpus (wesad, uci_har, ...) into the schema"),
    "benchmark": ("normwear_hf.evaluation.benchmark", "linear-probe benchmark of a model against baselines"),
}


def run_pass_through(name: str, options: list[str]) -> int:
    module, _ = PASS_THROUGH[name]
    return importlib.import_module(module).main(options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="normwear-hf", description="NormWear foundation model for wearable physiological signals."
    )
    parser.add_argument("--version", action="version", version=f"normwear-hf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="embed the bundled sample recording with the bundled model")
    demo.add_argument("--bf16", action="store_true", help="run the model under bfloat16 autocast")
    demo.set_defaults(handler=run_demo)
    for name, (_, summary) in PASS_THROUGH.items():
        command = commands.add_parser(
            name, help=f"{summary}; `normwear-hf {name} --help` lists the options", add_help=False
        )
        command.add_argument("options", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in PASS_THROUGH:
        try:
            return run_pass_through(argv[0], argv[1:])
        except ValueError as error:
            print(f"normwear-hf {argv[0]}: error: {error}", file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except ValueError as error:  # bad input: the message already says what to fix
        print(f"normwear-hf: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
