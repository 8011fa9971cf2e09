"""normwear-hf embed / info / export: outputs equal the library's, bad input exits 2 with one clear line."""

import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from conftest import micro_config

from normwear_hf import (
    NormWearConfig,
    NormWearFeatureExtractor,
    NormWearForMaskedReconstruction,
    NormWearModel,
    checkpoint,
)
from normwear_hf.cli import main
from normwear_hf.inference import embed


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    """A tiny pretraining folder (decoder included, as a pretraining run writes) with a model card."""
    folder = tmp_path_factory.mktemp("models") / "tiny"
    torch.manual_seed(0)
    NormWearForMaskedReconstruction(micro_config()).save_pretrained(folder)
    NormWearFeatureExtractor().save_pretrained(folder)
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Tiny NormWear\n\nFor tests.\nLine 3\n")
    return folder


@pytest.fixture(scope="module")
def backbone(model_folder):
    return NormWearModel.from_pretrained(model_folder).eval()


def _signals(channels, seconds, rate, seed=0):
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    return np.stack([np.sin(2 * np.pi * (1 + c) * t) + 0.1 * rng.standard_normal(t.size) for c in range(channels)])


def _reference(backbone, signals, rate, pooling="recording", types=None):
    return embed(
        [list(signals)],
        sampling_rate=[[rate] * len(signals)],
        channel_types=[types or ["other"] * len(signals)],
        model=backbone,
        feature_extractor=NormWearFeatureExtractor(),
        pooling=pooling,
    )[0]


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1]


def test_embed_npy_files_to_npy_with_sidecar(tmp_path, model_folder, backbone, capsys):
    first, second = _signals(2, 8, 100, seed=1), _signals(2, 3, 100, seed=2)
    np.save(tmp_path / "a.npy", first)
    np.save(tmp_path / "b.npy", second)
    out = tmp_path / "emb" / "vectors.npy"
    code = main(
        ["embed", str(tmp_path / "b.npy"), str(tmp_path / "a.npy"), "--out", str(out), "--model", str(model_folder)]
        + ["--sampling-rate", "100", "--batch-size", "1"]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "embedded 2 files (11.0 s of signal)" in printed and "array (2, 32)" in printed
    vectors = np.load(out)
    assert vectors.shape == (2, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[0], _reference(backbone, second, 100), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vectors[1], _reference(backbone, first, 100), rtol=1e-5, atol=1e-6)
    sidecar = tmp_path / "emb" / "vectors.npy.files.txt"
    assert sidecar.read_text().splitlines() == [str(tmp_path / "b.npy"), str(tmp_path / "a.npy")]

    # an existing output is kept unless --overwrite
    again = ["embed", str(tmp_path / "a.npy"), "--out", str(out), "--model", str(model_folder)]
    assert main(again + ["--sampling-rate", "100"]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert np.load(out).shape == (2, 32)

    # per-channel rates and probe pooling: [N, C * D]
    assert (
        main(again + ["--sampling-rate", "100,50", "--channel-types", "ecg,ppg", "--pooling", "probe", "--overwrite"])
        == 0
    )
    probe = np.load(out)
    assert probe.shape == (1, 64)
    expected = embed(
        [list(first)],
        sampling_rate=[[100.0, 50.0]],
        channel_types=[["ecg", "ppg"]],
        model=backbone,
        feature_extractor=NormWearFeatureExtractor(),
        pooling="probe",
    )
    np.testing.assert_allclose(probe, expected, rtol=1e-5, atol=1e-6)


def test_embed_folder_of_mixed_formats_to_parquet(tmp_path, model_folder, backbone, capsys):
    data = tmp_path / "data"
    data.mkdir()
    csv_signals = _signals(2, 6, 50, seed=3)
    time = np.arange(csv_signals.shape[1]) / 50
    lines = ["time,ECG,BVP"] + [f"{t:.4f},{float(a)!r},{float(b)!r}" for t, a, b in zip(time, *csv_signals)]
    (data / "b_watch.csv").write_text("\n".join(lines) + "\n")
    npz_signals = _signals(3, 7, 64, seed=4)
    np.savez(data / "a_chest.npz", signals=npz_signals, sampling_rate=64.0, channel_types=np.array(["ecg"] * 3))
    (data / "notes.txt").write_text("skipped")
    out = tmp_path / "emb.parquet"
    assert main(["embed", str(data), "--out", str(out), "--model", str(model_folder)]) == 0
    assert "embedded 2 files" in capsys.readouterr().out
    table = pq.read_table(out)
    assert table.column_names == ["file", "embedding", "channel_names", "channels_used"]
    assert table["channels_used"].to_pylist() == [[1.0] * 3, [1.0] * 2]
    assert table["file"].to_pylist() == [str(data / "a_chest.npz"), str(data / "b_watch.csv")]
    rows = table["embedding"].to_pylist()
    assert table.schema.field("embedding").type.value_type == "float"
    np.testing.assert_allclose(
        rows[0], _reference(backbone, npz_signals, 64.0, types=["ecg"] * 3), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        rows[1], _reference(backbone, csv_signals, 50.0, types=["ecg", "ppg"]), rtol=1e-5, atol=1e-6
    )

    # channel pooling: one vector per channel, channel names alongside; .npy refuses ragged channel counts
    channel = ["--pooling", "channel", "--overwrite"]
    assert main(["embed", str(data), "--out", str(out), "--model", str(model_folder), *channel]) == 0
    table = pq.read_table(out)
    assert [np.asarray(row).shape for row in table["embedding"].to_pylist()] == [(3, 32), (2, 32)]
    assert table["channel_names"].to_pylist() == [["channel 0", "channel 1", "channel 2"], ["ECG", "BVP"]]
    npy = tmp_path / "x.npy"
    assert main(["embed", str(data), "--out", str(npy), "--model", str(model_folder), "--pooling", "channel"]) == 2
    line = _error_line(capsys)
    assert line.startswith("normwear-hf embed: error: the files give embeddings of different shapes")
    assert "--pooling recording" in line and ".parquet" in line and not npy.exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], r"a\.npy: a \.npy file carries no sampling rate; pass --sampling-rate HZ\."),
        (["--sampling-rate", "abc"], r"--sampling-rate 'abc': give Hz as one number or one per channel"),
        (["--sampling-rate", "100,100,100"], r"gives 3 rates but the file has 2 channels"),
        (["--sampling-rate", "100", "--channel-types", "ecg,banana"], r"unknown channel type\(s\) \['banana'\]"),
        (["--sampling-rate", "100", "--batch-size", "0"], r"--batch-size must be at least 1"),
        (["--sampling-rate", "100", "--out", "x.csv"], r"--out x\.csv: the output must end in \.npy or \.parquet"),
        (["--sampling-rate", "100", "--quality-threshold", "1.5"], r"--quality-threshold 1\.5: .* must be in \[0, 1\]"),
        (["--sampling-rate", "100", "--quality-threshold", "0.3", "--no-quality-mask"], r"contradict each other"),
    ],
)
def test_embed_bad_input_exits_2_with_one_line(tmp_path, model_folder, capsys, extra, message):
    np.save(tmp_path / "a.npy", _signals(2, 2, 100))
    argv = ["embed", str(tmp_path / "a.npy"), "--out", str(tmp_path / "o.npy"), "--model", str(model_folder)]
    assert main(argv + extra) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("normwear-hf embed: error: ")
    assert re.search(message, err), err


def test_embed_masks_a_flat_channel_and_reports_it(tmp_path, model_folder, backbone, capsys):
    signals = _signals(3, 12, 100, seed=5)
    signals[2] = 0.5  # a detached sensor
    np.save(tmp_path / "a.npy", signals)
    common = ["embed", str(tmp_path / "a.npy"), "--model", str(model_folder), "--sampling-rate", "100"]
    assert main(common + ["--out", str(tmp_path / "masked.parquet")]) == 0
    assert "2 of 6 channel windows masked for quality" in capsys.readouterr().out
    assert main(common + ["--out", str(tmp_path / "all.parquet"), "--no-quality-mask"]) == 0
    assert "0 of 6 channel windows masked" in capsys.readouterr().out
    masked, unmasked = pq.read_table(tmp_path / "masked.parquet"), pq.read_table(tmp_path / "all.parquet")
    assert masked["channels_used"].to_pylist() == [[1.0, 1.0, 0.0]]
    assert unmasked["channels_used"].to_pylist() == [[1.0, 1.0, 1.0]]
    two_channels = _reference(backbone, signals[:2], 100.0)  # the flat channel left out = never there
    np.testing.assert_allclose(masked["embedding"].to_pylist()[0], two_channels, rtol=1e-4, atol=1e-5)


def test_embed_reads_parquet_and_never_its_own_output(tmp_path, model_folder, backbone):
    data = tmp_path / "data"
    data.mkdir()
    signals = _signals(2, 8, 100, seed=6)
    table = pa.table({"ECG": signals[0], "BVP": signals[1]}).replace_schema_metadata({"sampling_rate": "100"})
    pq.write_table(table, data / "watch.parquet")
    out = data / "emb.parquet"  # the output lands in the folder that is read
    for again in ([], ["--overwrite"]):
        assert main(["embed", str(data), "--out", str(out), "--model", str(model_folder), *again]) == 0
        written = pq.read_table(out)
        assert written["file"].to_pylist() == [str(data / "watch.parquet")]
    expected = _reference(backbone, signals, 100.0, types=["ecg", "ppg"])
    np.testing.assert_allclose(written["embedding"].to_pylist()[0], expected, rtol=1e-5, atol=1e-6)


def test_embed_missing_file_model_and_short_recording(tmp_path, model_folder, capsys, monkeypatch):
    out = str(tmp_path / "o.npy")
    assert main(["embed", str(tmp_path / "nope.csv"), "--out", out, "--model", str(model_folder)]) == 2
    assert (
        _error_line(capsys)
        == f"normwear-hf embed: error: {tmp_path / 'nope.csv'} does not exist (no such file or folder)."
    )
    np.save(tmp_path / "a.npy", _signals(1, 2, 100))
    assert main(["embed", str(tmp_path / "a.npy"), "--out", out, "--sampling-rate", "100", "--model", "nope"]) == 2
    assert "nothing is downloaded at run time" in _error_line(capsys)
    monkeypatch.setattr(checkpoint, "DEFAULT_CHECKPOINT", str(tmp_path / "not-installed"))
    monkeypatch.chdir(tmp_path)
    assert main(["embed", "a.npy", "--out", out, "--sampling-rate", "100"]) == 2  # default --model normwear
    assert "install is incomplete" in _error_line(capsys)
    np.save(tmp_path / "short.npy", _signals(1, 0.5, 100))
    assert main(["embed", "short.npy", "--out", out, "--sampling-rate", "100", "--model", str(model_folder)]) == 2
    line = _error_line(capsys)
    assert line.startswith("normwear-hf embed: error: short.npy: ") and "1 s" in line


def test_info_describes_the_model(tmp_path, model_folder, capsys):
    assert main(["info", "--model", str(model_folder), "--card-lines", "2"]) == 0
    printed = capsys.readouterr().out
    assert f"model: {model_folder}" in printed
    assert "architecture: NormWearForMaskedReconstruction (model_type normwear)" in printed
    assert "size: hidden 32, 2 layers, 4 heads, MLP 64, patch 13 x 13 (time x scale)" in printed
    assert "(no named preset)" in printed
    model = NormWearForMaskedReconstruction.from_pretrained(model_folder)
    assert f"parameters: {sum(p.numel() for p in model.parameters()):,}" in printed
    assert "weights: model.safetensors " in printed and "KiB" in printed
    assert "zero-shot aggregator: no" in printed
    assert "feature extractor: resample to 65 Hz, windows of 390 samples (6 s)" in printed
    card = "model card (README.md, first 2 non-blank lines):\n  # Tiny NormWear\n  For tests."
    assert printed.rstrip().endswith(card)

    folder = tmp_path / "preset"
    NormWearModel(NormWearConfig.from_preset("tiny", zero_shot_aggregator="msitf")).save_pretrained(folder)
    assert main(["info", "--model", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "architecture: NormWearModel" in printed and "(preset 'tiny')" in printed
    assert "zero-shot aggregator: yes (msitf" in printed
    assert "model card: none (README.md not in the folder)" in printed
    assert main(["info", "--model", str(tmp_path)]) == 2
    assert _error_line(capsys).startswith("normwear-hf info: error: ")


def test_info_on_the_bundled_card_shows_no_generator_comment_and_no_pypi_install(capsys):
    assert main(["info", "--card-lines", "8"]) == 0
    printed = capsys.readouterr().out
    assert "<!--" not in printed and "# NormWear tiny" in printed
    assert "pip install normwear-hf\n" not in printed and "not on PyPI yet" in printed


def test_export_command(tmp_path, model_folder, capsys):
    out = tmp_path / "hub"
    assert main(["export", str(model_folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f'AutoModel.from_pretrained("{out}", trust_remote_code=True)' in printed
    assert (out / "README.md").is_file() and (out / "modeling_normwear.py").is_file()
    assert json.loads((out / "config.json").read_text())["auto_map"]["AutoModel"] == "modeling_normwear.NormWearModel"
    assert main(["export", str(model_folder), "--out", str(out)]) == 2
    assert _error_line(capsys) == (
        f"normwear-hf export: error: {out} exists and is not empty; pass overwrite=True (--overwrite) to replace it."
    )
    assert main(["export", str(model_folder), "--out", str(out), "--overwrite"]) == 0


@pytest.mark.parametrize(
    "command, flags",
    [("embed", ["--sampling-rate", "--pooling", "--bf16"]), ("info", ["--model"]), ("export", ["--overwrite"])],
)
def test_help(command, flags, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"usage: normwear-hf {command}") and all(flag in printed for flag in flags)
    with pytest.raises(SystemExit):
        main(["--help"])
    printed = capsys.readouterr().out
    assert all(name in printed for name in ("embed", "info", "export", "demo", "convert"))


def test_embed_bf16_is_close_to_fp32(tmp_path, model_folder, capsys):
    np.save(tmp_path / "a.npy", _signals(2, 6, 100))
    common = ["embed", str(tmp_path / "a.npy"), "--model", str(model_folder), "--sampling-rate", "100"]
    assert main(common + ["--out", str(tmp_path / "fp32.npy")]) == 0
    assert main(common + ["--out", str(tmp_path / "bf16.npy"), "--bf16"]) == 0
    fp32, bf16 = np.load(tmp_path / "fp32.npy"), np.load(tmp_path / "bf16.npy")
    assert bf16.dtype == np.float32 and not np.array_equal(fp32, bf16)
    assert np.linalg.norm(bf16 - fp32) < 0.05 * np.linalg.norm(fp32)


def test_build_corpus_without_neurokit2_fails_at_once_with_workers(tmp_path):
    """It used to hang: the worker initializer's ImportError made the pool respawn workers forever."""
    import subprocess
    import sys

    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "neurokit2.py").write_text("raise ImportError('No module named neurokit2')\n")
    command = [sys.executable, "-m", "normwear_hf.cli", "build-corpus", "--out", str(tmp_path / "c")]
    command += ["--sources", "none", "--synthetic", "50", "--workers", "2", "--no-progress"]
    env = {**__import__("os").environ, "PYTHONPATH": str(fake)}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith("normwear-hf build-corpus: error:")
    assert "pip install 'neurokit2>=0.2.13'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    "device, message", [("foo", "'foo' is not a torch device"), ("cuda:7", "this machine has no such device")]
)
def test_embed_device_errors_exit_2_with_one_line(tmp_path, model_folder, capsys, device, message):
    np.save(tmp_path / "a.npy", _signals(1, 3, 100))
    command = ["embed", str(tmp_path / "a.npy"), "--out", str(tmp_path / "o.npy"), "--model", str(model_folder)]
    assert main(command + ["--sampling-rate", "100", "--device", device]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_the_command_line_parses_before_importing_the_model_stack():
    """`normwear-hf --help` and argument errors must not wait for torch and transformers (6-9 s before)."""
    import subprocess
    import sys

    probe = (
        "import sys; sys.argv = ['normwear-hf', '--help']; import normwear_hf.cli as cli; "
        "heavy = [m for m in ('torch', 'transformers', 'scipy', 'datasets') if m in sys.modules]; "
        "print('HEAVY', heavy)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
    # info reads JSON and safetensors headers only
    info = probe.replace(
        "'--help']; import normwear_hf.cli as cli; ", "'info']; import normwear_hf.cli as cli; cli.main(['info']); "
    )
    result = subprocess.run([sys.executable, "-c", info], capture_output=True, text=True, timeout=120)
    assert "parameters: " in result.stdout and "HEAVY []" in result.stdout, result.stdout + result.stderr
    # a program that imports the package still gets the Auto classes at once
    program = "import normwear_hf, transformers; print(transformers.AutoConfig.for_model('normwear').model_type)"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip().endswith("normwear"), result.stderr[-2000:]


def test_info_on_an_edited_config_or_a_hostile_preprocessor_exits_2_with_one_line(tmp_path, model_folder, capsys):
    import json
    import shutil

    edited = tmp_path / "edited"
    shutil.copytree(model_folder, edited)
    config = json.loads((edited / "config.json").read_text())
    config["intermediate_size"] = 2 * config["intermediate_size"]  # weights no longer fit
    (edited / "config.json").write_text(json.dumps(config))
    assert main(["info", "--model", str(edited)]) == 2
    assert "do not fit its config.json" in _error_line(capsys)

    hostile = tmp_path / "hostile"
    shutil.copytree(model_folder, hostile)
    (hostile / "preprocessor_config.json").write_text(json.dumps({"__class__": "x", "sampling_rate": 65}))
    assert main(["info", "--model", str(hostile)]) == 2
    assert "['__class__'], which are not settings of a feature extractor" in _error_line(capsys)
