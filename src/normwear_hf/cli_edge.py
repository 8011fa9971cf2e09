"""The command-line side of edge export and explanations: ``export --onnx`` flags and the ``explain`` command.

Kept out of ``cli.py`` so that the main parser only wires them in; the work itself is in ``onnx_export`` and
``explain``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .cli_options import add_zero_shot_options


def add_onnx_options(export: argparse.ArgumentParser) -> None:
    group = export.add_argument_group("ONNX (numpy + onnxruntime, no torch at run time)")
    group.add_argument(
        "--onnx",
        action="store_true",
        help="write ONNX graphs (CWT front end, encoder, zero-shot head with --labels) and the normwear_onnx.py "
        'runtime wrapper instead of a Hub folder; needs pip install "normwear-hf[onnx]"',
    )
    group.add_argument("--int8", action="store_true", help="with --onnx: also write a dynamic int8 encoder")
    group.add_argument(
        "--labels", help='with --onnx: zero-shot labels whose embeddings are precomputed, e.g. "resting,running"'
    )
    group.add_argument("--template", help="with --labels: the hypothesis template (default: the pipeline's)")
    group.add_argument("--question", help="with --labels: the task question (default: the model's)")


def wants_onnx(args: argparse.Namespace) -> bool:
    """Whether ``export`` was asked for ONNX; ONNX-only flags without ``--onnx`` are a mistake worth naming."""
    if getattr(args, "onnx", False):
        return True
    stray = [flag for flag in ("int8", "labels", "template", "question") if getattr(args, flag, None)]
    if stray:
        raise ValueError(f"--{stray[0]} applies to ONNX export only: add --onnx.")
    return False


def run_export_onnx(args: argparse.Namespace) -> int:
    from .checkpoint import resolve_model_path
    from .onnx_export import folder_sizes

    try:
        from .onnx_export import export_onnx

        source = resolve_model_path(args.model)
        out, metadata = export_onnx(
            source,
            args.out,
            labels=args.labels,
            hypothesis_template=args.template,
            question=args.question,
            int8=args.int8,
            overwrite=args.overwrite,
        )
    except ImportError as error:  # onnx / onnxruntime missing: the message says what to install
        raise ValueError(str(error)) from None
    sizes = ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in folder_sizes(out).items())
    parity = metadata["parity_at_export"]
    print(f"exported {source} -> {out} as ONNX ({sizes}) in {metadata['export_seconds']:.1f} s")
    print(
        f"parity with PyTorch at export: encoder max |diff| {parity['encoder_max_abs_error']:.1e}, CWT relative "
        f"{parity['cwt_max_relative_error']:.1e}"
    )
    zero_shot = metadata["zero_shot"]
    if "skipped" in zero_shot:
        print(f"zero-shot head: skipped ({zero_shot['skipped']})")
    else:
        print(f"zero-shot head: labels {zero_shot['labels']} (question {zero_shot['question']!r})")
        head = f"zero-shot head parity: cosine max |diff| {parity['zero_shot_cosine_max_abs_error']:.1e}"
        if zero_shot.get("rhythm_size"):
            head += f"; it reads rhythm descriptors (numpy copy max |diff| {parity['rhythm_max_abs_error']:.1e})"
        print(head)
    print("run it with numpy + onnxruntime only:")
    print(f"  cd {out} && python -c \"from normwear_onnx import NormWearOnnx; m = NormWearOnnx('.'); ...\"")
    print(f"  python {Path(out) / 'normwear_onnx.py'} {out} recording.npy --sampling-rate 64")
    return 0


def add_explain_command(commands, model_help: str) -> None:
    explain = commands.add_parser(
        "explain",
        help="why did the model answer that? attribution per channel, time and scale, and a PNG",
        description="Explain a zero-shot answer (--labels) or a classification head's prediction for one signal file "
        "by gradient x input on the scalogram: prints each channel's share and where in time and frequency the "
        "answer came from, and writes a PNG with the signal, its scalogram and the attribution per channel.",
    )
    explain.add_argument("file", metavar="FILE", help="a .npy / .npz / .csv / .edf / WFDB .hea signal file")
    add_zero_shot_options(explain)
    explain.add_argument("--target", help="the label to explain (default: the model's answer)")
    explain.add_argument("--model", default=None, metavar="NAME_OR_FOLDER", help=model_help)
    explain.add_argument("--sampling-rate", help="Hz, one number or one per channel (comma separated)")
    explain.add_argument("--out", metavar="OUT.png", help="the picture (default: FILE's name + .explain.png)")
    explain.set_defaults(handler=run_explain)


def run_explain(args: argparse.Namespace) -> int:
    from .explain import explain, plot_explanation
    from .io_readers import read_signal_file

    file = Path(args.file)
    out = Path(args.out) if args.out else file.with_name(file.name + ".explain.png")
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out {out}: the picture must end in .png.")
    recording = read_signal_file(file, sampling_rate=args.sampling_rate)
    names = [str(name) for name in recording.channel_names]
    result = explain(
        recording.signals,
        recording.sampling_rate,
        model=args.model,
        labels=args.labels,
        question=args.question,
        hypothesis_template=args.template,
        target=args.target,
        channel_names=names,
    )
    plot_explanation(result, out, title=None)
    scores = ", ".join(f"{label} {score:.3f}" for label, score in sorted(result.scores.items(), key=lambda kv: -kv[1]))
    print(f"{file}: {scores}")
    print(result.summary())
    print(f"picture: {out}")
    return 0
