"""The ``zero-shot-physio-classification`` task: registration with transformers' pipeline registry.

The pipeline class lives in the flat module ``normwear_hf.pipeline_normwear_zero_shot`` because exported folders
carry it as remote code; its names are re-exported here, where the package has always had them.
"""

from __future__ import annotations

from ..pipeline_normwear_zero_shot import (
    TASK_NAME,
    WINDOWS_PER_FORWARD,
    ZeroShotPhysioClassificationPipeline,
    one_recording,
)

__all__ = [
    "TASK_NAME",
    "WINDOWS_PER_FORWARD",
    "ZeroShotPhysioClassificationPipeline",
    "one_recording",
    "register_pipeline",
]


def register_pipeline() -> None:
    """Make ``pipeline("zero-shot-physio-classification", model=...)`` available (idempotent)."""
    from transformers.pipelines import PIPELINE_REGISTRY

    from ..modeling_normwear_zero_shot import NormWearForZeroShotClassification

    if TASK_NAME in PIPELINE_REGISTRY.get_supported_tasks():
        return
    PIPELINE_REGISTRY.register_pipeline(
        TASK_NAME,
        pipeline_class=ZeroShotPhysioClassificationPipeline,
        pt_model=NormWearForZeroShotClassification,
        type="multimodal",
    )
