"""Accuracy, as an offline `evaluate` metric module (numpy only)."""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "Fraction of cases whose predicted label equals the reference label."

_KWARGS_DESCRIPTION = """\
Args:
    predictions: predicted integer labels.
    references: true integer labels.
Returns:
    accuracy: float in [0, 1].
Example:
    >>> load_metric("accuracy").compute(predictions=[0, 1, 2, 2], references=[0, 1, 1, 2])
    {'accuracy': 0.75}
"""

_CITATION = """\
@article{scikit-learn,
  title={Scikit-learn: Machine Learning in {P}ython}, author={Pedregosa, F. and others},
  journal={Journal of Machine Learning Research}, volume={12}, pages={2825--2830}, year={2011}
}
"""


def accuracy_score(references, predictions) -> float:
    """Fraction of equal labels."""
    predictions, references = np.asarray(predictions), np.asarray(references)
    if references.size == 0:
        raise ValueError("accuracy needs at least one case.")
    return float(np.mean(predictions == references))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references):
        return {"accuracy": accuracy_score(references, predictions)}
