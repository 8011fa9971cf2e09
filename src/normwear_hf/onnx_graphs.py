"""Export-friendly torch modules for the ONNX graphs: CWT front end, encoder and zero-shot head.

The PyTorch model is written for training and flexible inference: it folds only real channels into the batch
(``channel_mask.nonzero()``), caches position tables in Python dictionaries and picks attention kernels at run
time. None of that traces into a static graph with dynamic axes, so these modules re-express the *same*
computation with the model's own weights and shape-generic tensor operations only. The parity tests in
``tests/test_onnx.py`` hold them to the PyTorch model.

What stays fixed in the exported graphs: the number of input planes (3) and of CWT scales (the config's
``num_scales``), and the widths of the weights. Batch, channels and time are dynamic.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .modeling_normwear import NormWearLayer, NormWearModel
from .modeling_normwear_zero_shot import LOGIT_SCALE_MAX, NormWearForZeroShotClassification
from .signal_processing import MEXH_PRECISION, mexh_filters

#: Added to attention scores of padded keys. Large enough that exp() underflows to exactly 0 in float32, small
#: enough that it never overflows to -inf when added to a score.
MASK_BIAS = -1e9


def mexh_correlation_bank(scales, precision: int = MEXH_PRECISION) -> tuple[np.ndarray, int]:
    """The Mexican-hat bank as one cross-correlation kernel ``[S, K]`` and its left padding.

    :func:`~normwear_hf.signal_processing.mexh_filters` gives, per scale, taps ``g_s`` and an offset ``c_s`` such
    that ``cwt[n] = sum_i g_s[i] x[n + c_s - i]``. A convolution layer computes ``y[n] = sum_j h[j] xpad[n + j]``
    with ``xpad`` shifted by the left padding ``P``; ``h_s[P + c_s - i] = g_s[i]`` makes the two equal. All scales
    share one kernel length so that the whole bank is a single Conv1d with ``S`` output channels. Taps are picked
    with float32 index arithmetic, as the float32 FFT path does.
    """
    filters = mexh_filters(scales, dtype=np.float32, precision=precision)
    left = max(g.size - 1 - offset for g, offset in filters)
    width = left + max(offset for _, offset in filters) + 1
    bank = np.zeros((len(filters), width), dtype=np.float64)
    for row, (g, offset) in enumerate(filters):
        positions = left + offset - np.arange(g.size)
        bank[row, positions] = g
    return bank.astype(np.float32), left


class CwtFrontEnd(nn.Module):
    """Cleaned 65 Hz windows ``[N, C, W]`` -> ``input_values`` ``[N, C, 3, W - 2, S]``.

    The derivative planes (signal, first and second backward difference, aligned on the last sample) followed
    by the Mexican-hat CWT as a convolution with zero padding: exactly the linear convolution that
    ``pywt.cwt`` and the FFT paths compute. N, C and W are dynamic.
    """

    def __init__(self, scales, precision: int = MEXH_PRECISION) -> None:
        super().__init__()
        bank, left = mexh_correlation_bank(scales, precision)
        self.register_buffer("bank", torch.from_numpy(bank)[:, None, :], persistent=False)
        self.left = left
        self.right = bank.shape[1] - 1 - left

    def forward(self, signals: torch.Tensor) -> torch.Tensor:
        batch, channels, _ = signals.shape
        d1 = signals[..., 1:] - signals[..., :-1]
        d2 = d1[..., 1:] - d1[..., :-1]
        planes = torch.stack([signals[..., 2:], d1[..., 1:], d2], dim=2)  # [N, C, 3, T]
        steps = planes.shape[-1]
        rows = F.pad(planes.reshape(-1, 1, steps), (self.left, self.right))
        coeffs = F.conv1d(rows, self.bank)  # [N * C * 3, S, T]
        coeffs = coeffs.reshape(batch, channels, 3, coeffs.shape[1], steps)
        return coeffs.transpose(-1, -2)


def _attention(layer: NormWearLayer, hidden: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """The block's attention with an additive key bias ``[N, 1, 1, L]`` (0 or MASK_BIAS); explicit matmuls
    export to plain MatMul/Softmax nodes that every runtime (and the int8 quantiser) understands."""
    attention = layer.attention
    batch, length, width = hidden.shape
    qkv = attention.qkv(hidden).reshape(batch, length, 3, attention.num_heads, attention.head_dim)
    query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    scores = (query @ key.transpose(-2, -1)) * (1.0 / math.sqrt(attention.head_dim))
    if bias is not None:
        scores = scores + bias
    context = scores.softmax(dim=-1) @ value
    return attention.proj(context.transpose(1, 2).reshape(batch, length, width))


def _block(layer: NormWearLayer, hidden: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    hidden = hidden + _attention(layer, layer.layernorm_before(hidden), bias)
    return hidden + layer.mlp(layer.layernorm_after(hidden))


class OnnxEncoder(nn.Module):
    """``NormWearModel.forward`` for export: ``(input_values, channel_mask, time_mask)`` -> tokens and their mask.

    Differences from the PyTorch model, none of which changes a real channel's numbers: padded channels are
    computed (and zeroed at the end) instead of skipped, since skipping needs data-dependent shapes; padded
    keys get an additive bias instead of a boolean mask; the sine-cosine position table is computed in the
    graph in float32 (the model computes it in float64 and rounds; the difference is below 1e-6) so that the
    time length stays dynamic.
    """

    def __init__(self, model: NormWearModel) -> None:
        super().__init__()
        self.model = model.eval()
        config = model.config
        quarter = config.hidden_size // 4
        omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
        self.register_buffer("omega", omega.to(torch.float32), persistent=False)
        self.reference = config.position_reference_time_patches if config.interpolate_pos_encoding else None

    def _positions(self, num_time: int, num_scale: int, width: int) -> torch.Tensor:
        time = torch.arange(num_time, dtype=torch.float32, device=self.omega.device)
        if self.reference:
            # the model maps other lengths onto 0 .. reference - 1; for num_time == reference the ratio is 1
            # exactly, and for one patch the only position is 0 either way
            # time[-1] is num_time - 1 (a graph value, so the length stays dynamic)
            time = time * (float(self.reference - 1) / torch.clamp(time[-1:], min=1.0))
        scale = torch.arange(num_scale, dtype=torch.float32, device=self.omega.device)

        def encode(positions: torch.Tensor) -> torch.Tensor:
            angles = positions[:, None] * self.omega[None, :]
            return torch.cat([angles.sin(), angles.cos()], dim=1)

        time_table, scale_table = encode(time), encode(scale)
        grid = torch.cat(
            [
                time_table[:, None, :].expand(-1, num_scale, -1),
                scale_table[None, :, :].expand(time_table.shape[0], -1, -1),
            ],
            dim=-1,
        )
        return grid.reshape(-1, width)

    def forward(
        self, input_values: torch.Tensor, channel_mask: torch.Tensor, time_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        model, config = self.model, self.model.config
        patch_t, patch_s = config.patch_size
        batch, channels, planes, steps, scales = input_values.shape
        num_time = steps // patch_t
        num_scale = scales // patch_s
        width = config.hidden_size

        rows = input_values.reshape(batch * channels, planes, steps, scales)
        tokens = model.embeddings.patch_embeddings(rows)
        tokens = tokens + self._positions(num_time, num_scale, width)
        cls = model.embeddings.cls_token.expand(tokens.shape[0], 1, width)
        hidden = torch.cat([cls, tokens], dim=1)  # [N * C, L, D]
        length = hidden.shape[1]

        real_steps = time_mask[:, : num_time * patch_t].reshape(batch, num_time, patch_t) > 0
        real_patches = real_steps.any(dim=-1)[:, :, None].expand(batch, num_time, num_scale).reshape(batch, -1)
        token_mask = torch.cat([torch.ones_like(real_patches[:, :1]), real_patches], dim=1)  # [N, L]
        token_bias = torch.where(token_mask, 0.0, MASK_BIAS).to(hidden.dtype)
        token_bias = token_bias[:, None, :].expand(batch, channels, length).reshape(batch * channels, 1, 1, length)
        real_channels = channel_mask > 0
        channel_bias = torch.where(real_channels, 0.0, MASK_BIAS).to(hidden.dtype)[:, None, None, :]

        fusion_of = dict(zip(model.encoder.fuse_after, model.encoder.fusion_layers))
        for index, layer in enumerate(model.encoder.layers):
            hidden = _block(layer, hidden, token_bias)
            fusion = fusion_of.get(index)
            if fusion is None:
                continue
            cls_tokens = hidden[:, 0].reshape(batch, channels, width)
            if fusion.layer is not None:
                fused = _block(fusion.layer, cls_tokens, channel_bias)
            else:
                weights = real_channels.to(hidden.dtype)[..., None]
                mean = (cls_tokens * weights).sum(1, keepdim=True) / weights.sum(1, keepdim=True)
                fused = mean.expand_as(cls_tokens)
            hidden = torch.cat([fused.reshape(batch * channels, 1, width), hidden[:, 1:]], dim=1)

        hidden = model.layernorm(hidden).reshape(batch, channels, length, width)
        full_mask = token_mask[:, None, :] & real_channels[:, :, None]
        hidden = hidden * real_channels.to(hidden.dtype)[:, :, None, None]
        return hidden, full_mask.to(hidden.dtype)


class OnnxZeroShotHead(nn.Module):
    """Backbone tokens + question and label sentence embeddings -> logits ``[N, labels]``.

    The model's own ``aggregate`` and ``similarity_logits``; label and question embeddings are inputs, so one
    graph serves any label set whose embeddings were precomputed (the export stores them next to it). A head
    that reads rhythm (``config.zero_shot_rhythm_size``) takes each channel window's descriptor as a fifth input
    ``rhythm_values [N, C, R]``; :attr:`reads_rhythm` says which, and the export names the inputs accordingly.
    """

    def __init__(self, model: NormWearForZeroShotClassification) -> None:
        super().__init__()
        self.model = model.eval()
        self.reads_rhythm = model.rhythm is not None

    def forward(
        self,
        last_hidden_state: torch.Tensor,
        token_mask: torch.Tensor,
        question_embeds: torch.Tensor,
        text_embeds: torch.Tensor,
        rhythm_values: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch = last_hidden_state.shape[0]
        question = question_embeds.reshape(1, -1).expand(batch, -1)
        signal_embeds, weights = self.model.aggregate(last_hidden_state, token_mask > 0.5, question, rhythm_values)
        text = self.model.text_directions(text_embeds)
        logits = (signal_embeds @ text.T) * self.model.logit_scale.exp().clamp(max=LOGIT_SCALE_MAX)
        return logits, weights
