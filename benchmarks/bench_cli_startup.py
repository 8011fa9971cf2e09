"""How fast the command line answers: `normwear-hf --help`, an argument error, and `import normwear_hf`, each
against `python -c "import torch"` measured in the same run (fresh processes, median of --repeats).

    python benchmarks/bench_cli_startup.py --repeats 5 --write
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, write_section  # noqa: E402


def seconds(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="write the table to docs/benchmarks.md")
    args = parser.parse_args(argv)
    cli = shutil.which("normwear-hf")
    if cli is None:
        raise SystemExit("normwear-hf is not on PATH; pip install -e . first")
    reference = seconds([sys.executable, "-c", "import torch"], args.repeats)
    cases = {
        "`normwear-hf --help`": [cli, "--help"],
        "`normwear-hf embed` (argument error)": [cli, "embed"],
        "`normwear-hf info` (the bundled model)": [cli, "info"],
        "`python -c 'import normwear_hf'`": [sys.executable, "-c", "import normwear_hf"],
    }
    rows = [(name, seconds(command, args.repeats)) for name, command in cases.items()]
    lines = [
        "## Command-line start-up",
        "",
        f"{machine_description()}, {date.today().isoformat()}. Command: "
        f"`python benchmarks/bench_cli_startup.py --repeats {args.repeats} --write` (fresh processes, median).",
        "",
        "| what | seconds | vs `python -c 'import torch'` |",
        "|---|---:|---:|",
        f"| `python -c 'import torch'` (reference) | {reference:.2f} | 1.00x |",
        *[f"| {name} | {value:.2f} | {value / reference:.2f}x |" for name, value in rows],
        "",
        "The command line parses its arguments before it imports numpy, torch, transformers or the model "
        "(`normwear_hf` imports its public names lazily and the CLI registers the Auto classes only for commands "
        "that load a model); `import normwear_hf` in a program still registers with transformers at once, so "
        '`AutoModel.from_pretrained("normwear")` works right after it.',
    ]
    markdown = "\n".join(lines) + "\n"
    print(markdown)
    if args.write:
        write_section("cli-startup", markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
