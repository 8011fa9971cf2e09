"""systole Task 1 as a labelled task: neutral vs disgust image trials, from ECG, EDA and respiration.

Data: ``systole/datasets/Task1_{ECG,EDA,Respiration,Stim}.npy`` of systole 0.3.1: one participant, 1000 Hz,
1,536,570 samples (25.6 min), recorded during "the emotional task (valence rating of neutral and disgusting
images)" of Legrand et al. 2020 (``systole.datasets.import_dataset1``). ``Task1_Stim`` is zero except for one
sample at each image onset, whose value is the condition: systole's own examples (``plots.plot_evoked``,
``plots.plot_events``, ``utils.to_epochs``) label ``stim == 2`` "Disgust" and ``stim == 1`` "Neutral".

As recorded: 72 trials (onsets 10.6-11.7 s apart) in six blocks of twelve, separated by pauses of about 40 s
(130 s between the conditions): three neutral blocks (399-845 s), then three disgust blocks (965-1410 s). The
conditions are not interleaved.

Task: one row per trial, the :data:`TRIAL_S` = 10 s after the onset (shorter than the shortest onset interval,
so rows never overlap), channels ECG / EDA / respiration at 1000 Hz, class label ``stimulus`` = ``neutral`` /
``disgust`` (and ``block``, e.g. ``neutral2``). Split by time blocks: one block of each condition is the test
set, the other two train (48 train / 24 test rows, 12 test rows per class); :data:`TEST_BLOCK_BY_SEED` picks it:
seed 0 the last block of each condition (train on the past, test on the future), seed 1 the first, seed 2 the
middle one. The pauses keep every test row at least 30 s away from every train row.

Caveats: one participant. All neutral trials precede all disgust trials, so slow drifts over the session (tonic
EDA, heart rate, sensors settling) separate the classes as well as the images may: a probe can learn the time in
session. The split by blocks keeps train and test apart in time but cannot remove that confound. Measured with
the statistics baseline (logistic regression on 16 statistics per channel): test AUROC 0.58 (seed 0), 0.82
(seed 1), 1.00 (seed 2: the middle blocks sit between train blocks of the same condition, and the tonic EDA
level alone separates them); EDA statistics alone give 0.95 / 0.87 / 1.00, ECG + respiration 0.19 / 0.28 / 0.55.
The recording is also in the real pretraining corpus (source ``systole``, unlabelled).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...data.real_corpora import DATA_PACKAGES, MissingDataPackageError, install_command, package_dir
from ...data.real_corpora.systole import SYSTOLE_TASK1_CHANNELS, SYSTOLE_TASK1_RATE_HZ
from ...data.schema import make_example
from ..tasks import Task

__all__ = ["STIMULUS_CODES", "TEST_BLOCK_BY_SEED", "TRIAL_S", "load_systole_affect", "trial_blocks"]

STIMULUS_CODES = {1: "neutral", 2: "disgust"}
"""``Task1_Stim`` value at an image onset -> condition (systole's examples: 2 "Disgust", 1 "Neutral")."""
TRIAL_S = 10.0
BLOCK_PAUSE_S = 20.0
"""Onsets further apart than this start a new block (trials are 10.6-11.7 s apart, pauses about 40 s)."""
BLOCKS_PER_CONDITION = 3
TRIALS_PER_BLOCK = 12
TEST_BLOCK_BY_SEED = (2, 0, 1)
"""Test block of each condition (0-based, in time order) for ``seed % 3``: seed 0 holds out the last blocks."""


def trial_blocks(stim: np.ndarray, rate: float = SYSTOLE_TASK1_RATE_HZ) -> list[tuple[str, list[int]]]:
    """``(condition, onset sample indices)`` of each block of trials in ``Task1_Stim``, in time order.

    Raises ``ValueError`` when the channel does not hold the documented design (unknown codes, blocks of mixed
    conditions, or other than three blocks of twelve trials per condition).
    """
    stim = np.asarray(stim).reshape(-1)
    onsets = np.flatnonzero(stim != 0)
    codes = {int(code) for code in np.unique(stim[onsets])}
    if not codes <= set(STIMULUS_CODES):
        raise ValueError(f"Task1_Stim holds codes {sorted(codes)}; expected {sorted(STIMULUS_CODES)} at onsets.")
    breaks = np.flatnonzero(np.diff(onsets) > BLOCK_PAUSE_S * rate) + 1
    blocks = []
    for block in np.split(onsets, breaks):
        conditions = {STIMULUS_CODES[int(code)] for code in stim[block]}
        if len(conditions) != 1 or block.size != TRIALS_PER_BLOCK:
            raise ValueError(
                f"Task1_Stim block at {block[0] / rate:.1f} s has {block.size} trials of {sorted(conditions)}; "
                f"expected {TRIALS_PER_BLOCK} trials of one condition."
            )
        blocks.append((conditions.pop(), [int(i) for i in block]))
    per_condition = {name: sum(1 for c, _ in blocks if c == name) for name in STIMULUS_CODES.values()}
    if set(per_condition.values()) != {BLOCKS_PER_CONDITION}:
        raise ValueError(f"Task1_Stim has {per_condition} blocks per condition; expected {BLOCKS_PER_CONDITION}.")
    return blocks


def load_systole_affect(seed: int, **_: Any) -> Task:
    """The ``systole_affect`` task (see the module docstring)."""
    root = package_dir("systole")
    folder = None if root is None else root / DATA_PACKAGES["systole"].data_path
    stems = [stem for stem, _ in SYSTOLE_TASK1_CHANNELS]
    if folder is None or not all((folder / f"{stem}.npy").exists() for stem in [*stems, "Task1_Stim"]):
        raise MissingDataPackageError(
            f"systole_affect needs systole's Task1 files. Install them with: {install_command('systole')}"
        )
    rate = SYSTOLE_TASK1_RATE_HZ
    kinds = [kind for _, kind in SYSTOLE_TASK1_CHANNELS]
    channels = [np.load(folder / f"{stem}.npy", allow_pickle=False).reshape(-1) for stem in stems]
    stim = np.load(folder / "Task1_Stim.npy", allow_pickle=False).reshape(-1)
    length = int(round(TRIAL_S * rate))
    test_block = TEST_BLOCK_BY_SEED[seed % BLOCKS_PER_CONDITION]
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    seen = {name: 0 for name in STIMULUS_CODES.values()}
    trial = 0
    for condition, onsets in trial_blocks(stim, rate):
        number = seen[condition]
        seen[condition] += 1
        split = "test" if number == test_block else "train"
        for onset in onsets:
            if onset + length > min(c.size for c in channels):
                raise ValueError(f"systole Task1: trial at {onset / rate:.1f} s runs past the end of the recording.")
            parts[split].append(
                make_example(
                    [c[onset : onset + length] for c in channels],
                    rate,
                    kinds,
                    recording_id=f"systole/Task1#trial{trial:02d}",
                    source="systole",
                    subject_id="systole:task1",
                    channel_names=stems,
                    start_s=onset / rate,
                    class_labels={"stimulus": condition, "block": f"{condition}{number + 1}"},
                )
            )
            trial += 1
    return Task(
        name="systole_affect",
        kind="classification",
        label="stimulus",
        train=parts["train"],
        test=parts["test"],
        split=f"time blocks: block {test_block + 1} of 3 of each condition in test, the other two train (seed {seed})",
        channel_types=tuple(kinds),
        channel_names=tuple(stems),
        sampling_rate=rate,
        source="systole",
        notes=(
            "one participant; 10 s after each image onset, ECG + EDA + respiration at 1000 Hz; Task1_Stim code "
            "1 = neutral, 2 = disgust (systole's own examples); 6 blocks of 12 trials, all neutral blocks "
            "(399-845 s) before all disgust blocks (965-1410 s), so session drift (e.g. the tonic EDA level) is "
            "confounded with the label; test rows are >= 30 s from train rows; the recording is in the real "
            "pretraining corpus (source 'systole', unlabelled)"
        ),
        seed=seed,
    )
