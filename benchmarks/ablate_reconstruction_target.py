"""Which pretraining target gives better embeddings: scalogram patches, the raw signal, or both?

Trains the same tiny model on the same synthetic corpus with the same seed for each target, then probes frozen
``"recording"`` embeddings of held-out synthetic segments (other subjects) against their known physiology:
ridge regression of heart rate and respiration rate (MAE in the original units) and logistic regression of
activity (rest / walk / run) and noise (clean / noisy) (AUROC, one-vs-one macro). A randomly initialised model
is the reference measured in the same run.

    python benchmarks/ablate_reconstruction_target.py --train 6000 --test 1000 --steps 600 --write
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import datasets
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_absolute_error, roc_auc_score
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, write_section  # noqa: E402

from normwear_hf import NormWearConfig, NormWearFeatureExtractor, NormWearModel  # noqa: E402
from normwear_hf.data import WEARABLE_FEATURES  # noqa: E402
from normwear_hf.data.synthetic import generate_examples  # noqa: E402
from normwear_hf.inference import embed  # noqa: E402
from normwear_hf.training import PretrainArguments, run_pretraining  # noqa: E402

TARGETS = ("scalogram", "signal", "both")


def labels_of(rows: list[dict]) -> dict[str, np.ndarray]:
    numeric = {name: [] for name in ("heart_rate_bpm", "respiration_rate_bpm")}
    classes = {name: [] for name in ("activity", "noise")}
    for row in rows:
        values = {entry["name"]: entry["value"] for entry in row["numeric_labels"]}
        names = {entry["name"]: entry["value"] for entry in row["class_labels"]}
        for name in numeric:
            numeric[name].append(values[name])
        for name in classes:
            classes[name].append(names[name])
    arrays = {k: np.asarray(v, dtype=float) for k, v in numeric.items()}
    return {**arrays, **{k: np.asarray(v) for k, v in classes.items()}}


def embeddings(model: NormWearModel, rows: list[dict]) -> np.ndarray:
    return embed(
        [row["signals"] for row in rows],
        sampling_rate=[row["sampling_rate"] for row in rows],
        model=model,
        feature_extractor=NormWearFeatureExtractor(),
        pooling="recording",
        batch_size=64,
        progress=False,
        quality_threshold=None,  # as when the table was measured: the noise probe needs the noisy channels
    )


def probe(train_x, train_y, test_x, test_y) -> dict[str, float]:
    scaler = StandardScaler().fit(train_x)
    train_x, test_x = scaler.transform(train_x), scaler.transform(test_x)
    scores = {}
    for name in ("heart_rate_bpm", "respiration_rate_bpm"):
        ridge = Ridge(alpha=1.0).fit(train_x, np.log1p(train_y[name]))
        low, high = np.log1p(train_y[name]).min(), np.log1p(train_y[name]).max()
        predicted = np.expm1(np.clip(ridge.predict(test_x), low, high))
        scores[f"{name} MAE"] = mean_absolute_error(test_y[name], predicted)
    for name in ("activity", "noise"):
        classifier = LogisticRegression(C=1.0, max_iter=2000).fit(train_x, train_y[name])
        probabilities = classifier.predict_proba(test_x)
        if probabilities.shape[1] == 2:
            scores[f"{name} AUROC"] = roc_auc_score(test_y[name], probabilities[:, 1])
        else:
            scores[f"{name} AUROC"] = roc_auc_score(
                test_y[name], probabilities, multi_class="ovo", average="macro", labels=classifier.classes_
            )
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=6000, help="synthetic pretraining + probe-training segments")
    parser.add_argument("--test", type=int, default=1000, help="held-out probe-test segments (another seed)")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--base_lr", type=float, default=1.5e-3 * 8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    train_rows = list(generate_examples(args.train, seed=0, workers=args.workers))
    test_rows = list(generate_examples(args.test, seed=1, workers=args.workers))
    corpus = datasets.Dataset.from_list(train_rows, features=WEARABLE_FEATURES)
    train_y, test_y = labels_of(train_rows), labels_of(test_rows)
    print(f"data: {len(train_rows)} + {len(test_rows)} segments in {time.perf_counter() - started:.0f} s", flush=True)

    results = {}
    torch.manual_seed(0)
    random_model = NormWearModel(NormWearConfig.from_preset("tiny")).eval()
    random_train, random_test = embeddings(random_model, train_rows), embeddings(random_model, test_rows)
    results["random init"] = probe(random_train, train_y, random_test, test_y)
    print("random init", results["random init"], flush=True)
    for target in TARGETS:
        with tempfile.TemporaryDirectory() as output:
            run_args = PretrainArguments(
                output_dir=output,
                config="tiny",
                config_overrides={"reconstruction_target": target},
                per_device_batch_size=args.batch,
                max_steps=args.steps,
                base_lr=args.base_lr,
                warmup_steps=max(1, args.steps // 20),
                checkpoint_every=0,
                log_every=max(1, args.steps // 10),
                report_to="none",
                progress=False,
            )
            start = time.perf_counter()
            summary = run_pretraining(run_args, corpus=corpus)
            model = NormWearModel.from_pretrained(output).eval()
        scores = probe(embeddings(model, train_rows), train_y, embeddings(model, test_rows), test_y)
        scores["train min"] = (time.perf_counter() - start) / 60
        scores["final loss"] = summary["final_loss"]
        results[f"target={target}"] = scores
        print(target, scores, flush=True)

    columns = ["heart_rate_bpm MAE", "respiration_rate_bpm MAE", "activity AUROC", "noise AUROC"]
    lines = [
        f"Machine: {machine_description()}  ",
        f"Date: {date.today().isoformat()}  ",
        f"Command: `{' '.join(['python', 'benchmarks/ablate_reconstruction_target.py', *sys.argv[1:]])}`",
        "",
        f"tiny config, {args.steps} steps of batch {args.batch} on {args.train} synthetic segments (seed 0); probes "
        f"on frozen recording embeddings, tested on {args.test} segments of other synthetic subjects (seed 1).",
        "",
        "| model | HR MAE (bpm) | RR MAE (breaths/min) | activity AUROC | noise AUROC |",
        "|---|---|---|---|---|",
    ]
    for name, scores in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{scores[c]:.3f}" for c in columns) + " |")
    markdown = "\n".join(lines)
    print(markdown)
    print(json.dumps(results, indent=2))
    if args.write:
        write_section("ablation-target", "## Pretraining target ablation\n\n" + markdown)


if __name__ == "__main__":
    main()
