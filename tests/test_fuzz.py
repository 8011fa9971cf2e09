"""Property-based fuzzing of the three entry points a user hands data to: the feature extractor, ``embed`` and the
zero-shot pipeline. Every outcome must be a result with finite values, or a ValueError / TypeError whose message
says what to fix; no other exception, no NaN, and no single allocation over 2 GB (numpy allocations are traced).

The example counts are small so CI stays fast; ``NORMWEAR_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py`` runs a
long campaign (see docs/security.md).
"""

from __future__ import annotations

import logging
import os
import tracemalloc

import numpy as np
import pytest
import torch
from conftest import micro_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normwear_hf import NormWearFeatureExtractor, NormWearModel
from normwear_hf.inference import embed

EXAMPLES = int(os.environ.get("NORMWEAR_FUZZ_EXAMPLES", "0")) or None
LIMIT_BYTES = 2 * 10**9
# Mostly plausible values, so that most examples reach the model; the odd ones stay in the mix.
RATES = [0.01, 0.1, 0.5, 1.0, 7.3, 32.0, 65.0, 100.0, 250.0, 1000.0, 10_000.0] * 3 + [
    0.0,
    -5.0,
    float("nan"),
    float("inf"),
]
DTYPES = ["float64", "float32"] * 6 + [
    "float16",
    "int16",
    "uint8",
    "bool",
    "complex64",
    "str",
    "datetime64[s]",
    "object",
]


def fuzz_settings(default: int):
    return settings(
        max_examples=EXAMPLES or default,
        deadline=None,
        derandomize=EXAMPLES is None,  # CI: the same examples every run
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@st.composite
def recordings(draw, max_length: int = 4000):
    """Arrays of odd shapes, dtypes, amplitudes and special values, with a sampling rate."""
    ndim = draw(st.sampled_from([0, 1, 1, 2, 2, 2, 2, 2, 3]))
    channels = draw(st.integers(1, 5))
    length = draw(
        st.one_of(
            st.integers(0, 40), st.integers(max_length // 4, max_length), st.integers(max_length // 4, max_length)
        )
    )
    shape = {0: (), 1: (length,), 2: (channels, length), 3: (2, channels, length)}[ndim]
    seed = draw(st.integers(0, 2**31))
    values = np.random.default_rng(seed).standard_normal(shape)
    values = values * 10.0 ** draw(st.sampled_from([-300, -12, 0, 3, 12, 200, 307]))
    if values.size and draw(st.integers(0, 3)) == 0:
        flat = values.reshape(-1)
        special = draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.0]))
        flat[draw(st.integers(0, flat.size - 1)) :: draw(st.integers(1, 50))] = special
    dtype = draw(st.sampled_from(DTYPES))
    with np.errstate(all="ignore"):
        array = values.astype(dtype) if dtype not in ("str", "object") else values.astype(dtype)
    rate = draw(st.sampled_from(RATES))
    return array, rate


def _outcome(call):
    """Run ``call``; return its result, or None for a clear ValueError / TypeError. Anything else fails."""
    tracemalloc.start()
    try:
        return call()
    except (ValueError, TypeError) as error:
        message = str(error)
        assert len(message) > 20, f"an error without a useful message: {type(error).__name__}: {message!r}"
        return None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < LIMIT_BYTES, f"a call allocated {peak / 1e9:.1f} GB"


@pytest.fixture(autouse=True, scope="module")
def _quiet():
    logger = logging.getLogger("normwear_hf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@fuzz_settings(60)
@given(recordings())
def test_feature_extractor_gives_finite_features_or_a_clear_error(case):
    array, rate = case
    extractor = NormWearFeatureExtractor()
    result = _outcome(lambda: extractor(array, sampling_rate=rate, long_input="truncate"))
    if result is not None:
        assert np.isfinite(result["input_values"]).all()


@pytest.fixture(scope="module")
def micro():
    torch.manual_seed(0)
    return NormWearModel(micro_config()).eval(), NormWearFeatureExtractor()


@fuzz_settings(15)
@given(case=recordings(max_length=300))
def test_embed_gives_finite_vectors_or_a_clear_error(micro, case):
    model, extractor = micro
    array, rate = case
    result = _outcome(lambda: embed(array, rate, model=model, feature_extractor=extractor, progress=False))
    if result is not None:
        assert np.isfinite(result).all()


@pytest.fixture(scope="module")
def zero_shot():
    from transformers import pipeline

    import normwear_hf

    return pipeline("zero-shot-physio-classification", model=normwear_hf.DEFAULT_CHECKPOINT)


@fuzz_settings(8)
@given(case=recordings(max_length=300))
def test_pipeline_gives_finite_scores_or_a_clear_error(zero_shot, case):
    array, rate = case
    result = _outcome(lambda: zero_shot(array, sampling_rate=rate, candidate_labels=["resting", "running"]))
    if result is not None:
        rows = result if isinstance(result[0], list) else [result]
        for row in rows:
            scores = [entry["score"] for entry in row]
            assert np.isfinite(scores).all() and abs(sum(scores) - 1) < 1e-4
