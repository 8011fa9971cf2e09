"""The prepared GPU run (scripts/device_pretrain.sh) end to end, as its CPU dry run (slow: run with -m slow)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_device_pretrain_dry_run(tmp_path):
    real = tmp_path / "real"
    build = ["normwear-hf", "build-corpus", "--out", str(real), "--sources", "none", "--synthetic", "64"]
    subprocess.run([*build, "--no-progress"], check=True, capture_output=True)
    env = {**os.environ, "DRY_RUN": "1", "OUT": str(tmp_path / "out"), "REAL_CORPUS": str(real)}
    env |= {"WORK": str(tmp_path / "work"), "MINUTES": "0.3", "SYNTHETIC": "64"}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "device_pretrain.sh")], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    report = json.loads((out / "device_report.json").read_text())
    assert report["steps"] >= 1 and report["flops_per_step"] > 0 and report["mfu_bf16"] is None  # CPU: no peak
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "preprocessor_config.json", "metrics.jsonl", "training_summary.json"} <= names
    assert len(names) <= 8 and all(p.stat().st_size <= 16 * 2**20 for p in out.iterdir())
