"""Timelines of long recordings: per-window embeddings, zero-shot label probabilities and channel quality.

``embed`` answers "what is this recording?" with one vector; hours of Holter ECG or a night of PPG need "what
happens when?". :func:`timeline` streams a recording of any length (an array, a memory-mapped ``.npy`` or a signal
file) through the model in chunks, with 6 s windows every ``hop_seconds``, and yields one
:class:`TimelineWindow` per window. Memory stays constant in the recording's length: a chunk of raw signal, the
resampler's margin and one batch of scalograms are all that is held. :class:`LiveTimeline` is the same machine
fed by a device: ``push`` the samples that arrived, get back every window they complete.

Both run the same code (``streaming.WindowStream`` and :class:`WindowScorer`), and the resampler gives the same
65 Hz samples however the input is cut, so a live stream, a file and an in-memory array give the same windows;
with ``hop_seconds=6`` they are the windows of ``embed`` / ``feature_extractor.iter_batches``. Channels whose
quality (``quality.py``) is below ``quality_threshold`` are masked out of the model for that window.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from . import feature_extraction_normwear
from .feature_extraction_normwear import NormWearFeatureExtractor
from .modeling_normwear import NormWearModel, channel_summaries, finish_pooling
from .modeling_normwear_zero_shot import rhythm_inputs
from .quality import DEFAULT_QUALITY_THRESHOLD, check_threshold, score_windows
from .signal_processing import unit_peak_if_huge
from .streaming import StreamWindow, WindowStream
from .timeline_sources import RecordingSource, _labels, _rates, open_recording
from .zero_shot.prompts import DEFAULT_HYPOTHESIS_TEMPLATE

#: A hop below this makes more than 12 windows per window length: hours of recording become millions of windows.
MIN_HOP_SECONDS = 0.5
DEFAULT_CHUNK_SECONDS = 600.0


@dataclass
class TimelineWindow:
    """One window of a timeline. Per-channel arrays follow the recording's channel order."""

    index: int
    start_s: float
    end_s: float
    embedding: np.ndarray  # [D] float32: token mean per used channel, averaged over the used channels
    probabilities: np.ndarray | None  # [labels] calibrated zero-shot probabilities, when labels were given
    quality: np.ndarray  # [C] score in [0, 1] (quality.py)
    channels_used: np.ndarray  # [C] bool: the channels the model saw
    problems: list[str]  # [C] the failed check of a channel below the threshold, else ""
    signal_min: np.ndarray  # [C] the window's raw range at the model rate (for plots)
    signal_max: np.ndarray


def check_hop(hop_seconds: Any, rate: float) -> int:
    """The hop in samples at the model ``rate``; a ValueError for anything but a sensible number of seconds."""
    if isinstance(hop_seconds, bool) or not isinstance(hop_seconds, (int, float, np.integer, np.floating)):
        raise ValueError(f"hop_seconds must be a number of seconds, got {hop_seconds!r}.")
    if not math.isfinite(hop_seconds) or hop_seconds <= 0:
        raise ValueError(f"hop_seconds must be a positive number of seconds, got {hop_seconds!r}.")
    if hop_seconds < MIN_HOP_SECONDS:
        raise ValueError(
            f"hop_seconds={hop_seconds:g} s is too small: at most one window every {MIN_HOP_SECONDS:g} s (a 24 h "
            f"recording would make {24 * 3600 / hop_seconds:,.0f} windows). Windows are 6 s long; use a hop of 1-6 s "
            "for overlap, or more to skip signal."
        )
    return max(1, int(round(hop_seconds * rate)))


@contextlib.contextmanager
def _quiet_flat_warnings():
    """Flat windows are reported per window by the quality checks; the extractor's warning would repeat for hours."""
    logger = feature_extraction_normwear.logger
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@functools.lru_cache(maxsize=1)
def _default_zero_shot_model():
    from .checkpoint import DEFAULT_CHECKPOINT, load_quietly

    model, extractor = load_quietly(DEFAULT_CHECKPOINT)
    return model.eval(), extractor


class WindowScorer:
    """Model windows in, :class:`TimelineWindow` out: quality, masking, one forward pass per batch."""

    def __init__(
        self,
        model: torch.nn.Module | None = None,
        feature_extractor: NormWearFeatureExtractor | None = None,
        candidate_labels: Sequence[str] | str | None = None,
        channel_types: Sequence[str | None] | None = None,
        question: str | None = None,
        hypothesis_template: str = DEFAULT_HYPOTHESIS_TEMPLATE,
        quality_threshold: float | None = DEFAULT_QUALITY_THRESHOLD,
        batch_size: int = 32,
        dtype: torch.dtype | None = None,
        device: str | torch.device | None = None,
        text_encoder: Any = None,
    ) -> None:
        from .zero_shot.engine import check_candidate_labels, has_zero_shot_head, label_sentences

        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.threshold = check_threshold(quality_threshold)
        self.labels = None if candidate_labels is None else check_candidate_labels(candidate_labels)
        if model is None:
            if self.labels is not None:
                model, default_extractor = _default_zero_shot_model()
            else:
                from .inference import load_default_model

                model, default_extractor = load_default_model()
            feature_extractor = feature_extractor or default_extractor
        self.extractor = feature_extractor or NormWearFeatureExtractor()
        self.zero_shot = model if has_zero_shot_head(model) else None
        self.backbone: NormWearModel = model.normwear if self.zero_shot is not None else model
        if self.labels is not None:
            if self.zero_shot is None:
                raise ValueError(
                    f"candidate labels need a zero-shot model (the bundled 'normwear' checkpoint, or a folder from "
                    f"`normwear-hf train-zero-shot`); {type(model).__name__} has no zero-shot head."
                )
            from .zero_shot.text_encoder import SentenceEncoder

            config = self.zero_shot.config
            sentences = label_sentences(self.labels, hypothesis_template)
            encoder = text_encoder or SentenceEncoder(config.text_encoder_name_or_path)
            self.text_embeds = encoder.encode(sentences)
            self.question_embeds = encoder.encode([question or config.zero_shot_default_question])[0]
        self.reads_rhythm = self.labels is not None and bool(rhythm_inputs(self.zero_shot.config))
        self.channel_types = None if channel_types is None else list(channel_types)
        self.batch_size = batch_size
        self.dtype = dtype
        self.device = torch.device(device) if device is not None else next(self.backbone.parameters()).device
        self.backbone.to(self.device).eval()
        if self.zero_shot is not None:
            self.zero_shot.to(self.device).eval()

    def __call__(self, windows: list[StreamWindow]) -> list[TimelineWindow]:
        out: list[TimelineWindow] = []
        for start in range(0, len(windows), self.batch_size):
            out += self._batch(windows[start : start + self.batch_size])
        return out

    @torch.no_grad()
    def _batch(self, windows: list[StreamWindow]) -> list[TimelineWindow]:
        extractor = self.extractor
        values = [unit_peak_if_huge(w.values) for w in windows]  # as the extractor treats whole channels
        with _quiet_flat_warnings():
            features = extractor._featurize(
                [(0, v) for v in values], None, None, "pt", "split", return_rhythm=self.reads_rhythm
            )
        checked = score_windows(
            values,
            extractor.sampling_rate,
            features["channel_mask"].numpy(),
            self.threshold,
            [self.channel_types] * len(windows),
            [w.missing for w in windows],
        )
        quality, mask = checked.score, checked.channel_mask
        batch = {
            "input_values": features["input_values"].to(self.device),
            "channel_mask": torch.from_numpy(mask).to(self.device),
            "time_mask": features["time_mask"].to(self.device),
        }
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
            outputs = self.backbone(**batch, return_dict=True)
            per_channel, real = channel_summaries(outputs, "recording")
            embedding = finish_pooling(per_channel.float(), real, "recording").float().cpu().numpy()
            probabilities = None
            if self.labels is not None:
                model = self.zero_shot
                signal, _ = model.aggregate(
                    outputs.last_hidden_state,
                    outputs.token_mask,
                    self.question_embeds.to(self.device),
                    features["rhythm_values"].to(self.device) if self.reads_rhythm else None,
                )
                logits = model.similarity_logits(signal, self.text_embeds.to(self.device))
                probabilities = model.calibrated_scores(logits).float().cpu().numpy()
        rate = extractor.sampling_rate
        window_s = extractor.window_length / rate
        return [
            TimelineWindow(
                index=w.index,
                start_s=w.start / rate,
                end_s=w.start / rate + window_s,
                embedding=embedding[i].astype(np.float32),
                probabilities=None if probabilities is None else probabilities[i],
                quality=quality[i].astype(np.float32),
                channels_used=mask[i].astype(bool),
                problems=checked.problems[i],
                signal_min=w.values.min(axis=1).astype(np.float32),
                signal_max=w.values.max(axis=1).astype(np.float32),
            )
            for i, w in enumerate(windows)
        ]


def _chunk_channels(chunk: Any, channels: int | None) -> list[np.ndarray]:
    if isinstance(chunk, torch.Tensor):
        chunk = chunk.detach().cpu().numpy()
    if isinstance(chunk, np.ndarray):
        if chunk.ndim == 1:
            chunk = chunk[None]
        if chunk.ndim != 2:
            raise ValueError(
                f"a chunk is [channels, samples], [samples] or a list of channels, got shape {chunk.shape}."
            )
        return [np.asarray(row, dtype=np.float64) for row in chunk]
    if isinstance(chunk, (list, tuple)) and all(np.ndim(part) == 1 for part in chunk):
        return [np.asarray(part, dtype=np.float64) for part in chunk]
    raise ValueError(f"a chunk is an array [channels, samples] or a list of 1-D channels, got {type(chunk).__name__}.")


class LiveTimeline:
    """Incremental timeline for live devices: ``push`` samples as they arrive, get each completed window back.

    ``push(chunk)`` takes ``[channels, samples]`` (or a list of 1-D arrays, one per channel, lengths following
    each channel's rate) and returns the :class:`TimelineWindow` objects completed by it (often none);
    ``close()`` returns those completed by the end of the recording. A window is returned once the resampler has
    seen ``margin`` samples past its end (about 1-3 s), so that it is exactly the window of an offline run.
    """

    def __init__(
        self,
        sampling_rate: float | Sequence[float],
        hop_seconds: float = 6.0,
        candidate_labels: Sequence[str] | str | None = None,
        channel_types: Sequence[str | None] | str | None = None,
        channel_names: Sequence[str] | None = None,
        channels: int | None = None,
        **scorer_options: Any,
    ) -> None:
        self._rate_spec = sampling_rate
        self._channels = channels if channels is not None else (len(sampling_rate) if np.ndim(sampling_rate) else None)
        if self._channels is not None:
            self._check_channels(self._channels, channel_types, channel_names)
        self.channel_types = channel_types
        self.channel_names = channel_names
        self._scorer_options = scorer_options
        self.scorer = WindowScorer(candidate_labels=candidate_labels, **scorer_options)
        self.hop = check_hop(hop_seconds, self.scorer.extractor.sampling_rate)
        self.hop_seconds = float(hop_seconds)
        self.candidate_labels = self.scorer.labels
        self.samples_in = 0.0  # seconds of signal pushed (of the slowest channel)
        self._stream: WindowStream | None = None
        if self._channels is not None:
            self._start(self._channels)

    def _check_channels(self, count: int, channel_types: Any, channel_names: Any) -> None:
        _rates(self._rate_spec, count, "LiveTimeline")
        _labels(channel_names, count, "channel_names")
        _labels(channel_types, count, "channel_types", feature_extraction_normwear.CHANNEL_TYPES)

    def _start(self, count: int) -> None:
        self.sampling_rate = _rates(self._rate_spec, count, "LiveTimeline")
        types = _labels(self.channel_types, count, "channel_types", feature_extraction_normwear.CHANNEL_TYPES)
        self.scorer.channel_types = types
        self.channel_names = _labels(self.channel_names, count, "channel_names") or [
            f"channel {c}" for c in range(count)
        ]
        extractor = self.scorer.extractor
        self._stream = WindowStream(
            self.sampling_rate, extractor.window_length, self.hop, extractor.max_gap_seconds, extractor.sampling_rate
        )

    def push(self, chunk: Any) -> list[TimelineWindow]:
        channels = _chunk_channels(chunk, self._channels)
        if self._stream is None:
            self._channels = len(channels)
            self._check_channels(self._channels, self.channel_types, self.channel_names)
            self._start(self._channels)
        if len(channels) != self._stream.channels:
            raise ValueError(f"this timeline has {self._stream.channels} channel(s); the chunk has {len(channels)}.")
        self.samples_in += min(part.size / rate for part, rate in zip(channels, self.sampling_rate))
        return self.scorer(self._stream.push(channels))

    def close(self) -> list[TimelineWindow]:
        if self._stream is None:
            return []
        return self.scorer(self._stream.finish())


class Timeline:
    """An iterable of :class:`TimelineWindow` over one recording (see :func:`timeline`), with its metadata."""

    def __init__(self, source: RecordingSource, live: LiveTimeline, chunk_seconds: float, progress: bool | None):
        self.source = source
        self.live = live
        self.chunk_seconds = chunk_seconds
        self.progress = progress
        self.channel_names = source.channel_names
        self.channel_types = source.channel_types
        self.sampling_rate = source.sampling_rate
        self.candidate_labels = live.candidate_labels
        self.duration_s = source.duration_s
        self.hop_seconds = live.hop_seconds
        self.elapsed_s = 0.0

    def __iter__(self) -> Iterator[TimelineWindow]:
        from tqdm.auto import tqdm

        hours = self.duration_s / 3600
        show = self.progress if self.progress is not None else self.duration_s > 2 * self.chunk_seconds
        bar = tqdm(
            total=hours,
            disable=not show,
            desc="timeline",
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} h of signal "
            "[{elapsed}<{remaining}{postfix}]",
        )
        start = time.perf_counter()
        done = 0.0
        try:
            for chunk in self.source.chunks(self.chunk_seconds):
                yield from self.live.push(chunk)
                step = min(self.chunk_seconds, self.duration_s - done)
                done += step
                seconds = time.perf_counter() - start
                bar.update(step / 3600)
                if seconds > 0:
                    bar.set_postfix_str(f"{done / 3600 / seconds:.3f} h/s, {done / seconds:,.0f}x real time")
            yield from self.live.close()
        finally:
            bar.close()
            self.elapsed_s = time.perf_counter() - start


def timeline(
    recording: Any,
    sampling_rate: float | Sequence[float] | None = None,
    hop_seconds: float = 6.0,
    candidate_labels: Sequence[str] | str | None = None,
    *,
    channel_types: Sequence[str | None] | str | None = None,
    channel_names: Sequence[str] | None = None,
    model: torch.nn.Module | None = None,
    feature_extractor: NormWearFeatureExtractor | None = None,
    question: str | None = None,
    hypothesis_template: str = DEFAULT_HYPOTHESIS_TEMPLATE,
    quality_threshold: float | None = DEFAULT_QUALITY_THRESHOLD,
    batch_size: int = 32,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    progress: bool | None = None,
    text_encoder: Any = None,
) -> Timeline:
    """A timeline of ``recording``: iterate it for one :class:`TimelineWindow` per 6 s window every ``hop_seconds``.

    Args:
        recording: ``[C, T]`` / ``[T]`` array (``np.memmap`` too), a list of 1-D channels at their own rates, or a
            path to a signal file (``.npy`` is memory-mapped; EDF, WFDB, CSV and NPZ as for ``normwear-hf embed``).
        sampling_rate: Hz, one or one per channel (files carry their own, except ``.npy``).
        candidate_labels: optional zero-shot labels (at least two); needs a zero-shot model (the default one is).
        quality_threshold: channels scoring below it are masked out of the model for that window (None: never).
        chunk_seconds: signal read and resampled per step; memory grows with it, not with the recording.
        progress: a progress bar with hours of signal done and throughput (default: for recordings over 20 min).

    Only whole windows are returned (a tail shorter than 6 s is not); the model sees 6 s at 65 Hz.
    """
    if not isinstance(chunk_seconds, (int, float)) or not math.isfinite(chunk_seconds) or chunk_seconds < 10:
        raise ValueError(f"chunk_seconds must be at least 10 s, got {chunk_seconds!r}.")
    source = open_recording(recording, sampling_rate, channel_types, channel_names)
    options = dict(
        model=model,
        feature_extractor=feature_extractor,
        question=question,
        hypothesis_template=hypothesis_template,
        quality_threshold=quality_threshold,
        batch_size=batch_size,
        dtype=dtype,
        device=device,
        text_encoder=text_encoder,
    )
    live = LiveTimeline(
        source.sampling_rate,
        hop_seconds,
        candidate_labels,
        channel_types=source.channel_types,
        channel_names=source.channel_names,
        **options,
    )
    window_s = live.scorer.extractor.window_length / live.scorer.extractor.sampling_rate
    if source.duration_s < window_s:
        raise ValueError(
            f"{source.source}: the recording lasts {source.duration_s:.2f} s, shorter than one {window_s:g} s window."
        )
    return Timeline(source, live, float(chunk_seconds), progress)
