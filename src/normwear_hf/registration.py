"""NormWear's registration with transformers' Auto classes and the zero-shot pipeline task.

Kept out of the package root so that the command line can call it after parsing its arguments without importing
``normwear_hf`` from inside the package (imports run one way: down).
"""

from __future__ import annotations

_registered = False


def register() -> None:
    """Register NormWear with transformers' Auto classes and the zero-shot pipeline task (idempotent).

    Runs on ``import normwear_hf`` in every process except the ``normwear-hf`` command line, which calls it only
    for the commands that load a model.
    """
    global _registered
    if _registered:
        return
    from transformers import (
        AutoConfig,
        AutoFeatureExtractor,
        AutoModel,
        AutoModelForPreTraining,
        AutoModelForSequenceClassification,
    )

    from .configuration_normwear import NormWearConfig
    from .feature_extraction_normwear import NormWearFeatureExtractor
    from .modeling_normwear import (
        NormWearForMaskedReconstruction,
        NormWearForSignalClassification,
        NormWearForSignalRegression,
        NormWearModel,
    )

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
    _registered = True
