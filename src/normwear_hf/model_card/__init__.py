"""Model cards for NormWear checkpoints, filled from what the runs wrote: nothing in a card is typed by hand.

    python modeling_cards/generate_model_card.py --out_dir runs/tiny --benchmark_results bench/results.json \\
        --training_run runs/tiny --command "normwear-hf pretrain ..." --corpus "..." --machine "1x H100"

:func:`write_model_card` fills ``template.md`` (shipped in this package) and writes ``README.md`` and
``loss_curve.png`` to a model folder. Inputs:

- ``benchmark_results`` (required): the ``results.json`` of ``normwear-hf benchmark``. Gives the ``model-index``
  block (one entry per task: the NormWear model's main metric with its 95% interval, then the other metrics),
  the per-task table (NormWear vs random init vs 16 statistics vs MiniRocket vs raw signal) and the count of
  tasks on which the weights beat their random-init twin.
- ``training_run``: a ``normwear-hf pretrain`` output folder (``metrics.jsonl`` -> loss curve,
  ``training_summary.json``, ``pretrain_args.json``, ``config.json``; the corpus ``manifest.json`` when the
  corpus folder is still where the run read it).
- ``zero_shot_results``: held-out zero-shot AUROCs against the CLAP-style baseline (see
  :func:`load_zero_shot_results`).
- Free text that no file records: the exact command, a corpus description, the machine, the wall time.

One module per role: :mod:`.inputs` reads and checks the files, :mod:`.comparison` says whether pretraining beat
random weights, :mod:`.metadata` builds the YAML front matter, :mod:`.plots` draws the loss curve,
:mod:`.sections` renders the prose, :mod:`.template` fills ``template.md``, :mod:`.writer` puts them together and
holds the command line. :mod:`.constants` names the files and metrics.

Decisions
---------
- "Beats random init": see :mod:`.comparison`; when the weights do not beat their random twin on a majority of
  the compared tasks, the card says so in a sentence.
- The sampling rate the card states is the model folder's feature extractor's (``preprocessor_config.json``),
  not a constant.
- A zero-shot file that is named but missing is an error (a silent card without it would hide a typo); pass
  ``None`` when there is no zero-shot evaluation, and the card says that nothing is claimed.
"""

from .._lazy import moved_getattr
from .comparison import RandomInitComparison, compare_with_random_init
from .constants import CARD_NAME, LOSS_CURVE_NAME
from .inputs import (
    TrainingRun,
    load_benchmark_results,
    load_seed_ablation,
    load_training_run,
    load_zero_shot_results,
)
from .metadata import build_front_matter, model_index
from .plots import plot_loss_curve
from .template import TEMPLATE_PATH, fill_template, read_filled
from .writer import build_parser, main, refresh_model_card, write_model_card

__all__ = [
    "CARD_NAME",
    "LOSS_CURVE_NAME",
    "TEMPLATE_PATH",
    "RandomInitComparison",
    "TrainingRun",
    "build_front_matter",
    "build_parser",
    "compare_with_random_init",
    "fill_template",
    "load_benchmark_results",
    "load_seed_ablation",
    "load_training_run",
    "load_zero_shot_results",
    "main",
    "model_index",
    "plot_loss_curve",
    "read_filled",
    "refresh_model_card",
    "write_model_card",
]

# The constants the single-file model_card.py defined now live in .constants; the old path warns for one release.
_CONSTANTS = (
    "BENCHMARK_HINT",
    "BOUNDED_METRICS",
    "CARD_METHODS",
    "DEFAULT_MODEL_NAME",
    "LIBRARY_NAME",
    "LICENSE",
    "LOWER_IS_BETTER",
    "METRIC_NAMES",
    "METRIC_ORDER",
    "METRIC_TYPES",
    "PAPER_CORPUS_HOURS",
    "PAPER_URL",
    "PIPELINE_TAG",
    "TAGS",
    "TASK_SCORES_NAME",
    "TIE_TOLERANCE",
    "UNTESTED_APPLICATIONS",
)
__getattr__ = moved_getattr(__name__, dict.fromkeys(_CONSTANTS, "normwear_hf.model_card.constants"))
