"""Candidate-label and template checks of zero-shot classification, shared by the pipeline, CLI, ONNX and training.

This file is copied next to exported zero-shot models for ``trust_remote_code`` (the remote pipeline needs it):
it imports only the standard library.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

DEFAULT_HYPOTHESIS_TEMPLATE = "This signal shows {}."


def has_zero_shot_head(model: Any) -> bool:
    """Whether ``model`` is a zero-shot model (configured aggregator and its weights)."""
    return getattr(model.config, "zero_shot_aggregator", None) is not None and hasattr(model, "aggregator")


def check_candidate_labels(candidate_labels: Any) -> list[str]:
    """The labels as a list of distinct non-empty strings, or a ValueError that says what is wrong."""
    if candidate_labels is None:
        raise ValueError("candidate_labels is required: pass at least two labels, e.g. ['resting', 'running'].")
    if isinstance(candidate_labels, str):
        candidate_labels = [part.strip() for part in candidate_labels.split(",")]
    labels = list(candidate_labels)
    if any(not isinstance(label, str) for label in labels):
        raise ValueError(f"candidate_labels must be strings, got {labels!r}.")
    if any(not label.strip() for label in labels):
        raise ValueError(f"candidate_labels contains an empty label: {labels!r}; every label needs some words.")
    if len(labels) < 2:
        raise ValueError(
            f"Zero-shot classification needs at least two candidate labels to choose between, got {labels!r}."
        )
    normalised = [label.strip().lower() for label in labels]
    duplicates = sorted({label for label, key in zip(labels, normalised) if normalised.count(key) > 1})
    if duplicates:
        raise ValueError(f"candidate_labels has duplicates {duplicates}: each label must appear once.")
    return labels


def check_template(hypothesis_template: str) -> None:
    """Exactly one replacement field, ``{}``, and nothing else for ``str.format`` to interpret.

    ``"this is {{}}"`` contains the characters ``{}`` but formats to a constant sentence (every label would get the
    same score), and other fields (``"{} {}"``, ``"{x}"``, ``"{:>9999999}"``) raise or allocate inside ``format``.
    """
    if not isinstance(hypothesis_template, str):
        raise ValueError(f"hypothesis_template must be a string with one '{{}}', got {hypothesis_template!r}.")
    try:
        fields = [part[1:] for part in string.Formatter().parse(hypothesis_template) if part[1] is not None]
    except ValueError as error:  # unbalanced braces
        raise ValueError(
            f"hypothesis_template {hypothesis_template!r} is not a valid template ({error}); write one '{{}}' where "
            "the label goes, e.g. 'This signal shows {}.' (write '{{' or '}}' for a literal brace)."
        ) from None
    if fields != [("", "", None)]:
        raise ValueError(
            f"hypothesis_template must contain '{{}}' exactly once, where the label goes, and no other replacement "
            f"field, got {hypothesis_template!r}; e.g. 'This signal shows {{}}.'"
        )


def label_sentences(labels: Sequence[str], hypothesis_template: str) -> list[str]:
    """One sentence per label: the checked template filled with the label."""
    check_template(hypothesis_template)
    return [hypothesis_template.format(label) for label in labels]
