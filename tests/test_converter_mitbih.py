"""MIT-BIH converter on records written here in WFDB format 212 with MIT-format beat annotations."""

import numpy as np
import pytest

from normwear_hf.data.converters import common, mitbih
from normwear_hf.data.schema import validate_example

SYMBOL_CODES = {symbol: code for code, symbol in mitbih.CODES.items()}


def pack_212(digital: np.ndarray) -> bytes:
    """``digital`` is [T, C] int; frames interleaved, two 12-bit samples per three bytes."""
    flat = (digital.reshape(-1).astype(np.int64) & 0xFFF).tolist()
    if len(flat) % 2:
        flat.append(0)
    out = bytearray()
    for first, second in zip(flat[0::2], flat[1::2]):
        out += bytes([first & 0xFF, ((first >> 8) & 0x0F) | ((second >> 4) & 0xF0), second & 0xFF])
    return bytes(out)


def annotation_bytes(samples, symbols, aux_after=None) -> bytes:
    words, previous = [], 0
    for index, (sample, symbol) in enumerate(zip(samples, symbols)):
        interval = sample - previous
        if interval > 1023:  # SKIP, then the annotation with interval 0
            words += [59 << 10, (interval >> 16) & 0xFFFF, interval & 0xFFFF]
            interval = 0
        words.append((SYMBOL_CODES[symbol] << 10) | interval)
        if index == aux_after:
            text = b"(N"
            words.append((63 << 10) | len(text))
            words += list(np.frombuffer(text + b"\0" * (len(text) % 2), dtype="<u2"))
        previous = sample
    words.append(0)
    return np.asarray(words, dtype="<u2").tobytes()


def write_record(folder, record, seconds=10, beats=None, leads=("MLII", "V1")):
    folder.mkdir(parents=True, exist_ok=True)
    n = int(seconds * 360)
    t = np.arange(n)
    digital = np.stack([(t % 400) - 200 + 1024, 1024 - (t % 300)], axis=1).astype(np.int64)
    lines = [f"{record} 2 360 {n}"]
    for c, lead in enumerate(leads):
        checksum = int(np.int16(np.sum(digital[:, c]) & 0xFFFF))
        lines.append(f"{record}.dat 212 200 11 1024 {digital[0, c]} {checksum} 0 {lead}")
    lines.append("# 69 M 1085 1629 x1")
    (folder / f"{record}.hea").write_text("\n".join(lines) + "\n")
    (folder / f"{record}.dat").write_bytes(pack_212(digital))
    beats = beats or [(200, "N"), (700, "N"), (1100, "+"), (1200, "A"), (1900, "V"), (2500, "/"), (3500, "N")]
    (folder / f"{record}.atr").write_bytes(annotation_bytes(*zip(*beats), aux_after=2))
    return (digital.T - 1024) / 200.0


def test_beat_windows_and_labels(tmp_path):
    physical = write_record(tmp_path / "mitdb", "100")
    write_record(tmp_path / "mitdb", "202", beats=[(400, "N"), (3000, "F")])
    rows = list(mitbih.iter_examples(tmp_path, progress=False))
    # beats at 200 and 3500 are within 1 s of an edge; '+' is not a beat
    assert [row["recording_id"] for row in rows] == [
        "100/700",
        "100/1200",
        "100/1900",
        "100/2500",
        "202/400",
        "202/3000",
    ]
    for row in rows:
        validate_example(row)
        assert row["sampling_rate"] == [360.0, 360.0] and row["channel_types"] == ["ecg", "ecg"]
        assert [len(c) for c in row["signals"]] == [720, 720]
    first = rows[0]
    assert first["channel_names"] == ["MLII", "V1"] and first["subject_id"] == "mitdb:100"
    np.testing.assert_allclose(first["signals"][0], physical[0, 340:1060], atol=1e-6)
    np.testing.assert_allclose(first["signals"][1], physical[1, 340:1060], atol=1e-6)
    assert first["start_s"] == pytest.approx(340 / 360)
    labels = [{e["name"]: e["value"] for e in row["class_labels"]} for row in rows]
    assert [label["aami_class"] for label in labels] == ["N", "S", "V", "Q", "N", "F"]
    assert labels[1] == {"aami_class": "S", "beat_symbol": "A", "de_chazal_split": "DS2"}
    assert labels[4]["de_chazal_split"] == "DS2" and rows[4]["subject_id"] == "mitdb:201"
    numeric = {e["name"]: e["value"] for e in rows[1]["numeric_labels"]}
    assert numeric == pytest.approx({"rr_previous": 500 / 360, "rr_next": 700 / 360})


def test_annotation_skip_and_format_16(tmp_path):
    samples, symbols = mitbih.read_annotations(_write(tmp_path / "a.atr", annotation_bytes([5000, 5010], "NV")))
    assert samples.tolist() == [5000, 5010] and symbols == ["N", "V"]
    digital = np.array([[1, -2], [300, -32768]], dtype="<i2")
    (tmp_path / "r16.dat").write_bytes(digital.tobytes())
    (tmp_path / "r16.hea").write_text("r16 2 360 2\nr16.dat 16 100(0)/mV 16 0\nr16.dat 16 100/mV 16 0\n")
    header, signals = mitbih.read_signals(tmp_path / "r16.hea")
    assert signals[0].tolist() == [0.01, 3.0] and signals[1, 0] == -0.02 and np.isnan(signals[1, 1])


def _write(path, data):
    path.write_bytes(data)
    return path


def test_matches_the_wfdb_package(tmp_path):
    wfdb = pytest.importorskip("wfdb")
    physical = write_record(tmp_path, "119")
    record = wfdb.rdrecord(str(tmp_path / "119"))
    np.testing.assert_allclose(record.p_signal.T, physical, atol=1e-9)
    annotation = wfdb.rdann(str(tmp_path / "119"), "atr")
    assert annotation.sample.tolist() == [200, 700, 1100, 1200, 1900, 2500, 3500]
    assert annotation.symbol == ["N", "N", "+", "A", "V", "/", "N"]
    wfdb.wrann("121", "atr", np.array([900, 2000, 70000]), ["N", "V", "A"], write_dir=str(tmp_path))
    samples, symbols = mitbih.read_annotations(tmp_path / "121.atr")
    assert samples.tolist() == [900, 2000, 70000] and symbols == ["N", "V", "A"]


def test_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="holds no MIT-BIH records"):
        list(mitbih.iter_examples(tmp_path, progress=False))
    write_record(tmp_path, "105")
    (tmp_path / "105.atr").unlink()
    with pytest.raises(ValueError, match=r"105.atr is missing"):
        list(mitbih.iter_examples(tmp_path, progress=False))
    write_record(tmp_path, "105")
    data = bytearray((tmp_path / "105.dat").read_bytes())
    data[30] ^= 0x55
    (tmp_path / "105.dat").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"105.dat is corrupt: checksum mismatch"):
        list(mitbih.iter_examples(tmp_path, progress=False))
    (tmp_path / "105.dat").write_bytes(bytes(data[:100]))
    with pytest.raises(ValueError, match=r"105.dat is corrupt or truncated: \d+ bytes"):
        list(mitbih.iter_examples(tmp_path, progress=False))
    (tmp_path / "105.dat").unlink()
    with pytest.raises(ValueError, match=r"105.dat is missing"):
        list(mitbih.iter_examples(tmp_path, progress=False))
    (tmp_path / "105.hea").write_text("105 2 360\n")
    with pytest.raises(ValueError, match=r"105.hea is corrupt"):
        list(mitbih.iter_examples(tmp_path, progress=False))
    (tmp_path / "105.atr").write_bytes(b"abc")
    with pytest.raises(ValueError, match=r"105.atr is corrupt"):
        mitbih.read_annotations(tmp_path / "105.atr")


def test_card():
    assert mitbih.NAME == "mitbih" and mitbih.CARD["citation"].startswith("@article")
    assert sorted(set(mitbih.AAMI.values())) == sorted(mitbih.CARD["label_names"]["aami_class"])


def test_convert_end_to_end(tmp_path):
    write_record(tmp_path / "raw", "100")
    write_record(tmp_path / "raw", "202", beats=[(400, "N"), (3000, "F")])
    result = common.convert("mitbih", tmp_path / "raw", tmp_path / "out", seed=0, progress=False)
    train, test = set(result["train"]["subject_id"]), set(result["test"]["subject_id"])
    assert train.isdisjoint(test) and train | test == {"mitdb:100", "mitdb:201"} and len(test) == 1
    assert len(result["train"]) + len(result["test"]) == 6
    card = (tmp_path / "out" / "README.md").read_text()
    assert "@article{moody2001impact" in card and "| ecg | 360 |" in card
