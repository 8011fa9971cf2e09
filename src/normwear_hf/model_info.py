"""What a model folder holds, read without torch or transformers: ``normwear-hf info`` answers in a blink.

Everything comes from the folder's JSON files and the safetensors header (8 bytes of length, then JSON): the
architecture, the sizes, the parameter count and the feature extractor's window. The same header gives a check
that the weights fit ``config.json`` (the encoder's widths and depth), so an edited or mismatched folder is
reported here as it would be at load time, without loading anything.
"""

from __future__ import annotations

import ast
import json
import math
import re
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Config keys that define a size; a folder whose values all equal a preset's is "that preset".
SIZE_KEYS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "patch_size")
#: A safetensors header longer than this is not one NormWear wrote (the base model's is about 30 KiB).
MAX_HEADER_BYTES = 16 * 1024 * 1024


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or a ValueError that names the file."""
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not readable JSON ({error}); restore it from the model's source.") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path} holds a {type(value).__name__}, not a JSON object; restore it.")
    return value


def safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor name -> shape from a safetensors file's header, reading only the header."""
    with open(path, "rb") as file:
        prefix = file.read(8)
        size = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else -1
        if not 0 < size <= MAX_HEADER_BYTES:
            raise ValueError(f"{path} is not a safetensors file (its header length is unreadable); re-save it.")
        raw = file.read(size)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{path} has a corrupt safetensors header; re-save or re-download the weights.") from None
    header.pop("__metadata__", None)
    shapes = {}
    for name, entry in header.items():
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError(f"{path}: tensor {name!r} has no valid shape in the header; re-save the weights.")
        shapes[name] = shape
    return shapes


@lru_cache(maxsize=1)
def preset_sizes() -> dict[str, dict[str, Any]]:
    """The named presets' size keys, read from configuration_normwear.py's source (importing it would import
    transformers): the literal ``NORMWEAR_PRESETS`` over the defaults of ``NormWearConfig.__init__``."""
    tree = ast.parse((Path(__file__).with_name("configuration_normwear.py")).read_text())
    presets: dict[str, dict[str, Any]] = {}
    defaults: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "NORMWEAR_PRESETS" for t in targets) and node.value:
                presets = ast.literal_eval(node.value)
        if isinstance(node, ast.ClassDef) and node.name == "NormWearConfig":
            init = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
            arguments = init.args.args[-len(init.args.defaults) :] if init.args.defaults else []
            for argument, default in zip(arguments, init.args.defaults, strict=True):
                if argument.arg in SIZE_KEYS:
                    defaults[argument.arg] = ast.literal_eval(default)
    return {
        name: {key: overrides.get(key, defaults.get(key)) for key in SIZE_KEYS} for name, overrides in presets.items()
    }


def preset_name(config: dict[str, Any]) -> str | None:
    """The preset whose sizes ``config`` has, if any."""
    for name, sizes in preset_sizes().items():
        if all(_same(config.get(key), value) for key, value in sizes.items()):
            return name
    return None


def _same(a: Any, b: Any) -> bool:
    return list(a) == list(b) if isinstance(a, list | tuple) and isinstance(b, list | tuple) else a == b


def check_weights_fit(config: dict[str, Any], shapes: dict[str, list[int]], weights: Path) -> None:
    """Raise ValueError when the encoder in ``shapes`` has other widths or depth than ``config`` says."""
    hidden, inner = config.get("hidden_size"), config.get("intermediate_size")
    depth = config.get("num_hidden_layers")
    layers: set[int] = set()
    problems = []
    for name, shape in shapes.items():
        match = re.search(r"(?:^|\.)encoder\.layers\.(\d+)\.(.*)$", name)
        if match:
            layers.add(int(match.group(1)))
            expected = {
                "mlp.fc1.weight": [inner, hidden],
                "mlp.fc2.weight": [hidden, inner],
                "attention.qkv.weight": [3 * hidden, hidden] if isinstance(hidden, int) else None,
            }.get(match.group(2))
            if expected is not None and shape != expected:
                problems.append(f"{name} is {shape}, config.json implies {expected}")
        elif name.endswith("embeddings.patch_embeddings.projection.weight") and shape[:1] != [hidden]:
            problems.append(f"{name} is {shape}, config.json implies hidden_size {hidden}")
    if layers and len(layers) != depth:
        problems.append(f"the weights hold {len(layers)} encoder layers, config.json says {depth}")
    if problems:
        raise ValueError(
            f"The weights in {weights.name} do not fit its config.json ({'; '.join(problems[:3])}). The config was "
            "edited or belongs to another model: restore the config.json saved with these weights."
        )


def describe(path: Path, weights: list[Path]) -> dict[str, Any]:
    """The facts ``normwear-hf info`` prints, from JSON and safetensors headers only."""
    config = read_json(path / "config.json")
    preprocessor_file = path / "preprocessor_config.json"
    preprocessor = read_json(preprocessor_file) if preprocessor_file.is_file() else {}
    # the extractor's own check, restated: feature_extraction_normwear imports transformers (it is remote code)
    odd = sorted(key for key in preprocessor if key.startswith("__") or not key.isidentifier())
    if odd:
        raise ValueError(
            f"preprocessor_config.json holds the key(s) {odd}, which are not settings of a feature extractor "
            "(the file is corrupt or hostile); remove them."
        )
    shapes: dict[str, list[int]] = {}
    files = [file for file in weights if file.suffix == ".safetensors"]
    for file in files:  # shards together make one state dict
        shapes.update(safetensors_shapes(file))
    if files:
        check_weights_fit(config, shapes, files[0])
    parameters = sum(math.prod(shape) for shape in shapes.values())
    architectures = config.get("architectures") or ["NormWearModel"]
    return {
        "config": config,
        "architecture": architectures[0],
        "preset": preset_name(config),
        "parameters": parameters,
        "sampling_rate": float(preprocessor.get("sampling_rate", 65.0)),
        "window_length": int(preprocessor.get("window_length", 390)),
    }
