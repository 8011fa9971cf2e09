"""Convert a public corpus, as published, into a subject-wise split ``datasets.DatasetDict`` with a dataset card.

    normwear-hf convert wesad /data/WESAD --out converted/wesad --seed 0

:func:`convert` imports ``normwear_hf.data.converters.<corpus>``, streams its rows (``iter_examples``) into an
Arrow file, splits them by subject (:func:`~normwear_hf.utils.splits.subject_split`; no subject in both splits),
saves the ``DatasetDict`` with ``save_to_disk`` and writes ``README.md``, a Hub dataset card (YAML front matter plus
the description, sampling rates, label mapping, split rule and citation). Everything is built in a hidden staging
folder next to ``out_dir`` and renamed into place at the end, so an interrupted conversion never leaves a folder
that looks complete. Nothing is uploaded: to publish, ``load_from_disk(out_dir).push_to_hub(repo)`` and then
``huggingface_hub.DatasetCard.load(out_dir / "README.md").push_to_hub(repo)`` (the card's ``configs`` match the
layout ``push_to_hub`` writes).

Helpers shared by the corpus modules: :func:`find_subject_files`, :func:`read_channels`, :func:`require_keys`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..._lazy import moved_getattr
from ...utils import splits
from ...utils.atomic import make_staging_folder, publish_folder
from ..schema import WEARABLE_FEATURES, validate_example
from . import CORPORA

logger = logging.getLogger(__name__)

__all__ = [
    "CARD_FIELDS",
    "ChannelSpec",
    "build_card",
    "convert",
    "find_subject_files",
    "load_corpus_module",
    "main",
    "read_channels",
    "require_keys",
    "size_category",
]

CARD_FIELDS = (
    "pretty_name",
    "license",
    "homepage",
    "citation",
    "description",
    "task_categories",
    "modalities",
    "sampling_rates",
    "label_names",
)
"""Keys every corpus module's ``CARD`` must have (``processing``, free text on windows and labels, is optional)."""

_ROWS_FILE = "rows.arrow"
_ARROW_BATCH_ROWS = 64


# ----------------------------------------------------------------------------------------------------------------
# Corpus modules
# ----------------------------------------------------------------------------------------------------------------


def load_corpus_module(corpus: str) -> ModuleType:
    """``normwear_hf.data.converters.<corpus>``, checked against the converter contract."""
    if corpus not in CORPORA:
        raise ValueError(f"Unknown corpus {corpus!r}; the converters know {', '.join(CORPORA)}.")
    name = f"{__package__}.{corpus}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        raise ValueError(f"Corpus {corpus!r} has no converter module ({name}) yet.") from None
    missing = [attribute for attribute in ("NAME", "CARD", "iter_examples") if not hasattr(module, attribute)]
    missing += [f"CARD[{key!r}]" for key in CARD_FIELDS if key not in getattr(module, "CARD", {})]
    if missing:
        raise ValueError(f"Converter module {name} breaks the converter contract: it lacks {', '.join(missing)}.")
    return module


# ----------------------------------------------------------------------------------------------------------------
# Helpers for the corpus modules
# ----------------------------------------------------------------------------------------------------------------

ChannelSpec = tuple[str, str, int, str, str, float]

RESPIBAN_HZ = 700.0
# The RespiBAN chest strap + Empatica E4 wristband layout shared by the WESAD and PPG-DaLiA pickles:
# (device, key, column, channel name, channel type, sampling rate).
RESPIBAN_E4_CHANNELS: tuple[ChannelSpec, ...] = (
    ("chest", "ACC", 0, "chest_acc_x", "acc", RESPIBAN_HZ),
    ("chest", "ACC", 1, "chest_acc_y", "acc", RESPIBAN_HZ),
    ("chest", "ACC", 2, "chest_acc_z", "acc", RESPIBAN_HZ),
    ("chest", "ECG", 0, "chest_ecg", "ecg", RESPIBAN_HZ),
    ("chest", "EMG", 0, "chest_emg", "emg", RESPIBAN_HZ),
    ("chest", "EDA", 0, "chest_eda", "eda", RESPIBAN_HZ),
    ("chest", "Temp", 0, "chest_temp", "temp", RESPIBAN_HZ),
    ("chest", "Resp", 0, "chest_resp", "resp", RESPIBAN_HZ),
    ("wrist", "ACC", 0, "wrist_acc_x", "acc", 32.0),
    ("wrist", "ACC", 1, "wrist_acc_y", "acc", 32.0),
    ("wrist", "ACC", 2, "wrist_acc_z", "acc", 32.0),
    ("wrist", "BVP", 0, "wrist_bvp", "ppg", 64.0),
    ("wrist", "EDA", 0, "wrist_eda", "eda", 4.0),
    ("wrist", "TEMP", 0, "wrist_temp", "temp", 4.0),
)
"""``(device, key, column, channel_name, channel_type, sampling_rate)``: column ``column`` of
``signal[device][key]`` (an array of shape ``(N,)`` or ``(N, K)``)."""


def find_subject_files(raw_dir: str | os.PathLike, corpus: str, pattern: str = "{subject}/{subject}.pkl") -> list:
    """``[(subject, path)]`` for every ``S<number>`` folder of ``raw_dir`` holding ``pattern``, by subject number.

    Raises ``FileNotFoundError`` naming the folder when it does not exist or holds no subject file.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"{corpus}: raw data folder {raw_dir} does not exist (or is not a folder).")
    found = []
    for folder in raw_dir.iterdir():
        name = folder.name
        if folder.is_dir() and name.startswith("S") and name[1:].isdigit():
            path = raw_dir / pattern.format(subject=name)
            if path.is_file():
                found.append((int(name[1:]), name, path))
            else:
                logger.warning("%s: subject folder %s has no %s; skipped.", corpus, folder, path.name)
    if not found:
        raise FileNotFoundError(
            f"{corpus}: no subject files in {raw_dir}; expected the published layout "
            f"{raw_dir / pattern.format(subject='S2')} (one folder per subject)."
        )
    return [(name, path) for _, name, path in sorted(found)]


def require_keys(mapping: Any, keys: Iterable[str], where: str) -> None:
    """``ValueError`` naming ``where`` when ``mapping`` is not a dict holding every key of ``keys``."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{where}: expected a dict, found {type(mapping).__name__}.")
    missing = [key for key in keys if key not in mapping]
    if missing:
        raise ValueError(f"{where}: missing keys {missing} (found {sorted(map(str, mapping))}).")


def read_channels(
    signal: Mapping[str, Any], specs: Sequence[ChannelSpec], source: str, optional: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, str, float, np.ndarray]]:
    """``[(channel_name, channel_type, rate, values)]`` from a ``signal`` dict of the RespiBAN / E4 releases.

    A missing device or key raises ``ValueError`` naming ``source``, unless ``(device, key)`` is in ``optional``
    (then the channel is skipped with a warning). A channel that is constant over the whole recording (a sensor
    that was not attached) is dropped with a warning.
    """
    optional = set(optional)
    channels = []
    for device, key, column, name, kind, rate in specs:
        group = signal.get(device)
        if not isinstance(group, Mapping) or key not in group:
            if (device, key) in optional:
                logger.warning("%s: no signal[%r][%r]; channel %s skipped.", source, device, key, name)
                continue
            raise ValueError(f"{source}: missing signal[{device!r}][{key!r}] (channel {name}).")
        array = np.asarray(group[key], dtype=np.float64)
        array = array.reshape(-1, 1) if array.ndim == 1 else array
        if array.ndim != 2 or column >= array.shape[1]:
            raise ValueError(f"{source}: signal[{device!r}][{key!r}] has shape {array.shape}; column {column} needed.")
        values = array[:, column]
        if values.size and np.nanmax(values) == np.nanmin(values):
            logger.warning("%s: channel %s is constant over the whole recording; dropped.", source, name)
            continue
        channels.append((name, kind, float(rate), values))
    return channels


# ----------------------------------------------------------------------------------------------------------------
# Conversion
# ----------------------------------------------------------------------------------------------------------------


def convert(
    corpus: str,
    raw_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    test_fraction: float = 0.2,
    progress: bool = True,
    overwrite: bool = False,
):
    """Convert ``raw_dir`` (the corpus as published) into ``out_dir``: a ``DatasetDict`` plus ``README.md``.

    Splits are subject-wise (:func:`~normwear_hf.utils.splits.subject_split`); a corpus without subject ids falls
    back to a seeded row split (:func:`~normwear_hf.utils.splits.row_split`) with a warning. ``test_fraction=0``
    writes only ``train``. An existing non-empty ``out_dir`` is an error unless ``overwrite=True`` (then it is
    replaced only once the new one is complete).
    Returns the ``DatasetDict`` loaded from ``out_dir``.
    """
    import datasets
    from tqdm.auto import tqdm

    module = load_corpus_module(corpus)
    splits.check_test_fraction(test_fraction)
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"{corpus}: raw data folder {raw_dir} does not exist (or is not a folder).")
    staging = make_staging_folder(out_dir, overwrite)
    try:
        rows = tqdm(
            module.iter_examples(raw_dir, progress=progress),
            desc=f"converting {corpus}",
            unit=" rows",
            disable=not progress,
        )
        subject_ids = _write_rows(rows, staging / _ROWS_FILE, module.NAME)
        if not subject_ids:
            raise ValueError(f"{corpus}: {raw_dir} yielded no rows; nothing to convert.")
        if all(subject == "" for subject in subject_ids):
            logger.warning(
                "%s: no row has a subject id; falling back to a seeded row-wise split (seed %d). Windows of one "
                "recording may land in both splits.",
                corpus,
                seed,
            )
            train, test = splits.row_split(len(subject_ids), test_fraction, seed)
            split_rule = f"row-wise (the corpus has no subject ids): {test_fraction:g} of the rows, seed {seed}"
        else:
            train, test = splits.subject_split(subject_ids, test_fraction, seed)
            split_rule = (
                f"subject-wise: {test_fraction:g} of the subjects (rounded, at least one) are test subjects, "
                f"drawn with numpy.random.default_rng({seed}); no subject is in both splits"
            )
        rows_dataset = datasets.Dataset.from_file(str(staging / _ROWS_FILE))
        selected = {"train": rows_dataset.select(train)}
        if test:
            selected["test"] = rows_dataset.select(test)
        dataset_dict = datasets.DatasetDict(selected)
        target = staging / "dataset"
        bars_were_disabled = datasets.utils.are_progress_bars_disabled()
        if not progress:
            datasets.utils.disable_progress_bars()
        try:
            dataset_dict.save_to_disk(str(target))
        finally:
            if not progress and not bars_were_disabled:
                datasets.utils.enable_progress_bars()
        card = build_card(module, dataset_dict, split_rule=split_rule, seed=seed, test_fraction=test_fraction)
        (target / "README.md").write_text(card, encoding="utf-8")
        del dataset_dict, selected, rows_dataset
        publish_folder(target, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("%s: wrote %s", corpus, out_dir)
    return datasets.load_from_disk(str(out_dir))


def _write_rows(rows: Iterable[Mapping[str, Any]], path: Path, source: str) -> list[str]:
    """Validate rows and stream them into an Arrow stream file readable by ``Dataset.from_file``."""
    import pyarrow as pa

    from ..corpus_io import examples_to_table

    schema = WEARABLE_FEATURES.arrow_schema
    subject_ids: list[str] = []
    buffer: list[Mapping[str, Any]] = []
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for row in rows:
            validate_example(row)
            if row["source"] != source:
                raise ValueError(f"Row {row['recording_id']!r} has source {row['source']!r}, expected {source!r}.")
            subject_ids.append(row["subject_id"])
            buffer.append(row)
            if len(buffer) >= _ARROW_BATCH_ROWS:
                writer.write_table(examples_to_table(buffer))
                buffer = []
        if buffer:
            writer.write_table(examples_to_table(buffer))
    return subject_ids


# ----------------------------------------------------------------------------------------------------------------
# Dataset card
# ----------------------------------------------------------------------------------------------------------------


def size_category(num_rows: int) -> str:
    """The Hub's ``size_categories`` bucket for ``num_rows``."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]
    bounds += [(10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
    for bound, label in bounds:
        if num_rows < bound:
            return label
    return "n>1T" if num_rows > 10**12 else "1B<n<10B"


def _split_summary(dataset) -> dict[str, Any]:
    """Subjects, class-label counts and numeric-label ranges of one split (metadata columns only)."""
    meta = dataset.select_columns(["subject_id", "class_labels", "numeric_labels"])
    classes: dict[str, Counter] = {}
    numeric: dict[str, list[float]] = {}
    units: dict[str, str] = {}
    for batch in meta.iter(batch_size=4096):
        for labels in batch["class_labels"]:
            for entry in labels:
                classes.setdefault(entry["name"], Counter())[entry["value"]] += 1
        for labels in batch["numeric_labels"]:
            for entry in labels:
                numeric.setdefault(entry["name"], []).append(entry["value"])
                units[entry["name"]] = entry["unit"]
    subjects = sorted({s for s in meta["subject_id"] if s}, key=lambda s: (len(s), s))
    ranges = {name: (float(np.min(v)), float(np.mean(v)), float(np.max(v)), units[name]) for name, v in numeric.items()}
    return {"rows": len(dataset), "subjects": subjects, "classes": classes, "numeric": ranges}


def build_card(module: ModuleType, dataset_dict, *, split_rule: str, seed: int, test_fraction: float) -> str:
    """``README.md`` text: Hub YAML front matter, then description, channels, labels, splits and citation."""
    from huggingface_hub import DatasetCardData

    card = module.CARD
    total = sum(len(split) for split in dataset_dict.values())
    modalities = list(card["modalities"])
    tags = ["wearables", "physiological-signals", "time-series", "normwear-hf", *modalities]
    data = DatasetCardData(
        license=card["license"],
        pretty_name=card["pretty_name"],
        task_categories=list(card["task_categories"]),
        tags=list(dict.fromkeys(tags)),
        size_categories=[size_category(total)],
        source_datasets=["original"],
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": name, "path": f"data/{name}-*"} for name in dataset_dict],
            }
        ],
        dataset_info={
            "config_name": "default",
            "splits": [{"name": name, "num_examples": len(split)} for name, split in dataset_dict.items()],
        },
    )
    summaries = {name: _split_summary(split) for name, split in dataset_dict.items()}
    lines = [f"---\n{data.to_yaml()}\n---", "", f"# {card['pretty_name']}", "", card["description"].strip(), ""]
    lines += [f"Source: {card['homepage']}. Converted from the published files by `normwear-hf convert "]
    lines[-1] += f"{module.NAME}` (normwear-hf); the values are as published, in the sensors' units."
    lines += ["", "## Channels and sampling rates", "", "| channel | Hz |", "|---|---:|"]
    lines += [f"| {channel} | {rate:g} |" for channel, rate in card["sampling_rates"].items()]
    lines += ["", f"Modalities: {', '.join(modalities)}. Every channel keeps its native rate (`sampling_rate`)."]
    if card.get("processing"):
        lines += ["", "## Windows and labels", "", card["processing"].strip()]
    lines += ["", "## Label mapping", ""]
    for name, values in card["label_names"].items():
        if isinstance(values, Mapping):
            lines.append(f"- `{name}`: " + ", ".join(f"{key} = {value}" for key, value in values.items()))
        else:
            lines.append(f"- `{name}`: " + ", ".join(str(value) for value in values))
    lines += ["", "## Splits", "", f"Split rule: {split_rule} (test_fraction {test_fraction:g}, seed {seed}).", ""]
    lines += [
        "| split | rows | subjects | class labels | numeric labels (min / mean / max) |",
        "|---|---:|---|---|---|",
    ]
    for name, summary in summaries.items():
        classes = "; ".join(
            f"{label}: " + ", ".join(f"{value} {count}" for value, count in sorted(counter.items()))
            for label, counter in summary["classes"].items()
        )
        numeric = "; ".join(
            f"{label}: {low:.4g} / {mean:.4g} / {high:.4g} {unit}".rstrip()
            for label, (low, mean, high, unit) in summary["numeric"].items()
        )
        subjects = ", ".join(summary["subjects"]) or "-"
        lines.append(f"| {name} | {summary['rows']:,} | {subjects} | {classes or '-'} | {numeric or '-'} |")
    lines += [
        "",
        "## Schema",
        "",
        "Rows follow `normwear_hf.data.schema.WEARABLE_FEATURES`: "
        + ", ".join(f"`{field}`" for field in WEARABLE_FEATURES)
        + ".",
    ]
    lines += ["", "## Licence", "", f"`{card['license']}`, as the corpus' publisher states; check its terms before "]
    lines[-1] += "redistributing a converted copy."
    lines += ["", "## Citation", "", "```bibtex", card["citation"].strip(), "```", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------------------


def build_parser(prog: str = "normwear-hf convert", corpus: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Convert a public wearable corpus, as published, into a subject-wise split DatasetDict "
        "(save_to_disk) with a Hub dataset card. Nothing is uploaded.",
    )
    if corpus is None:
        parser.add_argument("corpus", help=f"one of: {', '.join(CORPORA)}")
    parser.add_argument("raw_dir", type=Path, help="the corpus folder as downloaded and extracted")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created; must be empty)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train / test split (default 0)")
    parser.add_argument(
        "--test-fraction", type=float, default=0.2, help="fraction of subjects in the test split (default 0.2)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every skipped channel and subject")
    return parser


def main(argv: list[str] | None = None, *, corpus: str | None = None, prog: str = "normwear-hf convert") -> int:
    """``normwear-hf convert <corpus> <raw_dir> --out <dir> [--seed] [--test-fraction] [--overwrite]``.

    With ``corpus`` given (the per-corpus scripts), the positional corpus argument is omitted.
    """
    args = build_parser(prog, corpus).parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    name = corpus or args.corpus
    result = convert(
        name,
        args.raw_dir,
        args.out,
        seed=args.seed,
        test_fraction=args.test_fraction,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    counts = ", ".join(f"{split} {len(rows):,} rows" for split, rows in result.items())
    print(f"{name}: {counts} -> {args.out} (dataset card: {args.out / 'README.md'})")
    return 0


def iter_subject_pickles(
    raw_dir: str | os.PathLike, name: str, expected: Sequence[str], progress: bool = True
) -> Iterator[tuple[str, str, Any]]:
    """``(subject, path, data)`` for every ``S*/S*.pkl`` of a release (WESAD, PPG-DaLiA), via the safe unpickler."""
    from tqdm.auto import tqdm

    from .safe_pickle import load_pickle

    files = find_subject_files(Path(raw_dir), name)
    unexpected = [subject for subject, _ in files if subject not in expected]
    if unexpected:
        logger.warning(
            "%s: unexpected subject folders %s (the release has %s); converted anyway.", name, unexpected, expected
        )
    for subject, path in tqdm(files, desc=name, unit=" subjects", disable=not progress):
        yield subject, str(path), load_pickle(path)


# The splits moved to normwear_hf.utils.splits (the probes use them too); the old path works for one more release.
__getattr__ = moved_getattr(__name__, dict.fromkeys(("row_split", "subject_split"), "...utils.splits"))
