"""Speed of the synthetic corpus generator (``normwear_hf.data.synthetic.generate_examples``).

Generates ``--count`` schema rows of ``--window`` seconds with ``--workers`` processes and consumes them (as a
corpus writer would), then prints segments per second, the total wall time (worker start-up included), the
time to the first row, and what was made (channels per segment, modalities, samples).

    python benchmarks/bench_synthetic.py --count 100000 --workers 2
    python benchmarks/bench_synthetic.py --count 2000            # quick check, one process

--write stores a Markdown table in docs/benchmarks.md (section "synthetic").
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
try:
    import normwear_hf  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))

from normwear_hf.data.synthetic import generate_examples  # noqa: E402


def run(count: int, workers: int, seed: int, window_s: float, progress: bool) -> dict:
    modalities: Counter = Counter()
    channels = samples = rows = 0
    start = time.perf_counter()
    first = None
    for row in generate_examples(count, seed=seed, window_s=window_s, workers=workers, progress=progress):
        if first is None:
            first = time.perf_counter() - start
        rows += 1
        channels += len(row["signals"])
        samples += sum(len(signal) for signal in row["signals"])
        modalities.update(set(row["channel_types"]))
    total = time.perf_counter() - start
    return {
        "count": rows,
        "workers": workers,
        "window_s": window_s,
        "total_s": total,
        "first_row_s": first or 0.0,
        "segments_per_s": rows / total if total > 0 else float("nan"),
        "channels_per_segment": channels / max(rows, 1),
        "samples_per_segment": samples / max(rows, 1),
        "modalities": dict(sorted(modalities.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="segments to generate (default 10000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window", type=float, default=6.0, help="segment length in seconds (default 6)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    parser.add_argument("--write", action="store_true", help="store the result in docs/benchmarks.md")
    args = parser.parse_args()

    result = run(args.count, args.workers, args.seed, args.window, args.progress)
    machine = machine_description()
    print(f"machine: {machine}")
    print(
        f"{result['count']} segments of {result['window_s']:g} s with {result['workers']} worker(s): "
        f"{result['total_s']:.1f} s total ({result['first_row_s']:.1f} s to the first row), "
        f"{result['segments_per_s']:.0f} segments/s"
    )
    print(
        f"{result['channels_per_segment']:.2f} channels and {result['samples_per_segment']:.0f} samples per segment; "
        f"segments with each modality: {result['modalities']}"
    )
    if args.write:
        table = (
            "## Synthetic corpus generation\n\n"
            f"`python benchmarks/bench_synthetic.py --count {args.count} --workers {args.workers}` "
            f"({date.today().isoformat()}, {machine})\n\n"
            "| segments | window | workers | total | first row | segments/s | channels/segment |\n"
            "|---|---|---|---|---|---|---|\n"
            f"| {result['count']} | {result['window_s']:g} s | {result['workers']} | {result['total_s']:.1f} s "
            f"| {result['first_row_s']:.1f} s | {result['segments_per_s']:.0f} "
            f"| {result['channels_per_segment']:.2f} |\n"
        )
        print(f"wrote {write_section('synthetic', table)}")


if __name__ == "__main__":
    main()
