"""Why did the model say that? Gradient x input on the scalogram, per channel, time and scale.

``explain(x, sampling_rate, labels=[...])`` answers a zero-shot question (or takes a classification head's
prediction, or a linear probe's class) and attributes the answer's logit to the model input: the gradient of the
logit with respect to ``input_values`` times ``input_values``, summed over the three planes (signal, first and
second difference). That gives one signed number per channel, time step (65 Hz) and CWT scale, which sums (to
first order) to the logit's change from an all-zero input. Windows of a long recording are scored as the
pipeline scores them (the mean of their logits) and laid end to end in time.

Why gradient x input and not attention rollout: it covers everything the answer depends on (the channel
fusion, the zero-shot aggregator, a probe) in one backward pass, and its per-channel sums are comparable across
channels. Its limits: it is a local, first-order explanation (saturated features can get little credit) and it
explains the logit, not the calibrated probability.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: Centre frequency of the Mexican hat in cycles per sample at scale 1 (``pywt.central_frequency("mexh")``).
MEXH_CENTRE_FREQUENCY = 0.25


@dataclass
class LinearProbe:
    """A linear classifier on pooled embeddings (e.g. scikit-learn's ``coef_`` / ``intercept_``): the thing to explain
    when the answer comes from a probe on frozen embeddings. ``weight`` is ``[classes, E]`` (or ``[E]`` for one
    score), ``pooling`` one of the model's poolings without levels (``"probe"``, ``"recording"``, ...)."""

    weight: np.ndarray
    bias: np.ndarray | float = 0.0
    pooling: str = "probe"
    class_names: Sequence[str] | None = None


@dataclass
class Explanation:
    """Attribution of one answer. Arrays are per channel ``C``, time step ``T`` (65 Hz, windows end to end) and
    scale ``S``; ``attribution`` is signed (positive: pushed towards the answer)."""

    answer: str
    kind: str  # "zero-shot", "classifier", "probe" or "custom"
    scores: dict[str, float]
    signal: np.ndarray  # [C, T] the cleaned, normalised 65 Hz signal the scalogram was computed from
    scalogram: np.ndarray  # [C, T, S] CWT of the signal plane
    attribution: np.ndarray  # [C, T, S] gradient x input, summed over the three planes
    sampling_rate: float
    scales: np.ndarray
    channel_names: list[str] = field(default_factory=list)
    window_steps: int = 0  # time steps per model window (where windows meet in the concatenated time axis)

    @property
    def channel_share(self) -> np.ndarray:
        """``[C]`` fraction of the total |attribution| on each channel."""
        total = np.abs(self.attribution).sum()
        return np.abs(self.attribution).sum(axis=(1, 2)) / max(total, 1e-30)

    @property
    def time_profile(self) -> np.ndarray:
        """``[C, T]`` |attribution| summed over scales."""
        return np.abs(self.attribution).sum(axis=2)

    @property
    def scale_profile(self) -> np.ndarray:
        """``[C, S]`` |attribution| summed over time."""
        return np.abs(self.attribution).sum(axis=1)

    @property
    def frequencies(self) -> np.ndarray:
        """Pseudo-frequency (Hz) of each scale: the Mexican hat's centre frequency divided by the scale."""
        return MEXH_CENTRE_FREQUENCY * self.sampling_rate / self.scales

    def summary(self) -> str:
        """A few lines a person can read: the answer, then each channel's share, busiest second and frequency."""
        lines = [f"{self.kind} answer: {self.answer}"]
        profile = self.time_profile
        for c, name in enumerate(self.channel_names):
            peak_t = int(np.argmax(profile[c]))
            peak_s = int(np.argmax(self.scale_profile[c]))
            lines.append(
                f"  {name}: {self.channel_share[c]:.0%} of the attribution; most around "
                f"{peak_t / self.sampling_rate:.1f} s and {self.frequencies[peak_s]:.2g} Hz"
            )
        return "\n".join(lines)


def _load(model: Any):
    from .checkpoint import load_quietly

    if model is None or isinstance(model, (str, os.PathLike)):
        return load_quietly(model)
    from .feature_extraction_normwear import NormWearFeatureExtractor

    return model, NormWearFeatureExtractor()


def explain(
    signals: Any,
    sampling_rate: float | Sequence[float],
    model: Any = None,
    labels: Sequence[str] | str | None = None,
    question: str | None = None,
    hypothesis_template: str | None = None,
    probe: LinearProbe | None = None,
    score_fn: Callable[..., torch.Tensor] | None = None,
    target: int | str | None = None,
    channel_names: Sequence[str] | None = None,
    feature_extractor: Any = None,
) -> Explanation:
    """Explain one recording's answer (see the module docstring).

    Args:
        signals: one recording, as for the feature extractor (``[C, T]``, a list of 1-D channels, ...).
        model: a name or folder (default: the bundled checkpoint) or a loaded NormWear model.
        labels: zero-shot candidate labels (the model needs a zero-shot head); ``question`` and
            ``hypothesis_template`` as for the pipeline.
        probe: explain a linear probe on the model's embeddings instead.
        score_fn: or any differentiable answer of your own: ``score_fn(input_values, channel_mask, time_mask)`` ->
            logits ``[windows, classes]`` (your head, or a hand-built detector); the backbone is not run for it.
        target: the label / class (name or index) to explain; default: the model's answer.
        Without ``labels`` or ``probe`` a classification head's prediction is explained.
    """
    from .checkpoint import backbone_of
    from .modeling_normwear import average_windows
    from .modeling_normwear_zero_shot import rhythm_inputs

    loaded, extractor = _load(model)
    extractor = feature_extractor or extractor
    backbone = backbone_of(loaded).eval()
    features = extractor(
        signals,
        sampling_rate=sampling_rate,
        long_input="split",
        return_tensors="pt",
        return_signal=True,
        return_rhythm=labels is not None and bool(rhythm_inputs(loaded.config)),
    )
    input_values = features["input_values"].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        kind, logits, names = _answer_logits(
            loaded, backbone, input_values, features, labels, question, hypothesis_template, probe, score_fn
        )
        # windows of one recording: the mean of their logits, as the pipeline takes it (differentiable)
        owner = logits.new_zeros(len(logits), dtype=torch.long)
        mean_logits = average_windows(logits, logits.new_ones(len(logits)), owner, 1)[0][0]
        index = _target_index(target, names, mean_logits)
        mean_logits[index].backward()
    attribution = (input_values.grad * input_values.detach()).sum(dim=2)  # [N, C, T, S]
    scores = dict(zip(names, mean_logits.detach().softmax(dim=0).tolist()))
    if kind == "zero-shot":
        scores = dict(zip(names, loaded.calibrated_scores(mean_logits.detach()[None])[0].tolist()))
    return _assemble(features, attribution, names[index], kind, scores, extractor, channel_names)


def _answer_logits(loaded, backbone, input_values, features, labels, question, template, probe, score_fn):
    """-> (kind of answer, differentiable logits ``[windows, classes]`` of ``input_values``, class names)."""
    from .modeling_normwear import channel_summaries, finish_pooling

    if score_fn is not None:
        logits = score_fn(input_values, features["channel_mask"], features["time_mask"])
        logits = logits[:, None] if logits.ndim == 1 else logits
        return "custom", logits, [f"class {i}" for i in range(logits.shape[1])]
    outputs = backbone(input_values, features["channel_mask"], features["time_mask"], return_dict=True)
    if probe is not None:
        return ("probe", *_probe_logits(probe, outputs))
    if labels is not None:
        return (
            "zero-shot",
            *_zero_shot_logits(loaded, outputs, labels, question, template, features.get("rhythm_values")),
        )
    if hasattr(loaded, "classifier"):
        pooling = "cls" if loaded.config.classifier_pooling == "cls" else "channel"
        per_channel, real = channel_summaries(outputs, pooling)
        logits = loaded.classifier(finish_pooling(per_channel, real, "recording"))
        id2label = loaded.config.id2label or {}
        return "classifier", logits, [str(id2label.get(i, f"class {i}")) for i in range(logits.shape[1])]
    raise ValueError(
        "nothing to explain: pass labels (zero-shot, with a zero-shot checkpoint such as the bundled one), "
        "a LinearProbe, or a classification model (NormWearForSignalClassification)."
    )


def _probe_logits(probe: LinearProbe, outputs) -> tuple[torch.Tensor, list[str]]:
    """A linear probe's logits ``[windows, classes]`` on the backbone's outputs (pooled as the probe was trained)."""
    from .modeling_normwear import channel_summaries, finish_pooling

    per_channel, real = channel_summaries(outputs, probe.pooling)
    pooled = finish_pooling(per_channel, real, probe.pooling)
    weight = torch.as_tensor(np.atleast_2d(probe.weight), dtype=pooled.dtype)
    if weight.shape[1] != pooled.shape[1]:
        raise ValueError(
            f"the probe takes {weight.shape[1]} features but pooling {probe.pooling!r} gives {pooled.shape[1]}."
        )
    logits = pooled @ weight.T + torch.as_tensor(np.atleast_1d(probe.bias), dtype=pooled.dtype)
    return logits, list(probe.class_names or [f"class {i}" for i in range(weight.shape[0])])


def _zero_shot_logits(model, outputs, labels, question, hypothesis_template, rhythm_values):
    from .zero_shot.engine import check_candidate_labels, has_zero_shot_head, label_sentences
    from .zero_shot.prompts import DEFAULT_HYPOTHESIS_TEMPLATE
    from .zero_shot.text_encoder import SentenceEncoder

    if not has_zero_shot_head(model):
        raise ValueError(
            f"{type(model).__name__} has no zero-shot head: --labels needs a zero-shot checkpoint (the bundled "
            "'normwear' one, or a folder written by normwear-hf train-zero-shot)."
        )
    labels = check_candidate_labels(labels)
    encoder = SentenceEncoder(model.config.text_encoder_name_or_path)
    text = encoder.encode(label_sentences(labels, hypothesis_template or DEFAULT_HYPOTHESIS_TEMPLATE))
    question_embeds = encoder.encode([question or model.config.zero_shot_default_question])[0]
    signal_embeds, _ = model.aggregate(outputs.last_hidden_state, outputs.token_mask, question_embeds, rhythm_values)
    return model.similarity_logits(signal_embeds, text), labels


def _target_index(target: int | str | None, names: list[str], logits: torch.Tensor) -> int:
    if target is None:
        return int(logits.argmax())
    if isinstance(target, str):
        if target not in names:
            raise ValueError(f"target {target!r} is not one of {names}.")
        return names.index(target)
    if not 0 <= int(target) < len(names):
        raise ValueError(f"target {target} is out of range: there are {len(names)} labels / classes.")
    return int(target)


def _assemble(features, attribution, answer, kind, scores, extractor, channel_names) -> Explanation:
    """Windows end to end, padded time dropped, padded channels dropped."""
    time_mask = features["time_mask"].bool().numpy()
    channels = int(features["channel_mask"][0].sum())
    signal, scalogram, attr = [], [], []
    for window in range(attribution.shape[0]):
        real = time_mask[window]
        signal.append(features["signal_values"][window, :channels][:, real].numpy())
        scalogram.append(features["input_values"][window, :channels, 0][:, real].numpy())
        attr.append(attribution[window, :channels][:, real].numpy())
    names = list(channel_names) if channel_names is not None else [f"channel {c}" for c in range(channels)]
    if len(names) != channels:
        raise ValueError(f"{len(names)} channel names for {channels} channels.")
    return Explanation(
        answer=answer,
        kind=kind,
        scores=scores,
        signal=np.concatenate(signal, axis=1),
        scalogram=np.concatenate(scalogram, axis=1),
        attribution=np.concatenate(attr, axis=1),
        sampling_rate=float(extractor.sampling_rate),
        scales=np.asarray(extractor.scales, dtype=np.float64),
        channel_names=names,
        window_steps=int(time_mask.shape[1]),
    )


def plot_explanation(explanation: Explanation, path: str | os.PathLike, title: str | None = None) -> Path:
    """A PNG: per channel the cleaned signal (shaded where attribution is high), its scalogram and the attribution
    map (red pushes towards the answer, blue away), on one time axis; frequencies in Hz on the left."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    exp = explanation
    channels, steps, _ = exp.attribution.shape
    seconds = steps / exp.sampling_rate
    fig, axes = plt.subplots(
        3 * channels, 1, figsize=(11, 1.0 + 4.6 * channels), sharex=True, squeeze=False, layout="constrained",
        gridspec_kw={"height_ratios": [1.0, 1.3, 1.3] * channels},
    )  # fmt: skip
    axes = axes[:, 0]
    time = np.arange(steps) / exp.sampling_rate
    extent = (0.0, seconds, len(exp.scales) - 0.5, -0.5)
    ticks = [i for i in range(len(exp.scales)) if exp.frequencies[i] <= exp.sampling_rate / 2]
    ticks = ticks[:: max(1, len(ticks) // 5)]
    # a few pixels carry extreme gradients: scale colours to the 99.5th percentile so the pattern stays visible
    limit = float(np.percentile(np.abs(exp.attribution), 99.5)) or float(np.abs(exp.attribution).max()) or 1.0
    smooth = max(1, int(round(0.25 * exp.sampling_rate)))  # a quarter-second moving sum for the time profile
    profile = np.stack([np.convolve(row, np.ones(smooth), mode="same") for row in exp.time_profile])
    profile = profile / max(float(profile.max()), 1e-30)  # one scale for all channels: shares stay comparable
    edges = np.arange(exp.window_steps, steps, exp.window_steps) / exp.sampling_rate if exp.window_steps else []
    for c, name in enumerate(exp.channel_names):
        ax_signal, ax_scalogram, ax_attr = axes[3 * c : 3 * c + 3]
        ax_signal.plot(time, exp.signal[c], color="black", linewidth=0.7)
        ax_signal.set_ylabel("model input\n(65 Hz, cleaned)")
        twin = ax_signal.twinx()
        twin.fill_between(time, 0, profile[c], color="tab:red", alpha=0.35, linewidth=0)
        twin.set_ylim(0, 1.05)
        twin.set_ylabel("attribution\nover time", color="tab:red")
        twin.set_yticks([])
        ax_signal.set_title(
            f"{name}: {exp.channel_share[c]:.0%} of the attribution", loc="left", fontsize=10, fontweight="bold"
        )
        ax_scalogram.imshow(np.abs(exp.scalogram[c]).T, aspect="auto", extent=extent, cmap="viridis")
        ax_scalogram.set_ylabel("scalogram |CWT|\nfrequency (Hz)")
        ax_attr.imshow(exp.attribution[c].T, aspect="auto", extent=extent, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax_attr.set_ylabel("attribution\nfrequency (Hz)")
        for ax in (ax_scalogram, ax_attr):
            ax.set_yticks(ticks)
            ax.set_yticklabels([f"{exp.frequencies[i]:.2g}" for i in ticks])
        for ax in (ax_signal, ax_scalogram, ax_attr):
            for edge in edges:
                ax.axvline(edge, color="grey", linewidth=0.6, linestyle=":")
    axes[-1].set_xlabel("time (s, at the model rate of 65 Hz; 6 s windows end to end)")
    best = ", ".join(f"{label} {score:.2f}" for label, score in sorted(exp.scores.items(), key=lambda kv: -kv[1])[:4])
    heading = title or f"{exp.kind} answer: {exp.answer}   ({best})"
    fig.suptitle(
        heading + "\ngradient x input on the scalogram: red = pushed towards this answer, blue = against it; "
        "dotted lines: 6 s model windows",
        fontsize=11,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


__all__ = ["Explanation", "LinearProbe", "explain", "plot_explanation"]
