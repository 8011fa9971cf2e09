"""Is a candidate checkpoint better than the shipped one? Paired, on the benchmark's own test sets.

Both ``results.json`` files come from ``normwear-hf benchmark`` with the same ``--seed`` and ``--pooling``, so
each task has the same split and test rows; the candidate's and the shipped model's probe outputs are scored on
the same bootstrap resamples (paired), per task and as the macro of each task group. The shipped checkpoint is
replaced only when the real-task macro interval lies above 0 (issue 12).

    normwear-hf benchmark --pooling probe_level --out runs/bench_shipped
    normwear-hf benchmark --model CANDIDATE --pooling probe_level --out runs/bench_candidate
    python benchmarks/compare_checkpoints.py runs/bench_candidate/results.json runs/bench_shipped/results.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_section  # noqa: E402


def compare(candidate: dict, shipped: dict, method: str = "normwear", n_bootstrap: int = 1000) -> dict:
    """``{group: {task: interval, "macro": interval}}`` of candidate minus shipped, both probed with ``method``."""
    from normwear_hf.evaluation.benchmark import task_group
    from normwear_hf.evaluation.paired import PairedScores, paired_bootstrap

    if candidate.get("pooling") != shipped.get("pooling") or candidate.get("seed") != shipped.get("seed"):
        raise SystemExit(
            f"The two runs differ in pooling ({candidate.get('pooling')} vs {shipped.get('pooling')}) or seed "
            f"({candidate.get('seed')} vs {shipped.get('seed')}); rerun one of them with the other's settings."
        )
    groups: dict[str, dict] = {}
    for name, entry in candidate["tasks"].items():
        mine = entry.get("methods", {}).get(method, {}).get("test_outputs")
        theirs = shipped["tasks"].get(name, {}).get("methods", {}).get(method, {}).get("test_outputs")
        if mine is None or theirs is None:
            continue
        if not np.array_equal(np.asarray(mine["references"]), np.asarray(theirs["references"])):
            raise SystemExit(f"{name}: the two runs tested different rows; rerun both with the same --seed.")
        metric = entry["methods"][method]["main_metric"]
        scores = PairedScores(mine["references"], [mine["values"]], [theirs["values"]], metric=metric)
        groups.setdefault(task_group(name), {})[name] = scores
    if not groups:
        raise SystemExit(f"No task has {method!r} test outputs in both runs.")
    return {group: paired_bootstrap(tasks, n=n_bootstrap, seed=0) for group, tasks in sorted(groups.items())}


def to_markdown(paths: tuple[str, str], results: tuple[dict, dict], comparison: dict) -> str:
    from normwear_hf.evaluation.paired import format_difference

    candidate, shipped = results
    lines = [
        "## Candidate checkpoint against the shipped one (paired)",
        "",
        f"Command: `python benchmarks/compare_checkpoints.py {paths[0]} {paths[1]}` "
        f"(pooling `{candidate['pooling']}`, split seed {candidate['seed']}; candidate `{candidate['model']}`, "
        f"shipped `{shipped['model']}`).",
        "",
        "| group | task | candidate | shipped | candidate - shipped [95% paired interval] |",
        "|---|---|---|---|---|",
    ]
    for group, intervals in comparison.items():
        for name, interval in intervals.items():
            if name == "macro":
                continue
            mine = candidate["tasks"][name]["methods"]["normwear"]["full"]
            theirs = shipped["tasks"][name]["methods"]["normwear"]["full"]
            metric = candidate["tasks"][name]["methods"]["normwear"]["main_metric"]
            lines.append(
                f"| {group} | {name} | {mine[metric]:.3f} | {theirs[metric]:.3f} | {format_difference(interval)} |"
            )
        lines.append(f"| {group} | **macro** | | | {format_difference(intervals['macro'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidate", help="results.json of the candidate checkpoint's benchmark")
    parser.add_argument("shipped", help="results.json of the shipped checkpoint's benchmark")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="write the table to docs/benchmarks.md")
    args = parser.parse_args(argv)
    results = tuple(json.loads(Path(path).read_text()) for path in (args.candidate, args.shipped))
    comparison = compare(*results, n_bootstrap=args.bootstrap)
    markdown = to_markdown((args.candidate, args.shipped), results, comparison)
    print(markdown)
    if args.write:
        write_section("checkpoint-comparison", markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
