"""Masked reconstruction: masking, the loss's reach, targets, reproducibility, and loading the backbone back."""

import pytest
import torch
from conftest import micro_config, random_scalograms

from normwear_hf import NormWearForMaskedReconstruction, NormWearModel
from normwear_hf.modeling_normwear import patchify, sample_patch_mask


def test_structured_mask_hides_whole_rows_and_columns():
    config = micro_config(mask_time_ratio=0.6, mask_scale_ratio=0.5)
    keep, masked = sample_patch_mask(config, 3, 43, 13, torch.Generator().manual_seed(0))
    assert keep.shape == (3, 17 * 7)  # 43 - 26 rows, 13 - 6 columns stay visible
    grid = ~masked.reshape(3, 43, 13)
    for visible in grid:
        rows, cols = visible.any(1), visible.any(0)
        assert torch.equal(visible, rows[:, None] & cols[None, :])  # visible = a product of rows and columns
    assert abs(masked.float().mean().item() - (1 - 17 * 7 / 559)) < 1e-6
    assert not torch.equal(grid[0], grid[1])  # every channel draws its own mask


def test_random_mask_ratio_and_seed_reproducibility():
    config = micro_config(mask_strategy="random", mask_ratio=0.8)
    keep, masked = sample_patch_mask(config, 2, 29, 5, torch.Generator().manual_seed(1))
    assert keep.shape == (2, 29) and masked.sum(1).tolist() == [116, 116]
    again, _ = sample_patch_mask(config, 2, 29, 5, torch.Generator().manual_seed(1))
    other, _ = sample_patch_mask(config, 2, 29, 5, torch.Generator().manual_seed(2))
    assert torch.equal(keep, again) and not torch.equal(keep, other)


def test_mask_prefers_real_time_rows():
    config = micro_config()
    real_rows = torch.zeros(4, 29, dtype=torch.bool)
    real_rows[:, :20] = True
    keep, _ = sample_patch_mask(config, 4, 29, 5, torch.Generator().manual_seed(0), real_rows)
    assert (keep // 5 < 20).all()


def test_patchify_matches_patch_embedding_token_order():
    model = NormWearModel(micro_config()).eval()
    x = random_scalograms(1, 1)[:, 0]
    projection = model.embeddings.patch_embeddings.projection
    # a linear patch embedding is a matrix product with the flattened patch, in the same token order
    expected = model.embeddings.patch_embeddings(x)
    weight = projection.weight.permute(0, 2, 3, 1).reshape(projection.out_channels, -1)
    torch.testing.assert_close(patchify(x, (13, 13)) @ weight.T + projection.bias, expected, atol=1e-4, rtol=1e-4)


def test_default_target_is_the_signal():
    assert micro_config().reconstruction_target == "signal"


def test_output_shapes_and_loss_counts_only_masked_real_patches():
    torch.manual_seed(0)
    model = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram")).eval()
    x = random_scalograms(1, 2)
    out = model(x, mask_seed=3)
    assert out.reconstruction.shape == (1, 2, 145, 13 * 13 * 3) and out.mask.shape == (1, 2, 145)
    assert torch.equal(out.loss_mask, out.mask)
    manual = (out.reconstruction - patchify(x[0], (13, 13))[None]).pow(2).mean(-1)
    torch.testing.assert_close(out.loss, manual[out.mask].mean())
    # a padded channel full of garbage changes nothing
    padded = torch.cat([x, 1e3 * random_scalograms(1, 1, seed=9)], dim=1)
    with_pad = model(padded, channel_mask=torch.tensor([[1, 1, 0]]), mask_seed=3)
    torch.testing.assert_close(with_pad.loss, out.loss)
    assert not with_pad.loss_mask[0, 2].any()


def test_padded_time_is_not_in_the_loss():
    torch.manual_seed(0)
    model = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram")).eval()
    x = random_scalograms(1, 2)
    time_mask = torch.ones(1, 388, dtype=torch.long)
    time_mask[:, 130:] = 0
    noisy = x.clone()
    noisy[..., 130:, :] = 1e3
    a = model(x, time_mask=time_mask, mask_seed=0)
    b = model(noisy, time_mask=time_mask, mask_seed=0)
    torch.testing.assert_close(a.loss, b.loss)
    assert not a.loss_mask[..., 10 * 5 :].any()


def test_mask_seed_makes_forward_reproducible():
    torch.manual_seed(0)
    model = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram")).eval()
    x = random_scalograms(2, 2)
    assert torch.equal(model(x, mask_seed=5).loss, model(x, mask_seed=5).loss)
    assert not torch.equal(model(x, mask_seed=5).mask, model(x, mask_seed=6).mask)


@pytest.mark.parametrize("target", ["signal", "both"])
def test_signal_targets(target):
    torch.manual_seed(0)
    model = NormWearForMaskedReconstruction(micro_config(reconstruction_target=target))
    x, signal = random_scalograms(2, 2), torch.randn(2, 2, 388)
    with pytest.raises(ValueError, match="return_signal=True"):
        model(x)
    out = model(x, signal_values=signal, mask_seed=0)
    assert out.signal_reconstruction.shape == (2, 2, 29 * 13)
    assert (out.reconstruction is not None) == (target == "both")
    assert out.signal_loss is not None and torch.isfinite(out.loss)
    out.loss.backward()
    assert model.decoder.signal_head.weight.grad.abs().sum() > 0


def test_norm_pix_loss_changes_target_scale():
    torch.manual_seed(0)
    plain = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram"))
    torch.manual_seed(0)
    normed = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram", norm_pix_loss=True))
    x = 50 * random_scalograms(1, 1)
    assert normed(x, mask_seed=0).loss < plain(x, mask_seed=0).loss


def test_backbone_loads_from_pretraining_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram")).eval()
    model.save_pretrained(tmp_path)
    backbone = NormWearModel.from_pretrained(tmp_path).eval()
    x = random_scalograms(1, 2)
    torch.testing.assert_close(backbone(x).last_hidden_state, model.normwear(x).last_hidden_state)
    reloaded = NormWearForMaskedReconstruction.from_pretrained(tmp_path).eval()
    assert torch.equal(reloaded(x, mask_seed=1).loss, model(x, mask_seed=1).loss)


def test_contrastive_term_is_off_by_default_and_trains_backbone_and_projector_when_on():
    torch.manual_seed(0)
    plain = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram"))
    assert plain.projector is None and plain(random_scalograms(2, 2), mask_seed=0).contrastive_loss is None
    model = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram", contrastive_weight=0.5))
    x = random_scalograms(4, 3)
    channel_mask = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0], [1, 1, 1]])
    out = model(x, channel_mask=channel_mask, mask_seed=3)
    assert torch.isfinite(out.contrastive_loss)
    torch.testing.assert_close(out.loss, out.scalogram_loss + 0.5 * out.contrastive_loss)
    out.loss.backward()
    assert model.projector[0].weight.grad.abs().sum() > 0
    assert model.normwear.embeddings.patch_embeddings.projection.weight.grad.abs().sum() > 0
    # the same seed gives the same two views
    assert torch.equal(model(x, channel_mask=channel_mask, mask_seed=3).loss, out.loss)


def test_second_view_keeps_a_real_channel_of_every_recording():
    model = NormWearForMaskedReconstruction(micro_config(contrastive_weight=1.0, contrastive_channel_keep=0.01))
    real = torch.tensor([[True, True, True], [False, True, False], [True, False, True]])
    for seed in range(20):
        kept = model._channel_subset(real, torch.Generator().manual_seed(seed))
        assert (kept.sum(dim=1) >= 1).all() and not (kept & ~real).any()


def test_info_nce_prefers_matching_views():
    from normwear_hf.modeling_normwear import info_nce

    views = torch.randn(8, 16, generator=torch.Generator().manual_seed(0))
    matched = info_nce(views, views + 0.01 * torch.randn(8, 16), 0.1)
    shuffled = info_nce(views, views[torch.randperm(8, generator=torch.Generator().manual_seed(1))], 0.1)
    assert matched < 0.05 < shuffled


def test_backbone_loads_from_a_contrastive_checkpoint_without_the_projector(tmp_path):
    torch.manual_seed(0)
    model = NormWearForMaskedReconstruction(micro_config(contrastive_weight=1.0)).eval()
    model.save_pretrained(tmp_path)
    backbone = NormWearModel.from_pretrained(tmp_path).eval()
    x = random_scalograms(1, 2)
    torch.testing.assert_close(backbone(x).last_hidden_state, model.normwear(x).last_hidden_state)
    with pytest.raises(ValueError, match="contrastive_channel_keep"):
        micro_config(contrastive_channel_keep=0.0)
    with pytest.raises(ValueError, match="contrastive_temperature"):
        micro_config(contrastive_temperature=float("inf"))


def test_auxiliary_heads_regress_known_targets_only_and_train_the_backbone(tmp_path):
    torch.manual_seed(0)
    names = ["heart_rate_bpm", "noise_level"]
    model = NormWearForMaskedReconstruction(
        micro_config(reconstruction_target="scalogram", auxiliary_weight=2.0, auxiliary_targets=names)
    )
    x = random_scalograms(2, 2)
    nothing = torch.full((2, 2, 2), float("nan"))
    silent = model(x, mask_seed=1, auxiliary_values=nothing)
    assert silent.auxiliary_loss == 0 and torch.equal(silent.loss, silent.scalogram_loss)
    targets = nothing.clone()
    targets[0, 0, 0], targets[1, 1, 1] = 1.5, -0.5
    out = model(x, mask_seed=1, auxiliary_values=targets)
    torch.testing.assert_close(out.loss, out.scalogram_loss + 2.0 * out.auxiliary_loss)
    bigger = targets.clone()
    bigger[0, 0, 0] = 50.0
    assert model(x, mask_seed=1, auxiliary_values=bigger).auxiliary_loss > 100 * out.auxiliary_loss
    out.loss.backward()
    assert model.auxiliary_head.weight.grad.abs().sum() > 0
    assert model.normwear.embeddings.patch_embeddings.projection.weight.grad.abs().sum() > 0
    model.save_pretrained(tmp_path)  # the backbone loads without the head
    backbone = NormWearModel.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(backbone(x).last_hidden_state, model.eval().normwear(x).last_hidden_state)
    with pytest.raises(ValueError, match="needs auxiliary_targets"):
        micro_config(auxiliary_weight=1.0)


def test_latent_prediction_teacher_starts_as_the_student_follows_it_and_is_not_trained(tmp_path):
    torch.manual_seed(0)
    config = micro_config(reconstruction_weight=0.0, latent_weight=1.0, latent_target_layers=2, ema_decay=0.5)
    model = NormWearForMaskedReconstruction(config)
    for teacher, student in zip(model.teacher.parameters(), model.normwear.parameters()):
        assert torch.equal(teacher, student) and not teacher.requires_grad
    x = random_scalograms(2, 2)
    signal = torch.randn(2, 2, 388)
    out = model(x, signal_values=signal, mask_seed=0)
    assert torch.isfinite(out.latent_loss) and out.latent_loss > 0
    torch.testing.assert_close(out.loss, out.latent_loss)  # reconstruction_weight 0: latent prediction alone
    out.loss.backward()
    assert model.decoder.latent_head.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    with torch.no_grad():  # a student step, then the teacher moves half way (decay 0.5)
        first = model.normwear.embeddings.patch_embeddings.projection.weight
        before = model.teacher.embeddings.patch_embeddings.projection.weight.clone()
        first.add_(1.0)
    model.update_teacher()
    torch.testing.assert_close(model.teacher.embeddings.patch_embeddings.projection.weight, before + 0.5)
    model.save_pretrained(tmp_path)  # the backbone loads without the teacher or the latent head
    backbone = NormWearModel.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(backbone(x).last_hidden_state, model.eval().normwear(x).last_hidden_state)
    with pytest.raises(ValueError, match="without a masked objective"):
        micro_config(reconstruction_weight=0.0)
    with pytest.raises(ValueError, match="latent_target_layers"):
        micro_config(latent_weight=1.0, latent_target_layers=99)


def test_every_head_loads_from_every_other_heads_checkpoint_without_unexpected_weights(tmp_path):
    """A backbone or another head loads from any NormWear checkpoint: weights outside the shared backbone are
    another head's (decoder, projector, auxiliary head, teacher, aggregator, logit scale, classifier), not news."""
    from normwear_hf import NormWearForSignalClassification, NormWearForZeroShotClassification

    everything = dict(
        reconstruction_target="both",
        contrastive_weight=0.5,
        auxiliary_weight=1.0,
        auxiliary_targets=["heart_rate_bpm"],
        latent_weight=1.0,
        latent_target_layers=1,
        zero_shot_aggregator="msitf",
    )
    classes = [NormWearModel, NormWearForMaskedReconstruction, NormWearForSignalClassification]
    for source in [*classes, NormWearForZeroShotClassification]:
        folder = tmp_path / source.__name__
        source(micro_config(**everything)).save_pretrained(folder)
        for target in classes:
            _, info = target.from_pretrained(folder, output_loading_info=True)
            assert not info["unexpected_keys"], (source.__name__, target.__name__, info["unexpected_keys"])
            if target is NormWearModel:
                assert not info["missing_keys"], (source.__name__, info["missing_keys"])
