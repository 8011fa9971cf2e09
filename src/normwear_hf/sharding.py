"""Split a list of files across processes started by ``torchrun`` / ``accelerate launch``, then merge their tables.

Embedding a corpus is embarrassingly parallel: each process takes every ``WORLD_SIZE``-th file (from its
``RANK``), writes its own Parquet shard next to the output, and rank 0 waits for all shards and merges them, in
the order one process would have written. Only the environment variables that both launchers set are read, and
the shards meet on the file system, so no process group is needed: the same command runs on CPU processes, GPUs
or nodes with a shared file system, and without a launcher it is one process writing the output directly.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

SHARD_TIMEOUT_S = 24 * 3600.0


def rank_and_world() -> tuple[int, int]:
    """``(RANK, WORLD_SIZE)`` from the environment (``(0, 1)`` when not launched as several processes)."""
    try:
        rank = int(os.environ.get("RANK", "0"))
        world = int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise ValueError(
            f"RANK={os.environ.get('RANK')!r} / WORLD_SIZE={os.environ.get('WORLD_SIZE')!r} are not integers."
        ) from None
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"RANK={rank} must lie in [0, WORLD_SIZE={world}).")
    return rank, world


def _run_id() -> str:
    raw = os.environ.get("NORMWEAR_RUN_ID") or os.environ.get("TORCHELASTIC_RUN_ID") or os.environ.get("MASTER_PORT")
    return re.sub(r"[^A-Za-z0-9_-]", "_", raw or "run")[:64]


@dataclass
class Shard:
    """This process's part of a job: its files, and where its table goes."""

    rank: int
    world: int
    files: list
    out: Path

    @property
    def path(self) -> Path:
        """Where this process writes: the output itself for one process, else a hidden shard beside it."""
        if self.world == 1:
            return self.out
        return self._shard_path(self.rank)

    def _shard_path(self, rank: int) -> Path:
        return self.out.with_name(f".{self.out.name}.{_run_id()}.rank{rank}-of-{self.world}.parquet")

    def _done_path(self, rank: int) -> Path:
        return self._shard_path(rank).with_suffix(".done")

    def mark_done(self) -> None:
        """Say that this shard is complete (its table, if any, is fully written)."""
        if self.world > 1:
            self._done_path(self.rank).write_text("ok\n")

    def merge(self, timeout_s: float = SHARD_TIMEOUT_S, poll_s: float = 0.2) -> int | None:
        """On rank 0: wait for every shard, write the merged output in one-process order, remove the shards.

        Returns the merged row count on rank 0 (or with one process), ``None`` on the other ranks.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.world == 1:
            return None
        if self.rank != 0:
            return None
        deadline = time.monotonic() + timeout_s
        while not all(self._done_path(rank).exists() for rank in range(self.world)):
            if time.monotonic() > deadline:
                missing = [rank for rank in range(self.world) if not self._done_path(rank).exists()]
                raise TimeoutError(f"shards of ranks {missing} did not arrive within {timeout_s:g} s.")
            time.sleep(poll_s)
        tables = [
            pq.read_table(self._shard_path(r)) if self._shard_path(r).exists() else None for r in range(self.world)
        ]
        present = [table for table in tables if table is not None]
        if not present:
            raise ValueError("no process wrote any rows.")
        merged = _round_robin(tables, "file")
        pq.write_table(pa.concat_tables(merged) if merged else present[0].slice(0, 0), self.out)
        for rank in range(self.world):
            self._shard_path(rank).unlink(missing_ok=True)
            self._done_path(rank).unlink(missing_ok=True)
        return sum(table.num_rows for table in present)


def _round_robin(tables: list, column: str) -> list:
    """File ``i`` went to rank ``i % world`` as its ``i // world``-th file: put the groups back in that order."""
    groups: list[list] = []
    for table in tables:
        if table is None:
            groups.append([])
            continue
        files = table.column(column).to_pylist()
        starts = [i for i in range(len(files)) if i == 0 or files[i] != files[i - 1]]
        ends = starts[1:] + [len(files)]
        groups.append([table.slice(start, end - start) for start, end in zip(starts, ends)])
    ordered = []
    for position in range(max(len(group) for group in groups)):
        ordered += [group[position] for group in groups if position < len(group)]
    return ordered


def shard_files(files: list, out: str | os.PathLike) -> Shard:
    """This process's :class:`Shard` of ``files`` (every ``WORLD_SIZE``-th one, from ``RANK``)."""
    rank, world = rank_and_world()
    return Shard(rank=rank, world=world, files=list(files)[rank::world], out=Path(out))
