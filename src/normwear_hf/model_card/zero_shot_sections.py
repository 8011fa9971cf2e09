"""The model card's zero-shot parts: the usage note and the "Zero-shot classification" section.

Apart from ``sections.py`` because the zero-shot head grew its own facts (what it reads beyond the paper's MSiTF,
the command that trained it, the tasks it answers inverted) and the card's other sections never read them.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from ..evaluation.zero_shot_report import INTERVAL_NOTE, has_interval, with_interval
from .inputs import is_number
from .sections import _cell, _number_or_na

#: What a head reads beyond the paper's MSiTF: (``arguments`` key of the zero-shot results, what the card says).
HEAD_ADDITIONS = (
    (
        "rhythm",
        "each channel's rhythm descriptor (periodicity, period and beat spacing, from the window before cleaning: "
        "`rhythm_features.py`) becomes a token, pooled over channels beside the patch tokens",
    ),
    ("question_conditioning", "the question joins the pooled tokens: the embedding depends on what is asked"),
    ("text_centering", "sentences are compared after taking out the training texts' mean"),
)


def zero_shot_usage_note(zero_shot: Mapping[str, Any] | None) -> str:
    if zero_shot is not None:
        return (
            "Zero-shot accuracy on held-out tasks is reported under "
            "[Zero-shot classification](#zero-shot-classification)."
        )
    return (
        "> The zero-shot pipeline needs a checkpoint with a trained zero-shot head "
        "(`NormWearForZeroShotClassification`); no zero-shot evaluation was given for this card, so it makes no "
        "claim about zero-shot accuracy."
    )


def zero_shot_section(zero_shot: Mapping[str, Any] | None) -> str:
    if zero_shot is None:
        return (
            "Not evaluated: no zero-shot results were given to the card generator, so this card claims nothing "
            "about zero-shot accuracy."
        )
    tasks = zero_shot["held_out_tasks"]
    lines = []
    if zero_shot.get("text_encoder"):
        lines += [f"Text encoder (frozen): `{zero_shot['text_encoder']}`.", ""]
    objective = zero_shot.get("objective") or (zero_shot.get("arguments") or {}).get("objective")
    if objective == "captions":
        lines += [
            "Aligned caption-contrastively: each training view against the batch's captions of its physiology "
            "(13 concept families, same-family hard negatives; views at other rates, units and signs), with a "
            "quarter of the steps on the held-in tasks' label sets (docs/zero_shot.md).",
            "",
        ]
    lines += _head_lines(zero_shot)
    held_in = zero_shot.get("held_in_tasks") or []
    if held_in:
        lines += [
            f"Held-in tasks (their labels trained the zero-shot head): {', '.join(map(str, held_in))}. "
            "The tasks below were never seen in training.",
            "",
        ]
    if is_number(zero_shot.get("calibration_temperature")):
        lines += [
            f"Scores are softmax(logits / T) with T = {zero_shot['calibration_temperature']:.3g}, fitted on held-in "
            "validation data.",
            "",
        ]
    has_n = any("n" in task for task in tasks)
    has_clap = any(is_number(task.get("clap_baseline_auroc")) for task in tasks)
    columns = ["held-out task", "classes"] + (["n"] if has_n else []) + ["NormWear zero-shot AUROC"]
    columns += (["CLAP-style baseline AUROC"] if has_clap else []) + ["chance"]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    wins = compared = 0
    for task in tasks:
        cells = [_cell(task["task"]), str(task.get("num_classes", "?"))] + ([str(task.get("n", "?"))] if has_n else [])
        cells.append(_scored(task["auroc"], task.get("auroc_ci")))
        if has_clap:
            clap = task.get("clap_baseline_auroc")
            cells.append(_scored(clap, task.get("clap_baseline_auroc_ci")))
            if is_number(clap) and is_number(task["auroc"]):
                compared += 1
                wins += int(task["auroc"] > clap)
        cells.append(_number_or_na(task.get("chance", 0.5), ".2f"))
        lines.append("| " + " | ".join(cells) + " |")
    macro = ["**macro**", ""] + ([""] if has_n else [])
    macro.append(f"**{_scored(zero_shot['macro_auroc'], zero_shot.get('macro_auroc_ci'))}**")
    if has_clap:
        clap_macro = _scored(zero_shot.get("clap_macro_auroc"), zero_shot.get("clap_macro_auroc_ci"))
        macro.append(f"**{clap_macro}**")
    lines.append("| " + " | ".join(macro + [""]) + " |")
    if has_interval(zero_shot.get("macro_auroc_ci")):
        lines += ["", INTERVAL_NOTE]
    if has_clap:
        lines += ["", f"NormWear beats the CLAP-style baseline on {wins} of {compared} held-out tasks."]
    lines += _inverted_lines(tasks)
    undefined = [task["task"] for task in tasks if not is_number(task["auroc"])]
    if undefined:
        lines += ["", f"AUROC undefined (one class only in the test views): {', '.join(map(str, undefined))}."]
    lines += _seed_spread(zero_shot.get("seed_runs") or [], zero_shot.get("seed_runs_note"))
    return "\n".join(lines).strip()


def _scored(value: Any, interval: Any) -> str:
    """A score cell: the number with its interval when the results carry a valid one; n/a when there is none."""
    return with_interval(float(value), interval) if is_number(value) else _number_or_na(value)


def _seed_spread(runs: Sequence[Mapping[str, Any]], note: str | None = None) -> list[str]:
    """A sentence on how much the held-out macro AUROC moves with the training seed (``seed_runs`` entries:
    ``{"seed", "macro_auroc", "clap_macro_auroc"}``); nothing for fewer than two runs."""
    scores = [float(run["macro_auroc"]) for run in runs if is_number(run.get("macro_auroc"))]
    if len(scores) < 2:
        return []
    clap = [float(run["clap_macro_auroc"]) for run in runs if is_number(run.get("clap_macro_auroc"))]
    listed = ", ".join(f"{score:.3f}" for score in scores)
    text = (
        f"Across {len(scores)} training seeds{' (this checkpoint is one of them)' if not note else ''} the held-out "
        "macro AUROC is "
        f"{statistics.mean(scores):.3f} +- {statistics.stdev(scores):.3f} ({listed})"
    )
    if len(clap) >= 2:
        text += f"; the CLAP-style baseline {statistics.mean(clap):.3f} +- {statistics.stdev(clap):.3f}"
    return ["", text + (f"; {note}" if note else "") + "."]


def _head_lines(zero_shot: Mapping[str, Any]) -> list[str]:
    """What the head reads beyond the paper's MSiTF and the command that trained it."""
    arguments = zero_shot.get("arguments") or {}
    additions = [text for key, text in HEAD_ADDITIONS if arguments.get(key)]
    lines = ["Beyond the paper's MSiTF: " + "; ".join(additions) + " (docs/zero_shot.md).", ""] if additions else []
    if zero_shot.get("command"):
        lines += [f"The head was trained with `{zero_shot['command']}`.", ""]
    return lines


def _inverted_lines(tasks: Sequence[Mapping[str, Any]]) -> list[str]:
    """A warning naming the held-out tasks below chance: the head answers them the wrong way round."""
    inverted = [
        f"{task['task']} {task['auroc']:.3f}" for task in tasks if is_number(task["auroc"]) and task["auroc"] < 0.5
    ]
    if not inverted:
        return []
    return [
        "",
        f"Below chance, so answered inverted: {', '.join(inverted)} (docs/benchmarks.md, the zero-shot recipes, "
        "says why). Do not use the head for these concepts.",
    ]


__all__ = ["HEAD_ADDITIONS", "zero_shot_section", "zero_shot_usage_note"]
