"""Zero-shot on the held-out tasks: the task objective against the caption objective, over training seeds, with
MSiTF and the CLAP-style baseline (mean-pooled tokens, one linear map) trained on the same data each.

Phase ``run`` builds the views, the frozen backbone's tokens and the text embeddings once, then trains every
(objective, seed, aggregator) on them: the seed changes the aggregator's initialisation and the batch order, the
data stay fixed. Each finished (objective, seed) is written to ``runs.json`` at once, so a killed run resumes
where it stopped; the MSiTF model of each is saved beside it. Phase ``report`` prints (and with ``--write``
stores in docs/benchmarks.md) per-task mean +- sd over seeds, the macros, and the recipe choice.

The recipe is chosen before the held-out numbers are read, by a rule fixed in docs/zero_shot.md: the objective
with the higher transfer-check macro (mean over seeds) ships, provided its held-in validation macro is within
0.03 of the other's; held-out numbers are reported, never used to choose.

    python benchmarks/zero_shot_held_out.py run --model normwear --out runs/zs_heldout --seeds 0 1 2
    python benchmarks/zero_shot_held_out.py report --out runs/zs_heldout --write
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, write_section  # noqa: E402

from normwear_hf.utils.atomic import write_text_atomic  # noqa: E402
from normwear_hf.zero_shot.train import (  # noqa: E402
    HEAD_OPTIONS,
    OBJECTIVES,
    ZeroShotArguments,
    add_head_options,
    head_options,
    prepare_run,
    train_and_score,
)

RUNS_FILE = "runs.json"
SECTION = "zero-shot-captions"
VALIDATION_TOLERANCE = 0.03
SPLITS = ("validation", "transfer_check", "held_out")
DATA_OPTIONS = ("synthetic_count", "steps", "refine_steps")  # a recipe may change them; its runs record them


def _summary(entry: dict) -> dict:
    """What the report needs of one trained aggregator: every split's per-task AUROC and macro."""
    out = {split: {name: scores["auroc"] for name, scores in entry[split].items()} for split in SPLITS}
    out.update({f"{split}_macro": entry[f"{split}_macro_auroc"] for split in SPLITS})
    out["calibration_temperature"] = entry["calibration_temperature"]
    out["final_loss"] = entry["history"][-1]["loss"] if entry["history"] else float("nan")
    return out


def run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RUNS_FILE
    done = json.loads(path.read_text()) if path.exists() else {"runs": {}}
    base_args = ZeroShotArguments(
        model=args.model,
        output_dir=str(out),
        objective="captions",
        synthetic_count=args.synthetic_count,
        held_out_count=args.held_out_count,
        steps=args.steps,
        refine_steps=args.refine_steps,
        aggregators=list(args.aggregators),
        caption_retime_fraction=args.caption_retime_fraction,
        progress=not args.no_progress,
        **head_options(vars(args)),
    )
    base, extractor, encoder, splits, data = prepare_run(base_args)
    done.setdefault("arguments", dataclasses.asdict(base_args))  # the first run's; variants record their own
    done.setdefault("captioned_views", len(splits.captioned))  # the shared arguments' data, as "arguments"
    done["held_out_views"] = {name: len(views) for name, views in splits.held_out.items()}
    for seed in args.seeds:  # seed-major: a run cut short still compares the objectives on equal seeds
        for objective in args.objectives:
            key = f"{objective}{args.label_suffix}-seed{seed}"
            if key in done["runs"]:
                continue
            run_args = dataclasses.replace(base_args, objective=objective, seed=seed)
            entry, clock = {}, time.perf_counter()
            for aggregator in args.aggregators:
                model, scores = train_and_score(aggregator, base, encoder, splits, data, run_args)
                entry[aggregator] = _summary(scores)
                if aggregator == "msitf":
                    model.save_pretrained(out / key)
                    extractor.save_pretrained(out / key)
            entry["train_s"] = time.perf_counter() - clock
            entry["caption_retime_fraction"] = args.caption_retime_fraction
            entry.update({name: getattr(args, name) for name in DATA_OPTIONS}, captioned_views=len(splits.captioned))
            entry.update(head_options(vars(args)))
            done = _merged(path, done, key, entry)
            scores = [f"{a} held-out {entry[a]['held_out_macro']:.3f}" for a in args.aggregators]
            print(f"{key}: " + ", ".join(scores), flush=True)


def _merged(path: Path, done: dict, key: str, entry: dict) -> dict:
    """``done`` with ``key`` added, merged into what the file holds now (another variant may run beside this
    one and write to the same file), written atomically."""
    current = json.loads(path.read_text()) if path.exists() else {}
    merged = {**done, **current, "runs": {**done["runs"], **current.get("runs", {}), key: entry}}
    write_text_atomic(path, json.dumps(merged, indent=1, default=float) + "\n")
    return merged


def _stats(values: list[float]) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "n/a"
    return f"{np.mean(values):.3f} +- {np.std(values, ddof=1) if len(values) > 1 else 0.0:.3f}"


def _column(runs: dict, recipe: str, aggregator: str, pick) -> list[float]:
    entries = [entry for key, entry in sorted(runs.items()) if _recipe(key) == recipe]
    return [pick(entry[aggregator]) for entry in entries if aggregator in entry]


def _recipe(key: str) -> str:
    return key.rsplit("-seed", 1)[0]


def choose(runs: dict, objectives: list[str]) -> tuple[str, dict]:
    """The rule fixed before the runs: highest mean transfer-check macro (MSiTF), validation within tolerance."""
    means = {
        objective: {
            split: float(np.mean(_column(runs, objective, "msitf", lambda e, s=split: e[f"{s}_macro"])))
            for split in ("validation", "transfer_check")
        }
        for objective in objectives
    }
    best_validation = max(m["validation"] for m in means.values())
    eligible = [o for o in objectives if means[o]["validation"] >= best_validation - VALIDATION_TOLERANCE]
    return max(eligible, key=lambda o: means[o]["transfer_check"]), means


def recipe_command(recipe: str, entry: dict, arguments: dict) -> str:
    """The ``run`` options that reproduce ``recipe`` (an objective plus a ``--label_suffix`` variant), with the
    data options where they differ from the shared ``arguments``."""
    objective = next(o for o in sorted(OBJECTIVES, key=len, reverse=True) if recipe.startswith(o))
    parts = [f"--objectives {objective}"]
    if recipe != objective:
        parts.append(f"--label_suffix {recipe[len(objective) :]}")
    parts.append(f"--caption_retime_fraction {entry.get('caption_retime_fraction', 0.0)}")
    parts += [f"--no_{name}" for name in HEAD_OPTIONS if not entry.get(name, False)]  # absent: run before it existed
    parts += [f"--{name} {entry[name]}" for name in DATA_OPTIONS if entry.get(name, arguments[name]) != arguments[name]]
    return " ".join(parts)


def to_markdown(done: dict) -> str:
    runs = done["runs"]
    objectives = list(dict.fromkeys(_recipe(key) for key in runs))
    first = {_recipe(key): entry for key, entry in sorted(runs.items(), reverse=True)}
    rows = [(o, a) for o in objectives for a in ("msitf", "mean_linear") if _column(runs, o, a, lambda e: 1.0)]
    seeds = sorted({int(key.rsplit("seed", 1)[1]) for key in runs})
    arguments = done["arguments"]
    label = {"msitf": "MSiTF", "mean_linear": "CLAP-style"}
    tasks = list(next(iter(runs.values()))["msitf"]["held_out"])
    lines = [
        "## Zero-shot recipes on the held-out list v2 (caption alignment, rhythm token, question conditioning)",
        "",
        f"{machine_description()}, {date.today().isoformat()}. Backbone `{arguments['model']}`; "
        f"{arguments['synthetic_count']} generator rows, {done['captioned_views']} captioned views, "
        f"{arguments['steps']} + {arguments['refine_steps']} steps of {arguments['batch_size']}; seeds {seeds} "
        "(aggregator initialisation and batch order; the data are the same unless a recipe's options below change "
        "them). Each recipe was run with",
        "",
        "```bash",
        f"python benchmarks/zero_shot_held_out.py run --model {arguments['model']} --out runs/zs_heldout "
        f"--seeds {' '.join(map(str, seeds))} --synthetic_count {arguments['synthetic_count']} "
        f"--steps {arguments['steps']} --refine_steps {arguments['refine_steps']} RECIPE_OPTIONS",
        "python benchmarks/zero_shot_held_out.py report --out runs/zs_heldout --write",
        "```",
        "",
        "RECIPE_OPTIONS per recipe: "
        + "; ".join(f"`{recipe}`: `{recipe_command(recipe, first[recipe], arguments)}`" for recipe in objectives)
        + ". AUROC (one-vs-rest macro over the classes present), mean +- sd over seeds. Held-out views: "
        + ", ".join(f"{name} {n}" for name, n in done["held_out_views"].items())
        + ".",
        "",
        "| recipe, head | "
        + " | ".join(tasks)
        + " | **held-out macro** | lowest task | validation | transfer checks |",
        "|---|" + "---|" * (len(tasks) + 4),
    ]
    for o, a in rows:
        cells = [_stats(_column(runs, o, a, lambda e, n=name: e["held_out"].get(n, float("nan")))) for name in tasks]
        macros = {
            split: _stats(_column(runs, o, a, lambda e, s=split: e[f"{s}_macro"]))
            for split in ("held_out", "validation", "transfer_check")
        }
        worst = min(np.mean(_column(runs, o, a, lambda e, n=n: e["held_out"][n])) for n in tasks)
        cells += [f"**{macros['held_out']}**", f"{worst:.3f}", macros["validation"], macros["transfer_check"]]
        lines.append(f"| {o}, {label[a]} | " + " | ".join(cells) + " |")
    chosen, means = choose(runs, objectives)
    lines += [
        "",
        "Recipe choice (rule fixed beforehand, MSiTF, validation and transfer-check columns only): "
        + "; ".join(
            f"{o}: validation {m['validation']:.3f}, transfer checks {m['transfer_check']:.3f}"
            for o, m in means.items()
        )
        + f" -> **{chosen}**.",
    ]
    return "\n".join(lines) + "\n"


def report(args: argparse.Namespace) -> None:
    done = json.loads((Path(args.out) / RUNS_FILE).read_text())
    markdown = to_markdown(done)
    print(markdown)
    if args.write:
        write_section(SECTION, markdown)
    if args.seed_runs_into:
        add_seed_runs(done, args.recipe, Path(args.seed_runs_into))


def add_seed_runs(done: dict, recipe: str, results_path: Path) -> None:
    """Write ``recipe``'s per-seed held-out macros into a ``zero_shot_results.json`` as ``seed_runs`` (the model
    card's seed-spread sentence), after checking that the file's head was trained with that recipe's options."""
    runs = {key: entry for key, entry in done["runs"].items() if _recipe(key) == recipe}
    if not runs:
        raise SystemExit(f"No runs of recipe {recipe!r} in the runs file.")
    results = json.loads(results_path.read_text())
    arguments = results.get("arguments", {})
    entry = next(iter(runs.values()))
    for key in HEAD_OPTIONS:
        if arguments.get(key, False) != entry.get(key, False):
            raise SystemExit(f"{results_path} was trained with {key}={arguments.get(key)}, recipe {recipe!r} without.")
    results["seed_runs"] = [
        {
            "seed": int(key.rsplit("seed", 1)[1]),
            "macro_auroc": entry["msitf"]["held_out_macro"],
            "clap_macro_auroc": entry["mean_linear"]["held_out_macro"],
        }
        for key, entry in sorted(runs.items())
    ]
    seed = arguments.get("seed")
    same = next((run for run in results["seed_runs"] if run["seed"] == seed), None)
    own = results.get("macro_auroc")
    if same is not None and own is not None and abs(same["macro_auroc"] - own) > 1e-4:
        results["seed_runs_note"] = (
            f"this checkpoint is seed {seed} trained again by examples/train_zero_shot.py ({own:.3f}, against "
            f"{same['macro_auroc']:.3f} in the seed runs, which differ from it in thread count and floating-point "
            "summation order)"
        )
    write_text_atomic(results_path, json.dumps(results, indent=2, default=float) + "\n")
    print(f"wrote seed_runs of {recipe} ({len(runs)} seeds) into {results_path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="phase", required=True)
    run_parser = sub.add_parser("run")
    run_parser.add_argument("--model", default="normwear")
    run_parser.add_argument("--out", default="runs/zs_heldout")
    run_parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    run_parser.add_argument("--objectives", nargs="+", default=list(OBJECTIVES), choices=OBJECTIVES)
    run_parser.add_argument("--aggregators", nargs="+", default=["msitf", "mean_linear"])
    defaults = ZeroShotArguments(model="")
    for name in ("synthetic_count", "held_out_count", "steps", "refine_steps"):
        run_parser.add_argument(f"--{name}", type=int, default=getattr(defaults, name))
    run_parser.add_argument("--caption_retime_fraction", type=float, default=defaults.caption_retime_fraction)
    run_parser.add_argument("--label_suffix", default="", help="appended to the objective in run names (a variant)")
    add_head_options(run_parser)
    run_parser.add_argument("--no_progress", action="store_true")
    report_parser = sub.add_parser("report")
    report_parser.add_argument("--out", default="runs/zs_heldout")
    report_parser.add_argument("--seed_runs_into", help="a zero_shot_results.json to give the recipe's seed macros")
    report_parser.add_argument("--recipe", default="captions_stream_centred", help="with --seed_runs_into")
    report_parser.add_argument(
        "--write", action="store_true", help=f"store the tables in docs/benchmarks.md ({SECTION})"
    )
    args = parser.parse_args(argv)
    (run if args.phase == "run" else report)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
