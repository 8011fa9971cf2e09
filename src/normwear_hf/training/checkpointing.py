"""Training checkpoints without pickles: tensors in safetensors, everything else in JSON, written atomically."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..utils.atomic import make_staging_folder, publish_folder

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
STATE_FILE = "trainer_state.json"  # written last: a folder without it is incomplete


def save_checkpoint(
    folder: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    step: int,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``folder/checkpoint-<step>/`` in a staging folder published by a rename (``utils.atomic``): never half a
    checkpoint, and an older checkpoint of the same step is replaced only once the new one is complete."""
    final = Path(folder) / f"checkpoint-{step:07d}"
    for leftover in Path(folder).glob(f".{final.name}.partial-*"):  # from a run killed while saving this step
        shutil.rmtree(leftover, ignore_errors=True)
    staging = make_staging_folder(final, overwrite=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, staging / "model.safetensors")
    optimizer_state = optimizer.state_dict()
    tensors = {}
    for param_id, slots in optimizer_state["state"].items():
        for name, value in slots.items():
            tensors[f"{param_id}.{name}"] = torch.as_tensor(value).detach().contiguous().cpu()
    save_file(tensors, staging / "optimizer.safetensors")
    state = {
        "global_step": step,
        "param_groups": optimizer_state["param_groups"],
        "scheduler": {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"},
        **(extra or {}),
    }
    (staging / STATE_FILE).write_text(json.dumps(state, indent=2))
    publish_folder(staging, final)
    return final


def load_checkpoint(
    checkpoint: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> dict[str, Any]:
    """Restore model, optimizer and scheduler in place; returns the saved state (``global_step``, ...)."""
    checkpoint = Path(checkpoint)
    if not (checkpoint / STATE_FILE).exists():
        raise ValueError(f"{checkpoint} is not a complete training checkpoint (no {STATE_FILE}).")
    state = json.loads((checkpoint / STATE_FILE).read_text())
    model.load_state_dict(load_file(checkpoint / "model.safetensors"))
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in load_file(checkpoint / "optimizer.safetensors").items():
        param_id, name = key.split(".", 1)
        slots.setdefault(int(param_id), {})[name] = value
    optimizer.load_state_dict({"state": slots, "param_groups": state["param_groups"]})
    scheduler.load_state_dict({**scheduler.state_dict(), **state["scheduler"]})
    return state


def find_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints in ``folder``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [
        (int(match.group(1)), path)
        for path in folder.iterdir()
        if (match := CHECKPOINT_PATTERN.match(path.name)) and (path / STATE_FILE).exists()
    ]
    return [path for _, path in sorted(found)]


def prune_checkpoints(folder: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints. Each is first renamed out of the checkpoint pattern (atomic),
    then removed, so a kill mid-deletion never leaves a folder that looks complete but lacks files."""
    for leftover in Path(folder).glob(".checkpoint-*.deleting"):  # from a run killed while pruning
        shutil.rmtree(leftover, ignore_errors=True)
    if keep > 0:
        for old in find_checkpoints(folder)[:-keep]:
            doomed = old.with_name(f".{old.name}.deleting")
            os.replace(old, doomed)
            shutil.rmtree(doomed, ignore_errors=True)


def load_latest_checkpoint(
    folder: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    warn=print,
) -> tuple[Path, dict[str, Any]] | None:
    """Restore the newest checkpoint that loads; a corrupt one is skipped with a message naming it and why.

    Returns ``(checkpoint, state)``, or ``None`` when ``folder`` holds no complete checkpoint.
    """
    for checkpoint in reversed(find_checkpoints(folder)):
        try:
            return checkpoint, load_checkpoint(checkpoint, model, optimizer, scheduler)
        except Exception as error:  # noqa: BLE001 - any failure to read it: try the previous one
            warn(f"checkpoint {checkpoint} is unreadable ({type(error).__name__}: {error}); trying the previous one")
    return None
