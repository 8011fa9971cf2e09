"""The shipped-checkpoint plumbing: name resolution, model classes, loading, and a self-contained export."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import micro_config
from test_hub_integration import _sample_signals, run_without_package

import normwear_hf
from normwear_hf import (
    NormWearFeatureExtractor,
    NormWearForMaskedReconstruction,
    NormWearForSignalClassification,
    NormWearModel,
    checkpoint,
)
from normwear_hf.checkpoint import (
    DEFAULT_CHECKPOINT,
    DEFAULT_MODEL_NAME,
    export_checkpoint,
    load_model_and_extractor,
    model_class_for,
    resolve_model_path,
)

CODE_FILES = {
    "configuration_normwear.py",
    "modeling_normwear.py",
    "feature_extraction_normwear.py",
    "signal_processing.py",
    "rhythm_features.py",
}
# what an exported zero-shot model carries besides: its model class and the remote-code pipeline with its siblings
ZERO_SHOT_CODE_FILES = {
    "modeling_normwear_zero_shot.py",
    "pipeline_normwear_zero_shot.py",
    "text_encoder_normwear.py",
    "zero_shot_labels_normwear.py",
}


def save_tiny(folder: Path, cls=NormWearModel, extractor: NormWearFeatureExtractor | None = None, **config):
    torch.manual_seed(0)
    model = cls(micro_config(**config)).eval()
    model.save_pretrained(folder)
    if extractor is not None:
        extractor.save_pretrained(folder)
    return model


def test_default_checkpoint_is_inside_the_package():
    path = Path(DEFAULT_CHECKPOINT)
    assert path.is_absolute() and DEFAULT_MODEL_NAME == "normwear"
    assert path == Path(normwear_hf.__file__).resolve().parent / "pretrained" / "normwear"


def test_resolve_local_folders(tmp_path):
    save_tiny(tmp_path / "model")
    assert resolve_model_path(tmp_path / "model") == str(tmp_path / "model")
    assert resolve_model_path(str(tmp_path / "model")) == str(tmp_path / "model")

    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model.safetensors").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"half is not a model folder: it has no config\.json\."):
        resolve_model_path(tmp_path / "half")
    (tmp_path / "noweights").mkdir()
    (tmp_path / "noweights" / "config.json").write_text("{}")
    with pytest.raises(ValueError, match=r"it has no model\.safetensors"):
        resolve_model_path(tmp_path / "noweights")
    with pytest.raises(ValueError, match="is a file, not a model folder"):
        resolve_model_path(tmp_path / "model" / "config.json")
    with pytest.raises(ValueError, match=r"nothing is downloaded at run time.*normwear-hf export"):
        resolve_model_path(tmp_path / "does-not-exist")
    with pytest.raises(ValueError, match=r"'org/some-model'.*huggingface-cli download"):
        resolve_model_path("org/some-model")


def test_bundled_name_resolves_or_says_install_is_incomplete(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no local folder called normwear here
    monkeypatch.setattr(checkpoint, "DEFAULT_CHECKPOINT", str(tmp_path / "site" / "pretrained" / "normwear"))
    for name in (None, "normwear", "default"):
        with pytest.raises(ValueError, match=r"install is incomplete\. Reinstall normwear-hf"):
            resolve_model_path(name)
    (tmp_path / "site" / "pretrained" / "normwear").mkdir(parents=True)  # present but empty: still incomplete
    with pytest.raises(ValueError, match=r"config\.json, model\.safetensors not found.*install is incomplete"):
        resolve_model_path("normwear")
    save_tiny(tmp_path / "site" / "pretrained" / "normwear")
    assert resolve_model_path(None) == str(tmp_path / "site" / "pretrained" / "normwear")
    assert resolve_model_path("normwear") == str(tmp_path / "site" / "pretrained" / "normwear")


def test_local_folder_named_normwear_wins_over_the_bundled_one(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "DEFAULT_CHECKPOINT", str(tmp_path / "missing"))
    monkeypatch.chdir(tmp_path)
    save_tiny(tmp_path / "normwear")
    assert resolve_model_path("normwear") == "normwear"
    (tmp_path / "default").mkdir()  # a local folder that is not a model is an error, not the bundled model
    with pytest.raises(ValueError, match="default is not a model folder"):
        resolve_model_path("default")


def test_model_class_for(tmp_path):
    save_tiny(tmp_path / "backbone")
    save_tiny(tmp_path / "pretraining", NormWearForMaskedReconstruction)
    save_tiny(tmp_path / "head", NormWearForSignalClassification, num_labels=3)
    assert model_class_for(tmp_path / "backbone") is NormWearModel
    assert model_class_for(tmp_path / "pretraining") is NormWearForMaskedReconstruction
    assert model_class_for(tmp_path / "head") is NormWearForSignalClassification

    config_path = tmp_path / "backbone" / "config.json"
    config = json.loads(config_path.read_text())
    config.pop("architectures")
    config_path.write_text(json.dumps(config))
    assert model_class_for(tmp_path / "backbone") is NormWearModel  # the fallback
    for bad in ("NormWearForTimeTravel", "NormWearConfig", "AutoModel"):
        config_path.write_text(json.dumps({**config, "architectures": [bad]}))
        with pytest.raises(ValueError, match=rf"names the architecture '{bad}'.*it knows .*NormWearModel"):
            model_class_for(tmp_path / "backbone")
    config_path.write_text(json.dumps({**config, "model_type": "bert"}))
    with pytest.raises(ValueError, match="describes a 'bert' model, not a NormWear one"):
        model_class_for(tmp_path / "backbone")
    config_path.write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        model_class_for(tmp_path / "backbone")


def test_load_model_and_extractor(tmp_path):
    extractor = NormWearFeatureExtractor(max_gap_seconds=2.5)
    pretraining = save_tiny(tmp_path / "pretraining", NormWearForMaskedReconstruction, extractor=extractor)
    model, loaded_extractor = load_model_and_extractor(tmp_path / "pretraining")
    assert isinstance(model, NormWearForMaskedReconstruction) and not model.training
    assert loaded_extractor.max_gap_seconds == 2.5
    backbone, _ = load_model_and_extractor(tmp_path / "pretraining", backbone=True)
    assert type(backbone) is NormWearModel
    for name, value in pretraining.normwear.state_dict().items():
        assert torch.equal(backbone.state_dict()[name], value), name

    save_tiny(tmp_path / "plain")  # no preprocessor_config.json: the default feature extractor
    model, plain_extractor = load_model_and_extractor(tmp_path / "plain", backbone=True)
    assert type(model) is NormWearModel
    assert plain_extractor.to_dict() == NormWearFeatureExtractor().to_dict()


def test_export_is_self_contained_and_reproduces_outputs(tmp_path):
    source = tmp_path / "run"
    extractor = NormWearFeatureExtractor(max_gap_seconds=2.0)
    model = save_tiny(source, NormWearForMaskedReconstruction, extractor=extractor)
    (source / "README.md").write_text("# A tiny NormWear\nmodel card\n")
    (source / "loss.png").write_bytes(b"\x89PNG fake")
    (source / "metrics.json").write_text('{"loss": 1.0}')
    (source / "model.safetensors.index.json").write_text("{}")  # describes the source's sharding: never copied
    (source / "notes.txt").write_text("not copied")
    config_before = (source / "config.json").read_text()

    out = export_checkpoint(source, tmp_path / "hub" / "normwear-tiny")
    assert out == tmp_path / "hub" / "normwear-tiny"
    files = set(os.listdir(out))
    assert files == {
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "README.md",
        "loss.png",
        "metrics.json",
        *CODE_FILES,
    }
    assert (out / "README.md").read_text() == "# A tiny NormWear\nmodel card\n"
    assert (out / "loss.png").read_bytes() == b"\x89PNG fake"
    assert (source / "config.json").read_text() == config_before  # the source is untouched
    assert not [name for name in os.listdir(tmp_path / "hub") if name.startswith(".")]  # no staging left behind
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["NormWearForMaskedReconstruction"]
    assert config["auto_map"] == {
        "AutoConfig": "configuration_normwear.NormWearConfig",
        "AutoModel": "modeling_normwear.NormWearModel",
        "AutoModelForPreTraining": "modeling_normwear.NormWearForMaskedReconstruction",
    }
    preprocessor = json.loads((out / "preprocessor_config.json").read_text())
    assert preprocessor["max_gap_seconds"] == 2.0
    assert preprocessor["auto_map"]["AutoFeatureExtractor"].endswith("NormWearFeatureExtractor")

    # a fresh process that cannot import normwear_hf: AutoModel gives the backbone, outputs are identical
    stdout, remote = run_without_package(out, tmp_path)
    assert stdout.startswith("NormWearModel NormWearFeatureExtractor")
    features = extractor(_sample_signals(), sampling_rate=100.0, return_tensors="pt")
    with torch.no_grad():
        expected = model.normwear(**features).last_hidden_state.numpy()
    np.testing.assert_array_equal(remote, expected)


def test_export_refuses_non_empty_folder_unless_overwrite(tmp_path):
    save_tiny(tmp_path / "src")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="exists and is not empty.*--overwrite"):
        export_checkpoint(tmp_path / "src", tmp_path / "out")
    assert os.listdir(tmp_path / "out") == ["keep.txt"]
    out = export_checkpoint(tmp_path / "src", tmp_path / "out", overwrite=True)
    assert "keep.txt" not in os.listdir(out) and (out / "model.safetensors").is_file()
    reloaded = NormWearModel.from_pretrained(out)
    original = NormWearModel.from_pretrained(tmp_path / "src")
    for name, value in original.state_dict().items():
        assert torch.equal(reloaded.state_dict()[name], value), name
    assert (out / "preprocessor_config.json").is_file()  # written even when the source had none
    (tmp_path / "empty").mkdir()
    assert export_checkpoint(tmp_path / "src", tmp_path / "empty").is_dir()  # an empty folder is fine
    with pytest.raises(ValueError, match="is the source folder"):
        export_checkpoint(tmp_path / "src", tmp_path / "src", overwrite=True)
    # it used to delete its own source, with exit 0, when --out was a parent of it
    save_tiny(tmp_path / "parent" / "model")
    with pytest.raises(ValueError, match="contains the source folder"):
        export_checkpoint(tmp_path / "parent" / "model", tmp_path / "parent", overwrite=True)
    assert (tmp_path / "parent" / "model" / "model.safetensors").is_file()
    with pytest.raises(ValueError, match="is inside the source folder"):
        export_checkpoint(tmp_path / "src", tmp_path / "src" / "copy", overwrite=True)


def test_export_writes_the_backbone_code_even_for_a_class_without_an_auto_class(tmp_path, monkeypatch):
    # e.g. a model class that is reached through a pipeline, not an Auto class: save_pretrained then copies no
    # modeling code, but the exported folder must still load with AutoModel
    save_tiny(tmp_path / "src", NormWearForSignalClassification, num_labels=2)
    monkeypatch.setattr(NormWearForSignalClassification, "_auto_class", None)
    out = export_checkpoint(tmp_path / "src", tmp_path / "out")
    config = json.loads((out / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_normwear.NormWearModel"
    assert CODE_FILES <= set(os.listdir(out))


def test_export_of_a_zero_shot_model_carries_its_pipeline_as_remote_code(tmp_path):
    from normwear_hf import NormWearForZeroShotClassification

    save_tiny(tmp_path / "src", NormWearForZeroShotClassification, zero_shot_aggregator="msitf")
    out = export_checkpoint(tmp_path / "src", tmp_path / "out")
    assert set(os.listdir(out)) == {
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        *CODE_FILES,
        *ZERO_SHOT_CODE_FILES,
    }
    config = json.loads((out / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_normwear.NormWearModel"  # AutoModel stays the backbone
    assert config["auto_map"]["AutoModelForZeroShotImageClassification"] == (
        "modeling_normwear_zero_shot.NormWearForZeroShotClassification"
    )
    assert config["custom_pipelines"] == {
        "zero-shot-physio-classification": {
            "impl": "pipeline_normwear_zero_shot.ZeroShotPhysioClassificationPipeline",
            "pt": ["AutoModelForZeroShotImageClassification"],
            "tf": [],
            "type": "multimodal",
        }
    }
    for name in ZERO_SHOT_CODE_FILES:  # remote code: only flat siblings, never the package
        imports = [line for line in (out / name).read_text().splitlines() if line.startswith(("import ", "from "))]
        assert not [line for line in imports if "normwear_hf" in line or line.startswith("from ..")], name
    # installed, the task is served by the package: the loaded config leaves custom_pipelines to the registry
    assert not getattr(normwear_hf.NormWearConfig.from_pretrained(out), "custom_pipelines", None)
