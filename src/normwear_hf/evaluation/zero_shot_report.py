"""Markdown for recorded zero-shot results: the held-out table and scores with their bootstrap intervals.

It lives in ``evaluation`` (not ``zero_shot``) because the benchmark report and the model card print results that a
zero-shot training run wrote to ``zero_shot_results.json``: they read the file and need no zero-shot code, so
``evaluation`` never imports ``zero_shot`` (``zero_shot`` builds on ``evaluation``, see docs/architecture.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["INTERVAL_NOTE", "has_interval", "held_out_table", "with_interval"]

INTERVAL_NOTE = "Brackets: 95% bootstrap intervals over the held-out recordings (1,000 resamples)."


def held_out_table(summary: Mapping[str, Any]) -> list[str]:
    """Markdown rows of the held-out zero-shot table (this model vs the CLAP-style baseline vs chance) from the
    flat summary in ``zero_shot_results.json`` (``held_out_tasks``, ``macro_auroc``, ``clap_macro_auroc``)."""
    lines = [
        "| held-out task | classes | n | NormWear zero-shot AUROC | CLAP-style baseline AUROC | chance |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in summary["held_out_tasks"]:
        ours = with_interval(row["auroc"], row.get("auroc_ci"))
        clap = with_interval(row["clap_baseline_auroc"], row.get("clap_baseline_auroc_ci"))
        lines.append(f"| {row['task']} | {row['num_classes']} | {row['n']} | {ours} | {clap} | 0.500 |")
    clap = summary.get("clap_macro_auroc")
    clap_cell = "n/a" if clap is None else with_interval(clap, summary.get("clap_macro_auroc_ci"))
    ours = with_interval(summary["macro_auroc"], summary.get("macro_auroc_ci"))
    lines.append(f"| **macro** | | | **{ours}** | {clap_cell} | 0.500 |")
    if has_interval(summary.get("macro_auroc_ci")):
        lines += ["", INTERVAL_NOTE]
    return lines


def has_interval(interval: Any) -> bool:
    """Whether ``interval`` is a usable ``[low, high]`` pair of finite numbers (results may hold NaN or null)."""
    return (
        isinstance(interval, (list, tuple))
        and len(interval) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in interval)
    )


def with_interval(value: float, interval: Any) -> str:
    """``0.640 [0.57, 0.70]``: a score with its bootstrap interval (just the score when there is none)."""
    if not has_interval(interval):
        return f"{value:.3f}"
    return f"{value:.3f} [{interval[0]:.2f}, {interval[1]:.2f}]"
