"""Zero-shot classification of physiological signals by aligning NormWear with a frozen sentence encoder.

Names are imported on first use (PEP 562), so that ``normwear_hf.zero_shot.prompts`` stays light for the CLI.
"""

from .._lazy import lazy_getattr

_LAZY_NAMES = {
    "check_candidate_labels": "engine",
    "DEFAULT_HYPOTHESIS_TEMPLATE": "prompts",
    "HELD_IN_TASKS": "prompts",
    "HELD_OUT_TASKS": "prompts",
    "DEFAULT_TEXT_ENCODER": "text_encoder",
    "SentenceEncoder": "text_encoder",
}


__getattr__ = lazy_getattr(__name__, _LAZY_NAMES, globals())


__all__ = [
    "DEFAULT_HYPOTHESIS_TEMPLATE",
    "DEFAULT_TEXT_ENCODER",
    "HELD_IN_TASKS",
    "HELD_OUT_TASKS",
    "SentenceEncoder",
    "check_candidate_labels",
]
