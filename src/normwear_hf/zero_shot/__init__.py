"""Zero-shot classification of physiological signals by aligning NormWear with a frozen sentence encoder."""

from .engine import check_candidate_labels
from .prompts import DEFAULT_HYPOTHESIS_TEMPLATE, HELD_IN_TASKS, HELD_OUT_TASKS
from .text_encoder import DEFAULT_TEXT_ENCODER, SentenceEncoder

__all__ = [
    "DEFAULT_HYPOTHESIS_TEMPLATE",
    "DEFAULT_TEXT_ENCODER",
    "HELD_IN_TASKS",
    "HELD_OUT_TASKS",
    "SentenceEncoder",
    "check_candidate_labels",
]
