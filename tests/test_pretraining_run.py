"""Whole pretraining runs on a tiny corpus: the loss falls, kill-and-resume loses nothing, 2 processes agree."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from normwear_hf import NormWearConfig, NormWearFeatureExtractor, NormWearForMaskedReconstruction, NormWearModel
from normwear_hf.data import load_corpus, make_example, write_corpus
from normwear_hf.data.collator import NormWearCollator
from normwear_hf.training import PretrainArguments, run_pretraining

ROOT = Path(__file__).resolve().parents[1]
TINY = json.dumps({"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64})


def _rows(count: int = 48) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for index in range(count):
        rate = [100.0, 64.0, 250.0][index % 3]
        t = np.arange(int(6 * rate)) / rate
        beat = rng.uniform(0.8, 2.5)
        channels = [np.sin(2 * np.pi * beat * t) ** 3 + 0.05 * rng.standard_normal(t.size)]
        if index % 2:
            channels.append(np.sin(2 * np.pi * rng.uniform(0.15, 0.4) * t))
        types = ["ppg", "resp"][: len(channels)]
        rows.append(
            make_example(channels, rate, types, recording_id=f"r{index}", source="test", subject_id=f"s{index % 6}")
        )
    return rows


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus") / "corpus"
    write_corpus(_rows(), folder, shard_rows=20, progress=False)
    return folder


def _pretrain_command(corpus: Path, output: Path, *extra: str) -> list[str]:
    return [
        str(ROOT / "examples" / "pretrain.py"),
        "--corpus", str(corpus),
        "--output_dir", str(output),
        "--config", "tiny",
        "--config_overrides", TINY,
        "--per_device_batch_size", "4",
        "--max_steps", "6",
        "--warmup_steps", "2",
        "--checkpoint_every", "3",
        "--log_every", "1",
        "--report_to", "none",
        "--no_progress",
        *extra,
    ]  # fmt: skip


def _run(args: list[str], launcher: list[str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run(
        (launcher or [sys.executable]) + args, capture_output=True, text=True, env=env, timeout=timeout
    )


def _fixed_batch_loss(model, batch) -> float:
    """Loss on one batch with fixed masks: no sampling noise, so a drop is learning, not luck."""
    model.eval()
    with torch.no_grad():
        return float(sum(model(**batch, mask_seed=seed).loss for seed in range(3)) / 3)


def test_loss_falls_on_a_short_run(corpus_dir, tmp_path):
    args = PretrainArguments(
        output_dir=str(tmp_path / "run"),
        config="tiny",
        per_device_batch_size=8,
        max_steps=60,
        base_lr=0.05,
        warmup_steps=5,
        log_every=10,
        checkpoint_every=0,
        report_to="none",
        progress=False,
    )
    corpus = load_corpus(corpus_dir)
    batch = NormWearCollator(NormWearFeatureExtractor(), return_signal=True)([corpus[i] for i in range(16)])
    torch.manual_seed(args.seed)  # the run's initial weights
    before = _fixed_batch_loss(NormWearForMaskedReconstruction(NormWearConfig.from_preset("tiny")), batch)
    summary = run_pretraining(args, corpus=corpus)
    after = _fixed_batch_loss(NormWearForMaskedReconstruction.from_pretrained(tmp_path / "run"), batch)
    assert summary["steps"] == 60 and len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 6
    assert after < 0.95 * before, (before, after)
    # the saved folder is a normal model folder: the backbone and the feature extractor load from it
    assert isinstance(NormWearModel.from_pretrained(tmp_path / "run"), NormWearModel)
    assert (tmp_path / "run" / "preprocessor_config.json").exists()


def test_kill_and_resume_ends_at_the_same_weights(corpus_dir, tmp_path):
    straight = _run(_pretrain_command(corpus_dir, tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr[-3000:]

    crashed = _run(_pretrain_command(corpus_dir, tmp_path / "resumed", "--simulate_crash_at_step", "4"))
    assert crashed.returncode == -9, crashed.stderr[-3000:]  # SIGKILL: nothing flushed after the last checkpoint
    checkpoints = sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir())
    assert checkpoints == ["checkpoint-0000003"]
    assert not (tmp_path / "resumed" / "model.safetensors").exists()

    resumed = _run(_pretrain_command(corpus_dir, tmp_path / "resumed", "--resume_from_checkpoint", "latest"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout and "at step 3" in resumed.stdout
    a = load_file(tmp_path / "straight" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] == b[name]).all(), name


def test_two_processes_with_torchrun(corpus_dir, tmp_path):
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    result = _run(_pretrain_command(corpus_dir, tmp_path / "ddp", "--max_steps", "3"), launcher=launcher)
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [json.loads((tmp_path / "ddp" / "ranks" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2] and [r["rank"] for r in ranks] == [0, 1]
    assert ranks[0]["parameter_sha256"] == ranks[1]["parameter_sha256"]
    summary = json.loads((tmp_path / "ddp" / "training_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["effective_batch"] == 8


def test_bf16_gradient_accumulation_and_tensorboard(corpus_dir, tmp_path):
    args = PretrainArguments(
        output_dir=str(tmp_path / "bf16"),
        config="tiny",
        config_overrides={"reconstruction_target": "both"},  # both decoder heads under bf16
        per_device_batch_size=4,
        gradient_accumulation_steps=2,
        max_steps=3,
        warmup_steps=1,
        log_every=1,
        checkpoint_every=0,
        mixed_precision="bf16",
        report_to="tensorboard",
        progress=False,
    )
    summary = run_pretraining(args, corpus=load_corpus(corpus_dir))
    assert summary["effective_batch"] == 8 and np.isfinite(summary["final_loss"])
    assert summary["learning_rate"] == pytest.approx(1e-3 * 8 / 256)
    events = list((tmp_path / "bf16").rglob("events.out.tfevents.*"))
    assert events, "TensorBoard wrote no event file"
    records = [json.loads(line) for line in (tmp_path / "bf16" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3] and records[-1]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_time_budget_stops_saves_and_resumes(corpus_dir, tmp_path):
    first = ("--max_steps", "500", "--max_minutes", "0.001", "--resume_from_checkpoint", "latest")
    budget = _run(_pretrain_command(corpus_dir, tmp_path / "budget", *first))
    assert budget.returncode == 0, budget.stderr[-3000:]
    assert "no complete checkpoint in" in budget.stdout and "starting at step 0" in budget.stdout
    summary = json.loads((tmp_path / "budget" / "training_summary.json").read_text())
    stopped = summary["steps"]  # the first step past 0.06 s: 1 on a busy machine, a few on a quiet one
    assert summary["stopped_by_time_budget"] and 1 <= stopped < 6
    assert f"--max_minutes 0.001 reached at step {stopped} of 500" in budget.stdout
    assert [p.name for p in (tmp_path / "budget" / "checkpoints").iterdir()] == [f"checkpoint-{stopped:07d}"]
    assert (tmp_path / "budget" / "model.safetensors").exists()  # usable at once
    resumed = _run(_pretrain_command(corpus_dir, tmp_path / "budget", "--resume_from_checkpoint", "latest"))
    assert resumed.returncode == 0 and f"at step {stopped}" in resumed.stdout, resumed.stderr[-3000:]
    assert json.loads((tmp_path / "budget" / "training_summary.json").read_text())["steps"] == 6


def test_schedule_fitted_to_the_budget_ends_its_decay_in_time(corpus_dir, tmp_path, monkeypatch):
    from normwear_hf.training import pretrain

    monkeypatch.setattr(pretrain, "SCHEDULE_PROBE_STEPS", (1, 3))  # time steps 1-3: a test-sized probe
    args = PretrainArguments(
        output_dir=str(tmp_path / "fitted"),
        config="tiny",
        config_overrides=json.loads(TINY),
        per_device_batch_size=4,
        max_steps=100_000,
        max_minutes=0.1,
        fit_schedule_to_budget=True,
        warmup_steps=2,
        log_every=5,
        checkpoint_every=0,
        report_to="none",
        progress=False,
    )
    summary = run_pretraining(args, corpus=load_corpus(corpus_dir))
    records = [json.loads(line) for line in (tmp_path / "fitted" / "metrics.jsonl").read_text().splitlines()]
    assert 3 < summary["steps"] < 100_000
    peak = max(record["lr"] for record in records)
    if summary["stopped_by_time_budget"]:  # a busy machine ran later steps slower than the timed ones: the
        assert records[-1]["lr"] < 0.05 * peak  # budget then cuts the tail of the decay, never its middle
    else:
        assert records[-1]["step"] == summary["steps"] and records[-1]["lr"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="needs --max_minutes"):
        run_pretraining(PretrainArguments(corpus=str(corpus_dir), fit_schedule_to_budget=True))


def test_bad_arguments_are_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="--corpus .* is not a folder"):
        run_pretraining(PretrainArguments(corpus=str(tmp_path / "missing"), output_dir=str(tmp_path / "out")))
    with pytest.raises(ValueError, match="--per_device_batch_size must be at least 1"):
        run_pretraining(PretrainArguments(corpus=str(tmp_path), per_device_batch_size=0))
    with pytest.raises(ValueError, match="--max_minutes must be a positive"):
        run_pretraining(PretrainArguments(corpus=str(tmp_path), max_minutes=0))
    with pytest.raises(ValueError, match="neither a preset"):
        run_pretraining(PretrainArguments(corpus=str(tmp_path), config="enormous"))
    assert not (tmp_path / "out").exists()
