"""Macro-averaged F1, as an offline `evaluate` metric module (numpy only)."""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """\
Unweighted mean over classes of the per-class F1 = 2 TP / (2 TP + FP + FN). The classes are those that occur
in the references or the predictions (as ``sklearn.metrics.f1_score(average="macro")``).
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions: predicted integer labels.
    references: true integer labels.
Returns:
    f1: float in [0, 1].
Example:
    >>> load_metric("macro_f1").compute(predictions=[0, 1, 1], references=[0, 1, 0])
    {'f1': 0.6666666666666666}
"""

_CITATION = """\
@article{scikit-learn,
  title={Scikit-learn: Machine Learning in {P}ython}, author={Pedregosa, F. and others},
  journal={Journal of Machine Learning Research}, volume={12}, pages={2825--2830}, year={2011}
}
"""


def macro_f1_score(references, predictions) -> float:
    """Unweighted mean of per-class F1 over the labels in references or predictions."""
    predictions, references = np.asarray(predictions), np.asarray(references)
    if references.size == 0:
        raise ValueError("F1 needs at least one case.")
    scores = []
    for label in np.union1d(predictions, references):
        true_positive = np.sum((predictions == label) & (references == label))
        wrong = np.sum((predictions == label) != (references == label))
        scores.append(2 * true_positive / (2 * true_positive + wrong))
    return float(np.mean(scores))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class MacroF1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references):
        return {"f1": macro_f1_score(references, predictions)}
