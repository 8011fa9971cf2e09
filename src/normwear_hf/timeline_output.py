"""Timeline results on disk: a Parquet table written row group by row group, and a one-page picture.

The table has one row per window (file, window, start_s, end_s, one ``prob:<label>`` column per candidate label,
then per-channel lists ``quality``, ``channels_used``, ``problems`` and ``channel_names``, and the ``embedding``),
so files with different channels share one schema. The picture needs only a few numbers per window (the raw range
of each channel, label probabilities, quality), which :class:`TimelineSummary` keeps: memory stays small for a
day-long recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .timeline import TimelineWindow

ROWS_PER_GROUP = 2048


class TimelineWriter:
    """Append :class:`TimelineWindow` rows to a Parquet file without holding them all."""

    def __init__(self, path: str | Path, candidate_labels: list[str] | None) -> None:
        self.path = Path(path)
        self.labels = list(candidate_labels or [])
        self._rows: list[tuple[str, list[str], TimelineWindow]] = []
        self._writer = None
        self.count = 0

    def add(self, file: str, channel_names: list[str], windows: list[TimelineWindow]) -> None:
        self._rows += [(file, channel_names, window) for window in windows]
        if len(self._rows) >= ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._rows:
            return
        rows = self._rows
        columns = {
            "file": pa.array([file for file, _, _ in rows], pa.string()),
            "window": pa.array([w.index for _, _, w in rows], pa.int64()),
            "start_s": pa.array([w.start_s for _, _, w in rows], pa.float64()),
            "end_s": pa.array([w.end_s for _, _, w in rows], pa.float64()),
        }
        for i, label in enumerate(self.labels):
            columns[f"prob:{label}"] = pa.array([float(w.probabilities[i]) for _, _, w in rows], pa.float32())
        columns["quality"] = pa.array([w.quality.tolist() for _, _, w in rows], pa.list_(pa.float32()))
        columns["channels_used"] = pa.array([w.channels_used.tolist() for _, _, w in rows], pa.list_(pa.bool_()))
        columns["problems"] = pa.array([w.problems for _, _, w in rows], pa.list_(pa.string()))
        columns["channel_names"] = pa.array([names for _, names, _ in rows], pa.list_(pa.string()))
        columns["embedding"] = pa.array([w.embedding.tolist() for _, _, w in rows], pa.list_(pa.float32()))
        table = pa.table(columns)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, table.schema)
        self._writer.write_table(table)
        self.count += len(rows)
        self._rows = []

    def close(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


@dataclass
class TimelineSummary:
    """What the picture of one recording needs, a few numbers per window."""

    channel_names: list[str]
    labels: list[str]
    start_s: list[float] = field(default_factory=list)
    low: list[np.ndarray] = field(default_factory=list)
    high: list[np.ndarray] = field(default_factory=list)
    probabilities: list[np.ndarray] = field(default_factory=list)
    quality: list[np.ndarray] = field(default_factory=list)
    used: list[np.ndarray] = field(default_factory=list)

    def add(self, windows: list[TimelineWindow]) -> None:
        for w in windows:
            self.start_s.append(w.start_s)
            self.low.append(w.signal_min)
            self.high.append(w.signal_max)
            self.quality.append(w.quality)
            self.used.append(w.channels_used)
            if w.probabilities is not None:
                self.probabilities.append(w.probabilities)


def plot_timeline(summary: TimelineSummary, path: str | Path, title: str = "") -> Path:
    """Signals (each window's range, per channel), label probabilities and channel quality over time, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    start = np.asarray(summary.start_s)
    span = start[-1] if start.size else 0.0
    scale, unit = (3600.0, "h") if span >= 2 * 3600 else ((60.0, "min") if span >= 120 else (1.0, "s"))
    t = start / scale
    low, high = np.stack(summary.low), np.stack(summary.high)
    quality, used = np.stack(summary.quality), np.stack(summary.used)
    channels = len(summary.channel_names)
    has_labels = bool(summary.probabilities)
    panels = 3 if has_labels else 2
    heights = [max(2.0, 0.7 * channels), 2.2, max(1.2, 0.35 * channels)][:1] + (
        [2.2, max(1.2, 0.35 * channels)] if has_labels else [max(1.2, 0.35 * channels)]
    )
    fig, axes = plt.subplots(panels, 1, figsize=(12, sum(heights) + 1.2), sharex=True, height_ratios=heights)
    colors = plt.get_cmap("tab10")

    _draw_signals(axes[0], t, low, high, summary.channel_names, colors)

    if has_labels:
        ax = axes[1]
        probabilities = np.stack(summary.probabilities)
        ax.stackplot(
            t,
            probabilities.T,
            labels=summary.labels,
            step="post",
            colors=[colors(i % 10) for i in range(len(summary.labels))],
        )
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
        ax.set_title("zero-shot label probabilities", loc="left", fontsize=10)

    ax = axes[-1]
    edges = np.append(t, t[-1] + (t[-1] - t[-2] if t.size > 1 else 6.0 / scale))
    image = ax.pcolormesh(
        edges, np.arange(channels + 1), quality.T[::-1], cmap="RdYlGn", vmin=0, vmax=1, shading="flat"
    )
    masked_t, masked_c = np.nonzero(~used)
    if masked_t.size:
        ax.scatter(
            t[masked_t] + 0.5 * (edges[1] - edges[0]),
            channels - 1 - masked_c + 0.5,
            marker="x",
            s=12,
            color="black",
            linewidths=0.8,
            label="masked",
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_yticks(np.arange(channels) + 0.5, summary.channel_names[::-1])
    ax.set_title("channel quality (x: masked, not seen by the model)", loc="left", fontsize=10)
    ax.set_xlabel(f"time ({unit})")
    fig.colorbar(image, ax=axes, location="right", fraction=0.02, pad=0.12, label="quality")
    fig.suptitle(title, fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _draw_signals(ax, t: np.ndarray, low: np.ndarray, high: np.ndarray, names: list[str], colors) -> None:
    """The top panel: each window's range of each channel, every channel scaled to its own robust range and stacked
    top to bottom."""
    channels = len(names)
    for c in range(channels):
        lo, hi = np.percentile(low[:, c], 1), np.percentile(high[:, c], 99)
        width = hi - lo if hi > lo else 1.0
        offset = channels - 1 - c
        ax.fill_between(
            t,
            offset + np.clip((low[:, c] - lo) / width, -0.1, 1.1) * 0.85,
            offset + np.clip((high[:, c] - lo) / width, -0.1, 1.1) * 0.85,
            step="post",
            color=colors(c % 10),
            linewidth=0,
        )
    ax.set_yticks(np.arange(channels) + 0.42, names[::-1])
    ax.set_ylim(-0.1, channels)
    ax.set_title("signals (range of each window, per channel scaled)", loc="left", fontsize=10)
