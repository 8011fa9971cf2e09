"""Chunk-swap augmentation: the NormWear paper multiplies its pretraining corpus about 10x by swapping chunks.

The paper gives no recipe beyond the name, so this is the documented version used here:

1. **Cut** every channel of a recording into ``k`` chunks at the *same times*. Chunk boundaries lie on a time
   grid on which every channel has a whole number of samples (the quantum ``1 / gcd(rates)`` seconds, e.g.
   0.5 s for 250 Hz + 64 Hz, 1 s for 25 Hz + 32 Hz), as close as possible to ``k`` equal parts, so that
   after the swap the channels are still exactly synchronous, whatever their rates. When a recording is too
   short for ``k`` chunks on that grid, boundaries are rounded per channel at the same relative times
   (synchronous to within a sample per chunk). Without sampling rates, channel lengths stand in for them.
2. **Permute** the chunks with one random permutation shared by all channels (never the identity when
   ``k > 1``): the local morphology (beats, breaths, steps) is kept, the long-range order is not.
3. Optionally **replace** one chunk (with probability ``replace_prob``) by the chunk at the same times of a
   ``donor``: another recording with the same channel layout (same channel types, rates and lengths, so
   same modalities).

Shapes and dtypes are kept. Without a donor every channel keeps exactly its multiset of values. Everything
is deterministic given the ``numpy.random.Generator`` passed in.

On schema rows, :func:`chunk_swap_example` keeps the labels (they describe the whole window: rates, activity
and noise level survive a permutation, although a peak count can move by about one beat per cut) unless a
donor chunk was inserted, in which case labels are dropped. :func:`multiply_with_chunk_swap` streams each row
followed by ``factor - 1`` augmented copies, the paper's corpus multiplication.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from .schema import validate_example

__all__ = ["chunk_swap", "chunk_swap_example", "multiply_with_chunk_swap"]

DEFAULT_CHUNKS = 4


def _boundaries(lengths: Sequence[int], rates: Sequence[float] | None, k: int) -> list[np.ndarray]:
    """Per channel, the ``k + 1`` sample indices of the chunk boundaries (first 0, last the length)."""
    if rates is None:
        rates = [float(length) for length in lengths]
    fractions = [Fraction(float(rate)).limit_denominator(1000) for rate in rates]
    denominator = math.lcm(*(f.denominator for f in fractions))
    scaled = [int(f * denominator) for f in fractions]
    common = math.gcd(*scaled)
    per_quantum = [value // common for value in scaled]  # samples of each channel in one quantum of time
    quanta = min(length // m for length, m in zip(lengths, per_quantum))
    if quanta >= k:
        cuts = np.round(np.arange(k) * quanta / k).astype(np.int64)
        return [np.append(cuts * m, length) for length, m in zip(lengths, per_quantum)]
    return [np.round(np.arange(k + 1) * length / k).astype(np.int64) for length in lengths]


def _permutation(rng: np.random.Generator, k: int) -> np.ndarray:
    order = rng.permutation(k)
    if k > 1 and np.array_equal(order, np.arange(k)):
        i, j = rng.choice(k, size=2, replace=False)
        order[[i, j]] = order[[j, i]]
    return order


def _swap(
    signals: np.ndarray | Sequence[Sequence[float]],
    rng: np.random.Generator,
    n_chunks: int | tuple[int, int],
    sampling_rate: float | Sequence[float] | None,
    donor: np.ndarray | Sequence[Sequence[float]] | None,
    replace_prob: float,
) -> tuple[list[np.ndarray], np.ndarray, int | None]:
    channels = [np.asarray(channel) for channel in signals]
    if not channels or any(channel.ndim != 1 for channel in channels):
        raise ValueError("chunk_swap expects [C, T] or a non-empty list of 1-D channels.")
    if isinstance(n_chunks, tuple):
        k = int(rng.integers(n_chunks[0], n_chunks[1] + 1))
    else:
        k = int(n_chunks)
    if k < 1:
        raise ValueError(f"n_chunks must be at least 1, got {k}.")
    lengths = [channel.size for channel in channels]
    k = min(k, min(lengths))  # a channel of L samples has at most L chunks (k = 1 leaves the recording as is)
    if not 0.0 <= replace_prob <= 1.0:
        raise ValueError(f"replace_prob must be in [0, 1], got {replace_prob}.")
    rates = None
    if sampling_rate is not None:
        rates = [float(sampling_rate)] * len(channels) if np.isscalar(sampling_rate) else list(sampling_rate)
        if len(rates) != len(channels):
            raise ValueError(f"{len(rates)} sampling rates for {len(channels)} channels.")
    donors = None
    if donor is not None:
        donors = [np.asarray(channel) for channel in donor]
        if [d.size for d in donors] != lengths:
            raise ValueError(
                f"the donor's channel lengths {[d.size for d in donors]} differ from the recording's {lengths}; "
                "a donor needs the same channels, rates and duration."
            )

    order = _permutation(rng, k)
    replaced = None
    if donors is not None and replace_prob > 0 and rng.random() < replace_prob:
        replaced = int(rng.integers(k))  # the output slot whose chunk comes from the donor
    out = []
    for c, (channel, cuts) in enumerate(zip(channels, _boundaries(lengths, rates, k))):
        pieces = []
        for slot, chunk in enumerate(order):
            source = donors[c] if slot == replaced else channel
            pieces.append(source[cuts[chunk] : cuts[chunk + 1]].astype(channel.dtype, copy=False))
        out.append(np.concatenate(pieces))
    return out, order, replaced


def chunk_swap(
    signals: np.ndarray | Sequence[Sequence[float]],
    rng: np.random.Generator,
    n_chunks: int | tuple[int, int] = DEFAULT_CHUNKS,
    *,
    sampling_rate: float | Sequence[float] | None = None,
    donor: np.ndarray | Sequence[Sequence[float]] | None = None,
    replace_prob: float = 0.0,
) -> np.ndarray | list[np.ndarray]:
    """Cut all channels into ``n_chunks`` chunks at the same times and permute them with one permutation.

    Args:
        signals: ``[C, T]`` array or a list of 1-D channels (lengths may differ: different rates).
        rng: ``numpy.random.Generator``; the result is a function of its state.
        n_chunks: number of chunks ``k``, or ``(low, high)`` to draw it (inclusive); capped at the shortest
            channel's length.
        sampling_rate: one rate or one per channel; puts the cuts on a grid where every channel has whole
            samples (exact synchrony). Without it, channel lengths stand in for rates.
        donor: a recording with the same channel lengths (same modalities, rates and duration); with
            probability ``replace_prob`` one output chunk is taken from it at the same times.

    Returns an array of the same shape and dtype for an array input, else a list of arrays.
    """
    out, _, _ = _swap(signals, rng, n_chunks, sampling_rate, donor, replace_prob)
    if isinstance(signals, np.ndarray) and signals.ndim == 2:
        return np.stack(out).astype(signals.dtype, copy=False)
    return out


def _layout(example: Mapping[str, Any]) -> tuple:
    return (
        tuple(example["channel_types"]),
        tuple(float(rate) for rate in example["sampling_rate"]),
        tuple(len(signal) for signal in example["signals"]),
    )


def chunk_swap_example(
    example: Mapping[str, Any],
    rng: np.random.Generator,
    n_chunks: int | tuple[int, int] = DEFAULT_CHUNKS,
    *,
    donor: Mapping[str, Any] | None = None,
    replace_prob: float = 0.5,
    id_suffix: str | None = None,
) -> dict[str, Any]:
    """:func:`chunk_swap` on a schema row; returns a new, validated row (the input is not modified).

    ``donor`` must be a row with the same channel types, rates and lengths; it is used with probability
    ``replace_prob`` (ignored without a donor). The new ``recording_id`` is the old one plus ``id_suffix``
    (default ``~swap<permutation>``, and ``+<donor id>`` when a donor chunk went in). Labels are kept, or
    dropped when a donor chunk went in.
    """
    if donor is not None and _layout(donor) != _layout(example):
        raise ValueError(
            f"donor {donor.get('recording_id', '?')!r} has a different channel layout (types, rates, lengths) "
            f"from {example.get('recording_id', '?')!r}."
        )
    signals = [np.asarray(signal, dtype=np.float32) for signal in example["signals"]]
    donor_signals = None if donor is None else [np.asarray(s, dtype=np.float32) for s in donor["signals"]]
    out, order, replaced = _swap(
        signals, rng, n_chunks, list(example["sampling_rate"]), donor_signals, replace_prob if donor else 0.0
    )
    suffix = id_suffix
    if suffix is None:
        suffix = "~swap" + "-".join(str(int(i)) for i in order)
        if replaced is not None:
            suffix += f"+{donor['recording_id']}"
    row = {**example, "signals": out, "recording_id": f"{example['recording_id']}{suffix}"}
    if replaced is not None:
        row["class_labels"], row["numeric_labels"] = [], []
    validate_example(row)
    return row


def multiply_with_chunk_swap(
    examples: Iterable[Mapping[str, Any]],
    factor: int = 10,
    seed: int = 0,
    n_chunks: int | tuple[int, int] = (3, 6),
    replace_prob: float = 0.0,
) -> Iterator[dict[str, Any]]:
    """Yield each row, then ``factor - 1`` chunk-swapped copies (ids suffixed ``~aug1``, ``~aug2``, ...).

    Copy ``j`` of row ``i`` uses ``SeedSequence(seed, spawn_key=(i,))``, so the stream is deterministic. With
    ``replace_prob > 0`` the donor is the most recent earlier row with the same channel layout (if any).
    """
    if factor < 1:
        raise ValueError(f"factor must be at least 1, got {factor}.")
    donors: dict[tuple, Mapping[str, Any]] = {}
    for index, example in enumerate(examples):
        yield dict(example)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
        layout = _layout(example)
        donor = donors.get(layout) if replace_prob > 0 else None
        for copy in range(1, factor):
            yield chunk_swap_example(
                example, rng, n_chunks, donor=donor, replace_prob=replace_prob, id_suffix=f"~aug{copy}"
            )
        if replace_prob > 0:
            donors[layout] = example
