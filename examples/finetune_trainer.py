"""Fine-tune NormWear on a benchmark task with transformers.Trainer.

    python examples/finetune_trainer.py --task basic_motions --model runs/tiny --output_dir runs/ft-basic-motions
    python examples/finetune_trainer.py --task synthetic_hr --freeze_backbone        # a linear probe, regression

Without --model it starts from the bundled default model. The task's train split trains, its test split is
evaluated (accuracy, or MAE in the task's unit, through the project's metric modules); the fine-tuned model
and its feature extractor are saved to --output_dir and reload with AutoModelForSequenceClassification.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from datasets import Dataset
from transformers import EvalPrediction, Trainer, TrainingArguments

from normwear_hf import (
    DEFAULT_CHECKPOINT,
    NormWearFeatureExtractor,
    NormWearForSignalClassification,
    NormWearForSignalRegression,
)
from normwear_hf.evaluation import load_metric, load_task


def to_dataset(task, rows, extractor: NormWearFeatureExtractor, label_ids: dict[str, int] | None) -> Dataset:
    """Schema rows -> model inputs + labels (class ids, or float targets)."""
    features = extractor(
        [row["signals"] for row in rows], sampling_rate=[row["sampling_rate"] for row in rows], long_input="truncate"
    )
    labels = task.labels(rows)
    labels = np.array([label_ids[y] for y in labels]) if label_ids else labels.astype(np.float32)
    columns = {k: features[k] for k in ("input_values", "channel_mask", "time_mask")}
    return Dataset.from_dict({**columns, "labels": labels}).with_format("torch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="basic_motions")
    parser.add_argument("--model", default=None, help="pretraining or backbone folder (default: the bundled model)")
    parser.add_argument("--output_dir", default=None)
    parser.add_argument("--freeze_backbone", action="store_true", help="train the head only (linear probe)")
    parser.add_argument("--max_steps", type=int, default=200)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    task = load_task(args.task, seed=args.seed)
    classification = task.kind == "classification"
    label_ids = {name: index for index, name in enumerate(task.classes)} if classification else None
    head = NormWearForSignalClassification if classification else NormWearForSignalRegression
    head_kwargs = (
        {"num_labels": len(label_ids), "id2label": {i: n for n, i in label_ids.items()}, "label2id": label_ids}
        if classification
        else {"num_labels": 1}
    )
    folder = args.model or DEFAULT_CHECKPOINT  # the bundled pretrained checkpoint by default
    model = head.from_pretrained(folder, **head_kwargs)
    extractor = NormWearFeatureExtractor.from_pretrained(folder)
    if args.freeze_backbone:
        model.freeze_backbone()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    mode = "linear probe: the head only" if model.backbone_frozen else "fine-tuning: backbone and head"
    print(f"Mode: {mode} ({trainable:,} of {model.num_parameters():,} parameters train).")

    train = to_dataset(task, task.train, extractor, label_ids)
    test = to_dataset(task, task.test, extractor, label_ids)
    accuracy, mae = load_metric("accuracy"), load_metric("mae")

    def compute_metrics(prediction: EvalPrediction) -> dict[str, float]:
        logits, labels = prediction.predictions, prediction.label_ids
        if classification:
            return accuracy.compute(predictions=logits.argmax(-1), references=labels)
        return mae.compute(predictions=logits.reshape(-1), references=labels.reshape(-1))

    output_dir = args.output_dir or tempfile.mkdtemp(prefix=f"normwear-ft-{args.task}-")
    training_args = TrainingArguments(
        output_dir=output_dir,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_steps=args.max_steps,
        logging_steps=max(1, args.max_steps // 10),
        eval_strategy="no",
        save_strategy="no",
        report_to=[],
        seed=args.seed,
    )
    trainer = Trainer(model=model, args=training_args, train_dataset=train, compute_metrics=compute_metrics)
    trainer.train()
    metrics = trainer.evaluate(test)
    trainer.save_model(output_dir)
    extractor.save_pretrained(output_dir)
    # Trainer also pickles its TrainingArguments (training_args.bin); the folder keeps safetensors + JSON only
    Path(output_dir, "training_args.bin").unlink(missing_ok=True)
    print(json.dumps({"task": task.name, "split": task.split, **metrics}, indent=2))
    print(f"saved to {output_dir}")


if __name__ == "__main__":
    main()
