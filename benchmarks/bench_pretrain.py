"""Pretraining throughput: segments per second through a full training step (forward, backward, AdamW).

Each configuration is timed in fp32 (the reference, measured in the same run) and under bf16 autocast, on
batches of 4-channel 6 s segments with structured masking; the collator (feature extraction of raw rows) is
timed on its own, since DataLoader workers run it beside the model.

    python benchmarks/bench_pretrain.py [--configs tiny small] [--batch 32] [--steps 5] [--write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, write_section  # noqa: E402

from normwear_hf import NormWearConfig, NormWearFeatureExtractor, NormWearForMaskedReconstruction  # noqa: E402
from normwear_hf.data import make_example  # noqa: E402
from normwear_hf.data.collator import NormWearCollator  # noqa: E402
from normwear_hf.training.schedule import build_optimizer  # noqa: E402


def make_rows(count: int) -> list[dict]:
    rng = np.random.default_rng(0)
    rates = [250.0, 64.0, 25.0, 32.0]
    rows = []
    for index in range(count):
        signals = [
            np.sin(2 * np.pi * rng.uniform(0.2, 3) * np.arange(int(6 * r)) / r) + 0.1 * rng.standard_normal(int(6 * r))
            for r in rates
        ]
        rows.append(
            make_example(signals, rates, ["ecg", "ppg", "resp", "acc"], recording_id=f"b{index}", source="bench")
        )
    return rows


def time_collator(rows: list[dict], batch: int) -> float:
    collator = NormWearCollator(NormWearFeatureExtractor(), return_signal=True)
    collator(rows[:batch])
    times = []
    for _ in range(3):
        start = time.perf_counter()
        collator(rows[:batch])
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def time_steps(name: str, batch: dict, steps: int, dtype: torch.dtype | None, device: str) -> float:
    torch.manual_seed(0)
    model = NormWearForMaskedReconstruction(NormWearConfig.from_preset(name)).to(device).train()
    optimizer = build_optimizer(model, 1e-4)
    inputs = {k: v.to(device) for k, v in batch.items()}
    times = []
    for step in range(steps + 1):  # the first step warms up
        start = time.perf_counter()
        with torch.autocast(device, dtype=dtype, enabled=dtype is not None):
            loss = model(**inputs, mask_seed=step).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - start)
    return inputs["input_values"].shape[0] / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["tiny", "small"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows = make_rows(args.batch)
    collate_rate = time_collator(rows, args.batch)
    print(f"collator (feature extraction of raw rows, 1 process): {collate_rate:.1f} segments/s", flush=True)
    batch = NormWearCollator(NormWearFeatureExtractor(), return_signal=True)(rows)
    lines = [
        f"Machine: {machine_description()}  ",
        f"Date: {date.today().isoformat()}  ",
        f"Command: `{' '.join(['python', 'benchmarks/bench_pretrain.py', *sys.argv[1:]])}`",
        "",
        f"Batches of {args.batch} segments x 4 channels x 6 s, structured masking (60% time, 50% scale), the default "
        "signal reconstruction target, a full "
        f"training step (forward, backward, AdamW), median of {args.steps} steps after a warm-up. "
        f"Collator alone (feature extraction of raw rows, one process): {collate_rate:.0f} segments/s.",
        "",
        "| config | params (M) | fp32 segments/s (reference) | bf16 segments/s | bf16 vs fp32 |",
        "|---|---|---|---|---|",
    ]
    for name in args.configs:
        fp32 = time_steps(name, batch, args.steps, None, args.device)
        bf16 = time_steps(name, batch, args.steps, torch.bfloat16, args.device)
        with torch.device("meta"):
            meta_model = NormWearForMaskedReconstruction(NormWearConfig.from_preset(name))
        params = sum(p.numel() for p in meta_model.parameters())
        print(f"{name}: fp32 {fp32:.1f} segments/s, bf16 {bf16:.1f} segments/s ({bf16 / fp32:.2f}x)", flush=True)
        lines.append(f"| {name} | {params / 1e6:.1f} | {fp32:.1f} | {bf16:.1f} | {bf16 / fp32:.2f}x |")
    markdown = "\n".join(lines)
    print(markdown)
    if args.write:
        write_section(f"pretrain-{args.device}", f"## Pretraining throughput ({args.device})\n\n" + markdown)


if __name__ == "__main__":
    main()
