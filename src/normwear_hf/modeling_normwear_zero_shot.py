"""Zero-shot NormWear: the frozen backbone's tokens -> one vector in a sentence encoder's space.

The MSiTF aggregator (memory-stream-inspired temporal fusion) weighs every channel token by its relevance to
the task question, a learned importance gate and its recency, and projects the weighted sum into the text
space; a label is scored by the cosine between that vector and the label's sentence embedding. The text
encoder itself is not part of this model (it stays frozen and is loaded from its own folder): callers pass
sentence embeddings in, which keeps the checkpoint small and lets any sentence encoder serve.

This file is copied next to saved models for ``trust_remote_code``: it imports only third-party packages
and its flat siblings.
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import shutil
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers.utils import ModelOutput

from .configuration_normwear import NormWearConfig
from .modeling_normwear import NormWearMLP, NormWearModel, NormWearPreTrainedModel

try:  # transformers >= 5: initialisers that skip tensors already loaded from a checkpoint
    from transformers import initialization as init
except ImportError:  # pragma: no cover - older transformers
    from torch.nn import init

LOGIT_SCALE_INIT = math.log(1 / 0.07)  # CLIP's initial temperature 0.07
LOGIT_SCALE_MAX = 100.0
RELEVANCE_SCALE_INIT = math.log(10.0)
SHARPNESS_INIT = math.log(5.0)


@dataclass
class NormWearZeroShotOutput(ModelOutput):
    """
    Args:
        loss: cross-entropy of ``logits`` against ``labels`` (when labels are given).
        logits: ``[batch, labels]`` scaled cosines between signal and label embeddings (before calibration).
        signal_embeds: ``[batch, text_hidden]`` unit-norm signal embeddings in the text space.
        aggregation_weights: ``[batch, channels, 1 + patches]`` how much each token contributed (sums to 1 per
            recording; zeros for padding): where the model looked. The rhythm tokens of a head that reads them are
            pooled apart and not included.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    signal_embeds: torch.Tensor | None = None
    aggregation_weights: torch.Tensor | None = None


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis that gives exactly zero weight where ``mask`` is False."""
    return scores.masked_fill(~mask, torch.finfo(scores.dtype).min).softmax(dim=-1) * mask


def token_recency(token_mask: torch.Tensor, num_scale_patches: int, decay: float) -> torch.Tensor:
    """``decay ** distance`` from each token's time patch to the recording's last real time patch.

    ``token_mask`` is ``[B, C, 1 + P]`` with time-major patches; [CLS] tokens count as the most recent.
    """
    patches = token_mask.shape[-1] - 1
    time_index = torch.arange(patches, device=token_mask.device) // num_scale_patches
    real_patch = token_mask[..., 1:]
    last = torch.where(real_patch, time_index, -1).amax(dim=(-1, -2), keepdim=True).clamp_min(0)  # [B, 1, 1]
    distance = (last - time_index).clamp_min(0).to(torch.float32)
    recency = decay**distance
    cls = torch.ones_like(recency[..., :1])
    return torch.cat([cls, recency], dim=-1) * token_mask


class NormWearMSiTF(nn.Module):
    """Question-aware token aggregation of the paper, projected into the text space.

    score = relevance + w_i * importance + w_r * recency, with every term in [0, 1]: relevance is the softmax
    over tokens of the cosine between the projected question and projected tokens, rescaled so that the most
    relevant token scores 1 (as the memory-stream scores are min-max scaled); importance is the "keep"
    probability of a two-logit gate (Gumbel-softmax while training); recency decays with the distance to the
    last patch. A softmax with learned sharpness turns scores into weights over the values; a residual MLP
    block then a linear map carry the result into the sentence encoder's space. With
    ``config.zero_shot_question_conditioning`` the question's projection joins the pooled value before the MLP:
    one window then answers "how variable is the rhythm?" and "what is the heart rate?" from different facts
    (with the paper's weights alone, a fast heart pulled "high heart rate variability" up with it).
    """

    def __init__(self, config: NormWearConfig) -> None:
        super().__init__()
        width = config.zero_shot_hidden_size
        self.config = config
        self.query = nn.Linear(config.text_hidden_size, width)
        self.key = nn.Linear(config.hidden_size, width)
        self.value = nn.Linear(config.hidden_size, width)
        self.importance = nn.Linear(config.hidden_size, 2)
        self.relevance_scale = nn.Parameter(torch.tensor(RELEVANCE_SCALE_INIT))
        self.sharpness = nn.Parameter(torch.tensor(SHARPNESS_INIT))
        self.norm = nn.LayerNorm(width, eps=config.layer_norm_eps)
        self.mlp = NormWearMLP(config, width, 2 * width)
        self.projection = nn.Linear(width, config.text_hidden_size)
        self.question_value = (
            nn.Linear(config.text_hidden_size, width) if config.zero_shot_question_conditioning else None
        )

    def forward(
        self,
        tokens: torch.Tensor,
        token_mask: torch.Tensor,
        recency: torch.Tensor,
        question_embeds: torch.Tensor,
        rhythm: torch.Tensor | None = None,
        rhythm_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``tokens`` ``[B, N, D]``, masks ``[B, N]``, ``question_embeds`` ``[B, T]`` -> (``[B, T]``, weights).

        ``rhythm`` ``[B, C, D]`` (one token per channel, ``rhythm_mask`` ``[B, C]``) is a second stream, pooled
        over channels by the same scores and added: among a channel's hundred-odd patch tokens a single rhythm
        token got little weight, and whether it got any varied with the seed."""
        query = F.normalize(self.query(question_embeds), dim=-1)
        pooled, weights = self.pool(tokens, token_mask, recency, query)
        if rhythm is not None:
            pooled = pooled + self.pool(rhythm, rhythm_mask, rhythm_mask.to(rhythm.dtype), query)[0]
        if self.question_value is not None:
            pooled = pooled + self.question_value(question_embeds)
        pooled = pooled + self.mlp(self.norm(pooled))
        return self.projection(pooled), weights

    def pool(
        self, tokens: torch.Tensor, token_mask: torch.Tensor, recency: torch.Tensor, query: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The memory-stream weighted sum of ``value(tokens)`` ``[B, width]`` and its weights ``[B, N]``."""
        config = self.config
        keys = F.normalize(self.key(tokens), dim=-1)
        cosine = torch.einsum("bnd,bd->bn", keys, query)
        relevance = masked_softmax(cosine * self.relevance_scale.exp(), token_mask)
        relevance = relevance / relevance.amax(dim=-1, keepdim=True).clamp_min(1e-12)
        gate_logits = self.importance(tokens)
        if self.training:
            importance = F.gumbel_softmax(gate_logits, tau=config.msitf_gumbel_tau, hard=False)[..., 1]
        else:
            importance = gate_logits.softmax(dim=-1)[..., 1]
        score = relevance + config.msitf_importance_weight * importance + config.msitf_recency_weight * recency
        weights = masked_softmax(score * self.sharpness.exp(), token_mask)
        return torch.einsum("bn,bnd->bd", weights, self.value(tokens)), weights


class NormWearMeanLinearAggregator(nn.Module):
    """CLAP-style baseline: the mean of all real tokens through one linear map into the text space."""

    def __init__(self, config: NormWearConfig) -> None:
        super().__init__()
        self.projection = nn.Linear(config.hidden_size, config.text_hidden_size)

    def forward(
        self,
        tokens: torch.Tensor,
        token_mask: torch.Tensor,
        recency: torch.Tensor,
        question_embeds: torch.Tensor,
        rhythm: torch.Tensor | None = None,
        rhythm_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As MSiTF's; rhythm tokens are averaged over channels and added to the token mean."""
        weights = mean_weights(token_mask, tokens.dtype)
        pooled = torch.einsum("bn,bnd->bd", weights, tokens)
        if rhythm is not None:
            pooled = pooled + torch.einsum("bc,bcd->bd", mean_weights(rhythm_mask, rhythm.dtype), rhythm)
        return self.projection(pooled), weights


def mean_weights(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Equal weights over the real entries of ``mask`` ``[B, N]`` (all zero where none is real)."""
    weights = mask.to(dtype)
    return weights / weights.sum(dim=-1, keepdim=True).clamp_min(1.0)


AGGREGATOR_CLASSES = {"msitf": NormWearMSiTF, "mean_linear": NormWearMeanLinearAggregator}


def rhythm_inputs(config: NormWearConfig) -> tuple[str, ...]:
    """The inputs beyond the backbone's that a zero-shot head with this config reads: ``("rhythm_values",)`` when
    it reads rhythm (callers then ask the feature extractor for ``return_rhythm=True``), else none."""
    return ("rhythm_values",) if config.zero_shot_rhythm_size else ()


class NormWearRhythmEncoder(nn.Module):
    """Each channel's rhythm descriptor (``rhythm_features``) -> one token of the backbone's width.

    The backbone's wavelet patches carry a beat's shape better than the beat count (ECG heart rate is probed at
    AUROC 0.77 from its tokens against 0.97 for PPG), so the head reads the count from the descriptor: one token
    per channel, which the aggregator pools over channels beside the patch tokens."""

    def __init__(self, config: NormWearConfig) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(config.zero_shot_rhythm_size, config.hidden_size),
            nn.GELU(),
            nn.Linear(config.hidden_size, config.hidden_size),
        )

    def forward(self, rhythm_values: torch.Tensor) -> torch.Tensor:
        """``[B, C, R]`` -> ``[B, C, D]``."""
        return self.layers(rhythm_values)


class NormWearForZeroShotClassification(NormWearPreTrainedModel):
    """Backbone + zero-shot aggregator: scores candidate labels (as sentence embeddings) for recordings.

    ``config.zero_shot_aggregator`` picks MSiTF (default) or the CLAP-style mean-linear baseline. The backbone
    is frozen by ``freeze_backbone()`` (the zero-shot training script does it) and the scores returned by
    [`calibrated_scores`] divide the logits by ``config.zero_shot_calibration_temperature``.
    """

    def __init__(self, config: NormWearConfig) -> None:
        if config.zero_shot_aggregator is None:  # the default is resolved on a copy: the caller's config stays as given
            config = copy.deepcopy(config)
            config.zero_shot_aggregator = "msitf"
        super().__init__(config)
        self.normwear = NormWearModel(config)
        self.aggregator = AGGREGATOR_CLASSES[config.zero_shot_aggregator](config)
        self.rhythm = NormWearRhythmEncoder(config) if config.zero_shot_rhythm_size else None
        self.logit_scale = nn.Parameter(torch.tensor(LOGIT_SCALE_INIT))
        if config.zero_shot_text_centering:  # set by training: the mean training sentence
            self.register_buffer("text_center", torch.zeros(config.text_hidden_size))
        else:
            self.text_center = None
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, NormWearForZeroShotClassification):
            init.constant_(module.logit_scale, LOGIT_SCALE_INIT)
            if module.text_center is not None:
                init.zeros_(module.text_center)
        elif isinstance(module, NormWearMSiTF):
            init.constant_(module.relevance_scale, RELEVANCE_SCALE_INIT)
            init.constant_(module.sharpness, SHARPNESS_INIT)

    def save_pretrained(self, save_directory: str | os.PathLike, *args, **kwargs) -> None:
        """As ``PreTrainedModel.save_pretrained``; where the backbone is registered for ``AutoModel`` (importing
        normwear_hf does that), the folder also gets the modeling code and an ``auto_map`` whose ``AutoModel``
        is the backbone, so ``AutoModel.from_pretrained(folder, trust_remote_code=True)`` gives embeddings."""
        if self.normwear._auto_class is not None:
            from transformers.dynamic_module_utils import custom_object_save

            os.makedirs(save_directory, exist_ok=True)
            custom_object_save(self.normwear, save_directory, config=self.config)
            shutil.copy(inspect.getfile(type(self)), os.path.join(save_directory, os.path.basename(__file__)))
        super().save_pretrained(save_directory, *args, **kwargs)

    def aggregate(
        self,
        last_hidden_state: torch.Tensor,
        token_mask: torch.Tensor,
        question_embeds: torch.Tensor | None = None,
        rhythm_values: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Backbone tokens ``[B, C, 1 + P, D]`` -> unit-norm text-space embeddings ``[B, T]`` and the weights
        ``[B, C, 1 + P]``. Works on cached backbone outputs, which is how the aggregator is trained. A head with
        ``config.zero_shot_rhythm_size`` also needs ``rhythm_values`` ``[B, C, R]`` (the feature extractor's, with
        ``return_rhythm=True``): one token per channel, pooled beside the patch tokens."""
        batch, channels, length, width = last_hidden_state.shape
        token_mask = token_mask.bool()
        rhythm_tokens = self.rhythm_tokens(rhythm_values, (batch, channels), last_hidden_state.dtype)
        if question_embeds is None:
            if self.config.zero_shot_aggregator == "msitf":
                raise ValueError(
                    "The MSiTF aggregator needs question_embeds (the task question's sentence embedding, "
                    "[text_hidden] or [batch, text_hidden]); embed config.zero_shot_default_question if you have none."
                )
            question_embeds = last_hidden_state.new_zeros(batch, self.config.text_hidden_size)
        question_embeds = question_embeds.to(last_hidden_state.dtype)
        if question_embeds.ndim == 1:
            question_embeds = question_embeds.expand(batch, -1)
        num_scale_patches = self.config.num_scales // self.config.patch_size[1]
        recency = token_recency(token_mask, num_scale_patches, self.config.msitf_recency_decay)
        embeds, weights = self.aggregator(
            last_hidden_state.reshape(batch, channels * length, width),
            token_mask.reshape(batch, channels * length),
            recency.reshape(batch, channels * length).to(last_hidden_state.dtype),
            question_embeds,
            rhythm_tokens,
            token_mask[..., 0],  # a real channel's [CLS]: its rhythm token is real too
        )
        return F.normalize(embeds, dim=-1), weights.reshape(batch, channels, length)

    def rhythm_tokens(
        self, rhythm_values: torch.Tensor | None, batch_channels: tuple[int, int], dtype: torch.dtype
    ) -> torch.Tensor | None:
        """The rhythm encoder's tokens ``[B, C, D]``, or None for a head that reads no rhythm."""
        if self.rhythm is None:
            return None
        expected = (*batch_channels, self.config.zero_shot_rhythm_size)
        if rhythm_values is None:
            raise ValueError(
                "This zero-shot head reads each channel's rhythm descriptor (config.zero_shot_rhythm_size="
                f"{self.config.zero_shot_rhythm_size}): pass rhythm_values, which the feature extractor returns with "
                "return_rhythm=True (the zero-shot pipeline does this for you)."
            )
        if tuple(rhythm_values.shape) != expected:
            raise ValueError(
                f"rhythm_values must be [batch, channels, {self.config.zero_shot_rhythm_size}] = {list(expected)}, got "
                f"{list(rhythm_values.shape)}: take them from the same feature-extractor call as input_values."
            )
        return self.rhythm(rhythm_values.to(device=self.logit_scale.device, dtype=dtype))

    def similarity_logits(self, signal_embeds: torch.Tensor, text_embeds: torch.Tensor) -> torch.Tensor:
        """Scaled cosines ``[B, L]`` against label sentences ``[L, T]`` (shared) or ``[B, L, T]`` (per row)."""
        if text_embeds.ndim not in (2, 3):
            raise ValueError(
                "text_embeds must be [labels, text_hidden] or [batch, labels, text_hidden], "
                f"got {tuple(text_embeds.shape)}."
            )
        if text_embeds.shape[-1] != signal_embeds.shape[-1]:
            raise ValueError(
                f"text_embeds are {text_embeds.shape[-1]} wide but this model projects into "
                f"{signal_embeds.shape[-1]} (config.text_hidden_size): use the text encoder the model was trained with "
                f"({self.config.text_encoder_name_or_path!r})."
            )
        text_embeds = self.text_directions(text_embeds.to(signal_embeds.dtype))
        if text_embeds.ndim == 2:
            cosine = signal_embeds @ text_embeds.T
        else:
            cosine = torch.einsum("bt,blt->bl", signal_embeds, text_embeds)
        return cosine * self.logit_scale.exp().clamp(max=LOGIT_SCALE_MAX)

    def text_directions(self, text_embeds: torch.Tensor) -> torch.Tensor:
        """Unit sentence embeddings as the head compares them: with ``config.zero_shot_text_centering``, the
        training texts' mean is taken out first. A sentence encoder gives every sentence a large shared
        component, and a generic label ("a normal sinus rhythm") then sits near every caption while a specific
        one ("atrial fibrillation") sits near none; centring leaves what tells sentences apart."""
        text_embeds = F.normalize(text_embeds, dim=-1)
        if self.text_center is not None:
            text_embeds = F.normalize(text_embeds - self.text_center.to(text_embeds), dim=-1)
        return text_embeds

    def calibrated_scores(self, logits: torch.Tensor) -> torch.Tensor:
        """Probabilities over the candidate labels, with the temperature fitted on held-in data."""
        return (logits.float() / self.config.zero_shot_calibration_temperature).softmax(dim=-1)

    def forward(
        self,
        input_values: torch.Tensor,
        text_embeds: torch.Tensor,
        question_embeds: torch.Tensor | None = None,
        channel_mask: torch.Tensor | None = None,
        time_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
        channel_types: list | None = None,
        channel_names: list | None = None,
        input_levels: torch.Tensor | None = None,
        rhythm_values: torch.Tensor | None = None,
    ) -> NormWearZeroShotOutput | tuple:
        r"""
        Args:
            input_values, channel_mask, time_mask: as for [`NormWearModel`]; channel_types, channel_names and
                input_levels are accepted and ignored, as there.
            text_embeds: sentence embeddings of the candidate labels, ``[labels, text_hidden]`` or
                ``[batch, labels, text_hidden]``, from ``config.text_encoder_name_or_path``.
            question_embeds: the task question's sentence embedding, ``[text_hidden]`` or ``[batch, text_hidden]``.
            labels: ``[batch]`` index of the true label -> cross-entropy loss.
            rhythm_values: ``[batch, channels, config.zero_shot_rhythm_size]`` from the feature extractor with
                ``return_rhythm=True``; required by a head that reads rhythm, ignored otherwise.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.backbone_frozen):
            outputs = self.normwear(input_values, channel_mask=channel_mask, time_mask=time_mask, return_dict=True)
        signal_embeds, weights = self.aggregate(
            outputs.last_hidden_state, outputs.token_mask, question_embeds, rhythm_values
        )
        logits = self.similarity_logits(signal_embeds, text_embeds)
        loss = F.cross_entropy(logits.float(), labels.to(logits.device)) if labels is not None else None
        output = NormWearZeroShotOutput(
            loss=loss, logits=logits, signal_embeds=signal_embeds, aggregation_weights=weights
        )
        return output if return_dict else output.to_tuple()


__all__ = [
    "NormWearForZeroShotClassification",
    "NormWearMSiTF",
    "NormWearMeanLinearAggregator",
    "NormWearRhythmEncoder",
    "NormWearZeroShotOutput",
    "masked_softmax",
    "rhythm_inputs",
    "token_recency",
]
