"""Incremental resampling and windowing: samples in, model windows out, in constant memory.

The feature extractor resamples a whole recording at once, which holds all of it (and its 65 Hz copy) in memory.
Here each channel is resampled block by block: a block covers input samples ``[a, b)`` with ``a`` and ``b``
multiples of the polyphase decimation factor ``down``, and is filtered together with ``margin`` samples of
context on each side (the filter's reach plus the longest gap that is interpolated). Polyphase outputs depend
only on inputs within the filter's reach, and a shift by a multiple of ``down`` input samples is a shift by a
whole number of outputs, so the 65 Hz samples are exactly those of ``resample`` on the whole recording however
the input is cut into chunks. Windows are then cut from the 65 Hz streams at a fixed hop.

Missing samples (NaN) do not stop a long recording: runs of up to ``max_gap`` samples between good samples are
interpolated, as the feature extractor does, longer runs are set to zero (a local rule, so chunking cannot change
it), and the fraction of each window that was missing is reported for the quality checks to mask the channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.signal

from .signal_processing import TARGET_SAMPLING_RATE, interpolate_missing, resample_ratio, resampled_length


def fill_gaps(values: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """``(filled, missing)`` for one channel: short interior NaN runs interpolated, all other NaN set to 0."""
    missing = np.isnan(values)
    if not missing.any():
        return values, missing
    if np.isinf(values).any():
        raise ValueError(
            "the signal contains infinite values (+/-inf): an overflow or a decoding error; replace them with NaN "
            "to have them treated as missing samples."
        )
    n = values.size
    index = np.arange(n)
    previous = np.maximum.accumulate(np.where(missing, -1, index))
    following = np.minimum.accumulate(np.where(missing, n, index)[::-1])[::-1]
    short = missing & (previous >= 0) & (following < n) & (following - previous - 1 <= max_gap)
    filled = np.where(missing, 0.0, values)
    if short.any():
        filled = interpolate_missing(filled, short)
    return filled, missing


class StreamingResampler:
    """One channel from ``rate`` Hz to the model rate, fed in chunks of any size.

    ``push`` returns the 65 Hz samples (and the missing fraction per sample) that no later input can change;
    ``finish`` returns the rest, including the recording's end. Memory: the margin plus one chunk.
    """

    def __init__(self, rate: float, max_gap_seconds: float = 1.0, target: float = TARGET_SAMPLING_RATE) -> None:
        self.rate = float(rate)
        self.target = float(target)
        self.identity = self.rate == self.target
        self.up, self.down = (1, 1) if self.identity else resample_ratio(self.rate, self.target)
        reach = 0 if self.identity else math.ceil(10 * max(self.up, self.down) / self.up) + 2
        self.max_gap = int(math.floor(max_gap_seconds * self.rate + 1e-9))
        self.margin = math.ceil((reach + self.max_gap + 2) / self.down) * self.down
        self._buffer = np.empty(0, dtype=np.float64)
        self._buffer_start = 0  # input index of _buffer[0]
        self._done = 0  # input samples whose outputs were returned (a multiple of down until finish)
        self.total_in = 0
        self.emitted = 0
        self.finished = False

    def push(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.finished:
            raise ValueError("this stream is finished; start a new one for new samples.")
        samples = np.asarray(samples, dtype=np.float64).ravel()
        if samples.size:
            self._buffer = np.concatenate([self._buffer, samples])
            self.total_in += samples.size
        end = (self.total_in - self.margin) // self.down * self.down
        if end <= self._done:
            return np.empty(0), np.empty(0)
        return self._process(end, final=False)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        if self.finished:
            return np.empty(0), np.empty(0)
        self.finished = True
        if self.total_in == 0:
            return np.empty(0), np.empty(0)
        return self._process(self.total_in, final=True)

    def _process(self, end: int, final: bool) -> tuple[np.ndarray, np.ndarray]:
        start = max(0, self._done - self.margin)
        stop = self.total_in if final else end + self.margin
        segment = self._buffer[start - self._buffer_start : stop - self._buffer_start]
        values, missing = fill_gaps(segment, self.max_gap)
        skip = (self._done - start) * self.up // self.down
        if final:
            count = resampled_length(self.total_in, self.rate, self.target) - self.emitted
        else:
            count = (end - self._done) * self.up // self.down
        out = self._resample(values, skip, count)
        lost = self._resample(missing.astype(np.float64), skip, count) if missing.any() else np.zeros(count)
        self.emitted += out.size
        self._done = end
        keep_from = max(0, self._done - self.margin)
        self._buffer = self._buffer[keep_from - self._buffer_start :]
        self._buffer_start = keep_from
        return out, np.clip(lost, 0.0, 1.0)

    def _resample(self, values: np.ndarray, skip: int, count: int) -> np.ndarray:
        if count <= 0:
            return np.empty(0)
        if self.identity:
            out = values[skip : skip + count]
        elif values.size == 1:
            out = np.repeat(values, skip + count)[skip:]
        else:
            out = scipy.signal.resample_poly(values, self.up, self.down, padtype="antireflect")[skip : skip + count]
        if out.size < count:  # the polyphase output is one sample short: edge-pad, as ``resample`` does
            out = np.pad(out, (0, count - out.size), mode="edge")
        if not np.isfinite(out).all():  # windows divide huge values by their peak; this is beyond even that
            raise ValueError(
                f"a channel at {self.rate:g} Hz reaches the float64 limit (|x| near 1.8e308) and overflows when "
                "resampled; no physical unit comes near it: divide the signal by a power of ten (e.g. 1e300), or check "
                "its decoding."
            )
        return np.ascontiguousarray(out)


@dataclass
class StreamWindow:
    """One model window: its number, first sample at the model rate, values ``[C, L]`` and missing ``[C]``."""

    index: int
    start: int
    values: np.ndarray
    missing: np.ndarray


class WindowStream:
    """Channels at their own rates in, model windows (``window`` samples every ``hop`` samples at 65 Hz) out."""

    def __init__(
        self,
        rates: list[float],
        window: int,
        hop: int,
        max_gap_seconds: float = 1.0,
        target: float = TARGET_SAMPLING_RATE,
    ) -> None:
        if window < 1 or hop < 1:
            raise ValueError(f"window and hop must be at least one sample, got {window} and {hop}.")
        self.resamplers = [StreamingResampler(rate, max_gap_seconds, target) for rate in rates]
        self.window, self.hop = int(window), int(hop)
        self._values = [np.empty(0) for _ in rates]
        self._missing = [np.empty(0) for _ in rates]
        self._starts = [0] * len(rates)  # model-rate index of each channel's buffer start
        self._next = 0
        self._count = 0

    @property
    def channels(self) -> int:
        return len(self.resamplers)

    def push(self, chunk: list[np.ndarray]) -> list[StreamWindow]:
        """New samples of every channel (one array per channel, each at its own rate; lengths may differ)."""
        if len(chunk) != self.channels:
            raise ValueError(f"expected new samples for {self.channels} channel(s), got {len(chunk)}.")
        for c, samples in enumerate(chunk):
            self._append(c, *self.resamplers[c].push(samples))
        return self._windows()

    def finish(self) -> list[StreamWindow]:
        """The windows that the end of the recording completes."""
        for c, resampler in enumerate(self.resamplers):
            self._append(c, *resampler.finish())
        return self._windows()

    def _append(self, c: int, values: np.ndarray, missing: np.ndarray) -> None:
        if values.size:
            self._values[c] = np.concatenate([self._values[c], values])
            self._missing[c] = np.concatenate([self._missing[c], missing])

    def _windows(self) -> list[StreamWindow]:
        available = min(start + values.size for start, values in zip(self._starts, self._values))
        out = []
        while self._next + self.window <= available:
            rows = [self._next - start for start in self._starts]
            values = np.stack([v[r : r + self.window] for v, r in zip(self._values, rows)])
            missing = np.array([m[r : r + self.window].mean() for m, r in zip(self._missing, rows)])
            out.append(StreamWindow(self._count, self._next, values, missing))
            self._count += 1
            self._next += self.hop
        for c, start in enumerate(self._starts):  # drop what no window needs any more
            drop = min(self._next, start + self._values[c].size) - start
            if drop > 0:
                self._values[c] = self._values[c][drop:]
                self._missing[c] = self._missing[c][drop:]
                self._starts[c] = start + drop
        return out
