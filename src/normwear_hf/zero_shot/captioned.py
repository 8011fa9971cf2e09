"""Caption-contrastive alignment data: one-modality views of recordings, their captions, and training batches.

The task objective aligns segments with six tasks' fixed label sets, so the text side meets a handful of concepts
and the aggregator can learn "fast" from one beat shape. Here every view carries captions of many concept
families (``captions.FAMILIES``) at three levels, and a batch contrasts each view against *the batch's captions*
plus one hard negative per caption from the same family ("fast" against "slow"). A caption is a positive for
every view it is true of (multi-positive CLIP), so two fast-heart-rate segments in a batch do not push each other
away. Views vary in sampling rate (device rates from 20 Hz to 1 kHz), units and polarity, so that no concept is
learned from one rate or sign (``vary_view``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.signal import resample

from .captions import Caption, hard_negative, row_facts, segment_captions
from .engine import WindowTokens
from .prompts import HEART_RATE_QUESTIONS
from .views import channel_view

#: Which sensor shows each family's concept (``None``: any sensor). ``eda_level`` is left out: the feature
#: extractor divides every window by its mean |x|, so no token can tell a low skin conductance from a high one.
FAMILY_MODALITIES: dict[str, frozenset[str] | None] = {
    "heart_rate": frozenset({"ecg", "ppg"}),
    "heart_rate_trend": frozenset({"ecg", "ppg"}),
    "hrv": frozenset({"ecg", "ppg"}),
    "rhythm": frozenset({"ecg", "ppg"}),
    "breathing_rate": frozenset({"resp"}),
    "breathing_pattern": frozenset({"resp"}),
    "activity": frozenset({"acc"}),
    "movement_intensity": frozenset({"acc"}),
    "cadence": frozenset({"acc"}),
    "scr_count": frozenset({"eda"}),
    "signal_quality": None,
    "modality": None,
    "placement": None,
}

FAMILY_QUESTIONS: dict[str, tuple[str, ...]] = {
    "heart_rate": HEART_RATE_QUESTIONS[:3],
    "heart_rate_trend": ("How does the heart rate change?", "Is the pulse speeding up or slowing down?"),
    "hrv": ("How variable is the heart rhythm?", "What is the heart rate variability?"),
    "rhythm": ("Is the heart rhythm regular?", "Are the beats evenly spaced?"),
    "breathing_rate": ("What is the breathing rate?", "How fast is the person breathing?"),
    "breathing_pattern": ("Is the breathing regular?", "How even is the breathing?"),
    "activity": ("What is the person doing?", "What activity is the person doing?"),
    "movement_intensity": ("How much is the person moving?", "How intense is the movement?"),
    "cadence": ("What is the step rate?", "Is the person taking steps?"),
    "scr_count": ("How many skin conductance responses are there?", "Is the skin conductance reacting?"),
    "signal_quality": ("Is the signal clean or noisy?", "What is the signal quality?"),
    "modality": ("Which sensor recorded this signal?", "What kind of signal is this?"),
    "placement": ("Where is the sensor worn?", "Where on the body is the sensor?"),
}
GENERIC_QUESTIONS = ("Describe this signal.", "What does this recording show?")

DEVICE_RATES_HZ = (20.0, 25.0, 32.0, 40.0, 50.0, 64.0, 100.0, 128.0, 200.0, 250.0, 256.0, 360.0, 500.0, 512.0, 1000.0)
"""Rates views are resampled to: what wearables and clinical recorders use, 20 Hz to 1 kHz. A fixed set (not
any real number) also lets the feature extractor resample each rate's views together."""
#: The lowest rate a view of each sensor is resampled to: below it the concept itself is gone (an ECG at 20 Hz
#: keeps no QRS complex to count).
MIN_RATE_HZ = {"ecg": 50.0, "emg": 200.0}
#: Sensors whose sign carries no meaning to flip (skin conductance is never negative).
KEEP_SIGN = frozenset({"eda"})


def vary_view(row: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """The row at another sampling rate (one of ``DEVICE_RATES_HZ``, the same for its channels), in other units
    (x 1e-3, 1 or 1e3, times 0.5 to 2) and, except for ``KEEP_SIGN`` sensors, with a random sign. Labels are kept."""
    floor = max(MIN_RATE_HZ.get(kind, 0.0) for kind in row["channel_types"])
    rate = float(rng.choice([fs for fs in DEVICE_RATES_HZ if fs >= floor]))
    scale = 10.0 ** rng.choice([-3, 0, 3]) * rng.uniform(0.5, 2.0)
    signals = []
    for x, fs, kind in zip(row["signals"], row["sampling_rate"], row["channel_types"]):
        x = np.asarray(x, dtype=np.float64)
        length = max(8, int(round(len(x) * rate / float(fs))))
        sign = 1.0 if kind in KEEP_SIGN or rng.random() < 0.5 else -1.0
        signals.append((resample(x, length) * scale * sign).astype(np.float32))
    varied = dict(row)
    varied["signals"] = signals
    varied["sampling_rate"] = [rate] * len(signals)
    return varied


RETIME_FACTORS = (2 / 3, 3 / 4, 4 / 5, 5 / 4, 4 / 3, 3 / 2)
"""Tempo factors of :func:`retime_view`: a heart at 60 bpm becomes 40 to 90 bpm."""
RETIMED = frozenset({"ecg", "ppg", "resp"})
"""Sensors whose views may be retimed: their captioned rates scale with tempo, and nothing else they show
depends on it (a retimed walk would be a run with a walker's arm swing, so acceleration is never retimed)."""
VIEW_SECONDS = 6.0


def retime_view(
    row: Mapping[str, Any], facts: Mapping[str, Any], factor: float, seconds: float = VIEW_SECONDS
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The view played ``factor`` times faster (every declared rate x ``factor``, samples unchanged), cut to its
    first ``seconds`` (``factor`` 1: only cut); heart rate, its trend and breathing rate scale by ``factor``,
    RMSSD by ``1 / factor``.

    In the generator a fast heart comes with running, motion artefacts and low HRV; a retimed resting ECG has a
    fast heart and none of those, so "fast" must be learned from the beats themselves."""
    signals = [
        np.asarray(x)[: int(seconds * float(fs) * factor)] for x, fs in zip(row["signals"], row["sampling_rate"])
    ]
    retimed = dict(row)
    retimed["signals"] = signals
    retimed["sampling_rate"] = [float(fs) * factor for fs in row["sampling_rate"]]
    scaled = dict(facts)
    for name in ("heart_rate", "heart_rate_trend", "breathing_rate"):
        if isinstance(scaled.get(name), float):
            scaled[name] *= factor
    if isinstance(scaled.get("hrv"), float):
        scaled["hrv"] /= factor
    return retimed, scaled


def view_facts(facts: Mapping[str, Any], modality: str) -> dict[str, Any]:
    """The facts a one-``modality`` view can show."""
    kept = {
        name: value
        for name, value in facts.items()
        if name in FAMILY_MODALITIES and (FAMILY_MODALITIES[name] is None or modality in FAMILY_MODALITIES[name])
    }
    kept["modalities"] = [modality]
    return kept


@dataclass
class CaptionedView:
    row: dict[str, Any]
    captions: list[Caption]
    negatives: list[Caption | None]
    """Per caption, a caption of its family that contradicts it (``None`` where the family has none)."""

    @property
    def truths(self) -> frozenset[str]:
        return frozenset(caption_key(caption) for caption in self.captions)


def caption_key(caption: Caption) -> str:
    return f"{caption.family}={caption.value}"


def captioned_views(
    rows: Iterable[Mapping[str, Any]],
    seed: int = 0,
    vary_fraction: float = 0.5,
    draws: int = 2,
    retime_fraction: float = 0.0,
) -> list[CaptionedView]:
    """One view per sensor type of every row (its channels of that type, first ``VIEW_SECONDS``), with the union
    of ``draws`` caption draws (paraphrases, number formats) and a hard negative per caption. ``retime_fraction``
    of the ECG / PPG / respiration views are retimed (rows must last ``VIEW_SECONDS`` x 1.5 for every factor;
    shorter ones only take the factors they can), then ``vary_fraction`` of all views are varied."""
    rng = random.Random(seed)
    numbers = np.random.default_rng(seed)
    views: list[CaptionedView] = []
    for row in rows:
        facts = row_facts(row)
        types = list(row["channel_types"])
        for modality in sorted(set(types)):
            if modality not in {"ecg", "ppg", "resp", "acc", "eda", "emg"}:
                continue
            view = channel_view(row, [i for i, kind in enumerate(types) if kind == modality])
            shown = view_facts(facts, modality)
            seconds = min(len(x) / float(fs) for x, fs in zip(view["signals"], view["sampling_rate"]))
            factors = [f for f in RETIME_FACTORS if VIEW_SECONDS * f <= seconds + 1e-6]
            retime = modality in RETIMED and factors and numbers.random() < retime_fraction
            view, shown = retime_view(view, shown, float(numbers.choice(factors)) if retime else 1.0)
            if numbers.random() < vary_fraction:
                view = vary_view(view, numbers)
            unique = {c.text: c for _ in range(draws) for c in segment_captions(shown, rng)}
            captions = list(unique.values())
            if captions:
                views.append(CaptionedView(view, captions, [hard_negative(c, rng) for c in captions]))
    return views


def training_texts(views: Sequence[CaptionedView]) -> list[str]:
    """Every caption and hard-negative text of ``views`` (for the held-out leak check)."""
    texts = {c.text for view in views for c in view.captions}
    texts |= {c.text for view in views for c in view.negatives if c is not None}
    return sorted(texts)


class CaptionBank:
    """Captioned views as tensors: the frozen backbone's tokens, every caption and question embedded once.

    :meth:`sample` draws a batch of views, one caption per view (its question from the caption's family), and
    builds the candidate texts (the batch's captions and their hard negatives) with a multi-positive target:
    row ``i`` puts equal mass on every candidate whose ``family=value`` is true of view ``i``.
    """

    def __init__(self, views: Sequence[CaptionedView], tokens: WindowTokens, encoder) -> None:
        if len(tokens.hidden) != len(views):
            raise ValueError(f"{len(views)} captioned views but tokens of {len(tokens.hidden)} windows.")
        self.tokens = tokens
        texts = training_texts(views)
        index = {text: i for i, text in enumerate(texts)}
        self.texts = encoder.encode(texts)
        keys: dict[str, str] = {}
        for view in views:
            for caption in [*view.captions, *(c for c in view.negatives if c is not None)]:
                keys[caption.text] = caption_key(caption)
        self.text_keys = [keys[text] for text in texts]
        self.captions = [[index[c.text] for c in view.captions] for view in views]
        self.negatives = [[index[c.text] if c is not None else -1 for c in view.negatives] for view in views]
        self.families = [[c.family for c in view.captions] for view in views]
        self.truths = [view.truths for view in views]
        self.questions = {
            family: encoder.encode(list(FAMILY_QUESTIONS.get(family, ())) + list(GENERIC_QUESTIONS))
            for family in FAMILY_MODALITIES
        }

    def __len__(self) -> int:
        return len(self.captions)

    def sample(self, batch: int, rng: random.Random, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """-> hidden ``[B, C, L, D]``, mask, rhythm ``[B, C, R]``, questions ``[B, T]``, candidate texts ``[M, T]``,
        targets ``[B, M]``."""
        picks = [rng.randrange(len(self)) for _ in range(batch)]
        chosen = [rng.randrange(len(self.captions[i])) for i in picks]
        candidates: list[int] = []
        for view, k in zip(picks, chosen):
            candidates.append(self.captions[view][k])
            if self.negatives[view][k] >= 0:
                candidates.append(self.negatives[view][k])
        candidates = list(dict.fromkeys(candidates))  # one column per distinct text
        truth = torch.tensor(
            [[self.text_keys[t] in self.truths[view] for t in candidates] for view in picks], dtype=torch.float32
        )
        targets = truth / truth.sum(dim=1, keepdim=True)  # every row holds its own caption: never all zero
        questions = []
        for view, k in zip(picks, chosen):
            bank = self.questions[self.families[view][k]]
            questions.append(bank[int(torch.randint(len(bank), (1,), generator=generator))])
        hidden, mask, rhythm = self.tokens.batch(picks)
        return hidden, mask, rhythm, torch.stack(questions), self.texts[candidates], targets
