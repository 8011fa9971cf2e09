"""Captions of a segment's physiology at three levels, for contrastive alignment over many concepts.

Statistical captions state a number ("mean heart rate about 72 bpm"), structural ones a shape over the window
("heart rate rises through the window", "irregular beat intervals"), semantic ones a state ("the person is
resting", "a noisy recording"). Synthetic segments take their facts from the generator's known parameters; real
segments from measured physiology (``physiology.py``). Every caption belongs to a concept family and asserts one
of its classes, so a hard negative is the same family's contradicting class ("fast" against "slow").
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import physiology

LEVELS = ("statistical", "structural", "semantic")


@dataclass(frozen=True)
class Caption:
    family: str
    level: str
    value: str
    """The family's class the caption asserts (e.g. ``"fast"``); hard negatives assert another one."""
    text: str


@dataclass(frozen=True)
class Family:
    """A concept family: ordered classes, how a number falls into them, and phrases per class and level.

    Statistical phrases take ``{n}`` (the number as a user writes it); ``ranges`` give numbers for negatives.
    """

    name: str
    classes: tuple[str, ...]
    phrases: Mapping[str, Mapping[str, tuple[str, ...]]]
    bounds: tuple[float, ...] = ()
    ranges: Mapping[str, tuple[float, float]] | None = None
    ordered: bool = True
    digits: int = 0

    def classify(self, value: float) -> str:
        return self.classes[int(np.searchsorted(self.bounds, value, side="right"))]

    def contradictions(self, value: str, rng: random.Random) -> list[str]:
        """The other classes, most contradicting first: the far end of an ordered family, else in random order."""
        others = [c for c in self.classes if c != value]
        rng.shuffle(others)
        if self.ordered:
            index = self.classes.index(value)
            others.sort(key=lambda c: -abs(self.classes.index(c) - index))
        return others


def _low_mid_high(low, mid, high):
    return {"low": low, "moderate": mid, "high": high}


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family(
            "heart_rate",
            ("slow", "normal", "fast"),
            {
                "slow": {
                    "statistical": ("mean heart rate about {n} bpm", "HR ~{n} bpm", "a pulse of {n} beats per minute"),
                    "semantic": ("a slow heart rate", "bradycardia", "a low pulse"),
                },
                "normal": {
                    "statistical": ("mean heart rate about {n} bpm", "HR ~{n} bpm", "heart rate around {n}"),
                    "semantic": ("a normal heart rate", "a resting-range pulse", "a heart rate in the normal range"),
                },
                "fast": {
                    "statistical": ("mean heart rate about {n} bpm", "HR ~{n} bpm", "a pulse of {n} beats per minute"),
                    "semantic": ("a fast heart rate", "tachycardia", "a racing pulse"),
                },
            },
            bounds=(60.0, 100.0),
            ranges={"slow": (42, 57), "normal": (63, 95), "fast": (105, 175)},
        ),
        Family(
            "heart_rate_trend",
            ("falling", "steady", "rising"),
            {
                "falling": {"structural": ("heart rate falls through the window", "the pulse slows down over time")},
                "steady": {"structural": ("a steady heart rate throughout", "the pulse stays level")},
                "rising": {"structural": ("heart rate rises through the window", "the pulse speeds up over time")},
            },
            bounds=(-5.0, 5.0),
        ),
        Family(
            "hrv",
            ("low", "moderate", "high"),
            _low_mid_high(
                {
                    "statistical": ("RMSSD about {n} ms", "HRV (RMSSD) ~{n} ms"),
                    "semantic": ("low heart rate variability", "a stressed or exerted heart, little variability"),
                },
                {"statistical": ("RMSSD about {n} ms", "HRV (RMSSD) ~{n} ms"), "semantic": ("moderate HRV",)},
                {
                    "statistical": ("RMSSD about {n} ms", "HRV (RMSSD) ~{n} ms"),
                    "semantic": ("high heart rate variability", "a relaxed heart with high HRV"),
                },
            ),
            bounds=(20.0, 50.0),
            ranges={"low": (5, 15), "moderate": (25, 45), "high": (60, 120)},
        ),
        Family(
            "rhythm",
            ("regular", "irregular"),
            {
                "regular": {
                    "structural": ("regular beat intervals", "evenly spaced heartbeats", "a steady rhythm"),
                    "semantic": ("a normal heart rhythm", "a healthy, regular heartbeat"),
                },
                "irregular": {
                    "structural": ("irregular beat intervals", "unevenly spaced heartbeats", "an irregular rhythm"),
                    "semantic": ("an arrhythmia", "an abnormal heart rhythm"),
                },
            },
            bounds=(0.15,),
        ),
        Family(
            "breathing_rate",
            ("slow", "normal", "fast"),
            {
                "slow": {
                    "statistical": ("about {n} breaths per minute", "RR ~{n} br/min", "breathing at {n}/min"),
                    "semantic": ("slow breathing", "slow, deep breaths"),
                },
                "normal": {
                    "statistical": ("about {n} breaths per minute", "RR ~{n} br/min", "breathing at {n}/min"),
                    "semantic": ("normal breathing", "a normal breathing rate"),
                },
                "fast": {
                    "statistical": ("about {n} breaths per minute", "RR ~{n} br/min", "breathing at {n}/min"),
                    "semantic": ("fast breathing", "rapid breathing", "being out of breath"),
                },
            },
            bounds=(12.0, 20.0),
            ranges={"slow": (6, 10), "normal": (13, 18), "fast": (23, 40)},
        ),
        Family(
            "breathing_pattern",
            ("even", "uneven"),
            {
                "even": {"structural": ("steady, even breaths", "regular breathing"), "semantic": ("calm breathing",)},
                "uneven": {
                    "structural": ("uneven breathing", "irregular breath timing"),
                    "semantic": ("erratic breathing, as when talking or sighing",),
                },
            },
            bounds=(0.25,),
        ),
        Family(
            "activity",
            ("rest", "walk", "run"),
            {
                "rest": {
                    "structural": ("no repetitive movement",),
                    "semantic": ("the person is resting", "sitting still", "at rest"),
                },
                "walk": {
                    "structural": ("a steady stepping rhythm",),
                    "semantic": ("the person is walking", "walking", "a stroll"),
                },
                "run": {
                    "structural": ("fast, forceful strides",),
                    "semantic": ("the person is running", "running", "jogging"),
                },
            },
        ),
        Family(
            "movement_intensity",
            ("low", "moderate", "high"),
            _low_mid_high(
                {"statistical": ("acceleration varies by about {n} g",), "semantic": ("little movement", "still")},
                {"statistical": ("acceleration varies by about {n} g",), "semantic": ("moderate movement",)},
                {
                    "statistical": ("acceleration varies by about {n} g",),
                    "semantic": ("vigorous movement", "a lot of motion"),
                },
            ),
            bounds=(0.05, 0.3),
            ranges={"low": (0.005, 0.03), "moderate": (0.08, 0.25), "high": (0.4, 1.2)},
            digits=2,
        ),
        Family(
            "cadence",
            ("none", "walking", "running"),
            {
                "none": {"structural": ("no step rhythm", "no steps taken")},
                "walking": {
                    "statistical": ("cadence about {n} steps per minute", "~{n} spm", "{n} steps/min"),
                    "structural": ("a walking cadence",),
                },
                "running": {
                    "statistical": ("cadence about {n} steps per minute", "~{n} spm", "{n} steps/min"),
                    "structural": ("a running cadence", "quick steps"),
                },
            },
            bounds=(60.0, 140.0),
            ranges={"walking": (90, 125), "running": (150, 185)},
        ),
        Family(
            "eda_level",
            ("low", "moderate", "high"),
            _low_mid_high(
                {
                    "statistical": ("skin conductance about {n} µS", "EDA ~{n} uS"),
                    "semantic": ("low arousal", "dry skin"),
                },
                {"statistical": ("skin conductance about {n} µS", "EDA ~{n} uS"), "semantic": ("moderate arousal",)},
                {
                    "statistical": ("skin conductance about {n} µS", "EDA ~{n} uS"),
                    "semantic": ("high arousal", "sweaty skin"),
                },
            ),
            bounds=(2.0, 8.0),
            ranges={"low": (0.3, 1.5), "moderate": (2.5, 7.0), "high": (10.0, 20.0)},
            digits=1,
        ),
        Family(
            "scr_count",
            ("none", "few", "many"),
            {
                "none": {"structural": ("no skin conductance responses", "a flat skin conductance")},
                "few": {"statistical": ("{n} skin conductance responses", "{n} SCRs"), "structural": ("a few SCRs",)},
                "many": {
                    "statistical": ("{n} skin conductance responses", "{n} SCRs"),
                    "structural": ("many skin conductance responses", "frequent sweat bursts"),
                },
            },
            bounds=(0.5, 3.5),
            ranges={"few": (1, 3), "many": (5, 9)},
        ),
        Family(
            "signal_quality",
            ("clean", "noisy"),
            {
                "clean": {"semantic": ("a clean recording", "good signal quality", "a clear signal")},
                "noisy": {"semantic": ("a noisy recording", "poor signal quality", "artifacts in the signal")},
            },
            bounds=(0.25,),
        ),
        Family(
            "modality",
            ("ecg", "ppg", "resp", "eda", "emg", "acc"),
            {
                "ecg": {"semantic": ("an ECG", "an electrocardiogram", "heart electrical activity")},
                "ppg": {"semantic": ("a PPG", "a photoplethysmogram", "an optical pulse signal")},
                "resp": {"semantic": ("a respiration signal", "a breathing belt recording")},
                "eda": {"semantic": ("electrodermal activity", "skin conductance", "a GSR signal")},
                "emg": {"semantic": ("an EMG", "muscle electrical activity")},
                "acc": {"semantic": ("accelerometer data", "motion sensor data", "an IMU recording")},
            },
            ordered=False,
        ),
        Family(
            "placement",
            ("chest", "wrist", "finger", "muscle"),
            {
                "chest": {"semantic": ("a chest-worn sensor", "a sensor on the chest", "a chest strap")},
                "wrist": {"semantic": ("a wrist-worn sensor", "a smartwatch", "a sensor on the wrist")},
                "finger": {"semantic": ("a finger sensor", "a fingertip clip")},
                "muscle": {"semantic": ("electrodes on a muscle", "a sensor over a muscle")},
            },
            ordered=False,
        ),
    )
}

#: Where each modality is usually worn when the data do not say (the generator's wrist accelerometer, chest ECG).
DEFAULT_PLACEMENT = {"ecg": "chest", "resp": "chest", "ppg": "wrist", "acc": "wrist", "eda": "finger", "emg": "muscle"}


def write_number(value: float, digits: int, rng: random.Random) -> str:
    """A number as people write it: rounded to what the concept's precision warrants, sometimes to 5 or 10."""
    if digits == 0 and abs(value) >= 20 and rng.random() < 0.3:
        return str(int(round(value / 5.0) * 5))
    return f"{value:.{digits}f}" if digits else str(int(round(value)))


def facts_from_synthetic(row: Mapping[str, Any]) -> dict[str, Any]:
    """Facts of a generator row from its known parameters (numeric and class labels) and its channel types.

    The generator does not record its EDA level, SCR count or beat-level trend; those come from
    :func:`facts_from_measurement`, which :func:`row_facts` merges (known values win). Its rhythm label does win
    over measured beat regularity: the generator knows which beats are ectopic, measurement only guesses.
    """
    numeric = {entry["name"]: float(entry["value"]) for entry in row.get("numeric_labels", [])}
    classes = {entry["name"]: entry["value"] for entry in row.get("class_labels", [])}
    facts: dict[str, Any] = {"modalities": sorted(set(row["channel_types"]))}
    for name, key in (("heart_rate_bpm", "heart_rate"), ("respiration_rate_bpm", "breathing_rate")):
        if name in numeric:
            facts[key] = numeric[name]
    if "hrv_rmssd_ms" in numeric:
        facts["hrv"] = numeric["hrv_rmssd_ms"]
    if "cadence_spm" in numeric:
        facts["cadence"] = numeric["cadence_spm"]
    if "activity" in classes:
        facts["activity"] = classes["activity"]
    if "noise_level" in numeric:
        facts["signal_quality"] = numeric["noise_level"]
    if "rhythm" in classes:
        facts["rhythm"] = "regular" if classes["rhythm"] == "sinus" else "irregular"
    return facts


def facts_from_measurement(
    signals: Sequence[np.ndarray], sampling_rate: Sequence[float], channel_types: Sequence[str]
) -> dict[str, Any]:
    """Facts measured from the channels: heart rate, HRV, trend and rhythm from beats; breathing rate and pattern
    from the respiration channel; intensity, cadence and activity from acceleration; EDA level and SCR count."""
    by_type: dict[str, list[tuple[np.ndarray, float]]] = {}
    for x, fs, kind in zip(signals, sampling_rate, channel_types):
        by_type.setdefault(kind, []).append((np.asarray(x, dtype=np.float64), float(fs)))
    facts: dict[str, Any] = {"modalities": sorted(by_type)}
    for kind in ("ecg", "ppg"):
        if kind in by_type and "heart_rate" not in facts:
            beats = physiology.beat_times(*by_type[kind][0], kind=kind)
            for key, value in (
                ("heart_rate", physiology.heart_rate_bpm(beats)),
                ("hrv", physiology.rmssd_ms(beats)),
                ("heart_rate_trend", physiology.heart_rate_change_bpm(beats)),
                ("rhythm", physiology.interval_variation(beats)),
            ):
                if value is not None:
                    facts[key] = value
    if "resp" in by_type:
        x, fs = by_type["resp"][0]
        rate = physiology.breathing_rate_bpm(x, fs)
        variation = physiology.interval_variation(physiology.breath_times(x, fs))
        if rate is not None:
            facts["breathing_rate"] = rate
        if variation is not None:
            facts["breathing_pattern"] = variation
    if "acc" in by_type:
        axes = [x for x, _ in by_type["acc"]]
        fs = by_type["acc"][0][1]
        facts["movement_intensity"] = physiology.movement_intensity(axes)
        facts["cadence"] = physiology.cadence_spm(axes, fs)
        facts["activity"] = "rest" if facts["cadence"] == 0 else ("run" if facts["cadence"] >= 140 else "walk")
    if "eda" in by_type:
        x, fs = by_type["eda"][0]
        facts["eda_level"] = float(np.mean(x))
        facts["scr_count"] = physiology.scr_count(x, fs)
    return facts


def _classes_of(facts: Mapping[str, Any]) -> dict[str, tuple[str, float | None]]:
    """family -> (class, number or None) for every family the facts support."""
    out: dict[str, tuple[str, float | None]] = {}
    for name, family in FAMILIES.items():
        if name in ("modality", "placement") or name not in facts:
            continue
        value = facts[name]
        out[name] = (value, None) if isinstance(value, str) else (family.classify(float(value)), float(value))
    modalities = list(facts.get("modalities", []))
    if len(modalities) == 1:
        out["modality"] = (modalities[0], None)
        placement = facts.get("placement", DEFAULT_PLACEMENT.get(modalities[0]))
        if placement in FAMILIES["placement"].classes:
            out["placement"] = (placement, None)
    return out


def _phrase(family: Family, value: str, level: str, number: float | None, rng: random.Random) -> str | None:
    options = family.phrases.get(value, {}).get(level, ())
    if not options or (level == "statistical" and number is None):
        return None
    text = rng.choice(options)
    return text.format(n=write_number(number, family.digits, rng)) if "{n}" in text else text


def segment_captions(facts: Mapping[str, Any], seed: int | random.Random = 0) -> list[Caption]:
    """One caption per (family, level) the facts support, paraphrase and number format drawn with ``seed``."""
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    captions = []
    for name, (value, number) in _classes_of(facts).items():
        family = FAMILIES[name]
        for level in LEVELS:
            text = _phrase(family, value, level, number, rng)
            if text is not None:
                captions.append(Caption(name, level, value, text))
    return captions


def hard_negative(caption: Caption, seed: int | random.Random = 0) -> Caption | None:
    """A caption of the same family and level that contradicts ``caption`` (``None`` if the family has no phrase
    for the contradicting class at that level): "fast" gets "slow", 72 bpm gets a number from another band."""
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    family = FAMILIES[caption.family]
    for value in family.contradictions(caption.value, rng):
        number = None
        if caption.level == "statistical":
            low, high = (family.ranges or {}).get(value, (None, None))
            if low is None:
                continue
            number = rng.uniform(low, high)
        text = _phrase(family, value, caption.level, number, rng)
        if text is not None:
            return Caption(caption.family, caption.level, value, text)
    return None


def row_facts(row: Mapping[str, Any]) -> dict[str, Any]:
    """Facts of a schema row: measured, overridden by what the generator knows (synthetic rows).

    An irregular rhythm states no HRV: RMSSD of fibrillating or ectopic beats measures the arrhythmia, not the
    autonomic variability that "high heart rate variability" or "a relaxed heart" describe (HRV is read in sinus
    rhythm only), and such captions taught the head that an irregular heart is a relaxed one."""
    facts = facts_from_measurement(row["signals"], row["sampling_rate"], row["channel_types"])
    facts.update(facts_from_synthetic(row))
    if facts.get("rhythm") == "irregular":
        facts.pop("hrv", None)
    return facts


def row_captions(row: Mapping[str, Any], seed: int | random.Random = 0) -> list[Caption]:
    """Captions of a schema row: known physiology where the row carries it (synthetic), measured otherwise."""
    return segment_captions(row_facts(row), seed)
