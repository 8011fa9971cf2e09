"""Mean absolute error, as an offline `evaluate` metric module (numpy only)."""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "Mean of |prediction - reference|, in the units of the target."

_KWARGS_DESCRIPTION = """\
Args:
    predictions: predicted values.
    references: true values.
Returns:
    mae: float >= 0.
Example:
    >>> load_metric("mae").compute(predictions=[1.0, 3.0], references=[2.0, 3.0])
    {'mae': 0.5}
"""

_CITATION = """\
@article{willmott2005advantages,
  title={Advantages of the mean absolute error (MAE) over the root mean square error (RMSE)},
  author={Willmott, Cort J and Matsuura, Kenji}, journal={Climate Research}, volume={30}, pages={79--82},
  year={2005}
}
"""


def mean_absolute_error(references, predictions) -> float:
    """Mean of |prediction - reference|."""
    predictions = np.asarray(predictions, dtype=np.float64)
    references = np.asarray(references, dtype=np.float64)
    if references.size == 0:
        raise ValueError("MAE needs at least one case.")
    return float(np.mean(np.abs(predictions - references)))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Mae(evaluate.Metric):
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
        return {"mae": mean_absolute_error(references, predictions)}
