"""Which pretraining objective pays at a CPU budget? Equal time, the same corpus, several seeds, real tasks.

Phase ``train``: for every recipe and seed, pretrain the tiny preset on the same corpus for the same number of
steps per recipe, chosen so that each recipe gets about ``--minutes`` of compute (each recipe's throughput is
measured first, back to back, in the same conditions). Runs are separate folders that resume
(``--resume_from_checkpoint latest``), so a killed ablation continues where it stopped.

Phase ``evaluate``: every trained model, its random twin (the same architecture and seed, i.e. the model before
pretraining) and 16 statistics per channel are probed on the real tasks (frozen embeddings, the benchmark's
logistic-regression probe). Differences are paired: the same bootstrap resamples of each task's test set score
both sides, and the macro draws every task independently; over seeds, each resample averages the seeds' paired
differences (test-set uncertainty), and the seeds' spread is reported beside it.

    python benchmarks/ablate_pretraining_objective.py train --corpus runs/corpus_mix --out runs/ablation_objective
    python benchmarks/ablate_pretraining_objective.py evaluate --out runs/ablation_objective --write
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, write_section  # noqa: E402

# Recipe name -> config overrides of the tiny preset. "mae" is the paper's objective as shipped.
RECIPES: dict[str, dict] = {
    "mae": {},
    "mae_contrastive": {"contrastive_weight": 1.0},
    # (c): predict an EMA teacher's features of the masked patches (data2vec / JEPA style), no reconstruction
    "latent": {"reconstruction_weight": 0.0, "latent_weight": 1.0},
    # (d): each channel's pooled embedding also predicts the generator's known physiology it can show
    "mae_auxiliary": {
        "auxiliary_weight": 1.0,
        "auxiliary_targets": [
            "heart_rate_bpm", "hrv_rmssd_ms", "respiration_rate_bpm", "cadence_spm", "activity_level", "noise_level",
        ],
    },
    # part 3: MAE on physiologically augmented rows (rate jitter, amplitude / polarity, channel dropout, sensor
    # noise, chunk swap: data/physio_augment.py); the augmentation lives in the collator, not the config
    "mae_augmented": {},
}  # fmt: skip
RECIPE_OPTIONS: dict[str, list[str]] = {"mae_augmented": ["--augment", "physio"]}
PRETRAIN_OPTIONS = [
    "--config", "tiny", "--per_device_batch_size", "32", "--base_lr", "0.012", "--warmup_steps", "100",
    "--checkpoint_every", "200", "--log_every", "25", "--report_to", "none", "--no_progress",
]  # fmt: skip


def run_folder(out: Path, recipe: str, seed: int) -> Path:
    return out / f"{recipe}-seed{seed}"


def pretrain(corpus: str, folder: Path, recipe: str, seed: int, max_steps: int, max_minutes: float | None) -> None:
    command = [
        sys.executable, "-m", "normwear_hf.cli", "pretrain", "--corpus", corpus, "--output_dir", str(folder),
        "--seed", str(seed), "--max_steps", str(max_steps), "--resume_from_checkpoint", "latest",
        "--config_overrides", json.dumps(RECIPES[recipe]), *PRETRAIN_OPTIONS, *RECIPE_OPTIONS.get(recipe, []),
    ]  # fmt: skip
    if max_minutes is not None:
        command += ["--max_minutes", str(max_minutes)]
    subprocess.run(command, check=True)


def finished(folder: Path) -> bool:
    summary = folder / "training_summary.json"
    return summary.exists() and not json.loads(summary.read_text()).get("stopped_by_time_budget", False)


def calibrate(corpus: str, out: Path, recipes: list[str], calibration_steps: int) -> dict[str, float]:
    """Segments per second of each recipe, measured back to back (the last logged window of a short run)."""
    rates = {}
    for recipe in recipes:
        folder = out / "calibration" / recipe
        if not finished(folder):
            pretrain(corpus, folder, recipe, 0, calibration_steps, None)
        records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
        rates[recipe] = records[-1]["segments_per_s"]
    return rates


def train(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plan_path = out / "plan.json"
    if plan_path.exists():
        plan = json.loads(plan_path.read_text())  # keep the step counts of the first invocation
        added = [recipe for recipe in args.recipes if recipe not in plan["steps"]]
        if added:
            plan = add_recipes(args, plan, added)
            plan_path.write_text(json.dumps(plan, indent=2))
    else:
        rates = calibrate(args.corpus, out, args.recipes, args.calibration_steps)
        steps = {recipe: int(args.minutes * 60 * rates[recipe] / 32) for recipe in args.recipes}
        plan = {"minutes": args.minutes, "segments_per_s": rates, "steps": steps, "corpus": args.corpus}
        plan_path.write_text(json.dumps(plan, indent=2))
    print(json.dumps(plan, indent=2), flush=True)
    for seed in args.seeds:
        for recipe in args.recipes:
            folder = run_folder(out, recipe, seed)
            if finished(folder):
                continue
            started = time.perf_counter()
            pretrain(args.corpus, folder, recipe, seed, plan["steps"][recipe], args.budget_minutes)
            print(f"{folder.name}: {time.perf_counter() - started:.0f} s", flush=True)


def add_recipes(args: argparse.Namespace, plan: dict, added: list[str]) -> dict:
    """A recipe added to an existing ablation gets the same compute as the others: its throughput is measured
    back to back with a recipe already in the plan, in today's conditions, and its steps are scaled by the
    ratio (absolute throughput drifts with the machine's load; the ratio much less). ``--same_steps_as R``
    skips the measurement for recipes whose extra work is negligible (a linear head on pooled vectors): on a
    shared machine a short calibration can be off by several times, which equal steps are not."""
    if args.same_steps_as is not None:
        for recipe in added:
            plan["steps"][recipe] = plan["steps"][args.same_steps_as]
            plan["segments_per_s"][recipe] = plan["segments_per_s"][args.same_steps_as]
        plan.setdefault("added", []).append({"recipes": added, "same_steps_as": args.same_steps_as})
        return plan
    reference = next(iter(plan["steps"]))
    costs = relative_step_costs(plan["corpus"], reference, added)
    for recipe in added:
        plan["steps"][recipe] = int(plan["steps"][reference] / costs[recipe])
        plan["segments_per_s"][recipe] = plan["segments_per_s"][reference] / costs[recipe]
    plan.setdefault("added", []).append({"recipes": added, "reference": reference, "relative_step_cost": costs})
    return plan


def relative_step_costs(corpus: str, reference: str, recipes: list[str], rounds: int = 7) -> dict[str, float]:
    """Seconds per training step of each recipe over the reference's, timed interleaved on one fixed batch
    (reference, recipe, reference, recipe, ...) and taken as the median of the per-round ratios, so load that
    drifts during the measurement cancels out."""
    import torch

    from normwear_hf.data.collator import NormWearCollator
    from normwear_hf.data.corpus_io import load_corpus
    from normwear_hf.feature_extraction_normwear import NormWearFeatureExtractor
    from normwear_hf.modeling_normwear import NormWearForMaskedReconstruction
    from normwear_hf.training.pretrain import load_config

    rows = load_corpus(corpus).select(range(32))
    names = [reference, *recipes]
    setups = {}
    for name in names:
        config = load_config("tiny", RECIPES[name])
        torch.manual_seed(0)
        model = NormWearForMaskedReconstruction(config).train()
        collator = NormWearCollator(
            NormWearFeatureExtractor(),
            return_signal=config.reconstruction_target != "scalogram",
            auxiliary_targets=config.auxiliary_targets if config.auxiliary_weight > 0 else (),
        )
        setups[name] = (model, torch.optim.AdamW(model.parameters(), lr=1e-6), collator(list(rows)))

    def step_seconds(name: str) -> float:
        model, optimizer, batch = setups[name]
        started = time.perf_counter()
        model(**batch, mask_seed=0).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        model.update_teacher()
        return time.perf_counter() - started

    for name in names:  # warm-up
        step_seconds(name)
    ratios: dict[str, list[float]] = {name: [] for name in recipes}
    for _ in range(rounds):
        for name in recipes:
            ratios[name].append(step_seconds(name) / step_seconds(reference))
    costs = {name: float(np.median(values)) for name, values in ratios.items()}
    print("relative step cost:", json.dumps(costs), flush=True)
    return costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="phase", required=True)
    train_parser = sub.add_parser("train")
    train_parser.add_argument("--corpus", required=True)
    train_parser.add_argument("--out", required=True)
    train_parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    train_parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    train_parser.add_argument("--minutes", type=float, default=8.0, help="compute per run, in minutes")
    train_parser.add_argument("--calibration_steps", type=int, default=40)
    train_parser.add_argument(
        "--same_steps_as",
        choices=list(RECIPES),
        default=None,
        help="a recipe added to an existing plan takes this recipe's steps instead of a measured share",
    )
    train_parser.add_argument(
        "--budget_minutes", type=float, default=None, help="stop each invocation of a run after this (resumable)"
    )
    evaluate_parser = sub.add_parser("evaluate")
    evaluate_parser.add_argument("--out", required=True)
    evaluate_parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    evaluate_parser.add_argument("--tasks", nargs="+", default=None, help="default: every real task")
    evaluate_parser.add_argument("--bootstrap", type=int, default=1000)
    render_parser = sub.add_parser("render", help="the tables of an evaluated ablation, from its evaluation.json")
    render_parser.add_argument("--out", required=True)
    for phase_parser in (evaluate_parser, render_parser):
        phase_parser.add_argument("--write", action="store_true", help="write the tables to docs/benchmarks.md")
        phase_parser.add_argument("--section", default="ablation-objective", help="docs/benchmarks.md section name")
    args = parser.parse_args(argv)
    if args.phase == "train":
        train(args)
    elif args.phase == "evaluate":
        evaluate(args)
    else:
        render(args)
    return 0


POOLINGS = ("probe", "probe_rich", "probe_level")


def probe_view(rich, levels, pooling: str, width: int):
    """``probe_rich`` holds ``probe`` as the first ``width`` values of each channel's five summaries;
    ``probe_level`` is ``probe`` with the model-free channel levels appended."""
    from normwear_hf.evaluation.probe import with_levels
    from normwear_hf.modeling_normwear import RICH_SUMMARIES

    if pooling == "probe_rich":
        return rich
    probe = rich.reshape(rich.shape[0], -1, len(RICH_SUMMARIES) * width)[:, :, :width].reshape(rich.shape[0], -1)
    return with_levels(probe, levels) if pooling == "probe_level" else probe


def evaluate(args: argparse.Namespace) -> None:
    from normwear_hf.evaluation.baselines import statistical_features
    from normwear_hf.evaluation.benchmark import load_model, random_twin
    from normwear_hf.evaluation.paired import PairedScores, paired_bootstrap
    from normwear_hf.evaluation.probe import _metric_function, channel_levels, extract_embeddings, fit_probe
    from normwear_hf.evaluation.tasks import REAL_TASKS, TASK_CORPUS_SOURCES, load_task

    out = Path(args.out)
    plan = json.loads((out / "plan.json").read_text())
    runs = {
        recipe: [run_folder(out, recipe, seed) for seed in args.seeds if finished(run_folder(out, recipe, seed))]
        for recipe in plan["steps"]
    }
    seeds_done = {recipe: [int(f.name.rsplit("seed", 1)[1]) for f in folders] for recipe, folders in runs.items()}
    print("finished runs:", seeds_done, flush=True)
    cache = out / "embedding_cache"
    fits: dict[str, dict[str, dict]] = {}  # task -> "pooling:method key" -> probe fit
    tasks = {}
    encoders = []  # (key, model, extractor)
    for recipe, folders in runs.items():
        for folder in folders:
            model, extractor, _ = load_model(str(folder))
            seed = int(folder.name.rsplit("seed", 1)[1])
            encoders.append((f"{recipe}/{seed}", model, extractor))
            if not any(key == f"random/{seed}" for key, _, _ in encoders):
                encoders.append((f"random/{seed}", random_twin(model, seed), extractor))
    for name in args.tasks or REAL_TASKS:
        task = load_task(name, seed=0, max_test=1000)
        tasks[name] = task
        fits[name] = {}
        levels = {}  # the same extractor config serves every encoder
        for key, model, extractor in encoders:
            if str(extractor.to_dict()) not in levels:
                levels[str(extractor.to_dict())] = [channel_levels(extractor, rows) for rows in (task.train, task.test)]
            train_levels, test_levels = levels[str(extractor.to_dict())]
            train_rich, test_rich = (
                extract_embeddings(model, extractor, rows, pooling="probe_rich", cache_dir=cache, progress=False)
                for rows in (task.train, task.test)
            )
            width = model.config.hidden_size
            for pooling in POOLINGS:
                train_x = probe_view(train_rich, train_levels, pooling, width)
                test_x = probe_view(test_rich, test_levels, pooling, width)
                fits[name][f"{pooling}:{key}"] = fit_probe(train_x, task.y_train, test_x, task.y_test, task.kind)
        train_x, test_x = statistical_features(task.train), statistical_features(task.test)
        fits[name]["statistics"] = fit_probe(train_x, task.y_train, test_x, task.y_test, task.kind)
        print(f"{name}: probed {len(fits[name])} feature sets", flush=True)

    auroc = _metric_function("auroc")
    # tasks whose recordings the pretraining corpus also holds (unlabelled) are reported, but kept out of the
    # "unseen" macro that claims rest on
    sources = set(json.loads((Path(plan["corpus"]) / "manifest.json").read_text())["composition"]["by_source"])
    unseen = [name for name in tasks if TASK_CORPUS_SOURCES.get(name) not in sources]
    report: dict = {"plan": plan, "seeds": seeds_done, "tasks": list(tasks), "unseen_tasks": unseen, "recipes": {}}
    statistics = {name: fits[name]["statistics"]["scores"] for name in tasks}
    references = {name: fits[name]["statistics"]["references"] for name in tasks}
    for pooling in POOLINGS:
        for recipe, seeds in seeds_done.items():
            if not seeds:
                continue
            mine = {name: [fits[name][f"{pooling}:{recipe}/{s}"]["scores"] for s in seeds] for name in tasks}
            twins = {name: [fits[name][f"{pooling}:random/{s}"]["scores"] for s in seeds] for name in tasks}
            entry = {
                "pooling": pooling,
                "seeds": seeds,
                "auroc": {name: [float(auroc(references[name], a)) for a in mine[name]] for name in tasks},
                "random_auroc": {name: [float(auroc(references[name], b)) for b in twins[name]] for name in tasks},
            }
            for other, theirs in (("random", twins), ("statistics", {n: [statistics[n]] for n in tasks})):
                paired = {name: PairedScores(references[name], mine[name], theirs[name]) for name in tasks}
                entry[f"vs_{other}"] = paired_bootstrap(paired, n=args.bootstrap, seed=0)
                fresh = {name: paired[name] for name in unseen}
                entry[f"vs_{other}_unseen"] = paired_bootstrap(fresh, n=args.bootstrap, seed=0)["macro"]
                entry[f"vs_{other}_per_seed_macro"] = [
                    float(np.mean(values)) for values in zip(*(paired[name].per_seed_differences() for name in tasks))
                ]
            report["recipes"][f"{recipe} ({pooling})"] = entry
    report["statistics_auroc"] = {name: float(auroc(references[name], statistics[name])) for name in tasks}
    report["date"], report["bootstrap"] = date.today().isoformat(), args.bootstrap
    (out / "evaluation.json").write_text(json.dumps(report, indent=2))
    render(args)


def render(args: argparse.Namespace) -> None:
    """Print (and with ``--write`` store) the tables of an evaluated ablation, from its evaluation.json."""
    report = json.loads((Path(args.out) / "evaluation.json").read_text())
    markdown = to_markdown(report, args)
    print(markdown)
    if args.write:
        write_section(args.section, markdown)


def to_markdown(report: dict, args: argparse.Namespace) -> str:
    from normwear_hf.evaluation.paired import format_difference

    plan, tasks, unseen = report["plan"], report["tasks"], report["unseen_tasks"]
    throughput = ", ".join(
        f"{r}: {plan['segments_per_s'][r]:.0f} segments/s, {plan['steps'][r]} steps" for r in plan["steps"]
    )
    lines = [
        f"## Pretraining objective ablation, {plan['minutes']:g} CPU-min per run (real tasks, paired against the "
        "random twin and statistics)",
        "",
        f"{machine_description()}, {report.get('date', date.today().isoformat())}. Commands:",
        "",
        "```bash",
        f"python benchmarks/ablate_pretraining_objective.py train --corpus {plan['corpus']} --out {args.out} "
        f"--minutes {plan['minutes']:g}",
        f"python benchmarks/ablate_pretraining_objective.py evaluate --out {args.out} --section {args.section} --write",
        "```",
        "",
        f"Tiny preset, batch 32, equal compute per run: {plan['minutes']:g} min at each recipe's measured throughput "
        f"({throughput}). Linear probes on frozen embeddings, three poolings of the same forward pass: `probe` "
        "(token mean per channel, channels concatenated), `probe_rich` (per channel: token mean, max and time-third "
        "means) and `probe_level` (`probe` plus each channel's level, log10 of the mean |x| that the extractor's "
        f"normalisation divides out). Real tasks only: {', '.join(tasks)}. Differences are paired (the same test "
        f"resamples score both sides, {report.get('bootstrap', 1000)} resamples, macro = unweighted mean over tasks, "
        "each task redrawn independently) and averaged over the pretraining seeds; brackets are 95% intervals over "
        "test-set resampling; the seeds' own spread of the macro difference is the sd column. The *unseen* macro "
        "leaves out tasks whose recordings the pretraining corpus also holds, unlabelled; it covers "
        f"{', '.join(unseen)}.",
        "",
        "| recipe (pooling) | seeds | macro AUROC | vs random twin | seed sd | vs 16 statistics | unseen: vs random "
        "twin | unseen: vs statistics |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for recipe, entry in report["recipes"].items():
        macro = np.mean([np.mean(values) for values in entry["auroc"].values()])
        per_seed = entry["vs_random_per_seed_macro"]
        sd = f"{np.std(per_seed, ddof=1):.3f}" if len(per_seed) > 1 else "n/a"
        lines.append(
            f"| {recipe} | {len(entry['seeds'])} | {macro:.3f} | "
            f"{format_difference(entry['vs_random']['macro'])} | {sd} | "
            f"{format_difference(entry['vs_statistics']['macro'])} | {format_difference(entry['vs_random_unseen'])} | "
            f"{format_difference(entry['vs_statistics_unseen'])} |"
        )
    lines += [
        "",
        "Per task: AUROC, mean over seeds (difference to the random twin of the same pooling, paired 95% interval).",
        "",
    ]
    recipes = list(report["recipes"])
    lines.append(
        "| task | statistics | "
        + " | ".join(f"random twin, {p}" for p in POOLINGS)
        + " | "
        + " | ".join(recipes)
        + " |"
    )
    lines.append("|---|---|" + "---|" * (len(POOLINGS) + len(recipes)))
    for task in tasks:
        twins = []
        for pooling in POOLINGS:
            entry = next((e for e in report["recipes"].values() if e["pooling"] == pooling), None)
            twins.append(f"{np.mean(entry['random_auroc'][task]):.3f}" if entry else "n/a")
        cells = [
            f"{np.mean(e['auroc'][task]):.3f} ({format_difference(e['vs_random'][task])})"
            for e in report["recipes"].values()
        ]
        mark = "" if task in unseen else " (seen unlabelled)"
        lines.append(f"| {task}{mark} | {report['statistics_auroc'][task]:.3f} | " + " | ".join(twins + cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
