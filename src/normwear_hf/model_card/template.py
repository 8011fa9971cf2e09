"""The card's Markdown template (``template.md``, package data) and the strict filling of its placeholders.

An unknown or unfilled ``{{ name }}`` is an error, so template and generator cannot drift apart silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["TEMPLATE_PATH", "fill_template"]

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
