"""PPG-BP converter on fixtures in the figshare layout: an xlsx subject sheet and tab-separated segments."""

import zipfile
from xml.sax.saxutils import escape

import numpy as np
import pytest

from normwear_hf.data.converters import common, ppg_bp
from normwear_hf.data.schema import validate_example

HEADER = [
    "Num.",
    "subject_ID",
    "Sex(M/F)",
    "Age(year)",
    "Height(cm)",
    "Weight(kg)",
    "Systolic Blood Pressure(mmHg)",
    "Diastolic Blood Pressure(mmHg)",
    "Heart Rate(b/m)",
    "BMI(kg/m^2)",
    "Hypertension",
    "Diabetes",
    "cerebral infarction",
    "cerebrovascular disease",
]
SUBJECTS = [
    [1, 2, "Female", 45, 152, 63, 161, 89, 97, 27.27, "Stage 2 hypertension", "", "", ""],
    [2, 3, "Male", 50, 157, 50, 160, 93, 76, 20.28, "Stage 2 hypertension", "Type 2 Diabetes", "", ""],
    [3, 14, "Female", 80, 150, 46, 126, 74, 70, 20.44, "Prehypertension", "", "cerebral infarction", ""],
]


def _column(index: int) -> str:
    return chr(65 + index)


def write_xlsx(path, rows):
    """A minimal workbook as Excel writes it: shared strings, a title row, numbers as plain cells."""
    strings, xml_rows = [], []
    for r, row in enumerate(rows, 1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{_column(c)}{r}"
            if value == "":
                continue
            if isinstance(value, str):
                strings.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="cardiovascular" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="x" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/sharedStrings.xml",
            f'<sst xmlns="{main}">' + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings) + "</sst>",
        )
        sheet = f'<worksheet xmlns="{main}"><sheetData>{"".join(xml_rows)}</sheetData></worksheet>'
        archive.writestr("xl/worksheets/sheet1.xml", sheet)


def write_release(root, writer=write_xlsx, skip_segments=()):
    data = root / "Data File"
    (data / "0_subject").mkdir(parents=True)
    writer(data / "PPG-BP dataset.xlsx", [["PPG-BP dataset"], HEADER, *SUBJECTS])
    expected = {}
    for row in SUBJECTS:
        for segment in (1, 2, 3):
            name = f"{row[1]}_{segment}"
            if name in skip_segments:
                continue
            values = (2000 + 100 * np.sin(np.arange(2100) / 50 + row[1] + segment)).astype(int)
            expected[name] = values
            (data / "0_subject" / f"{name}.txt").write_text("\t".join(map(str, values)) + "\t")
    return expected


def check_rows(rows, expected):
    assert [row["recording_id"] for row in rows] == ["2_1", "2_2", "2_3", "3_1", "3_2", "3_3", "14_1", "14_2", "14_3"]
    for row in rows:
        validate_example(row)
        assert row["sampling_rate"] == [1000.0] and row["channel_types"] == ["ppg"]
        np.testing.assert_array_equal(row["signals"][0], expected[row["recording_id"]])
    assert [row["subject_id"] for row in rows[::3]] == ["ppg_bp:2", "ppg_bp:3", "ppg_bp:14"]
    classes = [{e["name"]: e["value"] for e in row["class_labels"]} for row in rows[::3]]
    assert classes[0] == {
        "hypertension": "Stage 2 hypertension",
        "sex": "F",
        "diabetes": "no",
        "cerebral_infarction": "no",
        "cerebrovascular_disease": "no",
    }
    assert classes[1]["diabetes"] == "yes" and classes[1]["sex"] == "M"
    assert classes[2]["cerebral_infarction"] == "yes" and classes[2]["hypertension"] == "Prehypertension"
    numeric = {e["name"]: (e["value"], e["unit"]) for e in rows[3]["numeric_labels"]}
    assert numeric["sbp"] == (160.0, "mmHg") and numeric["dbp"] == (93.0, "mmHg")
    assert numeric["heart_rate"] == (76.0, "bpm") and numeric["bmi"] == (20.28, "kg/m^2")
    assert numeric["age"] == (50.0, "years")


def test_segments_and_labels(tmp_path):
    expected = write_release(tmp_path)
    check_rows(list(ppg_bp.iter_examples(tmp_path, progress=False)), expected)


def test_workbook_written_by_openpyxl(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")

    def writer(path, rows):
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append([None if value == "" else value for value in row])
        book.save(path)

    expected = write_release(tmp_path, writer)
    check_rows(list(ppg_bp.iter_examples(tmp_path, progress=False)), expected)


def test_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="PPG-BP dataset.xlsx not found"):
        list(ppg_bp.iter_examples(tmp_path, progress=False))
    write_release(tmp_path, skip_segments={"14_1", "14_2", "14_3"})
    with pytest.raises(ValueError, match="14_1.txt is missing"):
        list(ppg_bp.iter_examples(tmp_path, progress=False))
    segment = tmp_path / "Data File" / "0_subject" / "14_1.txt"
    segment.write_text("1\t2\t3")
    with pytest.raises(ValueError, match="14_1.txt is corrupt: expected 2100"):
        list(ppg_bp.iter_examples(tmp_path, progress=False))
    segment.write_text("1\tx\t3")
    with pytest.raises(ValueError, match="14_1.txt is corrupt"):
        list(ppg_bp.iter_examples(tmp_path, progress=False))
    sheet = tmp_path / "Data File" / "PPG-BP dataset.xlsx"
    sheet.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="PPG-BP dataset.xlsx is corrupt or not an xlsx"):
        list(ppg_bp.iter_examples(tmp_path, progress=False))
    write_xlsx(sheet, [HEADER[:5], SUBJECTS[0][:5]])
    with pytest.raises(ValueError, match=r"PPG-BP dataset.xlsx is corrupt: columns \['weight'"):
        list(ppg_bp.iter_examples(tmp_path, progress=False))


def test_card():
    assert ppg_bp.NAME == "ppg_bp" and ppg_bp.CARD["citation"].startswith("@article")


def test_convert_end_to_end(tmp_path):
    write_release(tmp_path / "raw")
    result = common.convert("ppg_bp", tmp_path / "raw", tmp_path / "out", seed=0, progress=False)
    train, test = set(result["train"]["subject_id"]), set(result["test"]["subject_id"])
    assert train.isdisjoint(test) and train | test == {"ppg_bp:2", "ppg_bp:3", "ppg_bp:14"} and len(test) == 1
    assert len(result["train"]) + len(result["test"]) == 9
    card = (tmp_path / "out" / "README.md").read_text()
    assert "@article{liang2018new" in card and "| ppg | 1000 |" in card
