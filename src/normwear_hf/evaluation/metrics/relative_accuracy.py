"""Relative accuracy (1 - mean absolute percentage error), as an offline `evaluate` metric module."""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """\
The NormWear paper's regression score: 1 - mean(|prediction - reference| / |reference|), i.e. 1 - MAPE, computed
in the ORIGINAL units of the target. The research code computed it on log(y + 1) values (the space its ridge
probe is fitted in), which shrinks relative errors and flatters the numbers; pass back-transformed predictions
here. It can be negative (errors above 100%). A reference of 0 makes it undefined and raises a ValueError.
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions: predicted values, in original units.
    references: true values, in original units, none equal to 0.
Returns:
    relative_accuracy: float <= 1.
Example:
    >>> load_metric("relative_accuracy").compute(predictions=[90.0, 110.0], references=[100.0, 100.0])
    {'relative_accuracy': 0.9}
"""

_CITATION = """\
@article{luo2024normwear,
  title={Toward Foundation Model for Multivariate Wearable Sensing of Physiological Signals},
  author={Luo, Yunfei and Chen, Yuliang and Salekin, Asif and Rahman, Tauhidur},
  journal={arXiv preprint arXiv:2412.09758}, year={2024}
}
"""


def relative_accuracy_score(references, predictions) -> float:
    """1 - mean(|prediction - reference| / |reference|), in the units given (use original units)."""
    predictions = np.asarray(predictions, dtype=np.float64)
    references = np.asarray(references, dtype=np.float64)
    if references.size == 0:
        raise ValueError("relative accuracy needs at least one case.")
    if np.any(references == 0):
        raise ValueError("relative accuracy is undefined when a reference value is 0.")
    return float(1 - np.mean(np.abs(predictions - references) / np.abs(references)))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RelativeAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}
            ),
        )

    def _compute(self, predictions, references):
        return {"relative_accuracy": relative_accuracy_score(references, predictions)}
