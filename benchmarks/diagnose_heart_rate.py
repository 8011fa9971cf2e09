"""Zero-shot heart rate on unseen ECG: what the backbone carries, what the rhythm descriptor adds, what the head says.

Three measurements (docs/benchmarks.md, "Zero-shot recipes on the held-out list v2", the heart-rate bullets):

1. A logistic probe (4-fold CV, AUROC one-vs-rest) on the frozen backbone's tokens of generator views, heart-rate
   band slow / normal / fast, from one ECG channel and from one PPG channel: how linearly the backbone carries the
   rate, token mean and token max.
2. The zero-shot head's "a fast heart rate" minus "a slow heart rate" probability on 6 s of ECG at 500 Hz from
   neurokit2's ECGSYN (the held-out generator) and its simple beat, at 48 / 75 / 130 bpm, 4 draws each.
3. The same probe on the rhythm descriptors alone (``rhythm_features``, what the zero-shot head reads beside the
   tokens), trained on the generator's ECG views and tested on the held-out ECGSYN views and the real ECG windows
   with R-peak labels: whether the count transfers to beat shapes and recordings it never saw.

    python benchmarks/diagnose_heart_rate.py --backbone normwear --zero_shot normwear
"""

from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

LABELS = ["a slow heart rate", "a normal heart rate", "a fast heart rate"]
RATES_BPM = (48, 75, 130)


def probe_backbone(model: str, rows: int) -> dict[str, dict[str, float]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from normwear_hf.data.synthetic import generate_examples
    from normwear_hf.zero_shot.engine import backbone_tokens, first_windows
    from normwear_hf.zero_shot.train import load_backbone
    from normwear_hf.zero_shot.views import synthetic_views

    base, extractor = load_backbone(model)
    views = synthetic_views(list(generate_examples(rows, seed=778)), ["heart_rate_ecg", "heart_rate_ppg"])
    out: dict[str, dict[str, float]] = {}
    for task in ("heart_rate_ecg", "heart_rate_ppg"):
        tokens = first_windows(
            backbone_tokens(base.normwear, extractor, [row for row, _ in views[task]], progress=False)
        )
        labels = np.array([key for _, key in views[task]])
        out[task] = {}
        pools = {
            "token mean": lambda hidden: hidden[:, 1:].float().mean((0, 1)),
            "token max": lambda hidden: hidden[:, 1:].float().amax((0, 1)),
        }
        for name, pool in pools.items():
            features = np.stack([pool(hidden).numpy() for hidden in tokens.hidden])
            probe = LogisticRegression(C=1.0, max_iter=2000)
            out[task][name] = float(cross_val_score(probe, features, labels, cv=4, scoring="roc_auc_ovr").mean())
    return out


def probe_rhythm(rows: int) -> dict[str, float]:
    """AUROC of a logistic probe on the first window's ECG rhythm descriptor: trained on generator views (training
    seed), tested on the held-out ECGSYN views and the real R-peak-labelled windows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from normwear_hf.data.schema import extractor_inputs
    from normwear_hf.data.synthetic import generate_examples
    from normwear_hf.feature_extraction_normwear import NormWearFeatureExtractor
    from normwear_hf.zero_shot.held_out import ecgsyn_views, real_heart_rate_views
    from normwear_hf.zero_shot.views import TRAIN_SEED, synthetic_views

    extractor = NormWearFeatureExtractor()

    def descriptors(views):
        signals, rates, types = extractor_inputs([row for row, _ in views])
        features = extractor(
            signals, sampling_rate=rates, channel_types=types, long_input="truncate", return_rhythm=True
        )
        return features["rhythm_values"][:, 0], np.array([key for _, key in views])

    train = synthetic_views(list(generate_examples(rows, seed=TRAIN_SEED)), ["heart_rate_ecg"])["heart_rate_ecg"]
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000)).fit(*descriptors(train))
    out = {}
    for name, views in (("ECGSYN (held out)", ecgsyn_views()), ("real ECG (held out)", real_heart_rate_views())):
        x, y = descriptors(views)
        p, classes = probe.predict_proba(x), list(probe.classes_)
        out[name] = float(np.mean([roc_auc_score(y == c, p[:, classes.index(c)]) for c in np.unique(y)]))
    return out


def head_scores(model: str, draws: int) -> dict[str, list[float]]:
    import neurokit2 as nk
    from transformers import pipeline

    import normwear_hf  # noqa: F401  (registers the pipeline task)

    classifier = pipeline("zero-shot-physio-classification", model=model)
    out: dict[str, list[float]] = {}
    for method in ("ecgsyn", "simple"):
        out[method] = []
        for bpm in RATES_BPM:
            gaps = []
            for state in range(draws):
                ecg = nk.ecg_simulate(duration=6, sampling_rate=500, heart_rate=bpm, method=method, random_state=state)
                answer = classifier(
                    {"signal": [ecg], "sampling_rate": [500], "channel_types": ["ecg"]},
                    candidate_labels=LABELS,
                    question="What is the heart rate?",
                )
                scores = {entry["label"]: entry["score"] for entry in answer}
                gaps.append(scores[LABELS[2]] - scores[LABELS[0]])
            out[method].append(float(np.mean(gaps)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="normwear")
    parser.add_argument("--zero_shot", default="normwear", help="zero-shot model folder (or 'normwear')")
    parser.add_argument("--rows", type=int, default=800, help="generator rows for the probe")
    parser.add_argument("--draws", type=int, default=4)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    for task, scores in probe_backbone(args.backbone, args.rows).items():
        print(f"probe {task}: " + ", ".join(f"{name} AUROC {value:.3f}" for name, value in scores.items()))
    for name, auroc in probe_rhythm(args.rows).items():
        print(f"probe on rhythm descriptors, trained on the generator's ECG, tested on {name}: AUROC {auroc:.3f}")
    for method, gaps in head_scores(args.zero_shot, args.draws).items():
        cells = ", ".join(f"{bpm} bpm {gap:+.2f}" for bpm, gap in zip(RATES_BPM, gaps))
        print(f"head, {method} ECG at 500 Hz, P(fast) - P(slow): {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
