"""Assemble the checkpoint that ships inside the package (src/normwear_hf/pretrained/normwear/).

    python modeling_cards/build_bundled_checkpoint.py --zero_shot_run runs/zs_small --pretrain_run runs/pre_small \
        --benchmark runs/bench_small/results.json --command "..." --corpus "..." --machine "..."

Takes the zero-shot folder written by examples/train_zero_shot.py (backbone + MSiTF aggregator + feature
extractor), keeps weights and configs only (no code files and no ``auto_map``: inside the package the classes
are registered; ``normwear-hf export`` adds code and ``auto_map`` for the Hub), adds the run's results and a
model card generated from them, and refuses a folder over the 60 MB budget. Written atomically.

    python modeling_cards/build_bundled_checkpoint.py --refresh --zero_shot_run runs/zs_captions \
        --seed_ablation runs/ablation_long/evaluation.json

``--refresh`` keeps the bundled backbone, benchmark results and card, and changes only what is given: with
``--zero_shot_run`` the zero-shot head (that folder's backbone must equal the bundled one, checked tensor by
tensor) and the card's zero-shot parts; with ``--seed_ablation`` the card's pretraining-seed table
(``model_card.refresh_model_card``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from normwear_hf import DEFAULT_CHECKPOINT, NormWearFeatureExtractor, NormWearForZeroShotClassification
from normwear_hf.model_card import refresh_model_card, write_model_card
from normwear_hf.utils.atomic import make_staging_folder, publish_folder

MAX_BYTES = 60 * 1024 * 1024
RESULT_FILES = ("zero_shot_results.json", "zero_shot_results.md")


def strip_auto_map(path: Path) -> None:
    data = json.loads(path.read_text())
    data.pop("auto_map", None)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def install_head(model: NormWearForZeroShotClassification, zero_shot_run: str, staging: Path) -> None:
    """Weights and config of ``model`` and the zero-shot results of ``zero_shot_run`` into ``staging``, without
    code files or ``auto_map`` (inside the package the classes are registered)."""
    model.save_pretrained(staging)
    for code in staging.glob("*.py"):
        code.unlink()
    for name in ("config.json", "preprocessor_config.json"):
        if (staging / name).exists():
            strip_auto_map(staging / name)
    for name in RESULT_FILES:
        shutil.copy(Path(zero_shot_run) / name, staging / name)


def build(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    staging = make_staging_folder(out, overwrite=True)
    NormWearFeatureExtractor.from_pretrained(args.zero_shot_run).save_pretrained(staging)
    model = NormWearForZeroShotClassification.from_pretrained(args.zero_shot_run).eval()
    install_head(model, args.zero_shot_run, staging)
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
        seed_ablation=args.seed_ablation,
    )
    size = sum(path.stat().st_size for path in staging.rglob("*") if path.is_file())
    if size > MAX_BYTES:
        shutil.rmtree(staging)
        raise ValueError(f"The bundled checkpoint would be {size / 2**20:.1f} MiB, over the 60 MiB budget.")
    publish_folder(staging, out)
    print(f"wrote {out} ({size / 2**20:.1f} MiB): " + ", ".join(sorted(p.name for p in out.iterdir())))
    return out


def check_same_backbone(zero_shot_run: str, bundled: Path) -> NormWearForZeroShotClassification:
    """The model of ``zero_shot_run``, after checking that its backbone is the bundled one, tensor by tensor."""
    mine = NormWearForZeroShotClassification.from_pretrained(bundled).normwear.state_dict()
    model = NormWearForZeroShotClassification.from_pretrained(zero_shot_run).eval()
    theirs = model.normwear.state_dict()
    if mine.keys() != theirs.keys() or any(not mine[k].equal(theirs[k]) for k in mine):
        raise ValueError(
            f"{zero_shot_run} was aligned on another backbone than the bundled one; --refresh only swaps the "
            "zero-shot head. Rebuild the whole checkpoint (without --refresh) instead."
        )
    return model


def refresh(args: argparse.Namespace) -> Path:
    """The bundled folder with the zero-shot head of ``--zero_shot_run`` and / or a new seed table in its card."""
    out = Path(args.out)
    model = check_same_backbone(args.zero_shot_run, out) if args.zero_shot_run else None
    staging = make_staging_folder(out, overwrite=True)
    shutil.copytree(out, staging, dirs_exist_ok=True)
    if model is not None:
        install_head(model, args.zero_shot_run, staging)
    refresh_model_card(
        staging,
        staging / "benchmark_results.json",
        zero_shot_results=staging / "zero_shot_results.json" if model is not None else None,
        seed_ablation=args.seed_ablation,
    )
    publish_folder(staging, out)
    print(f"refreshed {out}" + (f" with the zero-shot head of {args.zero_shot_run}" if model is not None else ""))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zero_shot_run", help="zero-shot folder of examples/train_zero_shot.py (the head to ship)")
    parser.add_argument("--pretrain_run", help="the backbone's pretraining folder (required unless --refresh)")
    parser.add_argument("--benchmark", help="results.json of normwear-hf benchmark on the backbone (same)")
    parser.add_argument("--refresh", action="store_true", help="keep the bundled backbone; change only what is given")
    parser.add_argument("--seed_ablation", help="evaluation.json of benchmarks/ablate_pretraining_objective.py")
    parser.add_argument("--out", default=DEFAULT_CHECKPOINT)
    parser.add_argument("--command")
    parser.add_argument("--corpus")
    parser.add_argument("--machine")
    parser.add_argument("--wall_time")
    args = parser.parse_args(argv)
    if args.refresh:
        if not (args.zero_shot_run or args.seed_ablation):
            parser.error("--refresh needs --zero_shot_run, --seed_ablation or both")
        refresh(args)
        return 0
    if not (args.zero_shot_run and args.pretrain_run and args.benchmark):
        parser.error("--zero_shot_run, --pretrain_run and --benchmark are required to build the whole checkpoint")
    build(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
