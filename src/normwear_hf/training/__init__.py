"""Pretraining on Accelerate: schedules, deterministic sampling, pickle-free checkpoints, the training loop."""

from .pretrain import PretrainArguments, parse_args, run_pretraining

__all__ = ["PretrainArguments", "parse_args", "run_pretraining"]
