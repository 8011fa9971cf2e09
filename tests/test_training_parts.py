"""The pieces of the training loop: sampler, schedule, optimiser groups, checkpoints, collator."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import micro_config

from normwear_hf import NormWearFeatureExtractor, NormWearForMaskedReconstruction
from normwear_hf.data import make_example
from normwear_hf.data.collator import NormWearCollator, stable_seed
from normwear_hf.training.checkpointing import find_checkpoints, load_checkpoint, prune_checkpoints, save_checkpoint
from normwear_hf.training.sampler import EpochBatchSampler
from normwear_hf.training.schedule import build_optimizer, parameter_groups, scaled_learning_rate, warmup_cosine


def test_sampler_resumes_exactly_and_ranks_are_disjoint():
    sampler = EpochBatchSampler(num_rows=50, batch_size=4, world_size=1, rank=0, seed=3)
    assert sampler.batches_per_epoch == 12
    full = list(itertools.islice(sampler.iterate(0), 30))
    assert list(itertools.islice(sampler.iterate(17), 13)) == full[17:]
    assert full[12][0] == 1 and full[11][0] == 0  # epoch boundaries
    assert len({i for _, b in full[:12] for i in b}) == 48  # no repeats within an epoch
    ranks = [EpochBatchSampler(50, 4, world_size=2, rank=r, seed=3) for r in range(2)]
    first = [set(next(s.iterate(0))[1]) for s in ranks]
    assert not first[0] & first[1]
    with pytest.raises(ValueError, match="fewer than one global batch"):
        EpochBatchSampler(num_rows=5, batch_size=4, world_size=2)


def test_warmup_cosine_and_lr_scaling():
    factor = warmup_cosine(warmup_steps=10, total_steps=110)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(60) == pytest.approx(0.5) and factor(110) == pytest.approx(0.0, abs=1e-12)
    assert all(factor(s) >= factor(s + 1) for s in range(10, 110))
    assert scaled_learning_rate(1e-3, 512) == pytest.approx(2e-3)


def test_no_weight_decay_on_biases_norms_and_tokens():
    model = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram"))
    decay, no_decay = parameter_groups(model, 0.05)
    names = {id(p): n for n, p in model.named_parameters()}
    exempt = {names[id(p)] for p in no_decay["params"]}
    assert "normwear.embeddings.cls_token" in exempt and "decoder.mask_token" in exempt
    assert all(n.endswith(("bias", "cls_token", "mask_token")) or "layernorm" in n or "norm" in n for n in exempt)
    assert all(p.ndim >= 2 for p in decay["params"]) and decay["weight_decay"] == 0.05
    total = sum(p.numel() for p in model.parameters())
    assert sum(p.numel() for g in (decay, no_decay) for p in g["params"]) == total


def _one_step(model, optimizer, scheduler, seed):
    x = torch.randn(2, 2, 3, 388, 65, generator=torch.Generator().manual_seed(seed))
    model(x, mask_seed=seed).loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()


def test_checkpoint_round_trip_restores_training_exactly(tmp_path):
    def fresh():
        torch.manual_seed(0)
        model = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram"))
        optimizer = build_optimizer(model, 1e-3)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(2, 10))
        return model, optimizer, scheduler

    model, optimizer, scheduler = fresh()
    for step in range(3):
        _one_step(model, optimizer, scheduler, step)
    path = save_checkpoint(tmp_path, model, optimizer, scheduler, 3, extra={"world_size": 1})
    assert not any(p.suffix in {".bin", ".pt", ".pkl"} for p in path.iterdir())
    _one_step(model, optimizer, scheduler, 3)

    restored, restored_opt, restored_sched = fresh()
    state = load_checkpoint(path, restored, restored_opt, restored_sched)
    assert state["global_step"] == 3 and restored_sched.last_epoch == 3
    _one_step(restored, restored_opt, restored_sched, 3)
    for a, b in zip(model.state_dict().values(), restored.state_dict().values()):
        assert torch.equal(a, b)


def test_incomplete_checkpoints_are_ignored_and_refused(tmp_path):
    model = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram"))
    optimizer = build_optimizer(model, 1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(0, 10))
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, model, optimizer, scheduler, step)
    broken = tmp_path / "checkpoint-0000009"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(b"half written")
    assert [p.name for p in find_checkpoints(tmp_path)] == [f"checkpoint-000000{i}" for i in (1, 2, 3)]
    with pytest.raises(ValueError, match="not a complete training checkpoint"):
        load_checkpoint(broken, model, optimizer, scheduler)
    prune_checkpoints(tmp_path, keep=2)
    assert [p.name for p in find_checkpoints(tmp_path)] == ["checkpoint-0000002", "checkpoint-0000003"]


def test_saving_a_step_again_replaces_its_checkpoint_only_when_the_new_one_is_whole(tmp_path, monkeypatch):
    import normwear_hf.training.checkpointing as checkpointing

    model = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram"))
    optimizer = build_optimizer(model, 1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(0, 10))
    first = save_checkpoint(tmp_path, model, optimizer, scheduler, 4, extra={"run": "first"})

    real_save_file = checkpointing.save_file

    def dies_writing_the_optimizer(tensors, path):
        if "optimizer" in str(path):
            raise KeyboardInterrupt
        real_save_file(tensors, path)

    monkeypatch.setattr(checkpointing, "save_file", dies_writing_the_optimizer)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, model, optimizer, scheduler, 4, extra={"run": "second"})
    assert json.loads((first / "trainer_state.json").read_text())["run"] == "first"  # the old one is untouched
    assert len(list(tmp_path.glob(".checkpoint-0000004.partial-*"))) == 1  # the half-written staging folder

    monkeypatch.setattr(checkpointing, "save_file", real_save_file)
    again = save_checkpoint(tmp_path, model, optimizer, scheduler, 4, extra={"run": "third"})
    assert json.loads((again / "trainer_state.json").read_text())["run"] == "third"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint-0000004"]  # leftovers swept


def test_the_final_model_is_saved_whole_or_leaves_no_weights(tmp_path, monkeypatch):
    """A final save killed while moving any file leaves no weights (nothing loads), never a new config beside the old
    weights; the run's other files stay, and the next save sweeps the staging folder."""
    import os

    from normwear_hf.training.pretrain import save_final_model

    def model(width: int) -> NormWearForMaskedReconstruction:
        torch.manual_seed(width)
        return NormWearForMaskedReconstruction(micro_config(hidden_size=width, intermediate_size=2 * width)).eval()

    def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
        return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))

    run, extractor = tmp_path / "run", NormWearFeatureExtractor()
    (run / "checkpoints").mkdir(parents=True)
    (run / "metrics.jsonl").write_text("{}\n")
    old, new = model(32), model(48)
    save_final_model(old, extractor, run)
    assert same_weights(NormWearForMaskedReconstruction.from_pretrained(run), old)
    real_replace, moved = os.replace, []

    def dies_after(moves: int):
        def replace(source, target):
            if Path(target).parent == run:
                if len(moved) == moves:
                    raise KeyboardInterrupt
                moved.append(Path(target).name)
            real_replace(source, target)

        return replace

    for dies_at in itertools.count():
        moved.clear()
        monkeypatch.setattr(os, "replace", dies_after(dies_at))
        try:
            save_final_model(new, extractor, run)
        except KeyboardInterrupt:
            pass
        else:
            break
        assert not (run / "model.safetensors").exists()  # the old weights went first, the new ones come last
        with pytest.raises(OSError):
            NormWearForMaskedReconstruction.from_pretrained(run)
    assert dies_at > 2 and moved[-1] == "model.safetensors"  # every file moved before the weights
    loaded = NormWearForMaskedReconstruction.from_pretrained(run)
    assert loaded.config.hidden_size == 48 and same_weights(loaded, new)
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".") or not p.is_file()) == ["checkpoints"]
    assert (run / "metrics.jsonl").read_text() == "{}\n"


def test_a_corrupt_newest_checkpoint_falls_back_to_the_previous_one_and_pruning_is_kill_safe(tmp_path, monkeypatch):
    from normwear_hf.training.checkpointing import load_latest_checkpoint

    model = NormWearForMaskedReconstruction(micro_config(reconstruction_target="scalogram"))
    optimizer = build_optimizer(model, 1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(0, 10))
    messages = []
    assert load_latest_checkpoint(tmp_path / "none", model, optimizer, scheduler, warn=messages.append) is None
    for step in (1, 2):
        save_checkpoint(tmp_path, model, optimizer, scheduler, step)
    (tmp_path / "checkpoint-0000002" / "optimizer.safetensors").write_bytes(b"\x00garbage")
    checkpoint, state = load_latest_checkpoint(tmp_path, model, optimizer, scheduler, warn=messages.append)
    assert checkpoint.name == "checkpoint-0000001" and state["global_step"] == 1
    assert "checkpoint-0000002 is unreadable" in messages[0]

    # a kill in the middle of deleting an old checkpoint: the half-deleted folder no longer looks complete
    import shutil

    def killed(path, ignore_errors=False):
        (Path(path) / "optimizer.safetensors").unlink()
        raise KeyboardInterrupt  # the process dies here

    save_checkpoint(tmp_path, model, optimizer, scheduler, 3)
    monkeypatch.setattr(shutil, "rmtree", killed)
    with pytest.raises(KeyboardInterrupt):
        prune_checkpoints(tmp_path, keep=2)
    monkeypatch.undo()
    assert [p.name for p in find_checkpoints(tmp_path)] == ["checkpoint-0000002", "checkpoint-0000003"]
    prune_checkpoints(tmp_path, keep=2)  # the next prune sweeps the leftover
    assert not list(tmp_path.glob(".checkpoint-*"))


def _rows():
    t = np.arange(0, 6, 1 / 100)
    return [
        make_example([np.sin(2 * np.pi * t)] * 3, 100.0, ["ecg", "ppg", "eda"], recording_id="a", source="test"),
        make_example([np.cos(t)], [50.0], ["resp"], recording_id="b", source="test"),
    ]


def test_collator_pads_channels_and_subsets_deterministically():
    collator = NormWearCollator(NormWearFeatureExtractor(), max_channels=2, return_signal=True, seed=1)
    batch = collator(_rows())
    assert batch["input_values"].shape == (2, 2, 3, 388, 65)
    assert batch["channel_mask"].tolist() == [[1, 1], [1, 0]]
    assert batch["signal_values"].shape == (2, 2, 388)
    again = collator(_rows())
    assert torch.equal(batch["input_values"], again["input_values"])
    with pytest.raises(ValueError, match="empty batch"):
        collator([])
    with pytest.raises(ValueError, match="max_channels"):
        NormWearCollator(NormWearFeatureExtractor(), max_channels=0)


def test_stable_seed_is_stable():
    assert stable_seed(1, "a", 2) == stable_seed(1, "a", 2) != stable_seed(1, "a", 3)
    assert stable_seed("x", 1) == 11396297131734796514  # the same in every process and Python run (hash() is salted)


def test_collator_returns_auxiliary_targets_only_where_a_channel_can_show_them():
    t = np.arange(0, 6, 1 / 100)
    labelled = make_example(
        [np.sin(2 * np.pi * t)] * 3,
        100.0,
        ["ecg", "acc", "eda"],
        recording_id="s",
        source="synthetic",
        numeric_labels={"heart_rate_bpm": (130.0, "bpm"), "cadence_spm": (140.0, "steps/min")},
    )
    unlabelled = make_example([np.cos(t)], [50.0], ["ppg"], recording_id="r", source="real")
    names = ["heart_rate_bpm", "cadence_spm", "respiration_rate_bpm"]
    batch = NormWearCollator(NormWearFeatureExtractor(), auxiliary_targets=names)([labelled, unlabelled])
    values = batch["auxiliary_values"]
    assert values.shape == (2, 3, 3)
    torch.testing.assert_close(values[0, 0, 0], torch.tensor(1.0))  # (130 - 100) / 30, on the ECG channel
    torch.testing.assert_close(values[0, 1, 1], torch.tensor(1.0))  # (140 - 70) / 70, on the accelerometer
    shown = torch.isfinite(values)
    assert shown[0].tolist() == [[True, False, False], [False, True, False], [False, False, False]]
    assert not shown[1].any()  # no labels (a real recording), and padded channels
    assert "auxiliary_values" not in NormWearCollator(NormWearFeatureExtractor())([labelled])
    with pytest.raises(ValueError, match="Unknown auxiliary targets"):
        NormWearCollator(NormWearFeatureExtractor(), auxiliary_targets=["heart_rate"])
