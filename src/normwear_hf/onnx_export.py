"""Export a NormWear checkpoint as ONNX graphs plus a numpy + onnxruntime wrapper (``normwear-hf export --onnx``).

The folder it writes runs on devices without torch (phones, gateways, a Raspberry Pi):

=========================  ==================================================================================
``frontend.onnx``          cleaned 65 Hz windows ``signals [N, C, W]`` -> ``input_values [N, C, 3, W-2, S]``
                           (derivative planes + the Mexican-hat bank as one Conv1d); N, C, W dynamic
``encoder.onnx``           ``input_values``, ``channel_mask [N, C]``, ``time_mask [N, W-2]`` ->
                           ``last_hidden_state [N, C, 1+P, D]``, ``token_mask [N, C, 1+P]``; N, C, time dynamic
``encoder.int8.onnx``      with ``--int8``: the encoder after onnxruntime's dynamic int8 quantisation
``zero_shot_head.onnx``    with ``--labels`` and a zero-shot checkpoint: tokens + question / label sentence
                           embeddings (+ ``rhythm_values [N, C, R]`` for a head that reads rhythm, as
                           ``metadata["zero_shot"]["rhythm_size"]`` says) -> logits; the embeddings are
                           precomputed in ``zero_shot_labels.npz``
``normwear_onnx.py``       the runtime wrapper (numpy + onnxruntime only): ``NormWearOnnx(DIR).embed(x, rate)``
``rhythm_features.py``     the rhythm descriptor, which the wrapper imports (the package's file, numpy at import)
``normwear_onnx.json``     settings, files, what is fixed, and the parity measured at export
=========================  ==================================================================================

Fixed in the graphs: 3 input planes, the config's scale count (65) and every weight width; the text encoder is
not exported (label sentences are embedded at export time, so new labels need a new export).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

ONNX_INSTALL_HINT = 'pip install "normwear-hf[onnx]"'
OPSET = 17
FORMAT_VERSION = 1
#: Largest |difference| accepted between onnxruntime and PyTorch outputs at export time and in the tests
#: (float32 graphs; the models' LayerNorm outputs are O(1), the CWT output is compared relative to its peak).
PARITY_ATOL = 1e-4
WRAPPER_NAME = "normwear_onnx.py"
RUNTIME_FILES = (WRAPPER_NAME, "rhythm_features.py")  # the wrapper imports the rhythm descriptor from its sibling
METADATA_NAME = "normwear_onnx.json"
FIXED_AXES = (
    "input planes (3) and CWT scales (the config's num_scales) are fixed; batch, channels and time are dynamic in "
    "every graph. The feature extractor always pads a window to window_length samples, so the encoder normally "
    "sees window_length - 2 time steps; other lengths work (positions are interpolated as in PyTorch)."
)


def require_onnx() -> tuple[Any, Any]:
    """``(onnx, onnxruntime)``, or an ImportError that says how to install them."""
    try:
        import onnx
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            f"ONNX export needs the onnx and onnxruntime packages ({error.name} is missing): {ONNX_INSTALL_HINT}"
        ) from None
    return onnx, onnxruntime


def _export(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], axes: dict):
    """TorchScript-based export with named dynamic axes (the dynamo exporter needs onnxscript, an extra dependency
    with no benefit for these plain graphs). Tracer warnings about shape arithmetic are expected and silenced."""
    # the exporter switches the module to eval mode and back to the mode it found: a wrapper left in training mode
    # (the nn.Module default) would put the wrapped model into training mode after the export (MSiTF's gate then
    # samples Gumbel noise, so PyTorch answers would change from call to call)
    module.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            str(path),
            dynamo=False,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
        )


def export_frontend(scales: Sequence[float], path: Path) -> None:
    from .onnx_graphs import CwtFrontEnd

    example = torch.zeros(1, 2, 64)
    axes = {
        "signals": {0: "batch", 1: "channels", 2: "samples"},
        "input_values": {0: "batch", 1: "channels", 3: "time"},
    }
    _export(CwtFrontEnd(scales), (example,), path, ["signals"], ["input_values"], axes)


def export_encoder(backbone, window_length: int, path: Path) -> None:
    from .onnx_graphs import OnnxEncoder

    config = backbone.config
    steps = window_length - 2
    example = (
        torch.zeros(1, 2, config.num_input_planes, steps, config.num_scales),
        torch.ones(1, 2, dtype=torch.int64),
        torch.ones(1, steps, dtype=torch.int64),
    )
    axes = {
        "input_values": {0: "batch", 1: "channels", 3: "time"},
        "channel_mask": {0: "batch", 1: "channels"},
        "time_mask": {0: "batch", 1: "time"},
        "last_hidden_state": {0: "batch", 1: "channels", 2: "tokens"},
        "token_mask": {0: "batch", 1: "channels", 2: "tokens"},
    }
    inputs, outputs = ["input_values", "channel_mask", "time_mask"], ["last_hidden_state", "token_mask"]
    _export(OnnxEncoder(backbone), example, path, inputs, outputs, axes)


def export_zero_shot_head(model, tokens: int, path: Path) -> None:
    """The zero-shot head graph; a head that reads rhythm gets a fifth input ``rhythm_values [N, C, R]``."""
    from .onnx_graphs import OnnxZeroShotHead

    config = model.config
    head = OnnxZeroShotHead(model)
    example = (
        torch.randn(1, 2, tokens, config.hidden_size),
        torch.ones(1, 2, tokens),
        torch.randn(config.text_hidden_size),
        torch.randn(3, config.text_hidden_size),
    )
    axes = {
        "last_hidden_state": {0: "batch", 1: "channels", 2: "tokens"},
        "token_mask": {0: "batch", 1: "channels", 2: "tokens"},
        "text_embeds": {0: "labels"},
        "logits": {0: "batch", 1: "labels"},
        "aggregation_weights": {0: "batch", 1: "channels", 2: "tokens"},
    }
    inputs = ["last_hidden_state", "token_mask", "question_embeds", "text_embeds"]
    if head.reads_rhythm:
        example += (torch.randn(1, 2, config.zero_shot_rhythm_size),)
        axes["rhythm_values"] = {0: "batch", 1: "channels"}
        inputs.append("rhythm_values")
    _export(head, example, path, inputs, ["logits", "aggregation_weights"], axes)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the MatMul / Gemm weights (activations stay float, quantised on the fly)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"])


def _check_parity(folder: Path, backbone, extractor, files: dict[str, str]) -> dict[str, float]:
    """Run the exported graphs once against PyTorch on a synthetic two-channel recording; refuse a bad export."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    rate = 100.0
    signals = np.cumsum(rng.standard_normal((2, int(9 * rate))), axis=1)  # 9 s: one full and one partial window
    features = extractor(signals, sampling_rate=rate, long_input="split", return_tensors="pt")
    with torch.no_grad():
        reference = backbone(features["input_values"], features["channel_mask"], features["time_mask"])
    options = ort.SessionOptions()
    frontend = ort.InferenceSession(str(folder / files["frontend"]), options, providers=["CPUExecutionProvider"])
    encoder = ort.InferenceSession(str(folder / files["encoder"]), options, providers=["CPUExecutionProvider"])
    cleaned = _cleaned_windows(extractor, signals, rate)
    (input_values,) = frontend.run(None, {"signals": cleaned})
    peak = float(np.abs(features["input_values"].numpy()).max())
    cwt_error = float(np.abs(input_values - features["input_values"].numpy()).max()) / max(peak, 1e-12)
    hidden, _ = encoder.run(
        None,
        {
            "input_values": features["input_values"].numpy(),
            "channel_mask": features["channel_mask"].numpy(),
            "time_mask": features["time_mask"].numpy(),
        },
    )
    encoder_error = float(np.abs(hidden - reference.last_hidden_state.numpy()).max())
    if cwt_error > PARITY_ATOL or encoder_error > PARITY_ATOL:
        raise RuntimeError(
            f"the exported graphs disagree with PyTorch (CWT relative error {cwt_error:.2e}, encoder max |diff| "
            f"{encoder_error:.2e}, tolerance {PARITY_ATOL:g}); please report this with your torch/onnx versions."
        )
    return {"cwt_max_relative_error": cwt_error, "encoder_max_abs_error": encoder_error}


def _check_head_parity(folder: Path, model, extractor, files: dict, embeddings: dict) -> dict[str, float]:
    """The exported head against ``model.aggregate`` + ``similarity_logits`` on the same tokens, and, for a head
    that reads rhythm, the wrapper's numpy rhythm descriptor against the feature extractor's; refuse a bad export."""
    import onnxruntime as ort

    from . import normwear_onnx
    from .modeling_normwear_zero_shot import LOGIT_SCALE_MAX

    rng = np.random.default_rng(0)
    rate = 100.0
    t = np.arange(int(9 * rate)) / rate
    signals = np.stack([np.sin(2 * np.pi * 1.2 * t) ** 9, np.cumsum(rng.standard_normal(t.size))])
    reads_rhythm = bool(model.config.zero_shot_rhythm_size)
    features = extractor(signals, rate, long_input="split", return_tensors="pt", return_rhythm=reads_rhythm)
    rhythm, rhythm_error = None, 0.0
    if reads_rhythm:  # the wrapper's descriptor, from the same uncleaned 65 Hz windows as the extractor's
        windows, _, _ = extractor._prepare(signals, rate, None, None, "split")
        rhythm = normwear_onnx.rhythm_values([piece for _, piece in windows], float(extractor.sampling_rate))
        rhythm_error = float(np.abs(rhythm - features["rhythm_values"].numpy()).max())
    with torch.no_grad():
        outputs = model.normwear(features["input_values"], features["channel_mask"], features["time_mask"])
        rhythm_tensor = torch.from_numpy(rhythm) if reads_rhythm else None
        question = torch.from_numpy(embeddings["question_embeds"])
        embeds, _ = model.aggregate(outputs.last_hidden_state, outputs.token_mask, question, rhythm_tensor)
        reference = model.similarity_logits(embeds, torch.from_numpy(embeddings["text_embeds"])).numpy()
        scale = float(model.logit_scale.exp().clamp(max=LOGIT_SCALE_MAX))
    head = ort.InferenceSession(str(folder / files["zero_shot_head"]), providers=["CPUExecutionProvider"])
    inputs = {
        "last_hidden_state": outputs.last_hidden_state.numpy(),
        "token_mask": outputs.token_mask.numpy().astype(np.float32),
        "question_embeds": embeddings["question_embeds"],
        "text_embeds": embeddings["text_embeds"],
    }
    if reads_rhythm:
        inputs["rhythm_values"] = rhythm
    logits, _ = head.run(None, inputs)
    # compared as cosines: a trained logit scale (up to 100) multiplies the float32 rounding of unit vectors
    cosine_error = float(np.abs(logits - reference).max()) / scale
    if cosine_error > PARITY_ATOL or rhythm_error > PARITY_ATOL:
        raise RuntimeError(
            f"the exported zero-shot head or the wrapper's rhythm descriptor disagrees with PyTorch (cosine max |diff| "
            f"{cosine_error:.2e}, rhythm descriptor max |diff| {rhythm_error:.2e}, tolerance {PARITY_ATOL:g}); please "
            "report this with your torch/onnx/scipy versions."
        )
    result = {"zero_shot_cosine_max_abs_error": cosine_error}
    if reads_rhythm:
        result["rhythm_max_abs_error"] = rhythm_error
    return result


def _cleaned_windows(extractor, signals: np.ndarray, rate: float) -> np.ndarray:
    """The feature extractor's cleaned, zero-padded 65 Hz windows ``[N, C, W]`` (the front end's input)."""
    windows, _, _ = extractor._prepare(signals, rate, None, None, "split")
    out = np.zeros((len(windows), windows[0][1].shape[0], extractor.window_length), dtype=np.float32)
    for row, (_, piece) in enumerate(windows):
        cleaned, _, _ = extractor._clean(piece)
        out[row, :, : piece.shape[1]] = cleaned
    return out


def _label_embeddings(model, labels: list[str], template: str, question: str) -> dict[str, np.ndarray]:
    from .zero_shot.engine import label_sentences
    from .zero_shot.text_encoder import SentenceEncoder

    encoder = SentenceEncoder(model.config.text_encoder_name_or_path)
    return {
        "text_embeds": encoder.encode(label_sentences(labels, template)).numpy().astype(np.float32),
        "question_embeds": encoder.encode([question])[0].numpy().astype(np.float32),
    }


def export_onnx(
    name_or_path: str | os.PathLike | None,
    out_dir: str | os.PathLike,
    labels: Sequence[str] | str | None = None,
    hypothesis_template: str | None = None,
    question: str | None = None,
    int8: bool = False,
    overwrite: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Write ``out_dir`` (see the module docstring); returns the folder and its metadata.

    ``labels`` (a list or ``"a,b"``) asks for the zero-shot head with these labels' sentence embeddings; without
    them, or for a model without a zero-shot head, the head is skipped and ``metadata["zero_shot"]["skipped"]``
    says why. A non-empty ``out_dir`` is refused unless ``overwrite``; the folder appears only when complete.
    """
    require_onnx()
    from .checkpoint import _load, backbone_of, resolve_model_path
    from .utils.atomic import make_staging_folder, publish_folder
    from .zero_shot.engine import check_candidate_labels, check_template
    from .zero_shot.prompts import DEFAULT_HYPOTHESIS_TEMPLATE

    template = hypothesis_template or DEFAULT_HYPOTHESIS_TEMPLATE
    if labels is not None:
        labels = check_candidate_labels(labels)
        check_template(template)
    source = Path(resolve_model_path(name_or_path))
    out_dir = Path(out_dir).expanduser()
    if out_dir.resolve() == source.resolve() or source.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"--out {out_dir} is or contains the source folder {source}; choose another folder.")
    model, extractor = _load(source)
    backbone = backbone_of(model).eval()
    staging = make_staging_folder(out_dir, overwrite)
    started = time.perf_counter()
    try:
        files: dict[str, str | None] = {"frontend": "frontend.onnx", "encoder": "encoder.onnx"}
        export_frontend(extractor.scales, staging / files["frontend"])
        export_encoder(backbone, extractor.window_length, staging / files["encoder"])
        parity = _check_parity(staging, backbone, extractor, files)
        files["encoder_int8"] = None
        if int8:
            files["encoder_int8"] = "encoder.int8.onnx"
            quantize_int8(staging / files["encoder"], staging / files["encoder_int8"])
        zero_shot = _export_zero_shot(model, extractor, labels, template, question, staging, files, parity)
        for name in RUNTIME_FILES:
            shutil.copyfile(Path(__file__).with_name(name), staging / name)
        metadata = {
            "format_version": FORMAT_VERSION,
            "source": str(source),
            "architecture": type(model).__name__,
            "opset": OPSET,
            "files": files,
            "feature_extractor": _extractor_settings(extractor),
            "hidden_size": backbone.config.hidden_size,
            "fixed": FIXED_AXES,
            "zero_shot": zero_shot,
            "parity_at_export": parity,
            "export_seconds": round(time.perf_counter() - started, 1),
        }
        (staging / METADATA_NAME).write_text(json.dumps(metadata, indent=2) + "\n")
        publish_folder(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir, metadata


def _export_zero_shot(
    model,
    extractor,
    labels: list[str] | None,
    template: str,
    question: str | None,
    staging: Path,
    files: dict,
    parity: dict[str, float],
) -> dict[str, Any]:
    """The zero-shot head and its labels' embeddings into ``staging`` (named in ``files``), or why they were skipped;
    returns the metadata's ``zero_shot`` entry and adds the head's parity to ``parity``."""
    from .zero_shot.engine import has_zero_shot_head

    files["zero_shot_head"] = files["zero_shot_labels"] = None
    if not has_zero_shot_head(model):
        return {"skipped": f"{type(model).__name__} has no zero-shot head"}
    if labels is None:
        return {"skipped": 'no --labels given (pass e.g. --labels "resting,walking,running")'}
    question = question or model.config.zero_shot_default_question
    files["zero_shot_head"], files["zero_shot_labels"] = "zero_shot_head.onnx", "zero_shot_labels.npz"
    steps = extractor.window_length - 2
    patch_t, patch_s = model.config.patch_size
    tokens = 1 + (steps // patch_t) * (model.config.num_scales // patch_s)
    export_zero_shot_head(model, tokens, staging / files["zero_shot_head"])
    embeddings = _label_embeddings(model, labels, template, question)
    np.savez(staging / files["zero_shot_labels"], **embeddings)
    parity.update(_check_head_parity(staging, model, extractor, files, embeddings))
    return {
        "labels": labels,
        "hypothesis_template": template,
        "question": question,
        "temperature": float(model.config.zero_shot_calibration_temperature),
        "text_encoder": model.config.text_encoder_name_or_path,
        # > 0: the head reads each channel window's rhythm descriptor (the wrapper computes it, see rhythm_features)
        "rhythm_size": int(model.config.zero_shot_rhythm_size),
    }


def _extractor_settings(extractor) -> dict[str, Any]:
    """The preprocessing settings the numpy wrapper reproduces (the metadata's ``feature_extractor``)."""
    return {
        "sampling_rate": extractor.sampling_rate,
        "window_length": extractor.window_length,
        "scales": list(extractor.scales),
        "jump_percentile": extractor.jump_percentile,
        "smoothing_sigma_seconds": extractor.smoothing_sigma_seconds,
        "max_gap_seconds": extractor.max_gap_seconds,
        "min_duration_seconds": extractor.min_duration_seconds,
    }


def folder_sizes(folder: str | os.PathLike) -> dict[str, int]:
    """Bytes per ``.onnx`` file of an exported folder."""
    return {path.name: path.stat().st_size for path in sorted(Path(folder).glob("*.onnx"))}
