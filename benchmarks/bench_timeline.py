"""Timeline throughput and memory on a day-long recording: small preset, bf16, this machine's cores.

A synthetic 4-channel recording (ECG 250 Hz, PPG 64 Hz, respiration 25 Hz, acceleration 32 Hz) is saved as .npy
files of ``--short-hours`` and ``--hours`` and streamed from disk (memory-mapped) through ``timeline`` in a fresh
subprocess each, which reports its wall time and peak resident memory (``resource.getrusage``). ``embed`` runs on
``--embed-minutes`` of the same signal in the same way and is scaled to hours per second (it holds the whole
resampled recording, so it is not run on the day). The memory ratio is long / short peak RSS (goal: within 20%).

    python benchmarks/bench_timeline.py [--hours 24] [--short-hours 1] [--hop 6] [--write]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, write_section  # noqa: E402

RATES = (250.0, 64.0, 25.0, 32.0)
TYPES = ("ecg", "ppg", "resp", "acc")
GOAL_REALTIME = 500.0


def write_recording(folder: Path, hours: float) -> list[Path]:
    """One memory-mapped .npy per channel (the rates differ), written 10 min at a time."""
    rng = np.random.default_rng(0)
    paths = []
    for rate, kind in zip(RATES, TYPES):
        count = int(hours * 3600 * rate)
        array = np.lib.format.open_memmap(
            folder / f"{kind}_{hours:g}h.npy", mode="w+", dtype=np.float32, shape=(count,)
        )
        step = int(600 * rate)
        for start in range(0, count, step):
            t = np.arange(start, min(count, start + step)) / rate
            beat = (t * 1.2) % 1.0
            if kind == "ecg":
                piece = np.exp(-(((beat - 0.3) / 0.02) ** 2))
            elif kind == "ppg":
                piece = np.sin(2 * np.pi * 1.2 * t)
            elif kind == "resp":
                piece = np.sin(2 * np.pi * 0.25 * t)
            else:
                piece = 0.3 * np.sin(2 * np.pi * 1.8 * t) + 9.8
            array[start : start + t.size] = piece + 0.05 * rng.standard_normal(t.size)
        array.flush()
        paths.append(folder / f"{kind}_{hours:g}h.npy")
    return paths


CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
from normwear_hf import NormWearConfig, NormWearFeatureExtractor, NormWearModel
mode, hop, paths = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
torch.manual_seed(0)
model, extractor = NormWearModel(NormWearConfig.from_preset("small")).eval(), NormWearFeatureExtractor()
channels = [np.load(p, mmap_mode="r") for p in paths]
rates = [250.0, 64.0, 25.0, 32.0]
hours = min(len(c) / r for c, r in zip(channels, rates)) / 3600
start = time.perf_counter()
if mode == "timeline":
    from normwear_hf.timeline import timeline
    run = timeline(channels, rates, hop, channel_types=["ecg", "ppg", "resp", "acc"], model=model,
                   feature_extractor=extractor, dtype=torch.bfloat16, progress=False)
    windows = sum(1 for _ in run)
else:
    from normwear_hf.inference import embed
    embed([[np.asarray(c, dtype=np.float64) for c in channels]], sampling_rate=[rates], model=model,
          feature_extractor=extractor, batch_size=32, dtype=torch.bfloat16, progress=False)
    windows = int(hours * 600)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"hours": hours, "seconds": seconds, "windows": windows, "rss_mb": rss}))
"""


def child(mode: str, hop: float, paths: list[Path]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(hop), *map(str, paths)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--short-hours", type=float, default=1.0)
    parser.add_argument("--embed-minutes", type=float, default=10.0)
    parser.add_argument("--hop", type=float, default=6.0)
    parser.add_argument("--write", action="store_true", help="write the 'timeline' section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        short = child("timeline", args.hop, write_recording(folder, args.short_hours))
        long = child("timeline", args.hop, write_recording(folder, args.hours))
        base = child("embed", args.hop, write_recording(folder, args.embed_minutes / 60))
    print(json.dumps({"short": short, "long": long, "embed": base}))  # the raw numbers, to redo the report
    markdown = report(short, long, base, args)
    print(markdown)
    if args.write:
        write_section("timeline", "## Timeline of a day-long recording\n\n" + markdown)
    return 0


def report(short: dict, long: dict, base: dict, args: argparse.Namespace) -> str:
    speed = long["hours"] * 3600 / long["seconds"]
    embed_speed = base["hours"] * 3600 / base["seconds"]
    ratio = long["rss_mb"] / short["rss_mb"]
    verdict = "met" if speed >= GOAL_REALTIME else "missed"
    lines = [
        f"Measured {date.today()} on {machine_description()}; small preset (random weights: speed does not depend on "
        f"them), bf16 autocast, hop {args.hop:g} s, 4 channels (ECG 250 Hz, PPG 64 Hz, resp 25 Hz, acc 32 Hz), "
        "memory-mapped .npy input, quality checks and masking on (the default), each run in a fresh process. "
        f"`python benchmarks/bench_timeline.py --hop {args.hop:g} --write`. Another job (a model evaluation) shared "
        "the 2 cores during the run, so absolute numbers are pessimistic.",
        "",
        "| run | signal | wall time | hours of signal / s | x real time | peak RSS |",
        "|---|---|---|---|---|---|",
        f"| timeline | {short['hours']:.2f} h | {short['seconds']:.1f} s | {short['hours'] / short['seconds']:.3f} | "
        f"{short['hours'] * 3600 / short['seconds']:,.0f} | {short['rss_mb']:.0f} MB |",
        f"| timeline | {long['hours']:.2f} h | {long['seconds']:.1f} s | {long['hours'] / long['seconds']:.3f} | "
        f"{speed:,.0f} | {long['rss_mb']:.0f} MB |",
        f"| embed (measured on {base['hours'] * 60:.0f} min, scaled) | {base['hours']:.2f} h | {base['seconds']:.1f} s "
        f"| {base['hours'] / base['seconds']:.3f} | {embed_speed:,.0f} | {base['rss_mb']:.0f} MB |",
        "",
        f"Against `embed` on the same signal the timeline runs at {speed / embed_speed:.2f}x its speed (it also "
        "resamples in chunks and keeps per-window outputs; `embed` holds the whole resampled recording, so it is "
        "not run on the day).",
        "",
        f"Peak RSS {args.hours:g} h / {args.short_hours:g} h: {ratio:.2f} (goal: within 20%). Goal of "
        f"{GOAL_REALTIME:g}x real time: {verdict} ({speed:,.0f}x, {long['windows'] * len(RATES) / long['seconds']:.0f} "
        "channel windows per second).",
    ]
    if verdict == "missed":
        lines.append(
            "\nThe model's forward pass is nearly all of the cost, so what would reach it is fewer or cheaper windows: "
            f"a longer hop (the speed scales with it: hop {10 * args.hop:g} s computes 10x fewer windows), the tiny "
            "preset, int8 ONNX (see the ONNX section) or a GPU; masked channels are not computed at all."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
