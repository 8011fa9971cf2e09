"""The card's Markdown template (``template.md``, package data) and the strict filling of its placeholders.

An unknown or unfilled ``{{ name }}`` is an error, so template and generator cannot drift apart silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["TEMPLATE_PATH", "fill_template", "read_filled"]

TEMPLATE_PATH = Path(__file__).resolve().parent / "template.md"
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """Replace every ``{{ name }}``; a placeholder without a value, or a value without a placeholder, raises.

    A placeholder alone on its line whose value is empty removes the line; runs of blank lines shrink to one.
    """
    used = set(_PLACEHOLDER.findall(template))
    missing, unused = sorted(used - set(values)), sorted(set(values) - used)
    if missing or unused:
        raise ValueError(
            f"Model card template and values disagree: no value for {missing}, no placeholder for {unused}."
        )
    lines = [
        line
        for line in template.split("\n")
        if not ((match := _PLACEHOLDER.fullmatch(line.strip())) and not values[match.group(1)].strip())
    ]  # a placeholder alone on its line with nothing to say leaves no blank line (e.g. in a list)
    text = _PLACEHOLDER.sub(lambda match: values[match.group(1)], "\n".join(lines))
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


def read_filled(template: str, card: str) -> dict[str, str]:
    """The values a card was filled with: the inverse of :func:`fill_template`, checked by filling them back.

    Lets a card be regenerated in part (e.g. a new zero-shot head on the same backbone) when the inputs of its
    other parts (the pretraining run's folder) are no longer at hand. Two placeholders with only newlines between
    them could split their text anywhere, so the first holds one line (single newline between) or one paragraph
    (blank line between); the template keeps multi-paragraph values apart with literal text (a heading). Raises
    when the card does not come from ``template`` (hand-edited, or another template version)."""
    pieces = _PLACEHOLDER.split(template)
    pattern, names = "", []
    for index, piece in enumerate(pieces):
        if index % 2 == 0:  # filling shrinks blank-line runs: any run of newlines matches any other
            pattern += "\n+".join(re.escape(part) for part in re.split(r"\n+", piece))
            continue
        before, after = pieces[index - 1], pieces[index + 1]
        inline = before.rsplit("\n", 1)[-1].strip() or after.split("\n", 1)[0].strip()
        if inline or (not after.strip() and "\n\n" not in after):
            value = "[^\n]*?"  # inside a line of text, or a line-per-item list: one line
        elif not after.strip():
            value = "(?:(?!\n\n).)*?"  # right before another placeholder: one paragraph (else ambiguous)
        else:
            value = ".*?"
        pattern += f"(?P={piece})" if piece in names else f"(?P<{piece}>{value})"
        names.append(piece)
    match = re.fullmatch(pattern + "\n*", card, re.DOTALL)
    if match is None:
        raise ValueError("The model card does not follow the template; regenerate it whole with write_model_card.")
    values = match.groupdict()
    if fill_template(template, values) != card:
        raise ValueError("The model card's values do not fill the template back to the same card; regenerate it.")
    return values
