"""Assemble the checkpoint that ships inside the package (src/normwear_hf/pretrained/normwear/).

    python modeling_cards/build_bundled_checkpoint.py --zero_shot_run runs/zs_small --pretrain_run runs/pre_small \
        --benchmark runs/bench_small/results.json --command "..." --corpus "..." --machine "..."

Takes the zero-shot folder written by examples/train_zero_shot.py (backbone + MSiTF aggregator + feature
extractor), keeps weights and configs only (no code files and no ``auto_map``: inside the package the classes
are registered; ``normwear-hf export`` adds code and ``auto_map`` for the Hub), adds the run's results and a
model card generated from them, and refuses a folder over the 60 MB budget. Written atomically.

    python modeling_cards/build_bundled_checkpoint.py --zero_shot_only --zero_shot_run runs/zs_captions

``--zero_shot_only`` replaces only the zero-shot head of the bundled checkpoint: the new folder's backbone must
equal the bundled one (checked tensor by tensor), the benchmark results and the card's other parts stay, and the
card's zero-shot parts are regenerated from the new results (``model_card.refresh_zero_shot``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from normwear_hf import DEFAULT_CHECKPOINT, NormWearFeatureExtractor, NormWearForZeroShotClassification
from normwear_hf.model_card import refresh_zero_shot, write_model_card
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


def replace_zero_shot_head(args: argparse.Namespace) -> Path:
    """The bundled folder with the zero-shot head (aggregator, logit scale, calibration) of ``--zero_shot_run``."""
    out = Path(args.out)
    bundled = NormWearForZeroShotClassification.from_pretrained(out).normwear.state_dict()
    model = NormWearForZeroShotClassification.from_pretrained(args.zero_shot_run).eval()
    backbone = model.normwear.state_dict()
    if bundled.keys() != backbone.keys() or any(not bundled[k].equal(backbone[k]) for k in bundled):
        raise ValueError(
            f"{args.zero_shot_run} was aligned on another backbone than the bundled one; --zero_shot_only only swaps "
            "the head. Rebuild the whole checkpoint (without --zero_shot_only) instead."
        )
    staging = make_staging_folder(out, overwrite=True)
    shutil.copytree(out, staging, dirs_exist_ok=True)
    model.save_pretrained(staging)
    for code in staging.glob("*.py"):
        code.unlink()
    strip_auto_map(staging / "config.json")
    for name in RESULT_FILES:
        shutil.copy(Path(args.zero_shot_run) / name, staging / name)
    refresh_zero_shot(staging, staging / "benchmark_results.json", staging / "zero_shot_results.json")
    publish_folder(staging, out)
    print(f"replaced the zero-shot head of {out} with {args.zero_shot_run}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zero_shot_run", required=True)
    parser.add_argument("--pretrain_run", help="the backbone's pretraining folder (required unless --zero_shot_only)")
    parser.add_argument("--benchmark", help="results.json of normwear-hf benchmark on the backbone (same)")
    parser.add_argument("--zero_shot_only", action="store_true", help="replace only the zero-shot head (see above)")
    parser.add_argument("--out", default=DEFAULT_CHECKPOINT)
    parser.add_argument("--command")
    parser.add_argument("--corpus")
    parser.add_argument("--machine")
    parser.add_argument("--wall_time")
    args = parser.parse_args(argv)
    if args.zero_shot_only:
        replace_zero_shot_head(args)
        return 0
    if not (args.pretrain_run and args.benchmark):
        parser.error("--pretrain_run and --benchmark are required to build the whole checkpoint")
    build(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
