"""The card's figure: the pretraining loss (and learning rate) per optimizer step, drawn from ``metrics.jsonl``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .inputs import is_number

__all__ = ["plot_loss_curve"]


def plot_loss_curve(metrics: Sequence[Mapping[str, Any]], path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw the pretraining loss (and the learning rate, when logged) per optimizer step into a PNG."""
    if not metrics:
        raise ValueError("No metrics to plot: metrics.jsonl is empty.")
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("The loss curve needs matplotlib: pip install 'normwear-hf[bench]'.") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [int(record["step"]) for record in metrics]
    losses = [float(record["loss"]) for record in metrics]
    figure, axis = plt.subplots(figsize=(6, 3.6))
    axis.plot(steps, losses, color="tab:blue", marker="o" if len(steps) <= 30 else None, markersize=3, label="loss")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("masked-reconstruction loss")
    if min(losses) > 0 and max(losses) / min(losses) > 10:
        axis.set_yscale("log")
    axis.grid(alpha=0.3)
    if all(is_number(record.get("lr")) for record in metrics):
        twin = axis.twinx()
        twin.plot(steps, [float(record["lr"]) for record in metrics], color="tab:gray", linestyle="--", label="lr")
        twin.set_ylabel("learning rate", color="tab:gray")
        twin.tick_params(axis="y", colors="tab:gray")
    axis.set_title(title or "Pretraining loss", fontsize=9)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
