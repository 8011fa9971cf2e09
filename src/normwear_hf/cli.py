"""The ``normwear-hf`` command line. Thin: it parses arguments and calls library code."""

from __future__ import annotations

import argparse
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


def run_pretrain(options: list[str]) -> int:
    """Masked-reconstruction pretraining; every option is the training script's (see --help)."""
    from .training.pretrain import main as pretrain_main

    return pretrain_main(options)


def run_build_corpus(options: list[str]) -> int:
    """Real + synthetic pretraining corpus as Parquet shards (see --help)."""
    from .data.build_corpus import main as build_corpus_main

    return build_corpus_main(options)


def run_convert(options: list[str]) -> int:
    """A public corpus as published -> the standard schema as a DatasetDict with a dataset card (see --help)."""
    from .data.converters.common import main as convert_main

    return convert_main(options)


def run_benchmark(options: list[str]) -> int:
    """Every task and baseline through the same linear probes; results.json, results.md, plots (see --help)."""
    from .evaluation.benchmark import main as benchmark_main

    return benchmark_main(options)


# Subcommands whose options belong to another program: everything after the name is handed over untouched.
PASS_THROUGH = {
    "pretrain": run_pretrain,
    "build-corpus": run_build_corpus,
    "convert": run_convert,
    "benchmark": run_benchmark,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="normwear-hf", description="NormWear foundation model for wearable physiological signals."
    )
    parser.add_argument("--version", action="version", version=f"normwear-hf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="embed the bundled sample recording with the bundled model")
    demo.add_argument("--bf16", action="store_true", help="run the model under bfloat16 autocast")
    demo.set_defaults(handler=run_demo)
    pretrain = commands.add_parser(
        "pretrain",
        help="pretrain by masked reconstruction (Accelerate); `normwear-hf pretrain --help` lists the options",
        add_help=False,
    )
    pretrain.add_argument("options", nargs=argparse.REMAINDER)
    corpus = commands.add_parser(
        "build-corpus",
        help="build the pretraining corpus (real + synthetic) as Parquet shards; see `normwear-hf build-corpus --help`",
        add_help=False,
    )
    corpus.add_argument("options", nargs=argparse.REMAINDER)
    convert = commands.add_parser(
        "convert",
        help="convert a public corpus (wesad, ppg_dalia, uci_har, ...) into the standard schema; see --help",
        add_help=False,
    )
    convert.add_argument("options", nargs=argparse.REMAINDER)
    benchmark = commands.add_parser(
        "benchmark",
        help="linear-probe benchmark of a model against baselines on real and synthetic tasks; see --help",
        add_help=False,
    )
    benchmark.add_argument("options", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in PASS_THROUGH:
        try:
            return PASS_THROUGH[argv[0]](argv[1:])
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
