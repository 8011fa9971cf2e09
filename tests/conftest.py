import atexit
import os
import shutil
import sys
import tempfile

import pytest
import torch

# Nothing in the test suite may reach the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# The suite never writes to the developer's Hugging Face cache: importing normwear_hf places the bundled checkpoint
# (hub_cache.py) in this temporary one, shared with the test subprocesses and removed at exit.
_HUB_CACHE = tempfile.mkdtemp(prefix="normwear-tests-hub-")
os.environ["HF_HUB_CACHE"] = _HUB_CACHE
atexit.register(shutil.rmtree, _HUB_CACHE, ignore_errors=True)
if "huggingface_hub" in sys.modules:  # loaded early (a plugin): it read its cache folder already
    sys.modules["huggingface_hub"].constants.HF_HUB_CACHE = _HUB_CACHE
torch.set_num_threads(min(2, os.cpu_count() or 1))

from normwear_hf import NormWearConfig, NormWearModel  # noqa: E402


def micro_config(**overrides) -> NormWearConfig:
    """A model small enough for a unit test: 32 wide, 2 blocks, coarse patches.

    Named "micro", not "tiny": ``NormWearConfig.from_preset("tiny")`` is the smallest size users train (128 wide,
    4 blocks); this one exists only for tests, where a forward pass must take milliseconds.
    """
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
def micro_model() -> NormWearModel:
    torch.manual_seed(0)
    return NormWearModel(micro_config()).eval()


def random_scalograms(batch: int, channels: int, steps: int = 388, scales: int = 65, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, channels, 3, steps, scales, generator=generator)
