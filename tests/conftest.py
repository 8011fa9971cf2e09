import os

import pytest
import torch

# Nothing in the test suite may reach the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Importing normwear_hf must not write to the developer's Hugging Face cache; test_hub_cache.py places the checkpoint
# in temporary caches (and unsets this for its fresh processes).
os.environ.setdefault("NORMWEAR_NO_HF_CACHE", "1")
torch.set_num_threads(min(2, os.cpu_count() or 1))

from normwear_hf import NormWearConfig, NormWearModel  # noqa: E402


def tiny_config(**overrides) -> NormWearConfig:
    """A model small enough for a unit test: 32 wide, 2 blocks, coarse patches."""
    base = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        patch_size=[13, 13],
        decoder_hidden_size=16,
        decoder_num_hidden_layers=1,
        decoder_num_attention_heads=2,
        decoder_intermediate_size=32,
    )
    base.update(overrides)
    return NormWearConfig(**base)


@pytest.fixture
def tiny_model() -> NormWearModel:
    torch.manual_seed(0)
    return NormWearModel(tiny_config()).eval()


def random_scalograms(batch: int, channels: int, steps: int = 388, scales: int = 65, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, channels, 3, steps, scales, generator=generator)
