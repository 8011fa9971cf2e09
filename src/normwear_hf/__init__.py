"""normwear-hf: NormWear, a foundation model for wearable physiological signals, on Hugging Face transformers.

Importing the package registers NormWear with ``AutoConfig``, ``AutoModel`` and ``AutoFeatureExtractor``,
and marks the classes for ``register_for_auto_class`` so that ``save_pretrained`` writes ``auto_map`` and
the modeling code (a saved folder then loads with ``trust_remote_code=True`` without this package). It also
places the bundled checkpoint in the Hugging Face cache under the name ``"normwear"``
(:mod:`normwear_hf.hub_cache`), so that ``AutoModel.from_pretrained("normwear")`` works offline.
"""

from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModel,
    AutoModelForPreTraining,
    AutoModelForSequenceClassification,
)

from .checkpoint import DEFAULT_CHECKPOINT, DEFAULT_MODEL_NAME
from .configuration_normwear import NORMWEAR_PRESETS, NormWearConfig
from .feature_extraction_normwear import CHANNEL_TYPES, NormWearFeatureExtractor
from .modeling_normwear import (
    NormWearForMaskedReconstruction,
    NormWearForPreTrainingOutput,
    NormWearForSignalClassification,
    NormWearForSignalRegression,
    NormWearModel,
    NormWearModelOutput,
    NormWearPreTrainedModel,
)
from .modeling_normwear_zero_shot import NormWearForZeroShotClassification, NormWearZeroShotOutput

__version__ = "0.1.0"


def _register() -> None:
    AutoConfig.register(NormWearConfig.model_type, NormWearConfig, exist_ok=True)
    AutoModel.register(NormWearConfig, NormWearModel, exist_ok=True)
    AutoModelForPreTraining.register(NormWearConfig, NormWearForMaskedReconstruction, exist_ok=True)
    AutoModelForSequenceClassification.register(NormWearConfig, NormWearForSignalClassification, exist_ok=True)
    AutoFeatureExtractor.register(NormWearConfig, NormWearFeatureExtractor, exist_ok=True)
    NormWearConfig.register_for_auto_class()
    NormWearModel.register_for_auto_class("AutoModel")
    NormWearForMaskedReconstruction.register_for_auto_class("AutoModelForPreTraining")
    NormWearForSignalClassification.register_for_auto_class("AutoModelForSequenceClassification")
    NormWearForSignalRegression.register_for_auto_class("AutoModelForSequenceClassification")
    NormWearFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
    # The zero-shot model (backbone + aggregator) is reached through its pipeline task; AutoModel stays the backbone.
    from .zero_shot.pipeline import register_pipeline

    register_pipeline()


_register()

# The bundled checkpoint as "normwear" in the Hugging Face cache, so that AutoModel.from_pretrained("normwear")
# resolves offline (hub_cache.py; NORMWEAR_NO_HF_CACHE=1 opts out). A few stat calls when already in place.
from .hub_cache import place_on_import as _place_on_import  # noqa: E402

_place_on_import()

__all__ = [
    "CHANNEL_TYPES",
    "DEFAULT_CHECKPOINT",
    "DEFAULT_MODEL_NAME",
    "NORMWEAR_PRESETS",
    "NormWearConfig",
    "NormWearFeatureExtractor",
    "NormWearForMaskedReconstruction",
    "NormWearForPreTrainingOutput",
    "NormWearForSignalClassification",
    "NormWearForSignalRegression",
    "NormWearForZeroShotClassification",
    "NormWearModel",
    "NormWearModelOutput",
    "NormWearPreTrainedModel",
    "NormWearZeroShotOutput",
    "__version__",
]
