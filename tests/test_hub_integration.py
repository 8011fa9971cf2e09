"""Saving, loading and Auto-class behaviour, including a fresh process that never imports normwear_hf."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import micro_config
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel

from normwear_hf import NormWearConfig, NormWearFeatureExtractor, NormWearModel


def _sample_signals(channels: int = 3, seconds: float = 6.0, rate: float = 100.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    waves = [np.sin(2 * np.pi * (1.0 + c) * t) + 0.1 * rng.standard_normal(t.size) for c in range(channels)]
    return np.stack(waves).astype(np.float32)


@pytest.fixture
def saved_folder(tmp_path):
    torch.manual_seed(0)
    model = NormWearModel(micro_config()).eval()
    extractor = NormWearFeatureExtractor()
    folder = tmp_path / "normwear-tiny"
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    return folder, model, extractor


def test_saved_folder_layout(saved_folder):
    folder, _, _ = saved_folder
    files = set(os.listdir(folder))
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= files
    assert not any(name.endswith((".bin", ".pt", ".pth", ".pkl")) for name in files)
    # the code that trust_remote_code needs travels with the weights
    assert {
        "configuration_normwear.py",
        "modeling_normwear.py",
        "feature_extraction_normwear.py",
        "signal_processing.py",
        "rhythm_features.py",
    } <= files
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "normwear"
    assert config["auto_map"] == {
        "AutoConfig": "configuration_normwear.NormWearConfig",
        "AutoModel": "modeling_normwear.NormWearModel",
    }
    preprocessor = json.loads((folder / "preprocessor_config.json").read_text())
    assert preprocessor["auto_map"]["AutoFeatureExtractor"] == ("feature_extraction_normwear.NormWearFeatureExtractor")


def test_round_trip_identical_outputs(saved_folder):
    folder, model, extractor = saved_folder
    features = extractor(_sample_signals(), sampling_rate=100.0, return_tensors="pt")
    reloaded = NormWearModel.from_pretrained(folder).eval()
    auto = AutoModel.from_pretrained(folder).eval()
    assert isinstance(auto, NormWearModel)
    assert isinstance(AutoConfig.from_pretrained(folder), NormWearConfig)
    assert isinstance(AutoFeatureExtractor.from_pretrained(folder), NormWearFeatureExtractor)
    with torch.no_grad():
        expected = model(**features).last_hidden_state
        assert torch.equal(reloaded(**features).last_hidden_state, expected)
        assert torch.equal(auto(**features).last_hidden_state, expected)

    def settings(config):
        return {k: v for k, v in config.to_dict().items() if k != "_name_or_path"}

    assert settings(reloaded.config) == settings(model.config)


REMOTE_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.modules["normwear_hf"] = None  # any attempt to import the package now fails
    import numpy as np
    import torch
    from transformers import AutoFeatureExtractor, AutoModel

    folder, signals_path, out_path = sys.argv[1:4]
    extractor = AutoFeatureExtractor.from_pretrained(folder, trust_remote_code=True)
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    features = extractor(np.load(signals_path), sampling_rate=100.0, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**features).last_hidden_state
    np.save(out_path, hidden.numpy())
    loaded = sorted(name for name, module in sys.modules.items() if module is not None and "normwear" in name)
    print(type(model).__name__, type(extractor).__name__, loaded)
    """
)


def run_without_package(folder: Path, tmp_path: Path) -> tuple[str, np.ndarray]:
    """REMOTE_SCRIPT on ``folder`` in a fresh process in which ``import normwear_hf`` fails."""
    signals_path, out_path = tmp_path / "signals.npy", tmp_path / "remote_out.npy"
    np.save(signals_path, _sample_signals())
    script = tmp_path / "load_remote.py"
    script.write_text(REMOTE_SCRIPT)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, str(script), str(folder), str(signals_path), str(out_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "normwear_hf" not in result.stdout.split("[", 1)[1]  # only the copied remote modules were loaded
    return result.stdout, np.load(out_path)


def test_remote_code_loads_in_fresh_process_without_package(saved_folder, tmp_path):
    folder, model, extractor = saved_folder
    signals = _sample_signals()
    stdout, remote = run_without_package(folder, tmp_path)
    assert "NormWearModel NormWearFeatureExtractor" in stdout
    features = extractor(signals, sampling_rate=100.0, return_tensors="pt")
    with torch.no_grad():
        expected = model(**features).last_hidden_state.numpy()
    np.testing.assert_array_equal(remote, expected)


def test_corrupted_weights_give_clear_error(saved_folder):
    folder, _, _ = saved_folder
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError, match="corrupted or incomplete.*save the checkpoint again"):
        NormWearModel.from_pretrained(folder)


def test_pickled_weights_are_refused(saved_folder):
    folder, model, _ = saved_folder
    os.remove(folder / "model.safetensors")
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(ValueError, match="refuses to unpickle"):
        NormWearModel.from_pretrained(folder)
    with pytest.raises(ValueError, match="safetensors weights only"):
        NormWearModel.from_pretrained(folder, use_safetensors=False)


def test_missing_folder_names_the_path(tmp_path):
    with pytest.raises(OSError):
        NormWearModel.from_pretrained(tmp_path / "does-not-exist")
