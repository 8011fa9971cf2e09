"""Assemble the checkpoint that ships inside the package (src/normwear_hf/pretrained/normwear/).

    python modeling_cards/build_bundled_checkpoint.py --zero_shot_run runs/zs_small --pretrain_run runs/pre_small \
        --benchmark runs/bench_small/results.json --command "..." --corpus "..." --machine "..."

Takes the zero-shot folder written by examples/train_zero_shot.py (backbone + MSiTF aggregator + feature
extractor), keeps weights and configs only (no code files and no ``auto_map``: inside the package the classes
are registered; ``normwear-hf export`` adds code and ``auto_map`` for the Hub), adds the run's results and a
model card generated from them, and refuses a folder over the 60 MB budget. Written atomically.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from normwear_hf import DEFAULT_CHECKPOINT, NormWearFeatureExtractor, NormWearForZeroShotClassification
from normwear_hf.model_card import write_model_card
from normwear_hf.utils.atomic import make_staging_folder, publish_folder

MAX_BYTES = 60 * 1024 * 1024
RESULT_FILES = ("zero_shot_results.json", "zero_shot_results.md")


def strip_auto_map(path: Path) -> None:
    data = json.loads(path.read_text())
    data.pop("auto_map", None)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def build(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    staging = make_staging_folder(out, overwrite=True)
    model = NormWearForZeroShotClassification.from_pretrained(args.zero_shot_run).eval()
    model.save_pretrained(staging)
    NormWearFeatureExtractor.from_pretrained(args.zero_shot_run).save_pretrained(staging)
    for code in staging.glob("*.py"):
        code.unlink()
    for name in ("config.json", "preprocessor_config.json"):
        strip_auto_map(staging / name)
    for name in RESULT_FILES:
        shutil.copy(Path(args.zero_shot_run) / name, staging / name)
    benchmark = Path(args.benchmark)
    shutil.copy(benchmark, staging / "benchmark_results.json")
    write_model_card(
        staging,
        benchmark,
        training_run=args.pretrain_run,
        zero_shot_results=staging / "zero_shot_results.json",
        command=args.command,
        corpus=args.corpus,
        machine=args.machine,
        wall_time=args.wall_time,
    )
    size = sum(path.stat().st_size for path in staging.rglob("*") if path.is_file())
    if size > MAX_BYTES:
        shutil.rmtree(staging)
        raise ValueError(f"The bundled checkpoint would be {size / 2**20:.1f} MiB, over the 60 MiB budget.")
    publish_folder(staging, out)
    print(f"wrote {out} ({size / 2**20:.1f} MiB): " + ", ".join(sorted(p.name for p in out.iterdir())))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zero_shot_run", required=True)
    parser.add_argument("--pretrain_run", required=True)
    parser.add_argument("--benchmark", required=True, help="results.json of normwear-hf benchmark on the backbone")
    parser.add_argument("--out", default=DEFAULT_CHECKPOINT)
    parser.add_argument("--command")
    parser.add_argument("--corpus")
    parser.add_argument("--machine")
    parser.add_argument("--wall_time")
    build(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
