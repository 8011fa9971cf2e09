"""Converters from the public wearable corpora, as published, into the standard schema (``WEARABLE_FEATURES``).

Every corpus module exposes ``NAME``, ``CARD`` (dataset-card facts) and ``iter_examples(raw_dir, progress=True)``
yielding schema rows (windowed and labelled as the corpus' own documentation says, with ``subject_id``);
``common.convert`` splits them by subject and writes a ``DatasetDict`` plus a dataset card.
"""

CORPORA = ("wesad", "ppg_dalia", "uci_har", "bonn", "ppg_bp", "bidmc", "mitbih", "sleep_edf")

__all__ = ["CORPORA"]
