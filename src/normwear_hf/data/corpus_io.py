"""Corpora on disk: validated Parquet shards with a completion manifest, loaded as ``datasets`` objects.

Layout of a corpus folder::

    corpus/
      train-00000.parquet      # WEARABLE_FEATURES rows (the schema is embedded in the Parquet metadata)
      train-00001.parquet
      manifest.json            # written last: shards, row counts, composition; its absence = incomplete

:func:`write_corpus` builds the folder under a temporary name next to it and renames it into place only after
every shard and the manifest are written, so a crashed build never leaves a folder that looks complete.
:func:`load_corpus` refuses a folder without a manifest (or whose shards do not match it) and returns a map-style
``Dataset`` or a streaming ``IterableDataset``; :func:`shard_for_process` splits either across processes;
:func:`corpus_composition` / :func:`format_composition` say what a corpus holds.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._lazy import moved_getattr
from ..utils import atomic
from .schema import WEARABLE_FEATURES, validate_example

logger = logging.getLogger(__name__)

__all__ = [
    "MANIFEST_NAME",
    "corpus_composition",
    "corpus_files",
    "examples_to_table",
    "format_composition",
    "load_corpus",
    "read_manifest",
    "shard_for_process",
    "write_corpus",
]

MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "normwear-hf-corpus"
FORMAT_VERSION = 1
SYNTHETIC_PREFIX = "synthetic"
MAX_SHARD_SAMPLES = 64_000_000
"""A shard is also closed when it buffers this many float32 samples (256 MB), whatever ``shard_rows`` says."""
ROW_GROUP_ROWS = 256
_COMPOSITION_COLUMNS = ["source", "signals", "sampling_rate", "channel_types"]


# ----------------------------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------------------------


def examples_to_table(rows: list[Mapping[str, Any]]) -> pa.Table:
    """Schema rows -> an Arrow table with ``WEARABLE_FEATURES.arrow_schema`` (features kept in its metadata).

    ``signals`` is assembled from numpy buffers (no per-sample Python objects), so wide windows stay cheap.
    """
    schema = WEARABLE_FEATURES.arrow_schema
    channels = [np.asarray(channel, dtype=np.float32).reshape(-1) for row in rows for channel in row["signals"]]
    counts = np.fromiter((len(row["signals"]) for row in rows), dtype=np.int64, count=len(rows))
    lengths = np.fromiter((c.size for c in channels), dtype=np.int64, count=len(channels))
    values = np.concatenate(channels) if channels else np.zeros(0, dtype=np.float32)
    inner_offsets = np.concatenate(([0], np.cumsum(lengths)))
    outer_offsets = np.concatenate(([0], np.cumsum(counts)))
    if inner_offsets[-1] > np.iinfo(np.int32).max:
        raise ValueError(f"{inner_offsets[-1]} samples do not fit one Arrow list array; write smaller shards.")
    inner = pa.ListArray.from_arrays(pa.array(inner_offsets.astype(np.int32)), pa.array(values, type=pa.float32()))
    signals = pa.ListArray.from_arrays(pa.array(outer_offsets.astype(np.int32)), inner)
    columns = []
    for field in schema:
        if field.name == "signals":
            columns.append(signals.cast(field.type))
        else:
            columns.append(pa.array([row[field.name] for row in rows], type=field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def write_corpus(
    examples: Iterable[Mapping[str, Any]],
    out_dir: str | os.PathLike,
    shard_rows: int = 2048,
    progress: bool = True,
    *,
    split: str = "train",
    overwrite: bool = False,
) -> list[Path]:
    """Validate rows and write them as Parquet shards ``{split}-00000.parquet``, ... plus ``manifest.json``.

    Rows are consumed lazily (at most ``shard_rows`` are held in memory). The folder appears under
    ``out_dir`` only once complete; an existing non-empty ``out_dir`` is an error unless ``overwrite=True``
    (then it is replaced only after the new corpus is complete). Returns the shard paths.
    """
    if shard_rows < 1:
        raise ValueError(f"shard_rows must be at least 1, got {shard_rows}.")
    out_dir = Path(out_dir)
    staging = atomic.make_staging_folder(out_dir, overwrite)
    try:
        shards = _write_shards(examples, staging, shard_rows, progress, split)
        atomic.publish_folder(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out_dir / name for name in shards]


def _write_shards(examples, staging: Path, shard_rows: int, progress: bool, split: str) -> list[str]:
    from tqdm.auto import tqdm

    accumulator = _Composition()
    shards: list[dict[str, Any]] = []
    buffer: list[Mapping[str, Any]] = []
    buffered_samples = 0

    def flush() -> None:
        nonlocal buffer, buffered_samples
        name = f"{split}-{len(shards):05d}.parquet"
        table = examples_to_table(buffer)
        pq.write_table(table, staging / name, row_group_size=ROW_GROUP_ROWS, compression="zstd")
        shards.append({"file": name, "rows": len(buffer)})
        buffer, buffered_samples = [], 0

    with tqdm(desc=f"writing {split}", unit=" segments", disable=not progress) as bar:
        for example in examples:
            validate_example(example)
            accumulator.add(
                example["source"],
                example["channel_types"],
                [len(channel) for channel in example["signals"]],
                example["sampling_rate"],
            )
            buffer.append(example)
            buffered_samples += sum(len(channel) for channel in example["signals"])
            if len(buffer) >= shard_rows or buffered_samples >= MAX_SHARD_SAMPLES:
                flush()
            bar.update(1)
        if buffer:
            flush()
    if not shards:
        raise ValueError("No examples to write: the corpus would be empty (are the data packages installed?).")
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "splits": {split: {"rows": sum(s["rows"] for s in shards), "shards": shards}},
        "features": WEARABLE_FEATURES.to_dict(),
        "composition": accumulator.result(),
    }
    atomic.write_text_atomic(staging / MANIFEST_NAME, json.dumps(manifest, indent=2))
    return [s["file"] for s in shards]


# ----------------------------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------------------------


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a complete corpus folder; ``ValueError`` if it is missing or does not match the shards."""
    folder = Path(path)
    manifest_path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a corpus folder (not a directory).")
    if not manifest_path.is_file():
        raise ValueError(
            f"{folder} has no {MANIFEST_NAME}: it is not a complete corpus (the build was interrupted, or the folder "
            "was not written by write_corpus). Rebuild it."
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{manifest_path} is not valid JSON ({error}); rebuild the corpus.") from None
    if manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"{manifest_path} is not a {FORMAT_NAME} manifest.")
    for split, entry in manifest["splits"].items():
        for shard in entry["shards"]:
            file = folder / shard["file"]
            if not file.is_file():
                raise ValueError(f"{folder}: shard {shard['file']} of split {split!r} is missing; rebuild the corpus.")
            rows = pq.ParquetFile(file).metadata.num_rows
            if rows != shard["rows"]:
                raise ValueError(
                    f"{folder}: shard {shard['file']} holds {rows} rows, the manifest says {shard['rows']}; "
                    "rebuild the corpus."
                )
    return manifest


def corpus_files(path: str | os.PathLike, split: str = "train") -> list[Path]:
    """The shard files of one split of a complete corpus, in order."""
    manifest = read_manifest(path)
    if split not in manifest["splits"]:
        raise ValueError(f"{path} has no split {split!r}; it has {sorted(manifest['splits'])}.")
    return [Path(path) / shard["file"] for shard in manifest["splits"][split]["shards"]]


def corpus_folders(path: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """One corpus folder, several, or a comma-separated list of folders (``--corpus real/,synthetic/``)."""
    if isinstance(path, (str, os.PathLike)):
        path = [part for part in str(path).split(",") if part.strip()] if "," in str(path) else [path]
    return [Path(str(part).strip()) for part in path]


def load_corpus(
    path: str | os.PathLike | Sequence[str | os.PathLike],
    streaming: bool = False,
    split: str = "train",
    cache_dir: str | os.PathLike | None = None,
):
    """Complete corpus folders as one ``datasets.Dataset`` (or ``IterableDataset`` with ``streaming=True``).

    ``path`` is a folder, a list of folders or a comma-separated string of folders (see :func:`corpus_folders`):
    e.g. the real recordings built on one machine and synthetic segments generated on another. Reads the local
    shards with ``datasets.load_dataset("parquet", ...)`` and ``WEARABLE_FEATURES``; works offline
    (``HF_DATASETS_OFFLINE=1``). The map-style dataset is memory-mapped Arrow in ``cache_dir`` (default: the
    ``datasets`` cache).
    """
    import datasets

    files = [str(file) for folder in corpus_folders(path) for file in corpus_files(folder, split)]
    return datasets.load_dataset(
        "parquet",
        data_files={split: files},
        features=WEARABLE_FEATURES,
        split=split,
        streaming=streaming,
        cache_dir=None if cache_dir is None else str(cache_dir),
    )


def shard_for_process(dataset, rank: int, world_size: int, strategy: str = "auto"):
    """The part of ``dataset`` (map-style or streaming) that process ``rank`` of ``world_size`` reads.

    ``datasets.distributed.split_dataset_by_node``: contiguous blocks for a map-style dataset; for a streaming
    one, whole shards when their number divides by ``world_size``, else every ``world_size``-th row. Parts are
    disjoint and together cover the corpus; with whole shards their sizes may differ.
    """
    from datasets.distributed import split_dataset_by_node

    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size), got rank={rank}, world_size={world_size}.")
    return split_dataset_by_node(dataset, rank=rank, world_size=world_size, strategy=strategy)


# ----------------------------------------------------------------------------------------------------------------
# Composition
# ----------------------------------------------------------------------------------------------------------------


class _Composition:
    """Accumulates segment counts and hours per source, channel type and origin (real / synthetic)."""

    def __init__(self) -> None:
        self.by_source: dict[str, dict[str, Any]] = {}
        self.by_type: dict[str, dict[str, float]] = {}

    def add(self, source: str, types, lengths, rates) -> None:
        durations = [length / rate for length, rate in zip(lengths, rates)]
        entry = self.by_source.setdefault(source, {"segments": 0, "seconds": 0.0, "channel_seconds": 0.0, "types": {}})
        entry["segments"] += 1
        entry["seconds"] += min(durations)
        for kind, seconds in zip(types, durations):
            entry["channel_seconds"] += seconds
            entry["types"][kind] = entry["types"].get(kind, 0.0) + seconds
            totals = self.by_type.setdefault(kind, {"channels": 0, "seconds": 0.0})
            totals["channels"] += 1
            totals["seconds"] += seconds

    def result(self) -> dict[str, Any]:
        def hours(seconds: float) -> float:
            return seconds / 3600.0

        by_source = {
            source: {
                "segments": e["segments"],
                "hours": hours(e["seconds"]),
                "channel_hours": hours(e["channel_seconds"]),
                "channel_hours_by_type": {k: hours(v) for k, v in sorted(e["types"].items())},
            }
            for source, e in sorted(self.by_source.items())
        }
        by_origin = {}
        for origin in ("real", "synthetic"):
            members = [
                e for s, e in self.by_source.items() if s.startswith(SYNTHETIC_PREFIX) == (origin == "synthetic")
            ]
            by_origin[origin] = {
                "segments": sum(e["segments"] for e in members),
                "hours": hours(sum(e["seconds"] for e in members)),
                "channel_hours": hours(sum(e["channel_seconds"] for e in members)),
            }
        return {
            "segments": sum(e["segments"] for e in self.by_source.values()),
            "hours": hours(sum(e["seconds"] for e in self.by_source.values())),
            "channel_hours": hours(sum(e["channel_seconds"] for e in self.by_source.values())),
            "by_channel_type": {
                kind: {"channel_hours": hours(t["seconds"]), "channels": t["channels"]}
                for kind, t in sorted(self.by_type.items())
            },
            "by_source": by_source,
            "by_origin": by_origin,
        }


def _add_arrow_batch(accumulator: _Composition, batch: pa.Table) -> None:
    signals = batch.column("signals").combine_chunks()
    per_row = pc.list_value_length(signals).to_numpy(zero_copy_only=False)
    lengths = pc.list_value_length(pc.list_flatten(signals)).to_numpy(zero_copy_only=False)
    rates = pc.list_flatten(batch.column("sampling_rate").combine_chunks()).to_numpy(zero_copy_only=False)
    types = pc.list_flatten(batch.column("channel_types").combine_chunks()).to_pylist()
    sources = batch.column("source").to_pylist()
    start = 0
    for source, count in zip(sources, per_row):
        stop = start + int(count)
        accumulator.add(source, types[start:stop], lengths[start:stop], rates[start:stop])
        start = stop


def corpus_composition(dataset_or_rows) -> dict[str, Any]:
    """What a corpus holds: segments, hours, channel-hours per channel type, per source, real vs synthetic.

    Accepts a ``datasets.Dataset`` / ``IterableDataset`` (read as Arrow batches, signals never become Python
    lists), or any iterable of schema rows. A segment lasts as long as its shortest channel; channel-hours add
    every channel (a 6 s window with ECG and PPG counts 6 s for each). A source is synthetic when its name starts
    with ``"synthetic"``.
    """
    import datasets

    accumulator = _Composition()
    if isinstance(dataset_or_rows, (datasets.Dataset, datasets.IterableDataset)):
        data = dataset_or_rows.select_columns(_COMPOSITION_COLUMNS).with_format("arrow")
        for batch in data.iter(batch_size=1024):
            _add_arrow_batch(accumulator, batch)
    else:
        for row in dataset_or_rows:
            accumulator.add(row["source"], row["channel_types"], [len(c) for c in row["signals"]], row["sampling_rate"])
    return accumulator.result()


def format_composition(composition: Mapping[str, Any]) -> str:
    """A composition (from :func:`corpus_composition` or a manifest) as Markdown tables."""
    total_channel_hours = composition["channel_hours"] or 1.0
    real, synthetic = composition["by_origin"]["real"], composition["by_origin"]["synthetic"]
    lines = [
        f"{composition['segments']:,} segments, {composition['hours']:.2f} h "
        f"({composition['channel_hours']:.2f} channel-hours); "
        f"real: {real['segments']:,} segments, {real['hours']:.2f} h; "
        f"synthetic: {synthetic['segments']:,} segments, {synthetic['hours']:.2f} h",
        "",
        "| channel type | channel-hours | share | channel windows |",
        "|---|---:|---:|---:|",
    ]
    for kind, entry in composition["by_channel_type"].items():
        share = 100.0 * entry["channel_hours"] / total_channel_hours
        lines.append(f"| {kind} | {entry['channel_hours']:.3f} | {share:.1f}% | {entry['channels']:,} |")
    lines += ["", "| source | segments | hours | channel-hours | channel-hours by type |", "|---|---:|---:|---:|---|"]
    for source, entry in composition["by_source"].items():
        detail = ", ".join(f"{k} {v:.3f}" for k, v in entry["channel_hours_by_type"].items())
        lines.append(
            f"| {source} | {entry['segments']:,} | {entry['hours']:.3f} | {entry['channel_hours']:.3f} | {detail} |"
        )
    return "\n".join(lines)


# The staging-folder helpers moved to normwear_hf.utils.atomic (checkpoint and ONNX export use them too); the old
# path works for one more release.
__getattr__ = moved_getattr(__name__, dict.fromkeys(("make_staging_folder", "publish_folder"), "..utils.atomic"))
