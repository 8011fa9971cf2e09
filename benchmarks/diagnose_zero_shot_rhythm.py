"""Why the held-out rhythm tasks fail where heart rate no longer does: the signal side or the text side?

Two measurements on the held-out views of ``zero_shot/held_out.py`` (docs/benchmarks.md, the zero-shot recipes):

1. ``af_rhythm`` (sinus rhythm vs atrial fibrillation, a diagnosis never trained): the head's AUROC for the
   held-out label pair and for trained rhythm captions on the same views, and the sentence encoder's cosines of
   the two held-out labels with those captions and with each trained class's mean phrase. If the trained pairs
   separate the views and the held-out pair inverts, the signal side is right and the text side is what fails.
   The class means show how far apart the encoder puts the two labels on the trained regular-irregular axis
   (each label's irregular minus regular cosine), against how far apart single phrases put them.
2. ``hrv_band`` (RMSSD below / above 20 ms): the Spearman correlation of the head's "high" minus "low" score with
   the view's RMSSD and with its heart rate, and the AUROC on sinus-rhythm views alone.

    python benchmarks/diagnose_zero_shot_rhythm.py --zero_shot normwear
"""

from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

CAPTION_PAIRS = (  # (regular, irregular) rhythm captions the head was trained on
    ("regular beat intervals", "irregular beat intervals"),
    ("a steady rhythm", "an irregular rhythm"),
    ("a normal heart rhythm", "an arrhythmia"),
)
DESCRIBED_PAIR = (  # the held-out labels with what they look like added, as docs/zero_shot.md advises users
    "a normal sinus rhythm, regular beat intervals",
    "atrial fibrillation, irregular beat intervals",
)


def _auroc(positive: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, score))


def _number(row: dict, name: str) -> float:
    return next((float(c["value"]) for c in row["numeric_labels"] if c["name"] == name), float("nan"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zero_shot", default="normwear", help="zero-shot model folder (or 'normwear')")
    parser.add_argument("--rows", type=int, default=1000, help="held-out generator rows (the benchmark's count)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)

    import torch
    import torch.nn.functional as F
    from scipy.stats import spearmanr

    from normwear_hf.data.synthetic import generate_examples
    from normwear_hf.zero_shot.captions import FAMILIES
    from normwear_hf.zero_shot.engine import backbone_tokens, first_windows, window_logits
    from normwear_hf.zero_shot.held_out import af_views
    from normwear_hf.zero_shot.prompts import DEFAULT_HYPOTHESIS_TEMPLATE, HELD_OUT_TASKS
    from normwear_hf.zero_shot.text_encoder import SentenceEncoder
    from normwear_hf.zero_shot.train import load_backbone
    from normwear_hf.zero_shot.views import HELD_OUT_SEED, synthetic_views

    model, extractor = load_backbone(args.zero_shot)
    encoder = SentenceEncoder(model.config.text_encoder_name_or_path)
    rows = list(generate_examples(args.rows, seed=HELD_OUT_SEED, arrhythmias=True))

    def sentences(labels):
        return encoder.encode([DEFAULT_HYPOTHESIS_TEMPLATE.format(label) for label in labels])

    def scores(views, question, pair):
        tokens = first_windows(backbone_tokens(model.normwear, extractor, [row for row, _ in views], progress=False))
        logits = window_logits(model, tokens, encoder.encode([question])[0], sentences(pair))
        return (logits[:, 1] - logits[:, 0]).numpy()

    task = HELD_OUT_TASKS["af_rhythm"]
    views = af_views(rows)
    is_af = np.array([key == "af" for _, key in views])
    held_out_pair = (task.phrases["sinus"][0], task.phrases["af"][0])
    print(f"af_rhythm: {len(views)} views, {is_af.sum()} AF; question {task.questions[0]!r}")
    for pair in (held_out_pair, DESCRIBED_PAIR, *CAPTION_PAIRS):
        auroc = _auroc(is_af, scores(views, task.questions[0], pair))
        print(f"  head AUROC {auroc:.2f}: {pair[1]!r} over {pair[0]!r}")
    for name, directions in (
        ("raw", lambda text: torch.nn.functional.normalize(text, dim=-1)),
        ("as the head compares them", model.text_directions),  # centred when the head centres
    ):
        labels = directions(sentences(held_out_pair[::-1]))
        for pair in CAPTION_PAIRS:
            cosine = labels @ directions(sentences(pair)).T  # rows: AF, sinus; columns: regular, irregular
            print(
                f"  text cosines ({name}): {pair[1]!r} AF {cosine[0, 1]:.2f} / sinus {cosine[1, 1]:.2f}; "
                f"{pair[0]!r} AF {cosine[0, 0]:.2f} / sinus {cosine[1, 0]:.2f}"
            )
        # every trained phrase of a class, averaged: what any head on this encoder can route a new label through
        rhythm = FAMILIES["rhythm"].phrases
        prototypes = torch.stack(
            [directions(sentences([p for level in rhythm[c].values() for p in level])).mean(0) for c in rhythm]
        )
        cosine = labels @ F.normalize(prototypes, dim=-1).T
        print(
            f"  text cosines ({name}) with the trained classes' mean phrase ({' / '.join(rhythm)}): "
            + "; ".join(
                f"{label!r} {row[0]:.2f} / {row[1]:.2f} (irregular minus regular {row[1] - row[0]:+.3f})"
                for label, row in zip(held_out_pair[::-1], cosine)
            )
        )

    task = HELD_OUT_TASKS["hrv_band"]
    views = synthetic_views(rows, ["hrv_band"], seed=HELD_OUT_SEED)["hrv_band"]
    high = np.array([key == "high" for _, key in views])
    score = scores(views, task.questions[0], (task.phrases["low"][0], task.phrases["high"][0]))
    rmssd = np.array([_number(row, "hrv_rmssd_ms") for row, _ in views])
    rate = np.array([_number(row, "heart_rate_bpm") for row, _ in views])
    sinus = np.array(
        [{c["name"]: c["value"] for c in row["class_labels"]}.get("rhythm") == "sinus" for row, _ in views]
    )
    print(
        f"hrv_band: {len(views)} views ({sinus.sum()} sinus); AUROC {_auroc(high, score):.2f}, sinus only "
        f"{_auroc(high[sinus], score[sinus]):.2f}; Spearman of the score with RMSSD {spearmanr(score, rmssd)[0]:+.2f}, "
        f"with heart rate {spearmanr(score, rate)[0]:+.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
