"""Names that moved (issue 18) stay importable from their old module for one release, with a DeprecationWarning."""

from __future__ import annotations

import importlib

import pytest

MOVED = [
    ("normwear_hf.zero_shot.evaluate", "held_out_table", "normwear_hf.evaluation.zero_shot_report"),
    ("normwear_hf.zero_shot.evaluate", "with_interval", "normwear_hf.evaluation.zero_shot_report"),
    ("normwear_hf.zero_shot.evaluate", "has_interval", "normwear_hf.evaluation.zero_shot_report"),
    ("normwear_hf.zero_shot.evaluate", "INTERVAL_NOTE", "normwear_hf.evaluation.zero_shot_report"),
    ("normwear_hf.data.converters.common", "subject_split", "normwear_hf.utils.splits"),
    ("normwear_hf.data.converters.common", "row_split", "normwear_hf.utils.splits"),
    ("normwear_hf.evaluation.probe", "subject_split", "normwear_hf.utils.splits"),
    ("normwear_hf.evaluation.tasks", "stratified_subsample", "normwear_hf.utils.splits"),
    ("normwear_hf.data.corpus_io", "make_staging_folder", "normwear_hf.utils.atomic"),
    ("normwear_hf.data.corpus_io", "publish_folder", "normwear_hf.utils.atomic"),
    ("normwear_hf.model_card", "TIE_TOLERANCE", "normwear_hf.model_card.constants"),
    ("normwear_hf.model_card", "METRIC_TYPES", "normwear_hf.model_card.constants"),
    ("normwear_hf.data.real_corpora", "SYSTOLE_TASK1_CHANNELS", "normwear_hf.data.real_corpora.systole"),
    ("normwear_hf.data.real_corpora", "OPENSIGNALS_TYPES", "normwear_hf.data.real_corpora.biosignalsnotebooks"),
    ("normwear_hf.data.real_corpora", "SLOW_CHANNEL_TYPES", "normwear_hf.data.real_corpora.window_checks"),
    ("normwear_hf.io_readers", "TIME_COLUMNS", "normwear_hf.io_tables"),
    ("normwear_hf.io_readers", "MAX_CSV_COLUMNS", "normwear_hf.io_tables"),
    ("normwear_hf.io_readers", "CsvLayout", "normwear_hf.io_tables"),
    ("normwear_hf.io_readers", "csv_layout", "normwear_hf.io_tables"),
    ("normwear_hf.io_readers", "TimeGrid", "normwear_hf.io_tables"),
    ("normwear_hf.io_readers", "ParquetLayout", "normwear_hf.io_tables"),
    ("normwear_hf.io_readers", "parquet_layout", "normwear_hf.io_tables"),
    ("normwear_hf.io_readers", "parquet_rate", "normwear_hf.io_tables"),
    ("normwear_hf.io_readers", "MAX_CSV_LINE_CHARS", "normwear_hf.io_tables"),
    ("normwear_hf.io_readers", "read_csv_frames", "normwear_hf.io_tables"),
    ("normwear_hf.io_readers", "csv_numbers", "normwear_hf.io_tables"),
    ("normwear_hf.io_readers", "parquet_blocks", "normwear_hf.io_tables"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED)
def test_old_path_warns_and_gives_the_same_object(old, name, new):
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved to {new}\.{name}"):
        value = getattr(importlib.import_module(old), name)
    assert value is getattr(importlib.import_module(new), name)


def test_unknown_names_are_still_attribute_errors():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        importlib.import_module("normwear_hf.zero_shot.evaluate").no_such_name  # noqa: B018
