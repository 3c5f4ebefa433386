# Copyright 2025 The DomainBench authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Matthews correlation coefficient (binary and multi-class), a DomainBench `evaluate` module."""

import datasets
import evaluate
from sklearn.metrics import matthews_corrcoef

_DESCRIPTION = """
The Matthews correlation coefficient (MCC) measures the quality of a classification as the correlation
between the true and the predicted labels. It uses all four cells of the binary confusion matrix (and, in
the multi-class case, the whole K x K confusion matrix, following Gorodkin 2004), so it stays informative
when the classes are imbalanced. Its value lies in [-1, +1]: +1 is a perfect prediction, 0 is no better
than a constant or random prediction, and -1 is total disagreement (the lower bound is above -1 for more
than two classes).

With C the confusion matrix (rows: true label, columns: predicted label), t_k the number of times class k
truly occurs, p_k the number of times it is predicted, c = trace(C) and s the number of samples:

    MCC = (c * s - sum_k p_k t_k) / sqrt((s^2 - sum_k p_k^2) * (s^2 - sum_k t_k^2))

When a denominator factor is zero (for example when every prediction is the same class), MCC is 0.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): Predicted class labels.
    references (`list` of `int`): Ground-truth class labels.
    sample_weight (`list` of `float`, optional): Per-sample weights. Defaults to `None` (all ones).

Returns:
    mcc (`float`): The Matthews correlation coefficient, in [-1, 1]. Higher is better.

Examples:

    >>> mcc = evaluate.load("metrics/mcc")  # from the DomainBench repository root, or an absolute path
    >>> results = mcc.compute(references=[0, 0, 1, 1, 2, 2], predictions=[0, 1, 1, 1, 2, 0])
    >>> print(round(results["mcc"], 4))
    0.5222

    >>> results = mcc.compute(references=[0, 1, 2, 0], predictions=[1, 1, 1, 1])
    >>> print(results["mcc"])
    0.0
"""

_CITATION = """
@article{matthews1975comparison,
  title={Comparison of the predicted and observed secondary structure of T4 phage lysozyme},
  author={Matthews, Brian W},
  journal={Biochimica et Biophysica Acta (BBA) - Protein Structure},
  volume={405},
  number={2},
  pages={442--451},
  year={1975},
  publisher={Elsevier}
}
@article{gorodkin2004comparing,
  title={Comparing two K-category assignments by a K-category correlation coefficient},
  author={Gorodkin, Jan},
  journal={Computational Biology and Chemistry},
  volume={28},
  number={5--6},
  pages={367--374},
  year={2004},
  publisher={Elsevier}
}
@article{scikit-learn,
  title={Scikit-learn: Machine Learning in {P}ython},
  author={Pedregosa, F. and Varoquaux, G. and Gramfort, A. and Michel, V. and Thirion, B. and Grisel, O.
          and Blondel, M. and Prettenhofer, P. and Weiss, R. and Dubourg, V. and Vanderplas, J. and
          Passos, A. and Cournapeau, D. and Brucher, M. and Perrot, M. and Duchesnay, E.},
  journal={Journal of Machine Learning Research},
  volume={12},
  pages={2825--2830},
  year={2011}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Mcc(evaluate.Metric):
    """Matthews correlation coefficient, computed with scikit-learn's `matthews_corrcoef`."""

    def _info(self):
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("int64"),
                    "references": datasets.Value("int64"),
                }
            ),
            reference_urls=[
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.matthews_corrcoef.html",
                "https://en.wikipedia.org/wiki/Phi_coefficient",
            ],
        )

    def _compute(self, predictions, references, sample_weight=None):
        if len(references) == 0:
            raise ValueError("mcc: got no samples; references and predictions must be non-empty.")
        return {"mcc": float(matthews_corrcoef(references, predictions, sample_weight=sample_weight))}
