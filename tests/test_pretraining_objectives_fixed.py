"""Every pretraining objective gives fixed numbers: losses and gradients recorded before a refactor must not move.

The golden values in ``data/pretraining_objectives_golden.json`` were written by this file's ``__main__`` from the
code as it stood before the masked-reconstruction head was rewritten to call the backbone (issue 18). Regenerate
them only for a change that is meant to change the numbers: ``python tests/test_pretraining_objectives_fixed.py``.
"""

import json
from pathlib import Path

import pytest
import torch
from conftest import micro_config, random_scalograms

from normwear_hf import NormWearForMaskedReconstruction

GOLDEN = Path(__file__).parent / "data" / "pretraining_objectives_golden.json"
LOSSES = ("loss", "scalogram_loss", "signal_loss", "contrastive_loss", "auxiliary_loss", "latent_loss")
AUXILIARY = ["heart_rate_bpm", "noise_level"]
CASES = {
    "scalogram": dict(reconstruction_target="scalogram"),
    "signal": dict(reconstruction_target="signal"),
    "both_random_mask": dict(reconstruction_target="both", mask_strategy="random", norm_pix_loss=True),
    "contrastive": dict(reconstruction_target="scalogram", contrastive_weight=0.5),
    "auxiliary": dict(reconstruction_target="signal", auxiliary_weight=2.0, auxiliary_targets=AUXILIARY),
    "latent": dict(reconstruction_target="scalogram", latent_weight=1.0, latent_target_layers=2, ema_decay=0.5),
    "everything": dict(
        reconstruction_target="both",
        contrastive_weight=0.3,
        auxiliary_weight=1.5,
        auxiliary_targets=AUXILIARY,
        latent_weight=0.7,
        latent_target_layers=1,
        ema_decay=0.9,
    ),
}


def run_case(name: str) -> dict[str, list[float] | float | None]:
    """One training step's numbers: the six losses, every parameter's gradient sum and norm, and the teacher after
    ``update_teacher`` (padded channels and padded time included, so the key masks are exercised)."""
    torch.manual_seed(0)
    model = NormWearForMaskedReconstruction(micro_config(**CASES[name])).train()
    x = random_scalograms(2, 3, seed=1)
    channel_mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    time_mask = torch.ones(2, 388, dtype=torch.long)
    time_mask[0, 300:] = 0
    signal = torch.randn(2, 3, 388, generator=torch.Generator().manual_seed(2))
    auxiliary = torch.randn(2, 3, 2, generator=torch.Generator().manual_seed(3))
    auxiliary[0, 1, 0] = float("nan")
    out = model(
        x,
        channel_mask=channel_mask,
        time_mask=time_mask,
        signal_values=signal,
        mask_seed=5,
        auxiliary_values=auxiliary,
        return_dict=True,
    )
    out.loss.backward()
    record: dict[str, list[float] | float | None] = {
        key: None if getattr(out, key) is None else float(getattr(out, key).detach()) for key in LOSSES
    }
    reconstruction = out.reconstruction
    record["reconstruction_sum"] = None if reconstruction is None else float(reconstruction.detach().double().sum())
    record["mask_count"] = float(out.mask.sum())
    for param_name, param in model.named_parameters():
        if param.grad is not None:
            record[f"grad:{param_name}"] = [float(param.grad.double().sum()), float(param.grad.double().norm())]
    if model.teacher is not None:
        with torch.no_grad():
            for param in model.normwear.parameters():
                param.add_(0.01)
        model.update_teacher()
        record["teacher_sum"] = float(sum(p.double().sum() for p in model.teacher.parameters()))
    return record


@pytest.mark.parametrize("name", sorted(CASES))
def test_objective_numbers_are_unchanged(name):
    expected = json.loads(GOLDEN.read_text())[name]
    actual = run_case(name)
    assert sorted(actual) == sorted(expected)
    for key, value in expected.items():
        if value is None:
            assert actual[key] is None, key
        else:
            torch.testing.assert_close(
                torch.tensor(actual[key], dtype=torch.float64),
                torch.tensor(value, dtype=torch.float64),
                rtol=1e-5,
                atol=1e-7,
                msg=lambda text, key=key: f"{name} {key}: {text}",
            )


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({name: run_case(name) for name in sorted(CASES)}, indent=1) + "\n")
