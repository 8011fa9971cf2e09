"""NormWear backbone: scalogram patches -> channel-shared ViT encoder with [CLS] fusion across channels.

This file is copied next to saved models for ``trust_remote_code``: it imports only third-party packages
and its flat siblings.

Over 600 lines on purpose: exported configs' ``auto_map`` names ``modeling_normwear.<class>`` for the backbone, the
pretraining head and the task heads, and exported folders copy this one file (transformers' habit: one modeling file
per model). The pretraining head was the candidate for a file of its own, but it is imported from here by the
training loop and the ablation, and a warning shim here would have to import the new file back (a cycle between
model-code modules, which tests/test_layers.py forbids). Its sections (outputs, embeddings, blocks, backbone,
pretraining head, task heads, poolings and the one window loop) are laid out in docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from torch import nn
from transformers import PreTrainedModel
from transformers.activations import ACT2FN
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.utils import ModelOutput

from .configuration_normwear import NormWearConfig

try:  # transformers >= 5: initialisers that skip tensors already loaded from a checkpoint
    from transformers import initialization as init
except ImportError:  # pragma: no cover - older transformers
    from torch.nn import init

POOLINGS = ("probe", "channel", "recording", "cls", "probe_rich", "probe_level")
#: Summaries per channel in the ``"probe_rich"`` pooling, in this order (each ``hidden_size`` wide).
RICH_SUMMARIES = ("mean", "max", "first_third", "second_third", "last_third")


@dataclass
class NormWearModelOutput(ModelOutput):
    r"""Output of [`NormWearModel`].

    Args:
        last_hidden_state: ``[batch, channels, 1 + patches, hidden]`` tokens after the final LayerNorm; token 0
            of each channel is its (fused) [CLS]. Padded channels are all zero.
        pooler_output: ``[batch, channels, hidden]`` the fused per-channel [CLS] tokens.
        hidden_states: on request, the embeddings and the output of every encoder block (after fusion), each
            ``[batch, channels, 1 + patches, hidden]``.
        attentions: on request, every encoder block's attention weights ``[batch, channels, heads, L, L]``.
        fusion_attentions: on request, every [CLS]-fusion block's weights ``[batch, heads, channels, channels]``.
        token_mask: ``[batch, channels, 1 + patches]`` True where a token comes from a real channel and real
            (unpadded) time; what poolings average over.
    """

    last_hidden_state: torch.FloatTensor | None = None
    pooler_output: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None
    fusion_attentions: tuple[torch.FloatTensor, ...] | None = None
    token_mask: torch.BoolTensor | None = None


@dataclass
class FoldedInputs:
    """Where the real channels of a batch are: ``channel_index`` rows/cols of ``channel_mask`` ``[B, C]``;
    ``token_mask`` ``[B, 1 + P]`` marks [CLS] and patches with real time steps."""

    channel_mask: torch.Tensor
    channel_index: tuple[torch.Tensor, torch.Tensor]
    token_mask: torch.Tensor

    def unfold(self, real_rows: torch.Tensor | None) -> torch.Tensor | None:
        """``[N_real, ...]`` (one row per real channel) -> ``[B, C, ...]`` with zeros for padded channels."""
        if real_rows is None:
            return None
        full = real_rows.new_zeros((*self.channel_mask.shape, *real_rows.shape[1:]))
        return full.index_put(self.channel_index, real_rows)


@dataclass
class NormWearVisibleEncoding:
    """One masked pass of the backbone ([`NormWearModel.encode_visible`]): which patches of each real channel it
    saw and what it made of them. Rows are the real channels folded into the batch, as in [`FoldedInputs`]."""

    folded: FoldedInputs
    scalograms: torch.Tensor  # [N real channels, planes, T, S]
    hidden: torch.Tensor  # [N, 1 + K, D] ([CLS] + visible patches, after the final LayerNorm)
    keep: torch.Tensor  # [N, K] indices of the visible patches
    masked: torch.Tensor  # [N, P] True where hidden from the encoder
    real_patches: torch.Tensor  # [N, P] patches holding real (unpadded) time
    visible_real: torch.Tensor  # [N, K] visible patches that are real
    grid: tuple[int, int]

    def channel_embeddings(self) -> torch.Tensor:
        """``[N, D]``: the mean of each channel's visible real tokens (the probe's per-channel pooling)."""
        weights = self.visible_real.to(self.hidden.dtype)[..., None]
        return (self.hidden[:, 1:] * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)

    def recording_embedding(self) -> torch.Tensor:
        """``[B, D]``: the channel embeddings averaged over the recording's channels (the probe's pooling, so the
        contrastive term shapes the very vectors users get)."""
        per_channel = self.channel_embeddings()
        rows = self.folded.channel_index[0]
        batch = self.folded.channel_mask.shape[0]
        sums = per_channel.new_zeros(batch, per_channel.shape[-1]).index_add(0, rows, per_channel)
        counts = per_channel.new_zeros(batch).index_add(0, rows, torch.ones_like(rows, dtype=per_channel.dtype))
        return sums / counts.clamp_min(1.0)[:, None]


@dataclass
class NormWearForPreTrainingOutput(ModelOutput):
    r"""Output of [`NormWearForMaskedReconstruction`].

    Args:
        loss: reconstruction loss over masked patches of real channels and real time (the sum of both losses
            when ``reconstruction_target == "both"``).
        scalogram_loss, signal_loss: the two parts (``None`` when not trained).
        contrastive_loss: the cross-view InfoNCE term, before ``config.contrastive_weight`` (``None`` when off).
        latent_loss: the latent-prediction term (teacher features of masked patches), before
            ``config.latent_weight`` (``None`` when off).
        auxiliary_loss: the per-channel physiology regression, before ``config.auxiliary_weight`` (``None`` when
            off or when the batch carries no ``auxiliary_values``).
        reconstruction: ``[batch, channels, patches, patch_t * patch_s * planes]`` predicted scalogram patches.
        signal_reconstruction: ``[batch, channels, time]`` predicted cleaned signal (time = rows x patch_t).
        mask: ``[batch, channels, patches]`` True where a patch was hidden from the encoder.
        loss_mask: ``[batch, channels, patches]`` the patches the loss counted (masked, real channel, real time).
    """

    loss: torch.FloatTensor | None = None
    scalogram_loss: torch.FloatTensor | None = None
    signal_loss: torch.FloatTensor | None = None
    contrastive_loss: torch.FloatTensor | None = None
    auxiliary_loss: torch.FloatTensor | None = None
    latent_loss: torch.FloatTensor | None = None
    reconstruction: torch.FloatTensor | None = None
    signal_reconstruction: torch.FloatTensor | None = None
    mask: torch.BoolTensor | None = None
    loss_mask: torch.BoolTensor | None = None


def sincos_2d_position_table(time_positions: torch.Tensor, num_scale_patches: int, width: int) -> torch.Tensor:
    """MAE-style fixed 2D sine-cosine table ``[time * scale, width]``: half the width encodes time, half scale.

    Time positions may be fractional, which is how other lengths are mapped onto the pretraining range.
    """
    quarter = width // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)

    def encode(positions: torch.Tensor) -> torch.Tensor:
        angles = positions.to(torch.float64)[:, None] * omega[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    time_table = encode(time_positions)  # [Pt, width/2]
    scale_table = encode(torch.arange(num_scale_patches, dtype=torch.float64))  # [Ps, width/2]
    grid = torch.cat(
        [
            time_table[:, None, :].expand(-1, num_scale_patches, -1),
            scale_table[None, :, :].expand(time_table.shape[0], -1, -1),
        ],
        dim=-1,
    )
    return grid.reshape(-1, width).to(torch.float32)


_POSITION_TABLES: dict[tuple, torch.Tensor] = {}


def cached_position_table(
    num_time_patches: int,
    num_scale_patches: int,
    width: int,
    reference_time_patches: int | None,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """The sine-cosine table for a grid, built once per (grid, width, device, dtype), never per call.

    With ``reference_time_patches`` set, time positions are stretched or squeezed onto ``0 ..
    reference - 1`` (the pretraining range); with ``None`` they are the plain patch indices.
    """
    key = (num_time_patches, num_scale_patches, width, reference_time_patches, str(device), dtype)
    table = _POSITION_TABLES.get(key)
    if table is None:
        positions = torch.arange(num_time_patches, dtype=torch.float64)
        if reference_time_patches and num_time_patches != reference_time_patches and num_time_patches > 1:
            positions = positions * (reference_time_patches - 1) / (num_time_patches - 1)
        table = sincos_2d_position_table(positions, num_scale_patches, width).to(device=device, dtype=dtype)
        if len(_POSITION_TABLES) >= 64:
            _POSITION_TABLES.pop(next(iter(_POSITION_TABLES)))
        _POSITION_TABLES[key] = table
    return table


def sample_patch_mask(
    config: NormWearConfig,
    num_rows: int,
    num_time: int,
    num_scale: int,
    generator: torch.Generator | None = None,
    real_time_rows: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose the visible patches of every channel: ``keep`` ``[N, K]`` (sorted indices) and ``masked`` ``[N, P]``.

    ``"structured"`` hides whole time rows (``mask_time_ratio``) and whole scale columns (``mask_scale_ratio``);
    a patch stays visible only if both its row and its column do (60% / 50% hide about 80%). ``"random"``
    hides ``mask_ratio`` of the patches. Every channel keeps the same number of patches, so no padding is
    needed. Noise is drawn on the CPU from ``generator``, so a seed reproduces the mask on any device.
    Padded time rows (``real_time_rows`` False) are the last choice for visible rows.
    """

    def lowest(noise: torch.Tensor, count: int) -> torch.Tensor:
        return noise.argsort(dim=1)[:, :count].sort(dim=1).values

    if config.mask_strategy == "structured":
        keep_time = max(1, num_time - round(num_time * config.mask_time_ratio))
        keep_scale = max(1, num_scale - round(num_scale * config.mask_scale_ratio))
        time_noise = torch.rand(num_rows, num_time, generator=generator)
        if real_time_rows is not None:
            time_noise = time_noise + 2.0 * (~real_time_rows.cpu()).to(time_noise.dtype)
        rows = lowest(time_noise, keep_time)
        cols = lowest(torch.rand(num_rows, num_scale, generator=generator), keep_scale)
        keep = (rows[:, :, None] * num_scale + cols[:, None, :]).reshape(num_rows, -1)
    else:
        total = num_time * num_scale
        noise = torch.rand(num_rows, total, generator=generator)
        if real_time_rows is not None:
            padded = (~real_time_rows.cpu()).repeat_interleave(num_scale, dim=1)
            noise = noise + 2.0 * padded.to(noise.dtype)
        keep = lowest(noise, max(1, total - round(total * config.mask_ratio)))
    masked = torch.ones(num_rows, num_time * num_scale, dtype=torch.bool)
    masked.scatter_(1, keep, False)
    return keep, masked


class NormWearPatchEmbeddings(nn.Module):
    """Cuts each channel's ``[planes, time, scales]`` scalogram into non-overlapping patches -> tokens."""

    def __init__(self, config: NormWearConfig) -> None:
        super().__init__()
        self.patch_size = tuple(config.patch_size)
        self.projection = nn.Conv2d(
            config.num_input_planes, config.hidden_size, kernel_size=self.patch_size, stride=self.patch_size
        )

    def forward(self, scalograms: torch.Tensor) -> torch.Tensor:
        # [N, planes, T, S] -> [N, D, Pt, Ps] -> [N, Pt * Ps, D] (time-major token order)
        patches = self.projection(scalograms.to(self.projection.weight.dtype))
        return patches.flatten(2).transpose(1, 2)


class NormWearEmbeddings(nn.Module):
    """Patch tokens + fixed 2D sine-cosine positions, with a learned [CLS] token in front of each channel."""

    def __init__(self, config: NormWearConfig) -> None:
        super().__init__()
        self.config = config
        self.patch_embeddings = NormWearPatchEmbeddings(config)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def grid_shape(self, time_steps: int) -> tuple[int, int]:
        patch_t, patch_s = self.config.patch_size
        return time_steps // patch_t, self.config.num_scales // patch_s

    def position_table(
        self, num_time_patches: int, interpolate: bool, device: torch.device, dtype: torch.dtype
    ) -> torch.Tensor:
        reference = self.config.position_reference_time_patches if interpolate else None
        num_scale_patches = self.config.num_scales // self.config.patch_size[1]
        return cached_position_table(
            num_time_patches, num_scale_patches, self.config.hidden_size, reference, device, dtype
        )

    def random_masking(
        self, real_patches: torch.Tensor, time_steps: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """MAE masking of ``N`` channels with ``real_patches`` ``[N, P]``: ``keep`` ``[N, K]`` (the patches
        :meth:`forward` keeps) and ``masked`` ``[N, P]``, on the patches' device (see :func:`sample_patch_mask`)."""
        num_time, num_scale = self.grid_shape(time_steps)
        count = real_patches.shape[0]
        real_time_rows = real_patches.reshape(count, num_time, num_scale)[:, :, 0]
        keep, masked = sample_patch_mask(self.config, count, num_time, num_scale, generator, real_time_rows)
        return keep.to(real_patches.device), masked.to(real_patches.device)

    def forward(
        self, scalograms: torch.Tensor, interpolate_pos_encoding: bool, keep: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``[N, planes, T, S]`` -> ``[N, 1 + P, D]``; with ``keep`` ``[N, K]``, only those patches kept."""
        tokens = self.patch_embeddings(scalograms)
        num_time_patches, _ = self.grid_shape(scalograms.shape[-2])
        tokens = tokens + self.position_table(num_time_patches, interpolate_pos_encoding, tokens.device, tokens.dtype)
        if keep is not None:
            tokens = tokens.gather(1, keep[..., None].expand(-1, -1, tokens.shape[-1]))
        cls = self.cls_token.to(tokens.dtype).expand(tokens.shape[0], -1, -1)
        return self.dropout(torch.cat([cls, tokens], dim=1))


class NormWearSelfAttention(nn.Module):
    """Multi-head self-attention with one fused qkv projection; SDPA unless weights are requested."""

    def __init__(self, config: NormWearConfig, hidden_size: int, num_heads: int) -> None:
        super().__init__()
        self.config = config
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size, bias=config.qkv_bias)
        self.proj = nn.Linear(hidden_size, hidden_size)
        self.dropout_prob = config.attention_probs_dropout_prob
        self.proj_dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        hidden_states: torch.Tensor,
        key_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        batch, length, width = hidden_states.shape
        qkv = self.qkv(hidden_states).view(batch, length, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [N, heads, L, head_dim]
        attn_mask = None if key_mask is None else key_mask[:, None, None, :]
        dropout = self.dropout_prob if self.training else 0.0
        weights = None
        if output_attentions or getattr(self.config, "_attn_implementation", None) == "eager":
            scores = (query @ key.transpose(-2, -1)) / math.sqrt(self.head_dim)
            if attn_mask is not None:
                scores = scores.masked_fill(~attn_mask, torch.finfo(scores.dtype).min)
            weights = scores.softmax(dim=-1)
            context = F.dropout(weights, p=dropout, training=self.training) @ value
        else:
            context = F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask, dropout_p=dropout)
        context = context.transpose(1, 2).reshape(batch, length, width)
        return self.proj_dropout(self.proj(context)), (weights if output_attentions else None)


class NormWearMLP(nn.Module):
    def __init__(self, config: NormWearConfig, hidden_size: int, intermediate_size: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(hidden_size, intermediate_size)
        self.act = ACT2FN[config.hidden_act]
        self.fc2 = nn.Linear(intermediate_size, hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fc2(self.act(self.fc1(hidden_states))))


class NormWearLayer(nn.Module):
    """Pre-norm transformer block; used for encoder, [CLS]-fusion and decoder blocks alike."""

    def __init__(
        self,
        config: NormWearConfig,
        hidden_size: int | None = None,
        num_heads: int | None = None,
        intermediate_size: int | None = None,
    ) -> None:
        super().__init__()
        hidden_size = hidden_size or config.hidden_size
        self.layernorm_before = nn.LayerNorm(hidden_size, eps=config.layer_norm_eps)
        self.attention = NormWearSelfAttention(config, hidden_size, num_heads or config.num_attention_heads)
        self.layernorm_after = nn.LayerNorm(hidden_size, eps=config.layer_norm_eps)
        self.mlp = NormWearMLP(config, hidden_size, intermediate_size or config.intermediate_size)

    def forward(
        self,
        hidden_states: torch.Tensor,
        key_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        attended, weights = self.attention(self.layernorm_before(hidden_states), key_mask, output_attentions)
        hidden_states = hidden_states + attended
        hidden_states = hidden_states + self.mlp(self.layernorm_after(hidden_states))
        return hidden_states, weights


class NormWearChannelFusion(nn.Module):
    """Lets the per-channel [CLS] tokens of one recording exchange information; padded channels never speak."""

    def __init__(self, config: NormWearConfig) -> None:
        super().__init__()
        self.mode = config.fusion_mode
        self.layer = NormWearLayer(config) if self.mode == "cls_attention" else None

    def forward(
        self, cls_tokens: torch.Tensor, channel_mask: torch.Tensor, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        # cls_tokens [B, C, D]; channel_mask [B, C] bool
        if self.layer is not None:
            return self.layer(cls_tokens, channel_mask, output_attentions)
        weights = channel_mask.to(cls_tokens.dtype)[..., None]
        mean = (cls_tokens * weights).sum(1, keepdim=True) / weights.sum(1, keepdim=True)
        return mean.expand_as(cls_tokens), None


class NormWearEncoder(nn.Module):
    """Channel-shared encoder blocks (channels folded into the batch) with [CLS] fusion every few blocks."""

    def __init__(self, config: NormWearConfig) -> None:
        super().__init__()
        self.config = config
        self.layers = nn.ModuleList([NormWearLayer(config) for _ in range(config.num_hidden_layers)])
        self.fuse_after = (
            [] if config.fusion_mode == "none" else list(range(0, config.num_hidden_layers, config.fusion_interval))
        )
        self.fusion_layers = nn.ModuleList([NormWearChannelFusion(config) for _ in self.fuse_after])
        self.gradient_checkpointing = False

    def _run(self, module: nn.Module, *args):
        if self.gradient_checkpointing and self.training:
            return self._gradient_checkpointing_func(module.__call__, *args)
        return module(*args)

    def forward(
        self,
        hidden_states: torch.Tensor,
        channel_index: tuple[torch.Tensor, torch.Tensor],
        channel_mask: torch.Tensor,
        key_mask: torch.Tensor | None,
        output_attentions: bool,
        output_hidden_states: bool,
    ) -> tuple[torch.Tensor, list, list, list]:
        """``hidden_states`` [N_real, L, D]: one row per real channel, located by ``channel_index``."""
        batch, channels = channel_mask.shape
        rows, cols = channel_index
        all_hidden, all_attn, all_fusion_attn = [], [], []
        if output_hidden_states:
            all_hidden.append(hidden_states)
        fusion_of = dict(zip(self.fuse_after, self.fusion_layers))
        for index, layer in enumerate(self.layers):
            hidden_states, weights = self._run(layer, hidden_states, key_mask, output_attentions)
            if output_attentions:
                all_attn.append(weights)
            fusion = fusion_of.get(index)
            if fusion is not None:
                cls_stack = hidden_states.new_zeros(batch, channels, hidden_states.shape[-1])
                cls_stack = cls_stack.index_put((rows, cols), hidden_states[:, 0])
                fused, fusion_weights = self._run(fusion, cls_stack, channel_mask, output_attentions)
                hidden_states = torch.cat([fused[rows, cols].unsqueeze(1), hidden_states[:, 1:]], dim=1)
                if output_attentions:
                    all_fusion_attn.append(fusion_weights)
            if output_hidden_states:
                all_hidden.append(hidden_states)
        return hidden_states, all_hidden, all_attn, all_fusion_attn


@contextlib.contextmanager
def quiet_progress_bars():
    """Silence transformers' per-tensor loading bars for the duration (unless verbosity is INFO or more)."""
    from transformers.utils import logging as transformers_logging

    enabled = transformers_logging.is_progress_bar_enabled()
    if transformers_logging.get_verbosity() <= transformers_logging.INFO:
        enabled = False  # the user asked for detail: leave the bars alone
    if enabled:
        transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            transformers_logging.enable_progress_bar()


class NormWearPreTrainedModel(PreTrainedModel):
    """Weight initialisation and the loading / saving machinery shared by every NormWear model."""

    config_class = NormWearConfig
    config: NormWearConfig
    base_model_prefix = "normwear"
    main_input_name = "input_values"
    supports_gradient_checkpointing = True
    _no_split_modules = ["NormWearLayer"]
    _supports_sdpa = True
    # Every NormWear checkpoint holds the same backbone plus one head's weights (a pretraining decoder, projector,
    # auxiliary head or teacher, a zero-shot aggregator, a classifier). Any model loads from any of them, so a weight
    # outside the backbone (``normwear.*``, or its bare ``embeddings`` / ``encoder`` / ``layernorm``) is another
    # head's, not news; the backbone is not told which heads exist.
    _keys_to_ignore_on_load_unexpected = [r"^(?!normwear\.|embeddings\.|encoder\.|layernorm\.)"]

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *model_args, **kwargs):
        """``PreTrainedModel.from_pretrained`` restricted to safetensors weights (never a pickle)."""
        if kwargs.get("use_safetensors") is False:
            raise ValueError("NormWear loads safetensors weights only; pickled checkpoints are refused.")
        kwargs["use_safetensors"] = True
        location = os.fspath(pretrained_model_name_or_path)
        try:
            # a NormWear checkpoint loads in well under a second: transformers' per-tensor bars are only noise
            # (in the CLI, the pipeline and embed alike); TRANSFORMERS_VERBOSITY=info brings them back
            with quiet_progress_bars():
                return super().from_pretrained(location, *model_args, **kwargs)
        except SafetensorError as error:
            raise ValueError(
                f"The NormWear weights in {location!r} are corrupted or incomplete ({error}). "
                "Download or save the checkpoint again (model.save_pretrained writes model.safetensors)."
            ) from error
        except RuntimeError as error:
            if "mismatch" not in str(error).lower():
                raise
            raise ValueError(
                f"The weights in {location!r} do not fit its config.json (tensor shapes differ: the config was edited "
                "or belongs to another model). Restore the config that was saved with these weights."
            ) from None
        except OSError as error:
            pickles = ("pytorch_model.bin", "pytorch_model.bin.index.json")
            if os.path.isdir(location) and any(os.path.exists(os.path.join(location, f)) for f in pickles):
                raise ValueError(
                    f"{location!r} holds only pickled weights (pytorch_model.bin), which NormWear refuses to "
                    "unpickle. Convert a checkpoint you trust: load it with torch.load(path, weights_only=True), "
                    "then model.save_pretrained(folder) writes model.safetensors."
                ) from error
            raise

    def freeze_backbone(self, freeze: bool = True) -> None:
        """Train the head only (a linear probe), or undo it with ``freeze=False``.

        The backbone's parameters stop (or restart) requiring gradients, so optimizers, ``Trainer`` and
        ``requires_grad`` checks all see the truth, and the forward pass skips the backbone's autograd graph.
        Freezing is a choice of this training run: it is not saved with the config, so a checkpoint never
        freezes whoever loads it.
        """
        self._backbone().requires_grad_(not freeze)

    @property
    def backbone_frozen(self) -> bool:
        """True when no backbone parameter requires gradients (after ``freeze_backbone()``)."""
        return not any(parameter.requires_grad for parameter in self._backbone().parameters())

    def _backbone(self) -> nn.Module:
        backbone = getattr(self, self.base_model_prefix, None)
        if not isinstance(backbone, nn.Module):
            raise TypeError(f"{type(self).__name__} is the backbone itself; freeze a model with a head instead.")
        return backbone

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """MAE-style: xavier-uniform projections (patch conv seen as a linear map), unit LayerNorms."""
        if isinstance(module, nn.Linear):
            init.xavier_uniform_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Conv2d):
            fan_out, fan_in = module.weight.shape[0], module.weight[0].numel()
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            init.uniform_(module.weight, -bound, bound)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, NormWearEmbeddings):
            init.normal_(module.cls_token, std=self.config.initializer_range)
        elif isinstance(module, NormWearDecoder):
            init.normal_(module.mask_token, std=self.config.initializer_range)


def _validate_model_inputs(
    config: NormWearConfig,
    input_values: torch.Tensor,
    channel_mask: torch.Tensor | None,
    time_mask: torch.Tensor | None,
) -> None:
    if not isinstance(input_values, torch.Tensor):
        raise ValueError(
            f"input_values must be a torch.Tensor, got {type(input_values).__name__}; "
            "run NormWearFeatureExtractor(..., return_tensors='pt') first."
        )
    if input_values.ndim != 5:
        raise ValueError(
            "input_values must have shape [batch, channels, planes, time, scales] (5 dims), got "
            f"{tuple(input_values.shape)}; NormWearFeatureExtractor produces it from raw signals."
        )
    batch, channels, planes, steps, scales = input_values.shape
    if planes != config.num_input_planes or scales != config.num_scales:
        raise ValueError(
            f"input_values has {planes} planes and {scales} scales; this model expects "
            f"{config.num_input_planes} planes and {config.num_scales} scales (feature extractor mismatch?)."
        )
    if steps < config.patch_size[0]:
        raise ValueError(f"input_values has {steps} time steps, fewer than one patch ({config.patch_size[0]}).")
    if channel_mask is not None:
        if tuple(channel_mask.shape) != (batch, channels):
            raise ValueError(
                f"channel_mask must have shape [batch, channels] = {(batch, channels)}, "
                f"got {tuple(channel_mask.shape)}."
            )
        if not bool(channel_mask.bool().any(dim=1).all()):
            raise ValueError("Every recording needs at least one real channel (a channel_mask row is all 0).")
    if time_mask is not None and tuple(time_mask.shape) != (batch, steps):
        raise ValueError(f"time_mask must have shape [batch, time] = {(batch, steps)}, got {tuple(time_mask.shape)}.")


class NormWearModel(NormWearPreTrainedModel):
    """The NormWear backbone. Input: scalograms from [`NormWearFeatureExtractor`]; any number of channels.

    Every channel is encoded by the same blocks (channels folded into the batch) and the channels'
    [CLS] tokens are fused every ``fusion_interval`` blocks. There is no channel embedding, so the model is
    equivariant to channel order; padded channels (``channel_mask == 0``) are skipped, not computed.
    """

    def __init__(self, config: NormWearConfig) -> None:
        super().__init__(config)
        self.embeddings = NormWearEmbeddings(config)
        self.encoder = NormWearEncoder(config)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings.patch_embeddings

    def token_mask(self, time_mask: torch.Tensor | None, steps: int, batch: int, device) -> torch.Tensor:
        """``[batch, 1 + patches]``: True for [CLS] and for patches that hold at least one real time step."""
        patch_t = self.config.patch_size[0]
        num_time, num_scale = self.embeddings.grid_shape(steps)
        if time_mask is None:
            patches = torch.ones(batch, num_time, dtype=torch.bool, device=device)
        else:
            usable = time_mask[:, : num_time * patch_t].bool().reshape(batch, num_time, patch_t)
            patches = usable.any(dim=-1)
        patches = patches.repeat_interleave(num_scale, dim=1)
        return torch.cat([torch.ones(batch, 1, dtype=torch.bool, device=device), patches], dim=1)

    def fold_inputs(
        self, input_values: torch.Tensor, channel_mask: torch.Tensor | None, time_mask: torch.Tensor | None
    ) -> FoldedInputs:
        """Validate inputs and locate the real channels that get folded into the batch."""
        _validate_model_inputs(self.config, input_values, channel_mask, time_mask)
        batch, channels, _, steps, _ = input_values.shape
        device = input_values.device
        if channel_mask is None:
            channel_mask = torch.ones(batch, channels, dtype=torch.bool, device=device)
        channel_mask = channel_mask.to(device=device, dtype=torch.bool)
        return FoldedInputs(
            channel_mask=channel_mask,
            channel_index=channel_mask.nonzero(as_tuple=True),
            token_mask=self.token_mask(time_mask, steps, batch, device),
        )

    def encode(
        self,
        scalograms: torch.Tensor,
        folded: FoldedInputs,
        key_mask: torch.Tensor | None,
        interpolate_pos_encoding: bool,
        keep: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """The one encoder pass, on the real channels folded into the batch (``scalograms`` ``[N, planes, T, S]``).

        Both :meth:`forward` (every patch) and :meth:`encode_visible` (``keep`` ``[N, K]``: the visible patches
        of masked pretraining) run through here, so pretraining trains exactly the path users run. ``key_mask``
        ``[N, 1 + K]`` marks the tokens attention may look at (``None``: all). Returns the tokens after the final
        LayerNorm ``[N, 1 + K, D]`` and, on request, every block's hidden states / attentions / fusion attentions.
        """
        hidden = self.embeddings(scalograms, interpolate_pos_encoding, keep=keep)
        hidden, all_hidden, all_attn, all_fusion_attn = self.encoder(
            hidden, folded.channel_index, folded.channel_mask, key_mask, output_attentions, output_hidden_states
        )
        return self.layernorm(hidden), all_hidden, all_attn, all_fusion_attn

    def encode_visible(
        self,
        input_values: torch.Tensor,
        channel_mask: torch.Tensor | None,
        time_mask: torch.Tensor | None,
        generator: torch.Generator | None,
        interpolate_pos_encoding: bool,
    ) -> NormWearVisibleEncoding:
        """Mask every real channel (the embeddings choose the visible patches) and encode only what stays visible;
        the [CLS] tokens still fuse the channels. Patches of padded time are hidden from attention."""
        folded = self.fold_inputs(input_values, channel_mask, time_mask)
        rows, cols = folded.channel_index
        scalograms = input_values[rows, cols]
        real_patches = folded.token_mask[rows][:, 1:]
        keep, masked = self.embeddings.random_masking(real_patches, scalograms.shape[-2], generator)
        visible_real = real_patches.gather(1, keep)
        visible_key_mask = None
        if not bool(real_patches.all()):
            cls_column = torch.ones(keep.shape[0], 1, dtype=torch.bool, device=real_patches.device)
            visible_key_mask = torch.cat([cls_column, visible_real], dim=1)
        hidden, _, _, _ = self.encode(scalograms, folded, visible_key_mask, interpolate_pos_encoding, keep)
        return NormWearVisibleEncoding(
            folded,
            scalograms,
            hidden,
            keep,
            masked,
            real_patches,
            visible_real,
            self.embeddings.grid_shape(scalograms.shape[-2]),
        )

    def forward(
        self,
        input_values: torch.Tensor,
        channel_mask: torch.Tensor | None = None,
        time_mask: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        interpolate_pos_encoding: bool | None = None,
        return_dict: bool | None = None,
        channel_types: list | None = None,
        channel_names: list | None = None,
        input_levels: torch.Tensor | None = None,
    ) -> NormWearModelOutput | tuple:
        r"""
        Args:
            input_values: ``[batch, channels, planes, time, scales]`` scalograms.
            channel_mask: ``[batch, channels]``, 1 for real channels, 0 for padding (default: all real).
            time_mask: ``[batch, time]``, 1 for steps from real samples, 0 for padding (default: all real).
                Patches without any real step are excluded from attention and from poolings.
            interpolate_pos_encoding: overrides ``config.interpolate_pos_encoding`` for this call.
            channel_types, channel_names: the feature extractor's descriptive labels. Accepted so that
                ``model(**extractor(...))`` works as written; the model itself is sensor-agnostic and ignores them.
            input_levels: the extractor's per-channel log10 amplitudes; accepted and ignored here (only the
                ``"probe_level"`` pooling of [`get_embeddings`] uses them).
        """
        config = self.config
        output_attentions = output_attentions if output_attentions is not None else config.output_attentions
        output_hidden_states = output_hidden_states if output_hidden_states is not None else config.output_hidden_states
        return_dict = return_dict if return_dict is not None else config.return_dict
        interpolate = config.interpolate_pos_encoding if interpolate_pos_encoding is None else interpolate_pos_encoding
        folded = self.fold_inputs(input_values, channel_mask, time_mask)
        channel_mask, token_mask = folded.channel_mask, folded.token_mask
        rows, cols = folded.channel_index
        key_mask = None if bool(token_mask.all()) else token_mask[rows]
        hidden, all_hidden, all_attn, all_fusion_attn = self.encode(
            input_values[rows, cols], folded, key_mask, interpolate, None, output_attentions, output_hidden_states
        )

        unfold = folded.unfold
        last_hidden_state = unfold(hidden)
        full_token_mask = token_mask[:, None, :] & channel_mask[:, :, None]
        outputs = NormWearModelOutput(
            last_hidden_state=last_hidden_state,
            pooler_output=last_hidden_state[:, :, 0],
            hidden_states=tuple(unfold(h) for h in all_hidden) if output_hidden_states else None,
            attentions=tuple(unfold(a) for a in all_attn) if output_attentions else None,
            fusion_attentions=tuple(all_fusion_attn) if output_attentions and all_fusion_attn else None,
            token_mask=full_token_mask,
        )
        return outputs if return_dict else outputs.to_tuple()

    @torch.no_grad()
    def get_embeddings(
        self,
        input_values: torch.Tensor,
        channel_mask: torch.Tensor | None = None,
        time_mask: torch.Tensor | None = None,
        pooling: str = "probe",
        recording_index: torch.Tensor | None = None,
        input_levels: torch.Tensor | None = None,
        channel_types: list | None = None,
        channel_names: list | None = None,
    ) -> torch.Tensor:
        """Embeddings in one call, from feature-extractor output (``model.get_embeddings(**features)``).

        Args:
            pooling:
                ``"probe"``: the paper's probing embedding, the mean over each channel's tokens, channels
                concatenated -> ``[batch, channels * hidden]`` (needs a fixed channel count per dataset).
                ``"channel"``: per-channel token means -> ``[batch, channels, hidden]``.
                ``"recording"``: mean over real channels of the channel means -> ``[batch, hidden]``,
                comparable across recordings with any number of channels.
                ``"cls"``: the fused per-channel [CLS] tokens -> ``[batch, channels, hidden]``.
                ``"probe_rich"``: per channel the token mean, the token max and the means of the first, second
                and last third of its patches in time (:data:`RICH_SUMMARIES`), concatenated over channels ->
                ``[batch, channels * 5 * hidden]``; the first ``hidden`` values of each channel are ``"probe"``.
                ``"probe_level"``: ``"probe"`` with the channel's level (``input_levels``: log10 of its mean |x|
                before normalisation) appended -> ``[batch, channels * (hidden + 1)]``. The model sees only
                normalised scalograms; this gives a probe back the amplitude (EEG power, EDA level).
            input_levels: the feature extractor's ``input_levels`` (needed by ``"probe_level"`` only).
            channel_types, channel_names: accepted and ignored, so that ``get_embeddings(**features)`` works.
            recording_index: from the feature extractor with ``long_input="split"``: windows of one
                recording are averaged, so the first axis becomes the recordings.
        Means skip padded time patches and padded channels (which come out as zeros).
        """
        check_pooling(pooling)
        outputs = self(input_values, channel_mask=channel_mask, time_mask=time_mask, return_dict=True)
        per_channel, real = channel_summaries(outputs, pooling, input_levels)
        return finish_pooling(per_channel, real, pooling, recording_index)


def patchify(scalograms: torch.Tensor, patch_size: tuple[int, int]) -> torch.Tensor:
    """``[N, planes, T, S]`` -> ``[N, P, patch_t * patch_s * planes]`` in the token order of the patch embedding."""
    count, planes, steps, scales = scalograms.shape
    patch_t, patch_s = patch_size
    rows, cols = steps // patch_t, scales // patch_s
    patches = scalograms[:, :, : rows * patch_t, : cols * patch_s].reshape(count, planes, rows, patch_t, cols, patch_s)
    return patches.permute(0, 2, 4, 3, 5, 1).reshape(count, rows * cols, patch_t * patch_s * planes)


class NormWearDecoder(nn.Module):
    """MAE-style lightweight decoder: visible tokens + mask tokens at their positions -> patch predictions."""

    def __init__(self, config: NormWearConfig) -> None:
        super().__init__()
        self.config = config
        width = config.decoder_hidden_size
        patch_t, patch_s = config.patch_size
        self.embed = nn.Linear(config.hidden_size, width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, width))
        self.layers = nn.ModuleList(
            [
                NormWearLayer(config, width, config.decoder_num_attention_heads, config.decoder_intermediate_size)
                for _ in range(config.decoder_num_hidden_layers)
            ]
        )
        self.norm = nn.LayerNorm(width, eps=config.layer_norm_eps)
        target = config.reconstruction_target
        self.scalogram_head = (
            nn.Linear(width, patch_t * patch_s * config.num_input_planes) if target in ("scalogram", "both") else None
        )
        self.signal_head = nn.Linear(width, patch_t) if target in ("signal", "both") else None
        self.latent_head = nn.Linear(width, config.hidden_size) if config.latent_weight > 0 else None

    def forward(
        self,
        encoded: torch.Tensor,
        keep: torch.Tensor,
        grid: tuple[int, int],
        key_mask: torch.Tensor | None,
        reference_time_patches: int | None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """``encoded`` ``[N, 1 + K, D]`` -> scalogram patches ``[N, P, patch_dim]``, signal ``[N, rows * patch_t]``
        and latent features ``[N, P, hidden_size]`` (each ``None`` when its head is off)."""
        num_time, num_scale = grid
        hidden = self.embed(encoded)
        count, _, width = hidden.shape
        tokens = self.mask_token.to(hidden.dtype).expand(count, num_time * num_scale, width)
        tokens = tokens.scatter(1, keep[..., None].expand(-1, -1, width), hidden[:, 1:])
        positions = cached_position_table(
            num_time, num_scale, width, reference_time_patches, hidden.device, hidden.dtype
        )
        sequence = torch.cat([hidden[:, :1], tokens + positions], dim=1)
        for layer in self.layers:
            sequence, _ = layer(sequence, key_mask)
        patches = self.norm(sequence[:, 1:])
        scalogram = self.scalogram_head(patches) if self.scalogram_head is not None else None
        signal = None
        if self.signal_head is not None:
            per_row = patches.reshape(count, num_time, num_scale, width).mean(dim=2)
            signal = self.signal_head(per_row).reshape(count, -1)
        latent = self.latent_head(patches) if self.latent_head is not None else None
        return scalogram, signal, latent


def masked_mean(per_patch: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``per_patch`` ``[N, P]`` over the patches ``loss_mask`` counts (0 when it counts none)."""
    return (per_patch * loss_mask).sum() / loss_mask.sum().clamp_min(1)


def info_nce(first: torch.Tensor, second: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE: row ``i`` of ``first`` must pick row ``i`` of ``second`` among the batch, and back."""
    first, second = F.normalize(first.float(), dim=-1), F.normalize(second.float(), dim=-1)
    logits = first @ second.T / temperature
    targets = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


class NormWearForMaskedReconstruction(NormWearPreTrainedModel):
    """NormWear with the masked-reconstruction pretraining objective (MAE-style, per channel).

    The encoder sees only the visible patches of each channel (and all [CLS] tokens, which still fuse across
    channels); the decoder fills in the rest. The loss counts only masked patches of real channels and real
    (unpadded) time. ``model.normwear`` is the backbone; ``NormWearModel.from_pretrained`` loads it from a
    saved pretraining checkpoint.
    """

    def __init__(self, config: NormWearConfig) -> None:
        super().__init__(config)
        self.normwear = NormWearModel(config)
        self.decoder = NormWearDecoder(config)
        self.projector = (
            nn.Sequential(
                nn.Linear(config.hidden_size, config.hidden_size),
                nn.GELU(),
                nn.Linear(config.hidden_size, config.contrastive_projection_size),
            )
            if config.contrastive_weight > 0
            else None
        )
        # linear on purpose: what it can read is what a linear probe on the same pooled vector can read
        self.auxiliary_head = (
            nn.Linear(config.hidden_size, len(config.auxiliary_targets)) if config.auxiliary_weight > 0 else None
        )
        self.teacher = NormWearModel(config) if config.latent_weight > 0 else None
        self.post_init()
        if self.teacher is not None:
            self.teacher.load_state_dict(self.normwear.state_dict())
            self.teacher.requires_grad_(False)

    @torch.no_grad()
    def update_teacher(self) -> None:
        """Move the latent-prediction teacher towards the student (call after each optimiser step)."""
        if self.teacher is None:
            return
        decay = self.config.ema_decay
        for teacher, student in zip(self.teacher.parameters(), self.normwear.parameters()):
            teacher.lerp_(student.detach().to(teacher.dtype), 1.0 - decay)

    @torch.no_grad()
    def _teacher_targets(self, input_values, folded: FoldedInputs, time_mask, interpolate: bool) -> torch.Tensor:
        """``[N, P, D]``: the teacher's features of every patch of every real channel, the mean of its top layers
        after normalising each token (data2vec), so no layer's scale dominates and the target cannot collapse
        to a constant the student could copy."""
        self.teacher.eval()
        outputs = self.teacher(
            input_values,
            folded.channel_mask,
            time_mask,
            output_hidden_states=True,
            interpolate_pos_encoding=interpolate,
            return_dict=True,
        )
        rows, cols = folded.channel_index
        layers = outputs.hidden_states[-self.config.latent_target_layers :]
        normalised = [F.layer_norm(layer[rows, cols][:, 1:].float(), layer.shape[-1:]) for layer in layers]
        return torch.stack(normalised).mean(dim=0)

    def _auxiliary_loss(self, view: NormWearVisibleEncoding, targets: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the linear head on each channel's pooled embedding, over known targets only."""
        predicted = self.auxiliary_head(view.channel_embeddings()).float()
        return masked_mean((predicted - targets.float().nan_to_num(0.0)).pow(2), torch.isfinite(targets))

    def _channel_subset(self, channel_mask: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Keep each real channel with ``contrastive_channel_keep``; every recording keeps at least one."""
        real = channel_mask.bool().cpu()
        keep = (torch.rand(real.shape, generator=generator) < self.config.contrastive_channel_keep) & real
        noise = torch.rand(real.shape, generator=generator).masked_fill(~real, -1.0)
        keep[torch.arange(real.shape[0]), noise.argmax(dim=1)] = True  # one real channel, chosen at random
        return keep.to(channel_mask.device)

    def forward(
        self,
        input_values: torch.Tensor,
        channel_mask: torch.Tensor | None = None,
        time_mask: torch.Tensor | None = None,
        signal_values: torch.Tensor | None = None,
        mask_seed: int | None = None,
        mask_generator: torch.Generator | None = None,
        interpolate_pos_encoding: bool | None = None,
        return_dict: bool | None = None,
        auxiliary_values: torch.Tensor | None = None,
    ) -> NormWearForPreTrainingOutput | tuple:
        r"""
        Args:
            input_values, channel_mask, time_mask: as for [`NormWearModel`].
            signal_values: ``[batch, channels, time]`` the cleaned signal (feature extractor with
                ``return_signal=True``); needed when ``config.reconstruction_target`` is ``"signal"`` or ``"both"``.
            mask_seed / mask_generator: make the random mask reproducible (a generator wins over a seed).
            auxiliary_values: ``[batch, channels, len(config.auxiliary_targets)]`` standardised physiology targets,
                NaN where unknown (the collator's ``auxiliary_targets``); used when ``config.auxiliary_weight > 0``.
        """
        config = self.config
        return_dict = return_dict if return_dict is not None else config.return_dict
        interpolate = config.interpolate_pos_encoding if interpolate_pos_encoding is None else interpolate_pos_encoding
        reference = config.position_reference_time_patches if interpolate else None
        if config.reconstruction_target != "scalogram" and signal_values is None:
            raise ValueError(
                f"reconstruction_target={config.reconstruction_target!r} needs signal_values; call the feature "
                "extractor with return_signal=True."
            )
        if mask_generator is None and mask_seed is not None:
            mask_generator = torch.Generator().manual_seed(int(mask_seed))
        view = self.normwear.encode_visible(input_values, channel_mask, time_mask, mask_generator, interpolate)
        rows = view.folded.channel_index[0]
        full_key_mask = None if bool(view.real_patches.all()) else view.folded.token_mask[rows]
        scalogram_pred, signal_pred, latent_pred = self.decoder(
            view.hidden, view.keep, view.grid, full_key_mask, reference
        )
        loss_mask = view.masked & view.real_patches
        loss, terms = self.forward_loss(
            view,
            loss_mask,
            (scalogram_pred, signal_pred, latent_pred),
            input_values,
            time_mask,
            signal_values,
            auxiliary_values,
            mask_generator,
            interpolate,
        )

        unfold = view.folded.unfold
        outputs = NormWearForPreTrainingOutput(
            loss=loss,
            scalogram_loss=terms.get("scalogram"),
            signal_loss=terms.get("signal"),
            contrastive_loss=terms.get("contrastive"),
            auxiliary_loss=terms.get("auxiliary"),
            latent_loss=terms.get("latent"),
            reconstruction=unfold(scalogram_pred),
            signal_reconstruction=unfold(signal_pred),
            mask=unfold(view.masked),
            loss_mask=unfold(loss_mask),
        )
        return outputs if return_dict else outputs.to_tuple()

    def forward_loss(
        self,
        view: NormWearVisibleEncoding,
        loss_mask: torch.Tensor,
        predictions: tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None],
        input_values: torch.Tensor,
        time_mask: torch.Tensor | None,
        signal_values: torch.Tensor | None,
        auxiliary_values: torch.Tensor | None,
        generator: torch.Generator | None,
        interpolate: bool,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The weighted sum of every objective that is switched on, and each term before its weight.

        ``loss_mask`` ``[N, P]``: masked patches of real time, the only ones reconstruction and latent prediction
        count. The terms are added in a fixed order (reconstruction, latent, contrastive, auxiliary).
        """
        config = self.config
        scalogram_pred, signal_pred, latent_pred = predictions
        terms = self._reconstruction_losses(view, loss_mask, scalogram_pred, signal_pred, signal_values)
        loss = config.reconstruction_weight * sum(terms.values())
        if latent_pred is not None:
            terms["latent"] = self._latent_loss(view, loss_mask, latent_pred, input_values, time_mask, interpolate)
            loss = loss + config.latent_weight * terms["latent"]
        if self.projector is not None:
            terms["contrastive"] = self._contrastive_loss(view, input_values, time_mask, generator, interpolate)
            loss = loss + config.contrastive_weight * terms["contrastive"]
        if self.auxiliary_head is not None and auxiliary_values is not None:
            rows, cols = view.folded.channel_index
            terms["auxiliary"] = self._auxiliary_loss(view, auxiliary_values[rows, cols])
            loss = loss + config.auxiliary_weight * terms["auxiliary"]
        return loss, terms

    def _reconstruction_losses(
        self,
        view: NormWearVisibleEncoding,
        loss_mask: torch.Tensor,
        scalogram_pred: torch.Tensor | None,
        signal_pred: torch.Tensor | None,
        signal_values: torch.Tensor | None,
    ) -> dict[str, torch.Tensor]:
        """Mean squared errors of the decoder's scalogram patches and / or cleaned signal, over masked real time."""
        config = self.config
        losses = {}
        if scalogram_pred is not None:
            target = patchify(view.scalograms, tuple(config.patch_size)).to(scalogram_pred.dtype)
            if config.norm_pix_loss:
                mean, var = target.mean(dim=-1, keepdim=True), target.var(dim=-1, keepdim=True)
                target = (target - mean) / (var + 1e-6).sqrt()
            per_patch = (scalogram_pred.float() - target.float()).pow(2).mean(dim=-1)
            losses["scalogram"] = masked_mean(per_patch, loss_mask)
        if signal_pred is not None:
            rows, cols = view.folded.channel_index
            num_time, num_scale = view.grid
            patch_t = config.patch_size[0]
            target = signal_values[rows, cols][:, : num_time * patch_t].float()
            # a sample counts as much as its time row is hidden; padded time never counts
            row_weight = (
                loss_mask.reshape(loss_mask.shape[0], num_time, num_scale).float().mean(dim=2)
            ).repeat_interleave(patch_t, dim=1)
            error = (signal_pred.float() - target).pow(2)
            losses["signal"] = (error * row_weight).sum() / row_weight.sum().clamp_min(1e-6)
        return losses

    def _latent_loss(
        self,
        view: NormWearVisibleEncoding,
        loss_mask: torch.Tensor,
        latent_pred: torch.Tensor,
        input_values: torch.Tensor,
        time_mask: torch.Tensor | None,
        interpolate: bool,
    ) -> torch.Tensor:
        """Mean squared error of the predicted features of masked patches against the EMA teacher's."""
        target = self._teacher_targets(input_values, view.folded, time_mask, interpolate)
        per_patch = (latent_pred.float() - target).pow(2).mean(dim=-1)
        return masked_mean(per_patch, loss_mask)

    def _contrastive_loss(
        self,
        view: NormWearVisibleEncoding,
        input_values: torch.Tensor,
        time_mask: torch.Tensor | None,
        generator: torch.Generator | None,
        interpolate: bool,
    ) -> torch.Tensor:
        """InfoNCE between this view and a second masked view of a random subset of the same channels."""
        second_channels = self._channel_subset(view.folded.channel_mask, generator)
        second = self.normwear.encode_visible(input_values, second_channels, time_mask, generator, interpolate)
        return info_nce(
            self.projector(view.recording_embedding()),
            self.projector(second.recording_embedding()),
            self.config.contrastive_temperature,
        )


class NormWearForSignalClassification(NormWearPreTrainedModel):
    """NormWear with a linear head on the pooled recording, for `Trainer`: classification or regression.

    Follows transformers' sequence-classification conventions: ``config.num_labels``, ``id2label``,
    ``problem_type`` (``"single_label_classification"``, ``"multi_label_classification"`` or ``"regression"``,
    inferred from the labels when unset) and ``labels`` -> ``loss``. The recording is pooled as
    ``config.classifier_pooling`` says, so any number of channels works. The whole model is trained by default
    (fine-tuning); ``freeze_backbone()`` trains the head only: a linear probe.
    """

    def __init__(self, config: NormWearConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.normwear = NormWearModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_values: torch.Tensor,
        channel_mask: torch.Tensor | None = None,
        time_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        channel_types: list | None = None,
        channel_names: list | None = None,
        input_levels: torch.Tensor | None = None,
    ) -> SequenceClassifierOutput | tuple:
        r"""
        labels: ``[batch]`` class indices, ``[batch, num_labels]`` multi-hot targets, or ``[batch]`` /
            ``[batch, num_labels]`` numbers for regression.
        channel_types, channel_names, input_levels: accepted and ignored, as in [`NormWearModel`].
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.backbone_frozen):
            outputs = self.normwear(
                input_values,
                channel_mask=channel_mask,
                time_mask=time_mask,
                output_attentions=output_attentions,
                output_hidden_states=output_hidden_states,
                return_dict=True,
            )
        pooling = "cls" if self.config.classifier_pooling == "cls" else "channel"
        per_channel, real = channel_summaries(outputs, pooling)
        pooled = finish_pooling(per_channel, real, "recording")
        logits = self.classifier(self.dropout(pooled))
        loss = None if labels is None else self._loss(logits, labels)
        result = SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return result if return_dict else result.to_tuple()

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = labels.to(logits.device)
        if self.config.problem_type is None:
            if self.num_labels == 1:
                self.config.problem_type = "regression"
            elif labels.dtype in (torch.long, torch.int):
                self.config.problem_type = "single_label_classification"
            else:
                self.config.problem_type = "multi_label_classification"
        if self.config.problem_type == "regression":
            targets = labels.float().reshape(logits.shape[0], -1)
            if targets.shape[1] != self.num_labels:
                raise ValueError(
                    f"Regression labels have {targets.shape[1]} value(s) per recording but the head predicts "
                    f"{self.num_labels}; set config.num_labels to the number of targets."
                )
            return F.mse_loss(logits.float(), targets)
        if self.config.problem_type == "single_label_classification":
            return F.cross_entropy(logits.float().view(-1, self.num_labels), labels.view(-1).long())
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float())


class NormWearForSignalRegression(NormWearForSignalClassification):
    """The same head for numeric targets (heart rate, blood pressure, ...): ``problem_type="regression"``,
    ``num_labels`` = number of targets, MSE loss. Saved folders load through ``AutoModelForSequenceClassification``
    too (transformers' convention for regression heads)."""

    def __init__(self, config: NormWearConfig) -> None:
        config = copy.deepcopy(config)  # the defaults below are this model's; the caller's config stays as given
        if config.problem_type is None:
            config.problem_type = "regression"
        generic_names = {i: f"LABEL_{i}" for i in range(config.num_labels)}
        if config.problem_type == "regression" and config.num_labels == 2 and config.id2label == generic_names:
            config.num_labels = 1  # transformers' default of 2 labels means "not set": one target
        super().__init__(config)


def check_pooling(pooling: str) -> None:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")


def channel_summaries(
    outputs: NormWearModelOutput, pooling: str, input_levels: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel vectors ``[B, C, D]`` (token mean, or [CLS] for ``"cls"``) and which channels are real.

    ``"probe_rich"`` widens each channel's vector with patch summaries, ``"probe_level"`` with ``input_levels``.
    """
    if pooling == "cls":
        return outputs.pooler_output, outputs.token_mask[:, :, 0]
    mask = outputs.token_mask.to(outputs.last_hidden_state.dtype)[..., None]
    summed = (outputs.last_hidden_state * mask).sum(dim=2)
    mean = summed / mask.sum(dim=2).clamp_min(1.0)
    real = outputs.token_mask.any(dim=2)
    if pooling == "probe_level":
        if input_levels is None:
            raise ValueError(
                'pooling="probe_level" needs input_levels (the feature extractor returns them): pass '
                "model.get_embeddings(**features, pooling='probe_level')."
            )
        levels = torch.as_tensor(input_levels, device=mean.device, dtype=mean.dtype)
        if levels.shape != mean.shape[:2]:
            raise ValueError(f"input_levels has shape {tuple(levels.shape)}, expected {tuple(mean.shape[:2])}.")
        return torch.cat([mean, (levels * real.to(mean.dtype))[..., None]], dim=-1), real
    if pooling != "probe_rich":
        return mean, real
    return torch.cat([mean, *_patch_summaries(outputs.last_hidden_state[:, :, 1:], mask[:, :, 1:])], dim=-1), real


def _patch_summaries(patches: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
    """Max and time-third means of real patch tokens ``[B, C, P, D]`` (patches are time-major, so the k-th real
    patch of ``n`` lies in third ``3k // n``); zeros for a channel without real patches."""
    real = mask[..., 0] > 0
    highest = patches.masked_fill(~real[..., None], float("-inf")).amax(dim=2)
    highest = torch.where(real.any(dim=2, keepdim=True), highest, torch.zeros_like(highest))
    rank = real.long().cumsum(dim=2) - 1
    count = real.sum(dim=2, keepdim=True).clamp_min(1)
    third = torch.div(3 * rank, count, rounding_mode="floor")
    means = []
    for part in range(3):
        weights = (real & (third == part)).to(patches.dtype)[..., None]
        means.append((patches * weights).sum(dim=2) / weights.sum(dim=2).clamp_min(1.0))
    return [highest, *means]


def finish_pooling(
    per_channel: torch.Tensor, real: torch.Tensor, pooling: str, recording_index: torch.Tensor | None = None
) -> torch.Tensor:
    """Windows -> recordings (if ``recording_index``), then the layout ``pooling`` asks for."""
    if recording_index is not None:
        per_channel, real = average_windows(per_channel, real, recording_index)
    if pooling == "recording":
        weights = real.to(per_channel.dtype)[..., None]
        return (per_channel * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)
    if pooling in ("probe", "probe_rich", "probe_level"):
        return per_channel.flatten(1)
    return per_channel


def average_windows(
    values: torch.Tensor, weights: torch.Tensor, recording_index: torch.Tensor, count: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows -> recordings: the ``weights``-weighted mean of the windows of each recording.

    The one window average of the package (embeddings of [`NormWearModel.get_embeddings`] and ``embed``, zero-shot
    logits of cached windows). ``values`` ``[windows, ...]``; ``weights`` covers its leading axes (``real``
    ``[windows, C]`` for per-channel embeddings, ones ``[windows]`` for a plain mean). ``count`` recordings
    (default: the highest index + 1). Returns the means and where any weight was present.
    """
    recording_index = torch.as_tensor(recording_index, device=values.device, dtype=torch.long)
    if recording_index.shape != values.shape[:1]:
        raise ValueError(f"recording_index has shape {tuple(recording_index.shape)}, expected ({values.shape[0]},).")
    count = int(recording_index.max()) + 1 if count is None else count
    weights = weights.to(values.dtype)
    spread = weights.reshape(*weights.shape, *[1] * (values.ndim - weights.ndim))
    sums = values.new_zeros(count, *values.shape[1:]).index_add(0, recording_index, values * spread)
    totals = weights.new_zeros(count, *weights.shape[1:]).index_add(0, recording_index, weights)
    shaped = totals.clamp_min(1.0).reshape(*totals.shape, *[1] * (values.ndim - weights.ndim))
    return sums / shaped, totals > 0


#: What a window batch of the feature extractor passes to a NormWear model.
MODEL_INPUT_NAMES = ("input_values", "channel_mask", "time_mask")


def forward_window_batches(
    model: nn.Module,
    batches: Iterable[Mapping[str, torch.Tensor]],
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    extra_inputs: Sequence[str] = (),
    **model_kwargs,
) -> Iterator[tuple[Mapping[str, torch.Tensor], ModelOutput]]:
    """The one loop that runs a model over window batches: yields each batch and the model's outputs on it.

    ``batches`` are the feature extractor's ``iter_batches`` pieces (``recording_index`` says whose windows they
    are; :func:`average_windows` turns window results into recording results). ``embed``, the zero-shot engine
    and the zero-shot pipeline all run their model through here, so windowing, batching and device placement are
    the same for every caller. ``dtype`` runs the model under autocast; ``model_kwargs`` go to every call (the
    zero-shot head's ``text_embeds`` / ``question_embeds``); ``extra_inputs`` names more of each batch's tensors
    to pass on (a rhythm-reading head's ``rhythm_values``). Gradients follow the caller's mode.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    for features in batches:
        inputs = {name: features[name].to(device) for name in (*MODEL_INPUT_NAMES, *extra_inputs)}
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            outputs = model(**inputs, **model_kwargs, return_dict=True)
        yield features, outputs


__all__ = [
    "NormWearPreTrainedModel",
    "NormWearModel",
    "NormWearModelOutput",
    "NormWearForMaskedReconstruction",
    "NormWearForPreTrainingOutput",
    "NormWearForSignalClassification",
    "NormWearForSignalRegression",
    "POOLINGS",
    "channel_summaries",
    "average_windows",
    "finish_pooling",
    "forward_window_batches",
]
