"""PPG-BP (Liang et al. 2018, figshare) -> schema rows.

Layout of the figshare release (``Data File/``)::

    PPG-BP dataset.xlsx     one row per subject under a header row: Num., subject_ID, Sex(M/F), Age(year),
                            Height(cm), Weight(kg), Systolic Blood Pressure(mmHg), Diastolic Blood Pressure(mmHg),
                            Heart Rate(b/m), BMI(kg/m^2), Hypertension, Diabetes, cerebral infarction,
                            cerebrovascular disease (a title row may sit above the header)
    0_subject/<id>_<n>.txt  three 2.1 s fingertip PPG segments per subject: 2100 tab-separated samples at 1 kHz

One row per segment (2.1 s). Class labels: ``hypertension`` (the sheet's own four stages: Normal,
Prehypertension, Stage 1 hypertension, Stage 2 hypertension), ``diabetes``, ``cerebral_infarction`` (the
paper's CVA task) and ``cerebrovascular_disease`` (CVD) as yes/no (an empty cell is no), ``sex``. Numeric labels:
``sbp``/``dbp`` (mmHg), ``heart_rate`` (bpm), ``age``, ``height``, ``weight``, ``bmi``.
subject_id = ``ppg_bp:<subject_ID>``.
The sheet is read with a small built-in xlsx reader (zip + XML), so no extra package is needed.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from tqdm.auto import tqdm

from ..schema import make_example

NAME = "ppg_bp"
SAMPLING_RATE = 1000.0
SEGMENT_SAMPLES = 2100
SHEET_NAME = "PPG-BP dataset.xlsx"
SEGMENT_FILE = re.compile(r"^(\d+)_(\d+)\.txt$")
HYPERTENSION = ("Normal", "Prehypertension", "Stage 1 hypertension", "Stage 2 hypertension")
# normalised header (lower case, letters and digits only, units in brackets dropped) -> (field, unit)
COLUMNS = {
    "subjectid": ("subject_id", None),
    "sex": ("sex", None),
    "age": ("age", "years"),
    "height": ("height", "cm"),
    "weight": ("weight", "kg"),
    "systolicbloodpressure": ("sbp", "mmHg"),
    "diastolicbloodpressure": ("dbp", "mmHg"),
    "heartrate": ("heart_rate", "bpm"),
    "bmi": ("bmi", "kg/m^2"),
    "hypertension": ("hypertension", None),
    "diabetes": ("diabetes", None),
    "cerebralinfarction": ("cerebral_infarction", None),
    "cerebrovasculardisease": ("cerebrovascular_disease", None),
}
YES_NO = ("diabetes", "cerebral_infarction", "cerebrovascular_disease")
NO_VALUES = {"", "no", "none", "normal", "0", "n"}

CARD = {
    "pretty_name": "PPG-BP (photoplethysmogram and cardiovascular disease)",
    "license": "cc-by-4.0",
    "homepage": "https://doi.org/10.6084/m9.figshare.5459299",
    "citation": """@article{liang2018new,
  title   = {A new, short-recorded photoplethysmogram dataset for blood pressure monitoring in China},
  author  = {Liang, Yongbo and Chen, Zhencheng and Liu, Guiyong and Elgendi, Mohamed},
  journal = {Scientific Data},
  volume  = {5},
  pages   = {180020},
  year    = {2018}
}""",
    "description": (
        "219 subjects (Guilin People's Hospital), three 2.1 s fingertip PPG segments each at 1 kHz, with "
        "blood pressure, heart rate, demographics and diagnoses. One row per segment. Class labels: "
        "`hypertension` (4 stages), `diabetes`, `cerebral_infarction`, `cerebrovascular_disease` (yes/no), `sex`; "
        "numeric labels: sbp, dbp, heart_rate, age, height, weight, bmi. subject_id = `ppg_bp:<subject_ID>`."
    ),
    "processing": (
        "One row per published 2.1 s segment (2100 samples at 1 kHz, no re-windowing); every segment of a subject "
        "carries that subject's labels. Yes/no labels: an empty cell is no, any text (e.g. 'Type 2 Diabetes', "
        "'cerebral infarction') is yes. `hypertension` keeps the sheet's four stages; `sex` is F/M."
    ),
    "task_categories": ["tabular-classification", "tabular-regression"],
    "modalities": ["ppg"],
    "sampling_rates": {"ppg": SAMPLING_RATE},
    "label_names": {
        "hypertension": list(HYPERTENSION),
        "diabetes": ["no", "yes"],
        "cerebral_infarction": ["no", "yes"],
        "cerebrovascular_disease": ["no", "yes"],
        "sex": ["F", "M"],
        "numeric labels (unit)": {field: unit for field, unit in COLUMNS.values() if unit},
    },
}

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _column_index(reference: str) -> int:
    index = 0
    for char in re.match(r"[A-Z]+", reference)[0]:
        index = index * 26 + ord(char) - 64
    return index - 1


def read_xlsx(path: Path) -> list[list[str]]:
    """The first worksheet of an xlsx file as rows of strings (numbers as written by ``repr``, empty as "")."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            shared = []
            if "xl/sharedStrings.xml" in names:
                for item in ElementTree.fromstring(archive.read("xl/sharedStrings.xml")).findall("m:si", _NS):
                    shared.append("".join(node.text or "" for node in item.iter(f"{{{_NS['m']}}}t")))
            sheet = "xl/worksheets/sheet1.xml"
            if "xl/workbook.xml" in names and "xl/_rels/workbook.xml.rels" in names:
                first = ElementTree.fromstring(archive.read("xl/workbook.xml")).find("m:sheets/m:sheet", _NS)
                rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
                for rel in rels:
                    if first is not None and rel.get("Id") == first.get(_REL):
                        target = rel.get("Target", "").lstrip("/")
                        sheet = target if target.startswith("xl/") else f"xl/{target}"
            root = ElementTree.fromstring(archive.read(sheet))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError) as error:
        raise ValueError(f"{path} is corrupt or not an xlsx workbook: {error}") from error
    rows = []
    for row in root.iterfind("m:sheetData/m:row", _NS):
        values: list[str] = []
        for position, cell in enumerate(row.iterfind("m:c", _NS)):
            column = _column_index(cell.get("r")) if cell.get("r") else position
            kind, raw = cell.get("t", "n"), cell.find("m:v", _NS)
            if kind == "inlineStr":
                text = "".join(node.text or "" for node in cell.iter(f"{{{_NS['m']}}}t"))
            elif raw is None or raw.text is None:
                text = ""
            elif kind == "s":
                text = shared[int(raw.text)]
            else:
                text = raw.text
            values.extend([""] * (column + 1 - len(values)))
            values[column] = text.strip()
        rows.append(values)
    return rows


def _normalise(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", re.sub(r"\(.*?\)", "", header.lower()))


def read_subjects(path: Path) -> dict[str, dict[str, str]]:
    """subject_ID -> {field: cell text} from the subject-information sheet."""
    rows = read_xlsx(path)
    header_index = next((i for i, row in enumerate(rows) if "subjectid" in {_normalise(c) for c in row}), None)
    if header_index is None:
        raise ValueError(f"{path} is corrupt: no header row with a 'subject_ID' column.")
    header = [_normalise(cell) for cell in rows[header_index]]
    fields = {COLUMNS[name][0]: index for index, name in enumerate(header) if name in COLUMNS}
    missing = [field for field, _ in COLUMNS.values() if field not in fields]
    if missing:
        raise ValueError(f"{path} is corrupt: columns {missing} are missing from the header {rows[header_index]}.")
    subjects = {}
    for row in rows[header_index + 1 :]:
        cells = {field: row[index] if index < len(row) else "" for field, index in fields.items()}
        if not cells["subject_id"]:
            continue
        subject = cells["subject_id"]
        subjects[str(int(float(subject))) if re.fullmatch(r"\d+(\.0+)?", subject) else subject] = cells
    return subjects


def _labels(cells: dict[str, str], path: Path) -> tuple[dict, dict]:
    classes = {"hypertension": cells["hypertension"], "sex": cells["sex"].upper()[:1]}
    for field in YES_NO:
        classes[field] = "no" if cells[field].strip().lower() in NO_VALUES else "yes"
    numeric = {}
    for field, unit in COLUMNS.values():
        if unit is None or not cells[field]:
            continue
        try:
            numeric[field] = (float(cells[field]), unit)
        except ValueError as error:
            raise ValueError(
                f"{path}: subject {cells['subject_id']} has {field} = {cells[field]!r}, not a number."
            ) from error
    return classes, numeric


def _read_segment(path: Path) -> np.ndarray:
    try:
        values = np.array([float(v) for v in path.read_text().split()], dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"{path} is corrupt: {error}") from error
    if values.size != SEGMENT_SAMPLES or not np.isfinite(values).all():
        raise ValueError(f"{path} is corrupt: expected {SEGMENT_SAMPLES} finite samples, got {values.size}.")
    return values


def _find(raw_dir: Path, name: str, folder: bool) -> Path:
    for candidate in sorted(raw_dir.rglob(name)):
        if candidate.is_dir() == folder:
            return candidate
    raise ValueError(f"{raw_dir / name} not found: point raw_dir at the PPG-BP release ('Data File' folder).")


def iter_examples(raw_dir: Path, progress: bool = True) -> Iterator[dict]:
    raw_dir = Path(raw_dir)
    sheet = _find(raw_dir, SHEET_NAME, folder=False)
    segments_dir = _find(raw_dir, "0_subject", folder=True)
    subjects = read_subjects(sheet)
    segments: dict[str, list[tuple[int, Path]]] = {}
    for path in segments_dir.iterdir():
        if match := SEGMENT_FILE.match(path.name):
            segments.setdefault(str(int(match[1])), []).append((int(match[2]), path))
    for subject, cells in tqdm(subjects.items(), desc=NAME, disable=not progress):
        if subject not in segments:
            raise ValueError(f"{segments_dir / f'{subject}_1.txt'} is missing: subject {subject} has no segments.")
        classes, numeric = _labels(cells, sheet)
        for number, path in sorted(segments[subject]):
            yield make_example(
                [_read_segment(path)],
                SAMPLING_RATE,
                ["ppg"],
                recording_id=f"{subject}_{number}",
                source=NAME,
                subject_id=f"{NAME}:{subject}",
                channel_names=["PPG"],
                class_labels=classes,
                numeric_labels=numeric,
            )
