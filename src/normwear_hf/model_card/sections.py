"""The card's prose, rendered from the inputs: title and summary, training, evaluation, zero-shot, and the
limitations they imply.

Every number in these sections comes from a file a run wrote; where a file is missing the section says what is
not recorded instead of leaving a gap.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import statistics
from collections.abc import Mapping
from typing import Any

from ..evaluation.benchmark import METHOD_LABELS, paired_markdown
from ..evaluation.paired import format_difference
from .comparison import RandomInitComparison
from .constants import (
    BOUNDED_METRICS,
    CARD_METHODS,
    LOWER_IS_BETTER,
    PAPER_CORPUS_HOURS,
    PAPER_URL,
    UNTESTED_APPLICATIONS,
)
from .inputs import TrainingRun, is_number, main_metric, main_score, scored_tasks

__all__ = [
    "architecture_of",
    "benchmark_limitation",
    "card_title",
    "corpus_limitation",
    "evaluation_section",
    "summary_paragraph",
    "training_section",
    "untested_limitation",
    "warning_notes",
]


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds:.0f} s ({seconds / 60:.1f} min)"
    return f"{seconds / 3600:.1f} h"


def card_title(run: TrainingRun | None, architecture: Mapping[str, Any] | None) -> str:
    """``NormWear tiny (1.2 M parameters)``: the preset's name when the run used one, the backbone's size."""
    size = f" ({architecture['parameters'] / 1e6:.1f} M parameters)" if architecture else ""
    preset = (run.args or {}).get("config") if run is not None else None
    return f"NormWear{' ' + preset if preset and '/' not in preset and '.' not in preset else ''}{size}"


def summary_paragraph(run: TrainingRun | None, sampling_rate: float) -> str:
    """What the model is, with the rate its feature extractor resamples to, and how long it was pretrained."""
    summary = (
        f"A [NormWear]({PAPER_URL}) backbone for multivariate wearable physiological signals, re-implemented in "
        f"normwear-hf: every channel is resampled to {sampling_rate:g} Hz and turned into a Mexican-hat wavelet "
        "scalogram (signal, first and second difference), a channel-shared transformer encodes its patches, and [CLS] "
        "tokens are fused across channels. It maps recordings of any sampling rate, length and channel count (PPG, "
        "ECG, EEG, EDA, respiration, IMU, EMG) to embeddings: one vector per recording, per channel, or the paper's "
        "probing embedding."
    )
    if run is not None and run.summary and is_number(run.summary.get("steps")):
        summary += f" Pretrained by masked reconstruction for {int(run.summary['steps']):,} steps (see Training)."
    return summary


def warning_notes(results: Mapping[str, Any], comparison: RandomInitComparison) -> str:
    """Block quotes under the title: quick benchmark settings, random weights, or weights that rarely beat them."""
    notes = []
    if results.get("quick"):
        notes.append(
            "> **Warning.** The benchmark numbers below come from `--quick` settings (small test sets, few "
            "resamples): a smoke test, not a result."
        )
    if comparison.identical:
        notes.append(
            "> **Warning.** On every benchmark task this model scores exactly like its random-init twin: the "
            "weights evaluated are the random initialisation."
        )
    elif comparison.compared and not comparison.beats_on_most:
        notes.append(
            f"> **Note.** Pretraining beats random initialisation on only {len(comparison.wins)} of "
            f"{comparison.compared} benchmark tasks (see Evaluation)."
        )
    return "\n\n".join(notes)


def architecture_of(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """Width, depth, heads, patch and backbone parameters of a NormWear ``config.json`` (None for other models)."""
    if config.get("model_type") != "normwear":
        return None
    import torch

    from ..configuration_normwear import NormWearConfig
    from ..modeling_normwear import NormWearModel

    known = {key: value for key, value in config.items() if key not in ("architectures", "auto_map")}
    normwear_config = NormWearConfig.from_dict(known)
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        backbone = NormWearModel(normwear_config)
    return {
        "width": normwear_config.hidden_size,
        "layers": normwear_config.num_hidden_layers,
        "fusion": len(backbone.encoder.fusion_layers),
        "heads": normwear_config.num_attention_heads,
        "mlp": normwear_config.intermediate_size,
        "patch": tuple(normwear_config.patch_size),
        "parameters": sum(parameter.numel() for parameter in backbone.parameters()),
        "mask_strategy": normwear_config.mask_strategy,
        "mask_time_ratio": normwear_config.mask_time_ratio,
        "mask_scale_ratio": normwear_config.mask_scale_ratio,
        "mask_ratio": normwear_config.mask_ratio,
        "target": normwear_config.reconstruction_target,
    }


def _reconstructed_command(args: Mapping[str, Any]) -> str:
    """``normwear-hf pretrain`` with every option that differs from its default, from ``pretrain_args.json``."""
    from ..training.pretrain import PretrainArguments

    defaults = dataclasses.asdict(PretrainArguments())
    parts = ["normwear-hf", "pretrain", "--corpus", shlex.quote(str(args.get("corpus", "")))]
    for key, value in args.items():
        if key in ("corpus", "progress", "simulate_crash_at_step") or key not in defaults or value == defaults[key]:
            continue
        if isinstance(value, bool):
            if value:
                parts.append(f"--{key}")
            continue
        if value is None:
            continue
        text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        parts += [f"--{key}", shlex.quote(text)]
    return " ".join(parts)


def _corpus_statistics(composition: Mapping[str, Any]) -> tuple[str, float | None, float | None]:
    """A sentence about the corpus, its hours and its synthetic share (None when unknown)."""
    hours = composition.get("hours")
    segments = composition.get("segments")
    origin = composition.get("by_origin") or {}
    synthetic_hours = (origin.get("synthetic") or {}).get("hours")
    share = synthetic_hours / hours if is_number(synthetic_hours) and is_number(hours) and hours > 0 else None
    parts = []
    if is_number(segments) and is_number(hours):
        parts.append(f"{int(segments):,} segments, {hours:.2f} h")
    if share is not None:
        parts.append(f"{(1 - share) * 100:.0f}% real ({hours - synthetic_hours:.2f} h), {share * 100:.0f}% synthetic")
    sources = composition.get("by_source") or {}
    if sources:
        parts.append(f"sources: {_largest_first(sources, 'hours', ' h')}")
    by_type = composition.get("by_channel_type") or {}
    if by_type:
        parts.append(f"channel-hours by type: {_largest_first(by_type, 'channel_hours', '')}")
    return "; ".join(parts), (float(hours) if is_number(hours) else None), share


def _largest_first(entries: Mapping[str, Mapping[str, Any]], key: str, unit: str) -> str:
    """``name value unit`` for each entry, largest ``key`` first (``"sleepecg 3.10 h, heartpy 0.52 h"``)."""
    ranked = sorted(entries.items(), key=lambda item: -float(item[1].get(key) or 0))
    return ", ".join(f"{name} {entry.get(key, 0):.2f}{unit}" for name, entry in ranked)


def training_section(
    run: TrainingRun | None,
    config: Mapping[str, Any] | None,
    architecture: Mapping[str, Any] | None,
    command: str | None,
    corpus: str | None,
    machine: str | None,
    wall_time: str | None,
    loss_curve: str | None,
) -> str:
    """The Training section: corpus, architecture, the run's numbers, the command and the loss curve."""
    lines = _corpus_lines(run, corpus)
    lines += _architecture_lines(run, config, architecture)
    lines += _run_lines(run, machine, wall_time)
    lines += _command_lines(run, command, loss_curve)
    return "\n".join(lines).strip()


def _corpus_lines(run: TrainingRun | None, corpus: str | None) -> list[str]:
    lines = []
    if run is None:
        lines.append(
            "No pretraining run folder was given to the card generator, so steps, batch, loss and wall time are not "
            "recorded here."
        )
    composition = run.corpus_composition if run is not None else None
    corpus_line = corpus.strip() if corpus else ""
    if composition:
        statistics, _, _ = _corpus_statistics(composition)
        corpus_line = f"{corpus_line} ({statistics})" if corpus_line else statistics
        corpus_line += " (from the corpus manifest)."
    return lines + ["", f"**Corpus.** {corpus_line or 'not described.'}"]


def _architecture_lines(
    run: TrainingRun | None, config: Mapping[str, Any] | None, architecture: Mapping[str, Any] | None
) -> list[str]:
    lines: list[str] = []
    if architecture:
        preset = (run.args or {}).get("config") if run is not None else None
        overrides = (run.args or {}).get("config_overrides") if run is not None else None
        name = f"`{preset}`" if preset else "from config.json"
        if overrides:
            name += f" with `{json.dumps(overrides)}`"
        patch = architecture["patch"]
        lines += [
            "",
            "| config | width | depth (encoder + fusion blocks) | heads | MLP width | patch (time x scale) "
            "| parameters |",
            "|---|---|---|---|---|---|---|",
            f"| {_cell(name)} | {architecture['width']} | {architecture['layers']} + {architecture['fusion']} | "
            f"{architecture['heads']} | {architecture['mlp']} | {patch[0]} x {patch[1]} | "
            f"{architecture['parameters'] / 1e6:.1f} M ({architecture['parameters']:,}) |",
            "",
        ]
        if architecture["mask_strategy"] == "structured":
            masking = (
                f"structured masking ({architecture['mask_time_ratio']:.0%} of time rows, "
                f"{architecture['mask_scale_ratio']:.0%} of scale columns)"
            )
        else:
            masking = f"random masking ({architecture['mask_ratio']:.0%} of patches)"
        lines.append(
            f"Masked-reconstruction pretraining: {masking}, reconstruction target `{architecture['target']}`. "
            "The parameter count is the backbone's (the pretraining decoder is not part of the checkpoint's "
            "`NormWearModel`)."
        )
    elif config is not None:
        lines += ["", f"The config is not a NormWear one (model_type {config.get('model_type')!r})."]

    return lines


def _run_lines(run: TrainingRun | None, machine: str | None, wall_time: str | None) -> list[str]:
    """The table of steps, batch, learning rate, precision, loss, wall time and machine (a sentence without a run)."""
    lines: list[str] = []
    if run is not None:
        summary, args = run.summary or {}, run.args or {}
        steps = summary.get("steps", run.metrics[-1]["step"] if run.metrics else args.get("max_steps"))
        batch = summary.get("effective_batch")
        if batch is None and args:
            batch = args.get("per_device_batch_size", 0) * args.get("gradient_accumulation_steps", 1)
        batch_note = ""
        if args:
            batch_note = (
                f" ({args.get('per_device_batch_size')} per device x {args.get('gradient_accumulation_steps', 1)} "
                f"accumulation x {summary.get('world_size', 1)} process(es))"
            )
        seen = f"{int(steps) * int(batch):,}" if is_number(steps) and is_number(batch) else "unknown"
        if wall_time:
            wall = wall_time
        elif is_number(summary.get("wall_time_s")):
            wall = _duration(float(summary["wall_time_s"]))
        else:
            wall = "not recorded"
        learning_rate = summary.get("learning_rate")
        lr_text = f"{learning_rate:.3g}" if is_number(learning_rate) else "unknown"
        if args.get("base_lr") is not None and is_number(learning_rate):
            lr_text += f" (base {args['base_lr']:g} x batch / 256)"
        loss_text = "not logged"
        if run.metrics:
            first, last = run.metrics[0], run.metrics[-1]
            loss_text = f"{first['loss']:.3f} (step {first['step']}) -> {last['loss']:.3f} (step {last['step']})"
        lines += [
            "",
            "| steps | effective batch | segments seen | learning rate (after warm-up) | precision | loss | wall time "
            "| machine |",
            "|---|---|---|---|---|---|---|---|",
            f"| {steps if steps is not None else 'unknown'} | "
            f"{batch if batch is not None else 'unknown'}{batch_note} | "
            f"{seen} | {lr_text} | {args.get('mixed_precision', 'unknown')} | {loss_text} | {_cell(wall)} | "
            f"{_cell(machine or 'not recorded')} |",
        ]
    elif wall_time or machine:
        lines += ["", f"Wall time: {wall_time or 'not recorded'}. Machine: {machine or 'not recorded'}."]

    return lines


def _command_lines(run: TrainingRun | None, command: str | None, loss_curve: str | None) -> list[str]:
    lines: list[str] = []
    if command:
        lines += ["", "Command:", "", "```bash", command.strip(), "```"]
    elif run is not None and run.args:
        lines += [
            "",
            "Command (reconstructed from `pretrain_args.json`: options that differ from their defaults):",
            "",
            "```bash",
            _reconstructed_command(run.args),
            "```",
        ]
    if loss_curve:
        lines += ["", f"![Pretraining loss per optimizer step]({loss_curve})"]
    elif run is not None:
        lines += ["", "No `metrics.jsonl` in the run folder: no loss curve."]
    return lines


PROBE_EMBEDDINGS = {  # the benchmark's --pooling, as the card says it
    "probe": "token mean per channel, channels concatenated",
    "probe_level": "token mean per channel plus the channel's log10 amplitude, channels concatenated: "
    "`--pooling probe_level`",
    "probe_rich": "per channel the token mean, max and time-third means, channels concatenated: `--pooling probe_rich`",
}


def _format_score(score: tuple[float, float, float] | None) -> str:
    return "skipped" if score is None else f"{score[0]:.3f} [{score[1]:.3f}, {score[2]:.3f}]"


def evaluation_section(results: Mapping[str, Any], comparison: RandomInitComparison, task_scores: str | None) -> str:
    tasks = scored_tasks(results)
    methods = [m for m in CARD_METHODS if any(m in entry["methods"] for entry in tasks.values())]
    lines = [
        "Linear probes on frozen embeddings, the paper's protocol (`normwear-hf benchmark`): the probing embedding "
        f"({PROBE_EMBEDDINGS[results.get('pooling', 'probe')]}) goes through logistic regression (C = 1) or ridge "
        "on log(y + 1), beside the same architecture with random weights and three baselines on the same splits. "
        "Main metric: AUROC for classification (one-vs-one macro for several classes), relative accuracy in "
        "original units for regression (MAE where a target is 0); in brackets a bootstrap 95% interval over the "
        "test set.",
        "",
        f"Benchmark run: model `{results['model']}`, {results['date']}, {results['machine']}"
        + (", **quick settings (a smoke test, not a result)**" if results.get("quick") else "")
        + ".",
        "",
        "| task | kind | metric | n train / test | " + " | ".join(METHOD_LABELS[m] for m in methods) + " |",
        "|---|---|---|---|" + "---|" * len(methods),
    ]
    per_method: dict[str, list[float]] = {m: [] for m in methods}
    bounded = True
    for name, entry in tasks.items():
        metric = main_metric(entry)
        bounded = bounded and metric in BOUNDED_METRICS
        arrow = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
        cells = []
        for method in methods:
            score = main_score(entry["methods"].get(method))
            if score is not None:
                per_method[method].append(score[0])
            cells.append(_format_score(score))
        lines.append(
            f"| {name} | {entry['kind']} | {metric} ({arrow}) | {entry['n_train']} / {entry['n_test']} | "
            + " | ".join(cells)
            + " |"
        )
    complete = [m for m in methods if len(per_method[m]) == len(tasks)]
    means = {m: sum(per_method[m]) / len(per_method[m]) for m in complete}
    if bounded and means:
        lines.append(
            "| **mean** | | | | " + " | ".join(f"**{means[m]:.3f}**" if m in means else "n/a" for m in methods) + " |"
        )
    lines += ["", comparison.sentence(), ""]
    if results.get("paired"):
        lines += paired_markdown(results["paired"])[1:] + [""]
    if bounded and "normwear" in means and len(means) > 1:
        best = max(means, key=means.get)
        if best == "normwear":
            lines.append(f"Best mean main metric over the tasks: this model ({means[best]:.3f}).")
        else:
            lines.append(
                f"Best mean main metric over the tasks: {METHOD_LABELS[best]} ({means[best]:.3f}), against "
                f"{means['normwear']:.3f} for this model."
            )
    if task_scores:
        lines += ["", f"![Main metric per task and method, with 95% intervals]({task_scores})"]
    skipped = {name: entry["skipped"] for name, entry in results["tasks"].items() if "skipped" in entry}
    if skipped:
        lines += [
            "",
            "Skipped tasks (their data package was missing): " + "; ".join(f"{k} ({v})" for k, v in skipped.items()),
        ]
    notes = {name: entry["notes"] for name, entry in tasks.items() if entry.get("notes")}
    if notes:
        lines += ["", "Task notes:", ""] + [f"- {name}: {_cell(note)}" for name, note in notes.items()]
    lines += ["", "Few-shot (k per class) and 10% partial-shot probes are in the benchmark's `results.json`."]
    return "\n".join(lines)


def _number_or_na(value: Any, spec: str = ".3f") -> str:
    return format(value, spec) if is_number(value) else "n/a"


def benchmark_limitation(results: Mapping[str, Any], comparison: RandomInitComparison) -> str:
    tasks = scored_tasks(results)
    sizes = [int(entry["n_test"]) for entry in tasks.values() if is_number(entry.get("n_test"))]
    synthetic = sum(name.startswith("synthetic") for name in tasks)
    size_text = ""
    if sizes:
        span = f"{min(sizes):,}" if min(sizes) == max(sizes) else f"{min(sizes):,} to {max(sizes):,}"
        size_text = f", test sets of {span} cases"
    overlap = comparison.compared - len(comparison.separated_wins)
    return (
        f"- **Small benchmark.** {len(tasks)} tasks ({synthetic} of them synthetic){size_text}, linear probes "
        f"only, one pretraining seed; the 95% intervals of the model and its random-init twin overlap (or the model "
        f"does not win) on {overlap} of {comparison.compared} tasks."
    )


def untested_limitation(results: Mapping[str, Any], zero_shot: Mapping[str, Any] | None) -> str:
    """The applications this card has no number for; one drops out when a task name matches its keywords."""
    evaluated = [name.lower() for name in scored_tasks(results)]
    if zero_shot is not None:
        evaluated += [str(task["task"]).lower() for task in zero_shot["held_out_tasks"]]
    untested = [
        label for label, keywords in UNTESTED_APPLICATIONS if not any(k in name for name in evaluated for k in keywords)
    ]
    if not untested:
        return ""
    return (
        f"- **Never evaluated on:** {'; '.join(untested)}. Expect nothing on these until it is measured; the "
        "tables above are all this card claims."
    )


def corpus_limitation(run: TrainingRun | None) -> str:
    composition = run.corpus_composition if run is not None else None
    if composition:
        _, hours, share = _corpus_statistics(composition)
        mostly = share is not None and share > 0.5
        size = f"{hours:.1f} h of segments" if hours is not None else "An unrecorded number of hours"
        synthetic = f", {share * 100:.0f}% of it synthetic" if share is not None else ""
        return (
            f"- **Small{', mostly synthetic,' if mostly else ''} pretraining corpus.** {size}{synthetic}, against "
            f"the paper's {PAPER_CORPUS_HOURS} h of real recordings over nine corpora. Synthetic signals have simpler "
            "morphology, artefacts and device effects than real ones; what the model learned from them may not "
            "transfer to real devices."
        )
    return (
        "- **Small, mostly synthetic pretraining corpus** (the corpora normwear-hf builds hold tens of hours, most of "
        f"them synthetic; see Training), against the paper's {PAPER_CORPUS_HOURS} h of real recordings over nine "
        "corpora. What the model learned from synthetic signals may not transfer to real devices."
    )


def seed_ablation_section(ablation: Mapping[str, Any] | None) -> str:
    """Three (or more) pretraining seeds of the shipped recipe against their random twins and the statistics,
    paired: what one checkpoint's table cannot show (how much of its margin is the seed)."""
    if ablation is None:
        return (
            "Not measured for this card (no `--seed_ablation`): the table above is one pretraining run, and how much "
            "of its margin over random weights is the seed is not known."
        )
    plan = ablation.get("plan") or {}
    steps = (plan.get("steps") or {}).get(ablation["recipe"])
    lines = [
        f"The recipe `{ablation['recipe']}` pretrained with {len(next(iter(ablation['entries'].values()))['seeds'])} "
        f"seeds ({steps} steps each, `benchmarks/ablate_pretraining_objective.py`, evaluated "
        f"{ablation.get('date') or 'n/a'}); real tasks only, paired 95% intervals over test-set resampling, "
        "differences averaged over the seeds.",
        "",
        "| pooling | macro AUROC | vs its random twin | vs 16 statistics | unseen tasks: vs random twin |",
        "|---|---|---|---|---|",
    ]
    for pooling, entry in ablation["entries"].items():
        macro = statistics.fmean(statistics.fmean(values) for values in entry["auroc"].values())
        lines.append(
            f"| {pooling} | {macro:.3f} | {format_difference(entry['vs_random']['macro'])} | "
            f"{format_difference(entry['vs_statistics']['macro'])} | {format_difference(entry['vs_random_unseen'])} |"
        )
    if plan.get("note"):
        lines += ["", f"Note on these runs: {plan['note']}."]
    unseen = ablation.get("unseen_tasks") or []
    if unseen:
        lines += ["", f"Unseen tasks (their recordings are not in the pretraining corpus): {', '.join(unseen)}."]
    return "\n".join(lines)
