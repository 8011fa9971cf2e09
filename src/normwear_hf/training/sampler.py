"""Deterministic, resumable batches for any number of processes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class EpochBatchSampler:
    """Micro-batches of row indices for one process, as a pure function of (seed, epoch, position).

    Every epoch is a fresh permutation of the corpus seeded by ``(seed, epoch)``; it is cut into global
    batches of ``batch_size x world_size`` rows (an incomplete last one is dropped) and each process takes its
    slice. Starting at ``start`` (a micro-batch count) reproduces exactly what an uninterrupted run would have
    seen from there on, which is what makes kill-and-resume lose nothing. Yields ``(epoch, indices)``.
    """

    def __init__(self, num_rows: int, batch_size: int, world_size: int = 1, rank: int = 0, seed: int = 0) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world size {world_size}.")
        self.num_rows, self.batch_size, self.world_size, self.rank, self.seed = (
            num_rows,
            batch_size,
            world_size,
            rank,
            seed,
        )
        self.batches_per_epoch = num_rows // (batch_size * world_size)
        if self.batches_per_epoch == 0:
            raise ValueError(
                f"The corpus has {num_rows} rows, fewer than one global batch of {batch_size} x {world_size} "
                "processes; lower the batch size or build a larger corpus."
            )

    def epoch_order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_rows)

    def iterate(self, start: int = 0) -> Iterator[tuple[int, list[int]]]:
        """Endless micro-batches from micro-batch number ``start`` on."""
        position = start
        while True:
            epoch, within = divmod(position, self.batches_per_epoch)
            order = self.epoch_order(epoch)
            for batch in range(within, self.batches_per_epoch):
                first = (batch * self.world_size + self.rank) * self.batch_size
                yield epoch, order[first : first + self.batch_size].tolist()
                position += 1
