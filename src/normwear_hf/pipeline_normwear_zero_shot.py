"""``pipeline("zero-shot-physio-classification")``: recordings + candidate labels -> ranked, calibrated labels.

    >>> import normwear_hf
    >>> from transformers import pipeline
    >>> clf = pipeline("zero-shot-physio-classification", model=normwear_hf.DEFAULT_CHECKPOINT)
    >>> clf(signal, sampling_rate=64, candidate_labels=["resting", "walking", "running"])
    [{'label': 'running', 'score': 0.71}, {'label': 'walking', 'score': 0.22}, {'label': 'resting', 'score': 0.07}]

A recording is ``[channels, time]`` (or 1-D for one channel), or a dict ``{"signal": [ch1, ch2, ...],
"sampling_rate": [r1, r2, ...], "channel_types": [...]}`` when its channels differ in length or rate; a list of
recordings or a ``[B, C, T]`` array is a batch and returns one ranked list per recording. Recordings longer than 6 s
are split into windows whose logits are averaged (``modeling_normwear.average_windows``). Scores are
``softmax(logits / T)`` with the temperature ``T`` fitted on held-in validation data.

This file is copied next to exported zero-shot models (``custom_pipelines`` in their config.json), so that
``pipeline(..., model=folder, trust_remote_code=True)`` works where normwear-hf is not installed: it imports only
third-party packages and its flat siblings. Installed, the package registers this class under the task name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import Pipeline

from .feature_extraction_normwear import NormWearFeatureExtractor, recording_channels
from .modeling_normwear import average_windows, forward_window_batches
from .modeling_normwear_zero_shot import rhythm_inputs
from .text_encoder_normwear import SentenceEncoder
from .zero_shot_labels_normwear import (
    DEFAULT_HYPOTHESIS_TEMPLATE,
    check_candidate_labels,
    has_zero_shot_head,
    label_sentences,
)

TASK_NAME = "zero-shot-physio-classification"
#: Windows scored per model call: bounds memory for recordings of any length (about 0.3 MB per channel-window).
WINDOWS_PER_FORWARD = 16
#: A batch of at least this many recordings whose every label's score spans less than COLLAPSE_SPREAD is reported:
#: the research code's scores sat at 0.496 / 0.504 whatever the input, and nothing told its users.
COLLAPSE_MIN_RECORDINGS = 4
COLLAPSE_SPREAD = 0.02

logger = logging.getLogger(__name__)


class ZeroShotPhysioClassificationPipeline(Pipeline):
    """Zero-shot labels for physiological recordings with a [`NormWearForZeroShotClassification`] model.

    ``text_encoder`` is a loaded ``SentenceEncoder`` or a local folder holding a transformers encoder and its
    tokenizer; by default the encoder the model's config names.
    """

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = True
    _load_tokenizer = False

    def __init__(
        self, *args: Any, text_encoder: SentenceEncoder | str | os.PathLike | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not has_zero_shot_head(self.model):
            raise ValueError(
                f"{type(self.model).__name__} has no zero-shot aggregator; load a folder trained with "
                "examples/train_zero_shot.py (e.g. normwear_hf.DEFAULT_CHECKPOINT)."
            )
        if self.feature_extractor is None:
            self.feature_extractor = NormWearFeatureExtractor()
        if text_encoder is None:
            text_encoder = self.model.config.text_encoder_name_or_path
        if isinstance(text_encoder, str | os.PathLike):
            text_encoder = SentenceEncoder(text_encoder)
        self.text_encoder = text_encoder

    def __call__(self, inputs: Any, **kwargs: Any) -> list[dict[str, Any]] | list[list[dict[str, Any]]]:
        """Rank ``candidate_labels`` for one recording or a batch (see the module docstring for the forms)."""
        if isinstance(inputs, np.ndarray | torch.Tensor) and inputs.ndim == 3:
            inputs = list(inputs)
        if isinstance(inputs, list | tuple) and len(inputs) == 0:
            raise ValueError("No recordings were given (an empty list); pass one recording [C, T] or a list of them.")
        results = super().__call__(inputs, **kwargs)
        message = collapse_message(results, self.model.config.text_encoder_name_or_path)
        if message is not None:
            logger.warning(message)
        return results

    def _sanitize_parameters(
        self,
        sampling_rate: float | Sequence[float] | None = None,
        candidate_labels: Sequence[str] | str | None = None,
        hypothesis_template: str | None = None,
        question: str | None = None,
        channel_types: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> tuple[dict, dict, dict]:
        preprocess = {}
        for name, value in (
            ("sampling_rate", sampling_rate),
            ("candidate_labels", candidate_labels),
            ("hypothesis_template", hypothesis_template),
            ("question", question),
            ("channel_types", channel_types),
        ):
            if value is not None:
                preprocess[name] = value
        return preprocess, {}, {}

    def preprocess(
        self,
        inputs: Any,
        sampling_rate: float | Sequence[float] | None = None,
        candidate_labels: Sequence[str] | str | None = None,
        hypothesis_template: str = DEFAULT_HYPOTHESIS_TEMPLATE,
        question: str | None = None,
        channel_types: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        labels = check_candidate_labels(candidate_labels)
        sentences = label_sentences(labels, hypothesis_template)
        if isinstance(inputs, dict):
            unknown = sorted(set(inputs) - {"signal", "signals", "sampling_rate", "channel_types"})
            if unknown:
                raise ValueError(
                    f"Unknown keys {unknown} in an input dict; use 'signal', 'sampling_rate', 'channel_types'."
                )
            sampling_rate = inputs.get("sampling_rate", sampling_rate)
            channel_types = inputs.get("channel_types", channel_types)
            inputs = inputs["signal"] if "signal" in inputs else inputs.get("signals")
        if sampling_rate is None:
            raise ValueError(
                "sampling_rate is required (Hz, one number or one per channel), e.g. clf(x, sampling_rate=64, ...)."
            )
        recording = one_recording(inputs)
        question = question or self.model.config.zero_shot_default_question
        extra_inputs = rhythm_inputs(self.model.config)
        return {
            "extra_inputs": extra_inputs,
            # checked (and resampled) here; scalograms are built window batch by window batch in _forward
            "windows": self.feature_extractor.iter_batches(
                [recording],
                sampling_rate=[sampling_rate],
                channel_types=None if channel_types is None else [list(channel_types)],
                max_windows=WINDOWS_PER_FORWARD,
                return_tensors="pt",
                progress=False,
                return_rhythm=bool(extra_inputs),
            ),
            "text_embeds": self.text_encoder.encode(sentences),
            "question_embeds": self.text_encoder.encode([question])[0],
            "candidate_labels": labels,
        }

    def _forward(self, model_inputs: dict[str, Any]) -> dict[str, Any]:
        # the package's one path: window batches through the model, then the windows' mean per recording (one here)
        logits, owners = [], []
        for features, outputs in forward_window_batches(
            self.model,
            model_inputs["windows"],
            self.device,
            extra_inputs=model_inputs["extra_inputs"],
            text_embeds=model_inputs["text_embeds"],
            question_embeds=model_inputs["question_embeds"],
        ):
            logits.append(outputs.logits.float())
            owners.append(features["recording_index"])
        logits = torch.cat(logits)
        mean, _ = average_windows(logits, logits.new_ones(logits.shape[0]), torch.cat(owners), count=1)
        return {"logits": mean, "candidate_labels": model_inputs["candidate_labels"]}

    def postprocess(self, model_outputs: dict[str, Any]) -> list[dict[str, Any]]:
        labels = model_outputs["candidate_labels"]
        scores = self.model.calibrated_scores(model_outputs["logits"])[0].tolist()
        ranked = sorted(zip(scores, labels), key=lambda pair: -pair[0])
        return [{"label": label, "score": score} for score, label in ranked]


def one_recording(signal: Any) -> list[np.ndarray]:
    """One recording as a list of 1-D channels: ``[T]``, ``[C, T]``, a DataFrame or a list of channels (rates may
    differ); the same checks as the feature extractor and ``embed``."""
    return recording_channels(signal, "the recording", allow_1d=True)


def collapse_message(results: Any, text_encoder: str = "") -> str | None:
    """A warning when a batch's scores barely vary: every label's score spans less than :data:`COLLAPSE_SPREAD`
    over at least :data:`COLLAPSE_MIN_RECORDINGS` recordings (``None`` otherwise, and for a single recording).

    Different recordings of one batch can share an answer, but not to the second decimal on every label; such
    scores come from a head that ignores its input (untrained or collapsed) or from label embeddings it was not
    trained with (another text encoder).
    """
    if not isinstance(results, list) or len(results) < COLLAPSE_MIN_RECORDINGS:
        return None
    if not all(isinstance(ranking, list) for ranking in results):
        return None  # one recording's ranking, not a batch
    scores: dict[str, list[float]] = {}
    for ranking in results:
        for entry in ranking:
            scores.setdefault(entry["label"], []).append(float(entry["score"]))
    spans = {label: max(values) - min(values) for label, values in scores.items()}
    if not spans or max(spans.values()) >= COLLAPSE_SPREAD:
        return None
    label = max(spans, key=spans.get)
    return (
        f"Zero-shot scores barely vary across these {len(results)} recordings: every label's score spans less than "
        f"{COLLAPSE_SPREAD} (the widest, {label!r}, {min(scores[label]):.3f} to {max(scores[label]):.3f}). The model "
        "is not telling the inputs apart, so its ranking says nothing about them. Likely causes: an untrained or "
        "collapsed zero-shot head (a folder not trained with examples/train_zero_shot.py), or a text encoder other "
        f"than the one the model was trained with (its config names {text_encoder!r})."
    )
