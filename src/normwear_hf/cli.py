"""The ``normwear-hf`` command line. Thin: it parses arguments and calls library code."""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import time
from pathlib import Path

from ._version import __version__
from .cli_edge import add_explain_command, add_onnx_options
from .cli_options import add_quality_options, add_signal_options, add_zero_shot_options, check_device, quality_threshold
from .cli_options import input_files as _input_files
from .timeline_cli import add_timeline_command

# numpy, torch, transformers and the model are imported inside the commands that use them, after the arguments
# are parsed: --help and argument errors answer at once (benchmarks/bench_cli_startup.py measures it).


def run_demo(args: argparse.Namespace) -> int:
    """The bundled zero-shot checkpoint on the bundled sample recordings: embeddings, answers, one picture."""
    from .demo import run_demo as demo

    demo(model=args.model, out=args.out, bf16=args.bf16, plot=not args.no_plot)
    return 0


POOLINGS = ("recording", "channel", "probe", "cls")
EMBED_FORMATS = (".npy", ".parquet")


def run_embed(args: argparse.Namespace) -> int:
    """Embed signal files with a model; write the embeddings as .npy (+ a list of files) or Parquet."""
    import torch
    from tqdm.auto import tqdm

    from .checkpoint import load_quietly, resolve_model_path
    from .inference import embed
    from .io_readers import read_signal_file
    from .sharding import shard_files

    out = Path(args.out)
    if out.suffix.lower() not in EMBED_FORMATS:
        raise ValueError(f"--out {out}: the output must end in {' or '.join(EMBED_FORMATS)}.")
    if out.exists() and not args.overwrite:
        raise ValueError(f"--out {out} already exists; pass --overwrite to replace it, or choose another name.")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}.")
    threshold = quality_threshold(args)
    check_device(args.device)
    rates, files = _input_files(args)
    shard = shard_files(files, out)  # under torchrun / accelerate launch: this process's files (sharding.py)
    if shard.world > 1 and out.suffix.lower() != ".parquet":
        raise ValueError(f"--out {out}: {shard.world} processes (WORLD_SIZE) merge Parquet shards; use .parquet.")
    model_path = resolve_model_path(args.model)
    model, extractor = load_quietly(model_path, backbone=True)
    dtype = torch.bfloat16 if args.bf16 else None
    start = time.perf_counter()
    rows, seconds, masked, windows = [], 0.0, 0, 0
    for file in tqdm(shard.files, desc="embedding", unit="file", disable=None):
        recording = read_signal_file(file, sampling_rate=rates, channel_types=args.channel_types)
        types = [kind or "other" for kind in recording.channel_types]
        try:
            result = embed(
                [recording.signals],
                sampling_rate=[recording.sampling_rate],
                channel_types=[types],
                model=model,
                feature_extractor=extractor,
                pooling=args.pooling,
                batch_size=args.batch_size,
                device=args.device,
                dtype=dtype,
                progress=False,
                quality_threshold=threshold,
                return_quality=True,
            )
        except ValueError as error:
            raise ValueError(f"{file}: {error}") from None
        used = result.channels_used[0]
        rows.append((file, recording, result.embeddings[0], used.mean(axis=0)))
        masked, windows = masked + int((~used).sum()), windows + used.size
        seconds += recording.duration_s
    elapsed = time.perf_counter() - start
    shape = _write_embeddings(shard.path, rows) if rows else "no rows"
    shard.mark_done()
    if shard.merge() is not None:
        shape += f"; rank 0 merged {shard.world} shards"
    print(
        f"embedded {len(rows)} file{'s' * (len(rows) != 1)} ({seconds:.1f} s of signal) with {model_path} "
        f"in {elapsed:.1f} s: pooling {args.pooling}, {shape}, {masked} of {windows} channel windows masked for "
        f"quality -> {out}"
    )
    return 0


def run_zero_shot(args: argparse.Namespace) -> int:
    """Rank candidate labels for signal files with a zero-shot checkpoint; print them, optionally write JSON."""
    from .checkpoint import resolve_model_path
    from .demo import zero_shot_pipeline

    labels, json_out = _zero_shot_arguments(args)
    rates, files = _input_files(args)
    model_path = resolve_model_path(args.model)
    model, extractor = _load_zero_shot_model(model_path)
    question = args.question or model.config.zero_shot_default_question
    clf = zero_shot_pipeline(model, extractor)
    start = time.perf_counter()
    print(f"zero-shot with {model_path} | template {args.template!r} | question {question!r}")
    results = [_rank_file(clf, file, rates, args, labels, question) for file in files]
    elapsed = time.perf_counter() - start
    summary = f"classified {len(results)} file{'s' * (len(results) != 1)} in {elapsed:.1f} s"
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "model": str(model_path),
            "candidate_labels": labels,
            "hypothesis_template": args.template,
            "question": question,
            "results": results,
        }
        json_out.write_text(json.dumps(document, indent=2) + "\n")
        summary += f" -> {json_out}"
    print(summary)
    return 0


def _head_extras(config: dict) -> str:
    """What a zero-shot head reads beyond the paper's MSiTF, for ``info``."""
    extras = [
        text
        for key, text in (
            ("zero_shot_rhythm_size", "rhythm descriptors"),
            ("zero_shot_question_conditioning", "question conditioning"),
            ("zero_shot_text_centering", "text centring"),
        )
        if config.get(key)
    ]
    return "; reads " + ", ".join(extras) if extras else ""


def _zero_shot_arguments(args: argparse.Namespace) -> tuple[list[str], Path | None]:
    """The checked candidate labels and JSON output of ``zero-shot``, before any model is loaded."""
    from .zero_shot.engine import check_candidate_labels, label_sentences

    if args.labels is None:
        raise ValueError(
            '--labels is required: the candidate labels, comma separated, e.g. --labels "resting,running".'
        )
    try:
        labels = check_candidate_labels(args.labels)
    except ValueError as error:
        raise ValueError(f"--labels {args.labels!r}: {error}") from None
    try:
        label_sentences(labels, args.template)
    except ValueError as error:
        raise ValueError(f"--template {args.template!r}: {error}") from None
    json_out = Path(args.json) if args.json else None
    if json_out is not None and json_out.suffix.lower() != ".json":
        raise ValueError(f"--json {json_out}: the output must end in .json.")
    return labels, json_out


def _load_zero_shot_model(model_path: str):
    """The model and feature extractor of ``model_path``; a folder without a zero-shot head is a clear error."""
    from .checkpoint import load_quietly
    from .zero_shot.engine import has_zero_shot_head

    model, extractor = load_quietly(model_path)
    if not has_zero_shot_head(model):
        raise ValueError(
            f"{model_path} holds a {type(model).__name__} without a zero-shot aggregator: zero-shot classification "
            "needs a zero-shot checkpoint (the bundled 'normwear' one, or a folder written by "
            "`normwear-hf train-zero-shot`). For embeddings of this model use `normwear-hf embed`."
        )
    return model, extractor


def _rank_file(clf, file: Path, rates, args: argparse.Namespace, labels: list[str], question: str) -> dict:
    """Classify one signal file, print its ranking, and return it as a JSON-ready record."""
    from .io_readers import read_signal_file

    recording = read_signal_file(file, sampling_rate=rates, channel_types=args.channel_types)
    types = [kind or "other" for kind in recording.channel_types]
    try:
        ranking = clf(
            {"signal": recording.signals, "sampling_rate": recording.sampling_rate, "channel_types": types},
            candidate_labels=labels,
            hypothesis_template=args.template,
            question=question,
        )
    except ValueError as error:
        raise ValueError(f"{file}: {error}") from None
    channels = ", ".join(f"{kind} {rate:g} Hz" for kind, rate in zip(types, recording.sampling_rate))
    print(f"{file} ({recording.duration_s:.1f} s; {channels}):")
    width = max(len(entry["label"]) for entry in ranking)
    for rank, entry in enumerate(ranking, 1):
        print(f"  {rank}. {entry['label'].ljust(width)}  {entry['score']:.3f}")
    return {
        "file": str(file),
        "duration_s": round(recording.duration_s, 3),
        "channel_types": types,
        "sampling_rate": recording.sampling_rate,
        "top_label": ranking[0]["label"],
        "ranking": [{"label": entry["label"], "score": float(entry["score"])} for entry in ranking],
    }


def _write_embeddings(out: Path, rows: list) -> str:
    import numpy as np

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        shapes = {vector.shape for _, _, vector, _ in rows}
        if len(shapes) > 1:
            listed = ", ".join(f"{file.name} {vector.shape}" for file, _, vector, _ in rows[:5])
            raise ValueError(
                f"the files give embeddings of different shapes ({listed}, ...): they have different channel counts. "
                "Use --pooling recording (one vector per file), or write --out FILE.parquet (one row per file)."
            )
        array = np.stack([vector for _, _, vector, _ in rows]).astype(np.float32)
        np.save(out, array)
        sidecar = out.with_name(out.name + ".files.txt")
        sidecar.write_text("".join(f"{file}\n" for file, _, _, _ in rows))
        return f"array {tuple(array.shape)} (+ {sidecar.name})"
    import pyarrow as pa
    import pyarrow.parquet as pq

    embedding_type = pa.list_(pa.float32())
    if rows[0][2].ndim == 2:
        embedding_type = pa.list_(embedding_type)
    columns = {
        "file": pa.array([str(file) for file, _, _, _ in rows], type=pa.string()),
        "embedding": pa.array([vector.tolist() for _, _, vector, _ in rows], type=embedding_type),
        "channel_names": pa.array([recording.channel_names for _, recording, _, _ in rows]),
        # per channel, the fraction of its 6 s windows that passed the quality checks and reached the model
        "channels_used": pa.array([used.tolist() for _, _, _, used in rows], type=pa.list_(pa.float32())),
    }
    pq.write_table(pa.table(columns), out)
    return f"{len(rows)} rows x {rows[0][2].shape} embeddings"


def _file_size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def run_info(args: argparse.Namespace) -> int:
    """Say what a model is: where, which architecture and size, parameters, weights, model card.

    Read from the folder's JSON files and safetensors headers only (no torch), so it answers at once.
    """
    from .checkpoint import CARD_NAME, WEIGHTS_NAMES, resolve_model_path
    from .model_info import describe

    path = Path(resolve_model_path(args.model))
    weights = [path / name for name in WEIGHTS_NAMES[:1] if (path / name).is_file()]
    weights = weights or sorted(path.glob("model*.safetensors"))
    facts = describe(path, weights)
    config = facts["config"]
    preset = facts["preset"]
    patch = " x ".join(str(size) for size in config.get("patch_size", []))
    aggregator = config.get("zero_shot_aggregator")
    window, rate = facts["window_length"], facts["sampling_rate"]
    lines = [
        f"model: {path}",
        f"architecture: {facts['architecture']} (model_type {config.get('model_type')})",
        f"size: hidden {config.get('hidden_size')}, {config.get('num_hidden_layers')} layers, "
        f"{config.get('num_attention_heads')} heads, MLP {config.get('intermediate_size')}, patch {patch} "
        f"(time x scale), fusion {config.get('fusion_mode', 'cls_attention')}"
        + (f" (preset {preset!r})" if preset else " (no named preset)"),
        f"parameters: {facts['parameters']:,}",
        "weights: " + (", ".join(f"{file.name} {_file_size(file.stat().st_size)}" for file in weights) or "none found"),
        "zero-shot aggregator: "
        + (
            f"yes ({aggregator}, text encoder {config.get('text_encoder_name_or_path')}{_head_extras(config)})"
            if aggregator
            else "no"
        ),
        f"feature extractor: resample to {rate:g} Hz, windows of {window} samples ({window / rate:g} s)",
    ]
    card = path / CARD_NAME
    if card.is_file():
        text = card.read_text(errors="replace")
        if text.startswith("---"):  # skip the YAML front matter of a Hub model card
            end = text.find("\n---", 3)
            text = text[end + 4 :] if end >= 0 else text
        text = re.sub(r"<!--.*?-->", "", text, flags=re.S)  # generator notes are for maintainers, not users
        card_lines = [line for line in text.splitlines() if line.strip()][: args.card_lines]
        lines.append(f"model card ({CARD_NAME}, first {len(card_lines)} non-blank lines):")
        lines += [f"  {line}" for line in card_lines]
    else:
        lines.append(f"model card: none ({CARD_NAME} not in the folder)")
    print("\n".join(lines))
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write a model as a self-contained Hub folder that loads with trust_remote_code."""
    from .checkpoint import export_checkpoint, resolve_model_path
    from .cli_edge import run_export_onnx, wants_onnx

    if wants_onnx(args):
        return run_export_onnx(args)
    source = resolve_model_path(args.model)
    out = export_checkpoint(source, args.out, overwrite=args.overwrite)
    files = sorted(path.name for path in out.iterdir())
    print(f"exported {source} -> {out} ({len(files)} files: {', '.join(files)})")
    print("load it anywhere, without normwear-hf:")
    print("  from transformers import AutoFeatureExtractor, AutoModel")
    print(f'  model = AutoModel.from_pretrained("{out}", trust_remote_code=True)')
    print(f'  extractor = AutoFeatureExtractor.from_pretrained("{out}", trust_remote_code=True)')
    print("(it needs torch, transformers, safetensors, numpy and scipy: the feature extractor resamples with scipy)")
    return 0


def run_install_cache(args: argparse.Namespace) -> int:
    """Place the bundled checkpoint as "normwear" in the Hugging Face cache (what the first import does)."""
    from .hub_cache import REPO_ID, install_cache

    placed = install_cache()
    state = "placed" if placed.created else "already in place"
    storage = "weights hard-linked to the package's file" if placed.linked else "weights copied"
    print(f"{REPO_ID!r} {state}: {placed.path} ({storage})")
    if not placed.is_main:
        print(f"refs/main names a newer normwear-hf's snapshot; this version's stays at {placed.revision}")
    print(f'load it by name, offline: AutoModel.from_pretrained("{REPO_ID}")')
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
    "train-zero-shot": (
        "normwear_hf.zero_shot.train",
        "align a backbone with a sentence encoder (MSiTF) and evaluate zero-shot",
    ),
}


def run_pass_through(name: str, options: list[str]) -> int:
    from .registration import register

    module, _ = PASS_THROUGH[name]
    if not {"-h", "--help"} & set(options):
        register()
    return importlib.import_module(module).main(options)


def build_parser() -> argparse.ArgumentParser:
    """The ``normwear-hf`` parser: one sub-command per job, in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(
        prog="normwear-hf", description="NormWear foundation model for wearable physiological signals."
    )
    parser.add_argument("--version", action="version", version=f"normwear-hf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    model_help = "`normwear` (the bundled checkpoint, default) or a local model folder; nothing is downloaded"
    _add_demo_command(commands, model_help)
    _add_embed_command(commands, model_help)
    add_timeline_command(commands, model_help)
    _add_info_command(commands, model_help)
    _add_zero_shot_command(commands, model_help)
    _add_export_command(commands, model_help)
    add_explain_command(commands, model_help)
    _add_install_cache_command(commands)
    _add_pass_through_commands(commands)
    return parser


def _add_demo_command(commands: argparse._SubParsersAction, model_help: str) -> None:
    """``demo``: the bundled model on the bundled sample recordings."""
    demo = commands.add_parser(
        "demo",
        help="the bundled model on the bundled sample recordings: embeddings, zero-shot answers, a picture",
        description="Run the bundled zero-shot checkpoint on three bundled 30 s recordings (resting, walking, "
        "running; ECG, PPG, respiration, wrist acceleration, known physiology): print each one's embedding and the "
        "zero-shot answers to three questions (activity, heart rate, signal quality), a table against the known "
        "labels and timings, and draw OUT/normwear_demo.png (raw signals, wavelet scalograms and where the model "
        "looked to answer the activity question).",
    )
    demo.add_argument("--model", default="normwear", help=model_help)
    demo.add_argument(
        "--out", default="normwear_demo", metavar="DIR", help="folder for the picture (default normwear_demo)"
    )
    demo.add_argument("--bf16", action="store_true", help="run the model under bfloat16 autocast")
    demo.add_argument("--no-plot", action="store_true", help="skip the picture")
    demo.set_defaults(handler=run_demo)


def _add_embed_command(commands: argparse._SubParsersAction, model_help: str) -> None:
    """``embed``: signal files -> embeddings (.npy or .parquet)."""
    embed_command = commands.add_parser(
        "embed",
        help="embed signal files (.npy .npz .csv .parquet .edf .hea) and write .npy or .parquet",
        description="Embed signal files with a NormWear model. One embedding per file; long recordings are split "
        "into 6 s windows whose embeddings are averaged. Formats: .npy ([channels, time] or [time]; needs "
        "--sampling-rate), .npz (signals, sampling_rate, channel_types), .csv (header of channel names, optional "
        "first column time in seconds), .edf, WFDB .hea (+ .dat). Folders are searched for these files.",
    )
    embed_command.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER", help="signal files or folders")
    embed_command.add_argument(
        "--out",
        required=True,
        help="output: OUT.npy (an [N, ...] array, with OUT.npy.files.txt listing the file of each row) or "
        "OUT.parquet (one row per file: file, embedding, channel_names, channels_used)",
    )
    add_signal_options(embed_command, model_help)
    add_quality_options(embed_command)
    embed_command.add_argument(
        "--pooling",
        choices=POOLINGS,
        default="recording",
        help="recording: [D] per file; channel / cls: [C, D]; probe: the paper's [C * D] (default: recording)",
    )
    embed_command.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    embed_command.add_argument("--batch-size", type=int, default=8, help="6 s windows per forward pass (default 8)")
    embed_command.add_argument("--bf16", action="store_true", help="run the model under bfloat16 autocast")
    embed_command.add_argument("--device", default=None, help="torch device, e.g. cuda (default: cpu)")
    embed_command.set_defaults(handler=run_embed)


def _add_info_command(commands: argparse._SubParsersAction, model_help: str) -> None:
    """``info``: what a model folder holds."""
    info = commands.add_parser(
        "info",
        help="describe a model: architecture, size, parameters, weights, model card",
        description="Describe a NormWear model folder (by default the bundled checkpoint).",
    )
    info.add_argument("--model", default="normwear", help=model_help)
    info.add_argument(
        "--card-lines", type=int, default=12, help="non-blank lines of the model card to print (default 12)"
    )
    info.set_defaults(handler=run_info)


def _add_zero_shot_command(commands: argparse._SubParsersAction, model_help: str) -> None:
    """``zero-shot``: rank candidate labels for signal files."""
    zero_shot = commands.add_parser(
        "zero-shot",
        help="rank candidate labels for signal files with a zero-shot checkpoint",
        description="Zero-shot classification of signal files: each file (one recording, any channels and rates) is "
        "scored against every candidate label (as the sentence TEMPLATE.format(label)) given the task QUESTION, "
        "and the labels are printed ranked by calibrated score (scores sum to 1). Same file formats as embed.",
    )
    zero_shot.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER", help="signal files or folders")
    add_zero_shot_options(zero_shot)
    add_signal_options(zero_shot, model_help)
    zero_shot.add_argument("--json", metavar="OUT.json", help="also write the rankings to this JSON file")
    zero_shot.set_defaults(handler=run_zero_shot)


def _add_export_command(commands: argparse._SubParsersAction, model_help: str) -> None:
    """``export``: a self-contained Hub folder (with --onnx, an ONNX export)."""
    export = commands.add_parser(
        "export",
        help="write a model as a self-contained Hub folder (loads with trust_remote_code)",
        description="Copy a model (by default the bundled checkpoint) to a folder with its weights, configs, code "
        "files and model card, ready for push_to_hub or for loading without normwear-hf.",
    )
    export.add_argument("model", nargs="?", default="normwear", metavar="NAME_OR_FOLDER", help=model_help)
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write (must be empty or new)")
    export.add_argument("--overwrite", action="store_true", help="replace DIR if it exists and is not empty")
    add_onnx_options(export)
    export.set_defaults(handler=run_export)


def _add_install_cache_command(commands: argparse._SubParsersAction) -> None:
    """``install-cache``: the bundled checkpoint as "normwear" in the HF cache."""
    install_cache = commands.add_parser(
        "install-cache",
        help='place the bundled checkpoint in the Hugging Face cache as "normwear" (import normwear_hf does it too)',
        description="Place the bundled checkpoint in the Hugging Face cache ($HF_HUB_CACHE, by default $HF_HOME/hub) "
        'as the model "normwear", so that AutoModel.from_pretrained("normwear") resolves offline, also with '
        "trust_remote_code=True in a process that does not import normwear_hf. Idempotent; the first "
        "`import normwear_hf` does the same unless NORMWEAR_NO_HF_CACHE=1 (which this command ignores). See "
        "docs/hub_cache.md.",
    )
    install_cache.set_defaults(handler=run_install_cache)


def _add_pass_through_commands(commands: argparse._SubParsersAction) -> None:
    """The commands whose own modules parse their options (pretrain, ...)."""
    for name, (_, summary) in PASS_THROUGH.items():
        command = commands.add_parser(
            name, help=f"{summary}; `normwear-hf {name} --help` lists the options", add_help=False
        )
        command.add_argument("options", nargs=argparse.REMAINDER)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in PASS_THROUGH:
        try:
            return run_pass_through(argv[0], argv[1:])
        except (ValueError, ImportError) as error:  # bad input, or a missing optional package: the message says how
            print(f"normwear-hf {argv[0]}: error: {error}", file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    if args.command not in ("install-cache", "info"):  # these two read files only: no model stack
        from .registration import register

        register()  # Auto classes and the pipeline task, now that the arguments are known to be good
    try:
        return args.handler(args)
    except (ValueError, OSError) as error:  # bad input: the message already says what to fix
        print(f"normwear-hf {args.command}: error: {_error_message(error)}", file=sys.stderr)
        return 2


def _error_message(error: Exception) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror.lower()}"
    return str(error)


if __name__ == "__main__":
    sys.exit(main())
