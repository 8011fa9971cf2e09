"""``normwear-hf demo``: the bundled zero-shot checkpoint on the bundled sample recordings, in one command.

For each sample recording (resting, walking, running: 30 s of ECG, PPG, respiration and wrist acceleration
with known physiology) the demo prints what is known about it, its NormWear embedding, and the zero-shot
answers of ``pipeline("zero-shot-physio-classification")`` to three questions, then a table of the answers
against the known labels and the time each step took. Each question is asked of the channel that carries its
concept, as in zero-shot training: activity of the accelerometer, heart rate of the PPG, signal quality of the
ECG. Finally it draws one picture: for one recording, the raw PPG and accelerometer signals, their wavelet
scalograms (what the model reads) and, aligned on them, the MSiTF aggregation weights for the activity
question (which patches of which channel the model used to answer it).

A model folder without a zero-shot aggregator (a plain backbone or a pretraining folder) still gets the
embeddings; the zero-shot part then says which checkpoint it needs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._version import __version__
from .checkpoint import load_quietly, no_progress_bars
from .modeling_normwear_zero_shot import rhythm_inputs
from .samples import SampleRecording, load_sample_recordings
from .zero_shot.engine import has_zero_shot_head

PICTURE_NAME = "normwear_demo.png"
PICTURE_RECORDING = "running"
PICTURE_CHANNELS = ("ppg", "acc")


@dataclass(frozen=True)
class DemoQuestion:
    """A question the demo asks of one channel type, its candidate labels and how to read the known answer."""

    name: str
    question: str
    labels: tuple[str, ...]
    channel_type: str
    known_key: str
    """Key of ``SampleRecording.labels`` that holds the known answer."""
    label_of: dict[str, str] = field(default_factory=dict)
    """Known answer -> candidate label (when they differ)."""

    def expected(self, recording: SampleRecording) -> str | None:
        known = str(recording.labels.get(self.known_key))
        label = self.label_of.get(known, known)
        return label if label in self.labels else None


DEMO_QUESTIONS = (
    DemoQuestion(
        "activity",
        "What activity is the person doing?",
        ("resting", "walking", "running"),
        "acc",
        "activity",
    ),
    DemoQuestion(
        "heart rate",
        "What is the heart rate?",
        ("a slow heart rate", "a normal heart rate", "a fast heart rate"),
        "ppg",
        "heart_rate_band",
        {band: f"a {band} heart rate" for band in ("slow", "normal", "fast")},
    ),
    DemoQuestion(
        "signal quality",
        "Is the signal clean or noisy?",
        ("a clean signal", "a noisy signal"),
        "ecg",
        "signal_quality",
        {"clean": "a clean signal", "noisy": "a noisy signal"},
    ),
)


@dataclass
class DemoResult:
    """What the demo computed: embeddings and rankings per recording, the picture, timings in seconds."""

    model_path: str
    zero_shot: bool
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    rankings: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    picture: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)


def zero_shot_pipeline(model, extractor, text_encoder=None):
    """``pipeline("zero-shot-physio-classification")`` around an already loaded model (no progress bars)."""
    from transformers import pipeline

    from .zero_shot.pipeline import TASK_NAME, register_pipeline

    register_pipeline()
    kwargs = {} if text_encoder is None else {"text_encoder": text_encoder}
    with no_progress_bars():
        return pipeline(TASK_NAME, model=model, feature_extractor=extractor, **kwargs)


def autocast(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def _describe(recording: SampleRecording) -> str:
    labels = recording.labels
    channels = " / ".join(
        f"{kind.upper()} {rate:g} Hz" for kind, rate in zip(recording.channel_types, recording.sampling_rate)
    )
    return (
        f"{recording.name}: {recording.duration_s:.0f} s, {channels} | known: {labels['activity']}, heart rate "
        f"{labels['heart_rate_bpm']:g} bpm ({labels['heart_rate_band']}), breathing "
        f"{labels['respiration_rate_bpm']:g} /min, {labels['signal_quality']} signal"
    )


def _ranking_line(ranking: Sequence[dict[str, Any]]) -> str:
    return " | ".join(f"{entry['label']} {entry['score']:.2f}" for entry in ranking)


def _table(recordings: Sequence[SampleRecording], rankings: dict, questions: Sequence[DemoQuestion]) -> list[str]:
    header = ["recording", *(question.name for question in questions)]
    rows, hits, asked = [], 0, 0
    for recording in recordings:
        cells = [recording.name]
        for question in questions:
            top = rankings[recording.name][question.name][0]
            expected = question.expected(recording)
            mark = ""
            if expected is not None:
                asked += 1
                hits += top["label"] == expected
                mark = " ok" if top["label"] == expected else f" (known: {expected})"
            cells.append(f"{top['label']} {top['score']:.2f}{mark}")
        rows.append(cells)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + " |"

    lines = [line(header), "|" + "|".join("-" * (width + 2) for width in widths) + "|"]
    lines += [line(row) for row in rows]
    lines.append(f"top label = known label for {hits} of {asked} (recording, question) pairs")
    return lines


def run_demo(
    model: str | None = "normwear",
    out: str | Path = "normwear_demo",
    bf16: bool = False,
    plot: bool = True,
    questions: Sequence[DemoQuestion] = DEMO_QUESTIONS,
    picture_recording: str = PICTURE_RECORDING,
    text_encoder=None,
    echo: Callable[[str], None] = print,
) -> DemoResult:
    """Run the demo (see the module docstring) and print as it goes; returns what it computed."""
    from .checkpoint import backbone_of, resolve_model_path

    start = time.perf_counter()
    path = resolve_model_path(model)
    model_obj, extractor = load_quietly(path)
    zero_shot = has_zero_shot_head(model_obj)
    result = DemoResult(model_path=path, zero_shot=zero_shot)
    parameters = sum(parameter.numel() for parameter in model_obj.parameters())
    echo(
        f"normwear-hf {__version__} | model {path}: {type(model_obj).__name__}, {parameters / 1e6:.1f} M parameters"
        + (f", zero-shot aggregator {model_obj.config.zero_shot_aggregator}" if zero_shot else "")
        + f" | {torch.get_num_threads()} threads, {'bf16' if bf16 else 'fp32'}"
    )
    recordings = load_sample_recordings()
    clf = zero_shot_pipeline(model_obj, extractor, text_encoder) if zero_shot else None
    result.timings["load"] = time.perf_counter() - start

    backbone = backbone_of(model_obj)
    result.timings["embed"] = result.timings["zero_shot"] = 0.0
    for recording in recordings:
        echo("")
        echo(_describe(recording))
        tick = time.perf_counter()
        result.embeddings[recording.name] = _embed_recording(recording, backbone, extractor, bf16, echo)
        result.timings["embed"] += time.perf_counter() - tick
        if clf is not None:
            tick = time.perf_counter()
            result.rankings[recording.name] = _ask(clf, recording, questions, bf16, echo)
            result.timings["zero_shot"] += time.perf_counter() - tick

    echo("")
    if zero_shot:
        echo("zero-shot answers (top label and its calibrated score):")
        for line in _table(recordings, result.rankings, questions):
            echo(line)
    else:
        echo(
            f"zero-shot labels: skipped. {path} holds a {type(model_obj).__name__} without a zero-shot aggregator; "
            "zero-shot classification needs a zero-shot checkpoint (the bundled 'normwear' one, or a folder written "
            "by `normwear-hf train-zero-shot`)."
        )
    if plot:
        tick = time.perf_counter()
        recording = next((r for r in recordings if r.name == picture_recording), recordings[-1])
        activity = next((q for q in questions if q.name == "activity"), questions[0])
        try:
            result.picture = draw_picture(
                recording, model_obj, extractor, clf, activity, Path(out) / PICTURE_NAME, bf16=bf16, echo=echo
            )
        except ImportError:
            echo("picture: skipped, matplotlib is not installed (pip install matplotlib)")
        result.timings["picture"] = time.perf_counter() - tick
    result.timings["total"] = time.perf_counter() - start
    echo(_timing_line(result.timings, recordings, len(questions) if zero_shot else None, extractor))
    return result


def _embed_recording(recording: SampleRecording, backbone, extractor, bf16: bool, echo) -> np.ndarray:
    """One recording's ``"recording"`` embedding through ``embed`` (the one inference path), printed briefly."""
    from .inference import embed

    vector = embed(
        [recording.signals],
        sampling_rate=[recording.sampling_rate],
        channel_types=[recording.channel_types],
        model=backbone,
        feature_extractor=extractor,
        pooling="recording",
        dtype=torch.bfloat16 if bf16 else None,
        progress=False,
    )[0]
    first = ", ".join(f"{value:+.3f}" for value in vector[:4])
    echo(f"  embedding: shape {tuple(vector.shape)}, norm {np.linalg.norm(vector):.3f}, first values [{first}, ...]")
    return vector


def _ask(
    clf, recording: SampleRecording, questions: Sequence[DemoQuestion], bf16: bool, echo
) -> dict[str, list[dict[str, Any]]]:
    """The pipeline's ranking for each question, asked of the channel that carries its concept; printed."""
    rankings = {}
    for question in questions:
        signal, rate = recording.channel(question.channel_type)
        with autocast(bf16), torch.no_grad():
            rankings[question.name] = clf(
                signal,
                sampling_rate=rate,
                channel_types=[question.channel_type],
                candidate_labels=list(question.labels),
                question=question.question,
            )
        echo(
            f"  {question.name} ({question.channel_type.upper()}, {question.question!r}): "
            f"{_ranking_line(rankings[question.name])}"
        )
    return rankings


def _timing_line(
    timing: dict[str, float], recordings: Sequence[SampleRecording], questions: int | None, extractor
) -> str:
    """The last line: where the time went (``questions`` is None when there was no zero-shot part)."""
    windows = int(sum(np.ceil(r.duration_s / (extractor.window_length / extractor.sampling_rate)) for r in recordings))
    asked = len(recordings) * questions if questions is not None else None
    return (
        f"time: {timing['total']:.1f} s in all: loading {timing['load']:.1f} s, embeddings {timing['embed']:.2f} s "
        f"({len(recordings)} x 30 s, {windows} windows of 6 s, feature extraction included)"
        + ("" if asked is None else f", zero-shot {timing['zero_shot']:.2f} s ({asked} questions)")
        + (f", picture {timing['picture']:.1f} s" if "picture" in timing else "")
    )


def patch_weight_map(weights: np.ndarray, time_steps: int, num_scales: int, patch_size: Sequence[int]) -> np.ndarray:
    """Per-patch aggregation weights ``[1 + P]`` of one channel -> ``[time_steps, num_scales]``.

    Patches after [CLS] are time-major over a ``(time_steps // patch_t) x (num_scales // patch_s)`` grid; each
    patch's weight is spread over the scalogram cells it covers (cells no patch covers get 0).
    """
    patch_t, patch_s = patch_size
    grid_t, grid_s = time_steps // patch_t, num_scales // patch_s
    patches = np.asarray(weights[1 : 1 + grid_t * grid_s], dtype=np.float64).reshape(grid_t, grid_s)
    full = np.zeros((time_steps, num_scales))
    full[: grid_t * patch_t, : grid_s * patch_s] = np.kron(patches, np.ones((patch_t, patch_s)))
    return full


def _frequency_ticks(extractor, scales: int) -> tuple[list[int], list[str]]:
    """Scale rows labelled by their Mexican-hat pseudo-frequency (0.25 cycles per sample at scale 1, as
    ``pywt.scale2frequency``), at the model rate; scales faster than the Nyquist frequency are marked so."""
    values = np.asarray(extractor.scales, dtype=np.float64)
    nyquist = extractor.sampling_rate / 2
    rows = [row for row in (1, 4, 8, 16, 32, 64) if row < scales]
    labels = []
    for row in rows:
        hz = 0.25 * extractor.sampling_rate / values[row]
        labels.append(f"> {nyquist:g}" if hz > nyquist else f"{hz:.2g}")
    return rows, labels


def draw_picture(
    recording: SampleRecording,
    model,
    extractor,
    clf,
    question: DemoQuestion,
    path: Path,
    channel_types: Sequence[str] = PICTURE_CHANNELS,
    bf16: bool = False,
    echo: Callable[[str], None] = print,
) -> Path:
    """Raw signal, scalogram and (for a zero-shot model) MSiTF weights for ``question``; one PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    channels = [recording.channel(kind) for kind in channel_types]
    features = extractor(
        [[np.asarray(signal, dtype=np.float64) for signal, _ in channels]],
        sampling_rate=[[rate for _, rate in channels]],
        channel_types=[list(channel_types)],
        long_input="split",
        return_tensors="pt",
        return_rhythm=clf is not None and bool(rhythm_inputs(model.config)),
    )
    windows, _, _, steps, scales = features["input_values"].shape  # [windows, channels, planes, time, scales]
    weight_maps, shares = None, None
    if clf is not None:
        weight_maps, shares = _msitf_weights(model, clf, features, question, recording, channel_types, bf16, echo)

    seconds = steps / extractor.sampling_rate  # one model window: long enough to see beats and breaths
    rows = 3 if weight_maps is not None else 2
    figure, axes = plt.subplots(
        rows, len(channel_types), figsize=(6.5 * len(channel_types), 2.6 * rows), squeeze=False, sharex=True
    )
    ticks = _frequency_ticks(extractor, scales)
    top = max(float(np.max(weight_maps)), 1e-12) if weight_maps is not None else 1.0
    for c, kind in enumerate(channel_types):
        signal, signal_rate = channels[c]
        times = np.arange(len(signal)) / signal_rate
        shown = times < seconds
        axes[0, c].plot(times[shown], np.asarray(signal)[shown], lw=0.8, color="tab:blue")
        axes[0, c].set_title(f"{recording.name}: {recording.channel_names[recording.channel_types.index(kind)]}")
        axes[0, c].set_ylabel(kind.upper())
        scalogram = features["input_values"][0, c, 0].float().numpy() * features["time_mask"][0, :, None].numpy()
        extent = (0.0, seconds, scales - 0.5, -0.5)  # scale 0 (finest, fastest) on top
        axes[1, c].imshow(scalogram.T, aspect="auto", extent=extent, cmap="viridis", interpolation="nearest")
        axes[1, c].set_title("wavelet scalogram (feature extractor input, signal plane)", fontsize=9)
        for row in range(1, rows):
            axes[row, c].set_yticks(*ticks)
            axes[row, c].set_ylabel("pseudo-frequency (Hz)")
        if weight_maps is not None:
            title = f"MSiTF weights for {question.question!r}: {shares[c]:.0%} of all weight on {kind.upper()}"
            _draw_weights(figure, axes[2, c], scalogram, weight_maps[c][:steps], top, extent, title)
        axes[-1, c].set_xlabel(f"time (s): the first {seconds:.1f} s model window of {windows}")
    figure.suptitle(
        f"NormWear on the bundled {recording.name} recording"
        + ("" if weight_maps is not None else " (no zero-shot aggregator: no weights to show)"),
        fontsize=11,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    echo(f"picture: {path}")
    return path


def _msitf_weights(model, clf, features, question, recording, channel_types, bf16: bool, echo):
    """The zero-shot head's MSiTF weights for ``question``: per channel a ``[windows * time, scales]`` map, and
    each channel's share of all weight (printed)."""
    from .zero_shot.engine import label_sentences
    from .zero_shot.prompts import DEFAULT_HYPOTHESIS_TEMPLATE

    text_embeds = clf.text_encoder.encode(label_sentences(list(question.labels), DEFAULT_HYPOTHESIS_TEMPLATE))
    question_embeds = clf.text_encoder.encode([question.question])[0]
    with torch.no_grad(), autocast(bf16):
        outputs = model(
            features["input_values"],
            text_embeds=text_embeds,
            question_embeds=question_embeds,
            channel_mask=features["channel_mask"],
            time_mask=features["time_mask"],
            rhythm_values=features.get("rhythm_values"),
            return_dict=True,
        )
    weights = outputs.aggregation_weights.float().numpy()  # [windows, channels, 1 + patches]
    windows, _, _, steps, scales = features["input_values"].shape
    patch = model.config.patch_size
    weight_maps = [
        np.concatenate([patch_weight_map(weights[w, c], steps, scales, patch) for w in range(windows)])
        for c in range(len(channel_types))
    ]
    shares = weights.sum(axis=(0, 2)) / weights.sum()
    cls_share = weights[..., 0].sum() / weights.sum()
    echo(
        f"where the model looked ({recording.name}, {question.question!r}, {' + '.join(channel_types).upper()} "
        "together): "
        + ", ".join(f"{kind.upper()} {share:.0%}" for kind, share in zip(channel_types, shares))
        + f" of the MSiTF weight ([CLS] tokens {cls_share:.0%})"
    )
    return weight_maps, shares


def _draw_weights(figure, axis, scalogram: np.ndarray, weight_map: np.ndarray, top: float, extent, title: str) -> None:
    """One channel's MSiTF weights over its scalogram in grey, on a log scale shared by every channel (``top``)."""
    from matplotlib.colors import LogNorm

    axis.imshow(scalogram.T, aspect="auto", extent=extent, cmap="gray", interpolation="nearest")
    overlay = axis.imshow(
        np.ma.masked_equal(np.clip(weight_map.T, top / 1000, None) * (weight_map.T > 0), 0),
        aspect="auto",
        extent=extent,
        cmap="inferno",
        norm=LogNorm(vmin=top / 1000, vmax=top),  # spread-out weight stays visible
        alpha=0.8,
        interpolation="nearest",
    )
    axis.set_title(title, fontsize=9)
    figure.colorbar(overlay, ax=axis, fraction=0.03, pad=0.01, label="weight per patch (log)")
