"""normwear-hf: NormWear, a foundation model for wearable physiological signals, on Hugging Face transformers.

Importing the package registers NormWear with ``AutoConfig``, ``AutoModel`` and ``AutoFeatureExtractor``,
and marks the classes for ``register_for_auto_class`` so that ``save_pretrained`` writes ``auto_map`` and
the modeling code (a saved folder then loads with ``trust_remote_code=True`` without this package). It also
places the bundled checkpoint in the Hugging Face cache under the name ``"normwear"``
(:mod:`normwear_hf.hub_cache`), so that ``AutoModel.from_pretrained("normwear")`` works offline.
"""

import os
import sys

from ._lazy import lazy_getattr
from ._version import __version__
from .checkpoint import DEFAULT_CHECKPOINT, DEFAULT_MODEL_NAME
from .registration import register

# Public names -> the module that defines them. They are imported on first use (PEP 562, as transformers'
# _LazyModule does), so that `normwear-hf --help` and argument errors do not wait for torch and transformers.
_LAZY_NAMES: dict[str, str] = {
    "NORMWEAR_PRESETS": "configuration_normwear",
    "NormWearConfig": "configuration_normwear",
    "CHANNEL_TYPES": "feature_extraction_normwear",
    "NormWearFeatureExtractor": "feature_extraction_normwear",
    "NormWearForMaskedReconstruction": "modeling_normwear",
    "NormWearForPreTrainingOutput": "modeling_normwear",
    "NormWearForSignalClassification": "modeling_normwear",
    "NormWearForSignalRegression": "modeling_normwear",
    "NormWearModel": "modeling_normwear",
    "NormWearModelOutput": "modeling_normwear",
    "NormWearPreTrainedModel": "modeling_normwear",
    "NormWearForZeroShotClassification": "modeling_normwear_zero_shot",
    "NormWearZeroShotOutput": "modeling_normwear_zero_shot",
}


__getattr__ = lazy_getattr(__name__, _LAZY_NAMES, globals())


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_NAMES})


_register = register  # the name earlier releases used


def _is_command_line() -> bool:
    return bool(sys.argv) and os.path.basename(sys.argv[0]) in ("normwear-hf", "normwear-hf.exe")


if not _is_command_line():
    register()
    # The bundled checkpoint as "normwear" in the Hugging Face cache, so that AutoModel.from_pretrained("normwear")
    # resolves offline (hub_cache.py; NORMWEAR_NO_HF_CACHE=1 opts out). A few stat calls when already in place.
    from .hub_cache import place_on_import as _place_on_import

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
