"""The shipped checkpoint: where it lives, how a model name or folder resolves, loading and exporting it.

Nothing is downloaded at run time. ``"normwear"`` (or ``None`` / ``"default"``) names the checkpoint bundled
inside the package (:data:`DEFAULT_CHECKPOINT`, a Hub-layout folder: ``config.json``, ``model.safetensors``,
``preprocessor_config.json``, ``README.md``); anything else must be a local folder written by
``save_pretrained`` (or by :func:`export_checkpoint`, ``normwear-hf export``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

DEFAULT_MODEL_NAME = "normwear"
DEFAULT_CHECKPOINT: str = str(Path(__file__).resolve().parent / "pretrained" / DEFAULT_MODEL_NAME)
"""Absolute path of the checkpoint folder bundled with the package."""

BUNDLED_NAMES = (DEFAULT_MODEL_NAME, "default")
CONFIG_NAME = "config.json"
WEIGHTS_NAMES = ("model.safetensors", "model.safetensors.index.json")
PREPROCESSOR_NAME = "preprocessor_config.json"
CARD_NAME = "README.md"
# Files of a source folder that export copies when save_pretrained did not write them (model card, figures, notes);
# a weights index would describe the source's sharding, not the exported weights, so it is never copied.
_EXTRA_PATTERNS = (CARD_NAME, "*.png", "*.json")
_NEVER_COPIED = ("model.safetensors.index.json",)

__all__ = [
    "DEFAULT_CHECKPOINT",
    "DEFAULT_MODEL_NAME",
    "backbone_of",
    "export_checkpoint",
    "load_model_and_extractor",
    "model_class_for",
    "resolve_model_path",
]


def _missing_files(folder: Path) -> list[str]:
    missing = [] if (folder / CONFIG_NAME).is_file() else [CONFIG_NAME]
    if not any((folder / name).is_file() for name in WEIGHTS_NAMES):
        missing.append(WEIGHTS_NAMES[0])
    return missing


def resolve_model_path(name_or_path: str | os.PathLike | None) -> str:
    """The local folder that a model name or path refers to.

    ``None``, ``"normwear"`` or ``"default"`` -> the bundled checkpoint (:data:`DEFAULT_CHECKPOINT`), unless a
    folder of that name exists in the current directory (a local folder always wins). An existing folder must
    hold ``config.json`` and ``model.safetensors``. Anything else is a ``ValueError`` that says how to fix it:
    nothing is downloaded at run time.
    """
    if name_or_path is not None:
        candidate = Path(name_or_path).expanduser()
        if candidate.exists():
            if not candidate.is_dir():
                raise ValueError(
                    f"{candidate} is a file, not a model folder; pass the folder that holds {CONFIG_NAME} and "
                    f"{WEIGHTS_NAMES[0]}."
                )
            missing = _missing_files(candidate)
            if missing:
                raise ValueError(
                    f"{candidate} is not a model folder: it has no {' and no '.join(missing)}. Pass a folder "
                    "written by save_pretrained or `normwear-hf export`."
                )
            return str(candidate)
    if name_or_path is None or str(name_or_path) in BUNDLED_NAMES:
        bundled = Path(DEFAULT_CHECKPOINT)
        missing = _missing_files(bundled) if bundled.is_dir() else ["the folder itself"]
        if missing:
            raise ValueError(
                f"The bundled {DEFAULT_MODEL_NAME!r} checkpoint is missing from this installation ({bundled}: "
                f"{', '.join(missing)} not found): the package install is incomplete. Reinstall normwear-hf "
                "(pip install --force-reinstall normwear-hf, or pip install -e . from a checkout), or pass a local "
                "model folder."
            )
        return str(bundled)
    raise ValueError(
        f"No model folder {str(name_or_path)!r}: it is neither an existing local folder nor the bundled "
        f"{DEFAULT_MODEL_NAME!r} checkpoint, and nothing is downloaded at run time. Pass a local folder holding "
        f"{CONFIG_NAME} and {WEIGHTS_NAMES[0]} (written by save_pretrained, or copied with "
        "`normwear-hf export normwear --out FOLDER`); for a Hub repository, download it first "
        "(huggingface-cli download REPO --local-dir FOLDER) and pass FOLDER."
    )


def _read_config(folder: Path) -> dict:
    path = folder / CONFIG_NAME
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{folder} has no {CONFIG_NAME}; pass a folder written by save_pretrained.") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); save the checkpoint again.") from None


def model_class_for(folder: str | os.PathLike) -> type:
    """The ``normwear_hf`` model class named by ``architectures[0]`` of ``folder/config.json``.

    Falls back to ``NormWearModel`` when the config names no architecture; a name that is not a NormWear model
    class (or a config of another model type) is a ``ValueError``.
    """
    folder = Path(folder)
    config = _read_config(folder)
    model_type = config.get("model_type")
    if model_type != "normwear":
        raise ValueError(
            f"{folder / CONFIG_NAME} describes a {model_type!r} model, not a NormWear one (model_type 'normwear')."
        )
    architectures = config.get("architectures") or ["NormWearModel"]
    name = architectures[0]
    classes = _model_classes()
    if not isinstance(name, str) or name not in classes:
        raise ValueError(
            f"{folder / CONFIG_NAME} names the architecture {name!r}, which this version of normwear-hf does not "
            f"know (it knows {', '.join(sorted(classes))}); upgrade normwear-hf or fix 'architectures'."
        )
    return classes[name]


def _model_classes() -> dict[str, type]:
    """The NormWear model classes a config's ``architectures`` may name, by class name: the concrete
    ``NormWearPreTrainedModel`` subclasses of the two modeling modules (read from them, not from the package root,
    which imports this module)."""
    from . import modeling_normwear, modeling_normwear_zero_shot

    base = modeling_normwear.NormWearPreTrainedModel
    return {
        name: value
        for module in (modeling_normwear, modeling_normwear_zero_shot)
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, base)
        and value is not base
        and value.__module__ == module.__name__
    }


def backbone_of(model):
    """The ``NormWearModel`` inside ``model`` (the model itself for a backbone; ``.normwear`` for the others)."""
    from .modeling_normwear import NormWearModel

    if isinstance(model, NormWearModel):
        return model
    backbone = getattr(model, "normwear", None)
    if not isinstance(backbone, NormWearModel):
        raise ValueError(f"{type(model).__name__} has no NormWear backbone (.normwear).")
    return backbone


def _load(folder: Path):
    from .feature_extraction_normwear import NormWearFeatureExtractor

    model = model_class_for(folder).from_pretrained(folder).eval()
    if (folder / PREPROCESSOR_NAME).is_file():
        extractor = NormWearFeatureExtractor.from_pretrained(folder)
    else:
        extractor = NormWearFeatureExtractor()
    return model, extractor


@contextlib.contextmanager
def no_progress_bars() -> Iterator[None]:
    """Silence transformers' per-tensor loading bars (CLI output stays one clean line per error)."""
    from .modeling_normwear import quiet_progress_bars

    with quiet_progress_bars():
        yield


def load_quietly(name_or_path: str | os.PathLike | None, backbone: bool = False):
    """:func:`load_model_and_extractor` without transformers' progress bars."""
    with no_progress_bars():
        return load_model_and_extractor(name_or_path, backbone=backbone)


def load_model_and_extractor(name_or_path: str | os.PathLike | None = DEFAULT_MODEL_NAME, backbone: bool = False):
    """``(model, feature_extractor)`` for a model name or local folder (see :func:`resolve_model_path`).

    The model is the class the folder's config names (:func:`model_class_for`), in eval mode; with
    ``backbone=True`` its ``NormWearModel`` backbone (what embeddings need). The feature extractor comes from
    ``preprocessor_config.json`` when the folder has one, else it is the default ``NormWearFeatureExtractor()``.
    """
    model, extractor = _load(Path(resolve_model_path(name_or_path)))
    return (backbone_of(model) if backbone else model), extractor


def _add_missing_code_files(folder: Path) -> None:
    """Copy the code files that ``auto_map`` and ``custom_pipelines`` entries name but ``save_pretrained`` did not
    write (each with the flat siblings it imports).

    ``save_pretrained`` copies a model's module only when its class is registered for an auto class; the
    ``AutoModel`` entry that export adds must find ``modeling_normwear.py`` whatever the source's class is.
    """
    from transformers.dynamic_module_utils import get_relative_import_files

    package = Path(__file__).resolve().parent
    entries = []
    for name in (CONFIG_NAME, PREPROCESSOR_NAME):
        if (folder / name).is_file():
            entries += list((json.loads((folder / name).read_text()).get("auto_map") or {}).values())
    config = json.loads((folder / CONFIG_NAME).read_text()) if (folder / CONFIG_NAME).is_file() else {}
    entries += [info.get("impl") for info in (config.get("custom_pipelines") or {}).values()]
    references = [value for entry in entries for value in (entry if isinstance(entry, list) else [entry]) if value]
    for module in sorted({reference.split(".")[0] for reference in references}):
        source = package / f"{module}.py"
        if (folder / source.name).is_file() or not source.is_file():
            continue
        for file in [source, *map(Path, get_relative_import_files(str(source)))]:
            if not (folder / file.name).is_file():
                shutil.copyfile(file, folder / file.name)


# transformers has no Auto class for zero-shot classification of signals, and a custom pipeline loads its model
# through one named in transformers ("pt"); AutoModel must stay the backbone (embeddings), so the zero-shot model is
# reached through the Auto class of the same contrastive family, CLIP's, whose auto_map entry routes it here.
ZERO_SHOT_AUTO_CLASS = "AutoModelForZeroShotImageClassification"
ZERO_SHOT_TASK = "zero-shot-physio-classification"


def _add_remote_pipeline(config) -> None:
    """Name the zero-shot pipeline and its model class as remote code in ``config`` (``custom_pipelines``)."""
    config.auto_map[ZERO_SHOT_AUTO_CLASS] = "modeling_normwear_zero_shot.NormWearForZeroShotClassification"
    config.custom_pipelines = {
        ZERO_SHOT_TASK: {
            "impl": "pipeline_normwear_zero_shot.ZeroShotPhysioClassificationPipeline",
            "pt": [ZERO_SHOT_AUTO_CLASS],
            "tf": [],
            "type": "multimodal",
        }
    }


def export_checkpoint(
    name_or_path: str | os.PathLike | None, out_dir: str | os.PathLike, overwrite: bool = False
) -> Path:
    """Write a model (the bundled one by default) to ``out_dir`` as a self-contained Hub folder.

    The folder holds safetensors weights, ``config.json`` / ``preprocessor_config.json`` with ``auto_map``, the
    four code files ``trust_remote_code`` needs, and the source's model card (``README.md``) and its ``*.png`` /
    ``*.json`` files; it loads without this package:
    ``AutoModel.from_pretrained(out_dir, trust_remote_code=True)`` (``AutoModel`` gives the backbone whatever
    the source's architecture). A zero-shot model also carries its pipeline (``custom_pipelines`` and four more
    code files), so ``pipeline("zero-shot-physio-classification", model=out_dir, trust_remote_code=True)`` works
    without this package too. A non-empty ``out_dir`` is refused unless ``overwrite``; the folder is built
    under a temporary name and renamed into place when complete.
    """
    from .utils.atomic import make_staging_folder, publish_folder

    source = Path(resolve_model_path(name_or_path))
    out_dir = Path(out_dir).expanduser()
    target, origin = out_dir.resolve(), source.resolve()
    if target == origin or origin.is_relative_to(target) or target.is_relative_to(origin):
        # --overwrite replaces the whole --out folder: a parent of the source would delete the source with it
        relation = "is" if target == origin else ("contains" if origin.is_relative_to(target) else "is inside")
        raise ValueError(
            f"--out {out_dir} {relation} the source folder {source}; export to a folder outside it (overwriting would "
            "delete or nest the source)."
        )
    model, extractor = _load(source)
    auto_map = dict(getattr(model.config, "auto_map", None) or {})
    auto_map.setdefault("AutoModel", "modeling_normwear.NormWearModel")  # every NormWear folder loads as a backbone
    model.config.auto_map = auto_map
    if getattr(model.config, "zero_shot_aggregator", None) is not None and hasattr(model, "aggregator"):
        _add_remote_pipeline(model.config)
    staging = make_staging_folder(out_dir, overwrite)
    try:
        model.save_pretrained(staging)
        extractor.save_pretrained(staging)
        _add_missing_code_files(staging)
        written = {path.name for path in staging.iterdir()}
        for pattern in _EXTRA_PATTERNS:
            for path in sorted(source.glob(pattern)):
                if path.is_file() and path.name not in written and path.name not in _NEVER_COPIED:
                    shutil.copy2(path, staging / path.name)
                    written.add(path.name)
        publish_folder(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
