"""AUROC for binary and multi-class classification, as an offline `evaluate` metric module.

Self-contained (numpy and scipy only) so that ``evaluate.load`` can copy it into its module cache. Its
:func:`auroc_score` is also the AUROC of the probes, the paired comparisons and zero-shot scoring (one-vs-rest).
"""

import warnings

import datasets
import evaluate
import numpy as np
from scipy.stats import rankdata

_DESCRIPTION = """\
Area under the ROC curve from scores. ``binary`` (default configuration): ``predictions`` is the score of the
positive class (label 1) per case. ``multiclass``: ``predictions`` is a row of per-class probabilities per case
(column j scores label j) and the result is the one-vs-one macro average of Hand & Till (2001), the NormWear
paper's multi-class metric: for every pair of classes present in ``references``, the mean of AUROC(a vs b)
scored by column a and AUROC(b vs a) scored by column b, on the cases of those two classes; then the mean over
pairs. Equal to ``sklearn.metrics.roc_auc_score(..., multi_class="ovo", average="macro")`` when every class
appears in ``references``. Ties count one half (rank-based Mann-Whitney statistic).
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions: binary: one float score per case; multiclass: one list of class probabilities per case.
    references: integer labels (binary: 0 / 1; multiclass: 0 ... n_classes - 1, the column indices).
Returns:
    auroc: float in [0, 1].
Example:
    >>> metric = load_metric("auroc")
    >>> metric.compute(predictions=[0.1, 0.9, 0.8, 0.3], references=[0, 1, 1, 0])
    {'auroc': 1.0}
"""

_CITATION = """\
@article{hand2001simple,
  title={A simple generalisation of the area under the ROC curve for multiple class classification problems},
  author={Hand, David J and Till, Robert J},
  journal={Machine Learning}, volume={45}, number={2}, pages={171--186}, year={2001}
}
"""


def binary_auroc(labels, scores) -> float:
    """AUROC of ``scores`` for ``labels`` (positive = 1): the Mann-Whitney U statistic over n_pos * n_neg."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("AUROC needs both classes in references; got only one.")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


MULTI_CLASS = ("ovo", "ovr")


def auroc_score(references, predictions, multi_class: str | None = None, *, multiclass: bool | None = None) -> float:
    """AUROC of ``predictions`` for the integer labels ``references``; the package's one implementation.

    - ``multi_class=None``: binary; ``predictions`` holds the positive-class (label 1) score of each case.
    - ``"ovo"``: the one-vs-one macro of Hand & Till (see the module description), the NormWear paper's metric and
      the linear probes'; ``predictions`` is ``[n, n_classes]``.
    - ``"ovr"``: the macro one-vs-rest AUROC over the classes present in ``references``, each scored by its own
      column (zero-shot scoring); with two columns, the binary AUROC of the second.

    ``ValueError`` when ``references`` hold fewer than two classes (the bootstraps skip such resamples).
    ``multiclass=True`` is the earlier spelling of ``multi_class="ovo"`` (deprecated).
    """
    if multiclass is not None:
        warnings.warn(
            "auroc_score(multiclass=...) is deprecated; pass multi_class='ovo' (or None for binary).",
            DeprecationWarning,
            stacklevel=2,
        )
        multi_class = "ovo" if multiclass else None
    labels = np.asarray(references, dtype=np.int64)
    scores = np.asarray(predictions, dtype=np.float64)
    if multi_class is None:
        return binary_auroc(labels == 1, scores)
    if multi_class not in MULTI_CLASS:
        raise ValueError(f"multi_class must be None, 'ovo' or 'ovr', got {multi_class!r}.")
    if scores.ndim != 2:
        raise ValueError(f"multiclass AUROC needs one row of class probabilities per case, got {scores.shape}.")
    classes = np.unique(labels)
    if classes.size < 2:
        raise ValueError("AUROC needs at least two classes in references.")
    if classes.min() < 0 or classes.max() >= scores.shape[1]:
        raise ValueError(f"labels {classes.tolist()} do not index the {scores.shape[1]} score columns.")
    if multi_class == "ovr":
        if scores.shape[1] == 2:
            return binary_auroc(labels == 1, scores[:, 1])
        return float(np.mean([binary_auroc(labels == k, scores[:, k]) for k in classes]))
    pair_scores = []
    for i, a in enumerate(classes):
        for b in classes[i + 1 :]:
            cases = (labels == a) | (labels == b)
            a_vs_b = binary_auroc(labels[cases] == a, scores[cases, a])
            b_vs_a = binary_auroc(labels[cases] == b, scores[cases, b])
            pair_scores.append((a_vs_b + b_vs_a) / 2)
    return float(np.mean(pair_scores))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Auroc(evaluate.Metric):
    def _info(self):
        if self.config_name not in ("binary", "default", "multiclass"):
            raise ValueError(f"Unknown configuration {self.config_name!r}; use 'binary' or 'multiclass'.")
        prediction = (
            datasets.Sequence(datasets.Value("float64"))
            if self.config_name == "multiclass"
            else datasets.Value("float64")
        )
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": prediction, "references": datasets.Value("int64")}),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.roc_auc_score.html"],
        )

    def _compute(self, predictions, references):
        multi_class = "ovo" if self.config_name == "multiclass" else None
        return {"auroc": auroc_score(references, predictions, multi_class=multi_class)}
