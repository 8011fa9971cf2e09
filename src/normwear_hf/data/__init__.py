"""Data: the wearable-recording schema, corpora (real and synthetic), windowing, storage and collation."""

from .corpus_io import corpus_composition, format_composition, load_corpus, shard_for_process, write_corpus
from .schema import WEARABLE_FEATURES, make_example, validate_example, window_example

__all__ = [
    "WEARABLE_FEATURES",
    "corpus_composition",
    "format_composition",
    "load_corpus",
    "make_example",
    "shard_for_process",
    "validate_example",
    "window_example",
    "write_corpus",
]
