import pytest
import torch
import torch.nn.functional as F
from conftest import micro_config, random_scalograms

from normwear_hf import NormWearConfig, NormWearModel
from normwear_hf.modeling_normwear import average_windows, sincos_2d_position_table


def test_default_config_matches_paper_size():
    config = NormWearConfig()
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (768, 12, 12)
    assert config.intermediate_size == 3072 and config.patch_size == [9, 5]
    assert config.num_fusion_layers == 6
    with torch.device("meta"):
        model = NormWearModel(config)
    count = sum(p.numel() for p in model.parameters())
    assert abs(count - 127.7e6) / 127.7e6 < 0.02, count
    assert len(model.encoder.layers) == 12 and len(model.encoder.fusion_layers) == 6


@pytest.mark.parametrize("channels", [1, 2, 5])
@pytest.mark.parametrize("steps", [388, 130, 650])
def test_output_shapes(micro_model, channels, steps):
    x = random_scalograms(2, channels, steps)
    out = micro_model(x)
    patches = (steps // 13) * (65 // 13)
    assert out.last_hidden_state.shape == (2, channels, patches + 1, 32)
    assert out.pooler_output.shape == (2, channels, 32)
    assert torch.equal(out.pooler_output, out.last_hidden_state[:, :, 0])
    assert torch.isfinite(out.last_hidden_state).all()


def test_channel_permutation_equivariance(micro_model):
    x = random_scalograms(2, 4)
    perm = torch.tensor([2, 0, 3, 1])
    out = micro_model(x).last_hidden_state
    out_perm = micro_model(x[:, perm]).last_hidden_state
    torch.testing.assert_close(out_perm, out[:, perm], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("fusion_mode", ["cls_attention", "mean", "none"])
def test_padded_channels_never_influence_real_ones(fusion_mode):
    torch.manual_seed(0)
    model = NormWearModel(micro_config(fusion_mode=fusion_mode)).eval()
    real = random_scalograms(1, 2)
    padded = torch.cat([real, 1e3 * random_scalograms(1, 2, seed=1)], dim=1)
    mask = torch.tensor([[1, 1, 0, 0]])
    alone = model(real).last_hidden_state
    with_padding = model(padded, channel_mask=mask).last_hidden_state
    torch.testing.assert_close(with_padding[:, :2], alone, atol=1e-5, rtol=1e-5)
    assert torch.all(with_padding[:, 2:] == 0)


def test_fusion_mixes_channels_and_none_does_not():
    torch.manual_seed(0)
    fused = NormWearModel(micro_config()).eval()
    torch.manual_seed(0)
    independent = NormWearModel(micro_config(fusion_mode="none")).eval()
    x = random_scalograms(1, 2)
    changed = x.clone()
    changed[:, 1] = random_scalograms(1, 1, seed=5)[:, 0]
    for model, should_change in ((fused, True), (independent, False)):
        first = model(x).last_hidden_state[:, 0]
        first_after = model(changed).last_hidden_state[:, 0]
        assert (not torch.allclose(first, first_after, atol=1e-6)) == should_change


def test_recording_output_independent_of_batch_mates(micro_model):
    a, b = random_scalograms(1, 3), random_scalograms(1, 3, seed=2)
    together = micro_model(torch.cat([a, b])).last_hidden_state
    torch.testing.assert_close(together[:1], micro_model(a).last_hidden_state, atol=1e-5, rtol=1e-5)


def test_padded_time_never_influences_real_tokens(micro_model):
    x = random_scalograms(1, 2)
    time_mask = torch.zeros(1, 388, dtype=torch.long)
    time_mask[:, :130] = 1  # 10 real patch rows of 13 steps
    noisy = x.clone()
    noisy[..., 130:, :] = 100 * torch.randn_like(noisy[..., 130:, :])
    out = micro_model(x, time_mask=time_mask)
    out_noisy = micro_model(noisy, time_mask=time_mask)
    real_tokens = 1 + 10 * 5
    torch.testing.assert_close(
        out.last_hidden_state[:, :, :real_tokens], out_noisy.last_hidden_state[:, :, :real_tokens]
    )
    assert out.token_mask[0, 0].sum() == real_tokens
    emb = micro_model.get_embeddings(x, time_mask=time_mask, pooling="channel")
    torch.testing.assert_close(emb, micro_model.get_embeddings(noisy, time_mask=time_mask, pooling="channel"))


def test_sdpa_and_eager_attention_agree():
    torch.manual_seed(0)
    model = NormWearModel(micro_config()).eval()
    x = random_scalograms(2, 3)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    time_mask = torch.ones(2, 388, dtype=torch.long)
    time_mask[0, 200:] = 0
    sdpa = model(x, channel_mask=mask, time_mask=time_mask)
    eager = model(x, channel_mask=mask, time_mask=time_mask, output_attentions=True)
    torch.testing.assert_close(sdpa.last_hidden_state, eager.last_hidden_state, atol=1e-5, rtol=1e-4)
    assert len(eager.attentions) == 2 and eager.attentions[0].shape == (2, 3, 4, 146, 146)
    assert len(eager.fusion_attentions) == 1 and eager.fusion_attentions[0].shape == (2, 4, 3, 3)
    # padded channels receive no fusion attention; every row of real weights sums to one
    fusion = eager.fusion_attentions[0]
    assert torch.all(fusion[0, :, :, 2] == 0)
    torch.testing.assert_close(fusion.sum(-1), torch.ones_like(fusion.sum(-1)))


def test_hidden_states_on_request(micro_model):
    out = micro_model(random_scalograms(1, 2), output_hidden_states=True)
    assert len(out.hidden_states) == 3  # embeddings + 2 blocks
    assert out.hidden_states[0].shape == out.last_hidden_state.shape
    assert micro_model(random_scalograms(1, 2)).hidden_states is None


def test_embedding_poolings(micro_model):
    x = random_scalograms(2, 3)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    out = micro_model(x, channel_mask=mask)
    probe = micro_model.get_embeddings(x, mask, pooling="probe")
    channel = micro_model.get_embeddings(x, mask, pooling="channel")
    recording = micro_model.get_embeddings(x, mask, pooling="recording")
    cls = micro_model.get_embeddings(x, mask, pooling="cls")
    assert probe.shape == (2, 96) and channel.shape == (2, 3, 32) and recording.shape == (2, 32)
    torch.testing.assert_close(channel[1, 0], out.last_hidden_state[1, 0].mean(0))
    torch.testing.assert_close(probe[0], channel[0].flatten())
    torch.testing.assert_close(recording[0], channel[0, :2].mean(0))
    assert torch.all(channel[0, 2] == 0)
    torch.testing.assert_close(cls, out.pooler_output)
    with pytest.raises(ValueError, match="pooling must be one of"):
        micro_model.get_embeddings(x, mask, pooling="max")


def test_average_windows_by_recording():
    per_channel = torch.arange(12.0).reshape(3, 2, 2)
    real = torch.tensor([[True, True], [True, False], [True, True]])
    averaged, present = average_windows(per_channel, real, torch.tensor([0, 0, 1]))
    torch.testing.assert_close(averaged[0, 0], (per_channel[0, 0] + per_channel[1, 0]) / 2)
    torch.testing.assert_close(averaged[0, 1], per_channel[0, 1])  # window 1 lacks channel 1
    assert present.tolist() == [[True, True], [True, True]]
    logits = torch.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 5.0]])  # a plain mean (zero-shot logits), 3 recordings
    mean, seen = average_windows(logits, torch.ones(3), torch.tensor([0, 0, 2]), count=3)
    assert mean.tolist() == [[2.0, 4.0], [0.0, 0.0], [5.0, 5.0]] and seen.tolist() == [True, False, True]


def test_split_windows_pool_into_one_recording_embedding(micro_model):
    x = random_scalograms(3, 2)
    whole = micro_model.get_embeddings(x, pooling="recording", recording_index=torch.tensor([0, 0, 0]))
    by_window = micro_model.get_embeddings(x, pooling="recording")
    torch.testing.assert_close(whole[0], by_window.mean(0), atol=1e-6, rtol=1e-5)


def test_position_table_and_interpolation():
    table = sincos_2d_position_table(torch.arange(4.0), 3, 8)
    assert table.shape == (12, 8)
    torch.testing.assert_close(table[0], torch.tensor([0.0, 0, 1, 1, 0, 0, 1, 1]))
    model = NormWearModel(micro_config(position_reference_time_patches=29)).eval()
    long_table = model.embeddings.position_table(50, True, torch.device("cpu"), torch.float32)
    ref_table = model.embeddings.position_table(29, True, torch.device("cpu"), torch.float32)
    # the first and last time rows land on the reference's first and last
    torch.testing.assert_close(long_table[:5], ref_table[:5])
    torch.testing.assert_close(long_table[-5:], ref_table[-5:])
    extended = model.embeddings.position_table(50, False, torch.device("cpu"), torch.float32)
    torch.testing.assert_close(extended[: 29 * 5], ref_table)


def test_gradient_checkpointing_gives_same_gradients():
    torch.manual_seed(0)
    model = NormWearModel(micro_config()).train()
    x = random_scalograms(2, 2)

    def grads():
        model.zero_grad()
        model(x).last_hidden_state.pow(2).mean().backward()
        return [p.grad.clone() for p in model.parameters()]

    plain = grads()
    if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    assert model.encoder.gradient_checkpointing
    for a, b in zip(plain, grads()):
        torch.testing.assert_close(a, b)


def test_bf16_autocast_close_to_fp32(micro_model):
    x = random_scalograms(2, 3)
    reference = micro_model.get_embeddings(x, pooling="recording")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = micro_model.get_embeddings(x, pooling="recording")
    assert torch.isfinite(low).all()
    assert F.cosine_similarity(low.float(), reference).min() > 0.999
    bf16_model = NormWearModel(micro_model.config).eval()
    bf16_model.load_state_dict(micro_model.state_dict())
    bf16_out = bf16_model.to(torch.bfloat16).get_embeddings(x, pooling="recording")
    assert F.cosine_similarity(bf16_out.float(), reference).min() > 0.99


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(hidden_size=30), "divisible by num_attention_heads"),
        (dict(hidden_size=42, num_attention_heads=6), "divisible by 4"),
        (dict(patch_size=[9, 4]), "divisible by the scale patch size"),
        (dict(patch_size=[9]), "two positive integers"),
        (dict(fusion_mode="max"), "fusion_mode must be one of"),
        (dict(mask_strategy="block"), "mask_strategy must be one of"),
        (dict(mask_ratio=1.2), "mask_ratio must be a number in"),
        (dict(num_hidden_layers=0), "num_hidden_layers must be a positive integer"),
        (dict(hidden_dropout_prob=-0.1), "hidden_dropout_prob"),
        # hostile configs: each used to allocate for minutes, give NaN / uniform scores, or a raw TypeError
        (dict(num_hidden_layers=1_000_000), "beyond any sane model"),
        (dict(msitf_importance_weight=1e308), r"msitf_importance_weight must be a number in \[0, 100\]"),
        (dict(zero_shot_calibration_temperature=float("inf")), "positive finite number"),
        (dict(layer_norm_eps="abc"), r"layer_norm_eps must be a number in \(0, 1\)"),
    ],
)
def test_invalid_config_values_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        micro_config(**kwargs)


def test_presets():
    assert NormWearConfig.from_preset("small").hidden_size == 256
    assert NormWearConfig.from_preset("tiny", num_hidden_layers=2).num_hidden_layers == 2
    with pytest.raises(ValueError, match="Unknown NormWear preset"):
        NormWearConfig.from_preset("huge")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m(torch.randn(2, 3, 388, 65)), "5 dims"),
        (lambda m: m(torch.randn(1, 2, 2, 388, 65)), "expects 3 planes and 65 scales"),
        (lambda m: m(torch.randn(1, 2, 3, 8, 65)), "fewer than one patch"),
        (lambda m: m(torch.randn(1, 2, 3, 388, 65), channel_mask=torch.ones(1, 3)), "channel_mask must have"),
        (lambda m: m(torch.randn(1, 2, 3, 388, 65), channel_mask=torch.zeros(1, 2)), "at least one real"),
        (lambda m: m(torch.randn(1, 2, 3, 388, 65), time_mask=torch.ones(1, 300)), "time_mask must have"),
        (lambda m: m([[0.0]]), "must be a torch.Tensor"),
    ],
)
def test_bad_model_inputs_raise(micro_model, call, message):
    with pytest.raises(ValueError, match=message):
        call(micro_model)


def test_rich_probe_pooling_extends_the_probe_embedding(micro_model):
    from normwear_hf.modeling_normwear import RICH_SUMMARIES

    x = random_scalograms(2, 3, steps=390)
    time_mask = torch.ones(2, 390)
    time_mask[1, 200:] = 0  # the second recording is padded: thirds and max see only its real patches
    channel_mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    with torch.no_grad():
        probe = micro_model.get_embeddings(x, channel_mask, time_mask, pooling="probe")
        rich = micro_model.get_embeddings(x, channel_mask, time_mask, pooling="probe_rich")
        hidden = micro_model(x, channel_mask=channel_mask, time_mask=time_mask).last_hidden_state
    width = micro_model.config.hidden_size
    parts = rich.reshape(2, 3, len(RICH_SUMMARIES), width)
    torch.testing.assert_close(parts[:, :, 0].reshape(2, -1), probe)
    assert torch.all(parts[0, 2] == 0)  # a padded channel stays zero
    real_patches = micro_model(x, channel_mask=channel_mask, time_mask=time_mask).token_mask[1, 0, 1:]
    count = int(real_patches.sum())
    patches = hidden[1, 0, 1:][real_patches]
    torch.testing.assert_close(parts[1, 0, 1], patches.max(dim=0).values)
    first = patches[: (count + 2) // 3]
    torch.testing.assert_close(parts[1, 0, 2], first.mean(dim=0))


def test_level_pooling_appends_the_amplitude_that_normalisation_removed(micro_model):
    """probe_level = probe + each channel's log10 mean |x|; amplitude x10 moves the level by exactly +1 and leaves
    the scalograms (so the probe part) unchanged."""
    import numpy as np

    from normwear_hf import NormWearFeatureExtractor
    from normwear_hf.evaluation.probe import channel_levels, with_levels
    from normwear_hf.inference import embed

    extractor = NormWearFeatureExtractor()
    rng = np.random.default_rng(0)
    base = rng.standard_normal((2, 2, 600))
    signals = [base[0], base[0] * 10.0]
    features = extractor(signals, sampling_rate=100, return_tensors="pt")
    levels = features["input_levels"]
    assert levels.shape == (2, 2) and levels.dtype == torch.float32
    torch.testing.assert_close(levels[1] - levels[0], torch.ones(2), atol=1e-4, rtol=0)
    with torch.no_grad():
        probe = micro_model.get_embeddings(**features, pooling="probe")
        level = micro_model.get_embeddings(**features, pooling="probe_level")
    width = micro_model.config.hidden_size
    parts = level.reshape(2, 2, width + 1)
    torch.testing.assert_close(parts[..., :width].reshape(2, -1), probe)
    torch.testing.assert_close(probe[0], probe[1], atol=1e-4, rtol=1e-4)  # the scalograms are amplitude-free
    torch.testing.assert_close(parts[..., width], levels)
    with pytest.raises(ValueError, match="needs input_levels"):
        micro_model.get_embeddings(features["input_values"], pooling="probe_level")
    # a padded channel gets level 0; the model-free helper gives the pooled numbers of embed()
    rows = [
        {"signals": [base[0, 0]], "sampling_rate": [100.0], "channel_types": ["ecg"]},
        {"signals": [base[1, 0] * 1e3, base[1, 1]], "sampling_rate": [100.0, 100.0], "channel_types": ["ecg", "ppg"]},
    ]
    mixed = extractor([r["signals"] for r in rows], sampling_rate=[r["sampling_rate"] for r in rows])
    assert mixed["input_levels"][0, 1] == 0.0
    signals, rates = [r["signals"] for r in rows], [[100.0], [100.0, 100.0]]
    whole = embed(signals, rates, micro_model, extractor, "probe_level", quality_threshold=None)
    probe_only = embed(signals, rates, micro_model, extractor, "probe", quality_threshold=None)
    np.testing.assert_allclose(whole, with_levels(probe_only, channel_levels(extractor, rows)), atol=1e-5)


def test_zero_shot_settings_are_one_group_the_backbone_never_reads():
    import inspect
    import json
    from pathlib import Path

    from normwear_hf import configuration_normwear, modeling_normwear
    from normwear_hf.configuration_normwear import ZERO_SHOT_FIELDS, NormWearConfig

    config = NormWearConfig()
    assert all(hasattr(config, name) for name in ZERO_SHOT_FIELDS)
    documented = inspect.getdoc(NormWearConfig).split("Zero-shot head")[1]
    assert all(f"{name}" in documented for name in ZERO_SHOT_FIELDS)
    backbone_code = inspect.getsource(modeling_normwear)
    assert not [name for name in ZERO_SHOT_FIELDS if name in backbone_code]
    bundled = Path(configuration_normwear.__file__).parent / "pretrained" / "normwear" / "config.json"
    saved = json.loads(bundled.read_text())
    loaded = NormWearConfig.from_pretrained(bundled.parent)
    assert all(getattr(loaded, name) == saved[name] for name in ZERO_SHOT_FIELDS if name in saved)
