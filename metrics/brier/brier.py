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
"""Multi-class Brier score, a DomainBench `evaluate` module."""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
The multi-class Brier score (Brier 1950) measures how well predicted class probabilities match the true
labels: for every sample, the squared distance between the predicted probability vector and the one-hot
vector of the true class, summed over the K classes, then averaged over the N samples:

    Brier = 1/N * sum_i sum_k (p_ik - 1[y_i = k])^2

It is a strictly proper scoring rule, so it rewards both accuracy and calibration. It lies in [0, 2]:
0 is a perfect, fully confident prediction; 2 is a fully confident wrong prediction; a uniform
prediction over K classes scores 1 - 1/K. Lower is better.

This is the original multi-class form. For K = 2 it is twice the common binary Brier score
mean((p_positive - y)^2) (scikit-learn's `brier_score_loss` with 1-D probabilities).
"""

_KWARGS_DESCRIPTION = """
Args:
    references (`list` of `int`): Ground-truth class labels, each in [0, K).
    prediction_scores (`list` of `list` of `float`): For every sample, the predicted probability of each of
        the K classes, in label order. Every row must have K entries in [0, 1] that sum to 1 (within
        `sum_tolerance`); pass softmax outputs, not logits.
    num_classes (`int`, optional): K. Defaults to the length of the rows; when given, every row must have
        exactly `num_classes` entries.
    sum_tolerance (`float`, optional): How far a row's sum may be from 1. Defaults to 1e-3.

Returns:
    brier (`float`): The multi-class Brier score, in [0, 2]. Lower is better.

Raises:
    ValueError: if there are no samples, rows have different lengths or a length other than `num_classes`,
        a probability is outside [0, 1] or not finite, a row does not sum to 1, or a reference is not a
        class index in [0, K).

Examples:

    >>> brier = evaluate.load("metrics/brier")  # from the DomainBench repository root, or an absolute path
    >>> results = brier.compute(references=[0, 2], prediction_scores=[[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    >>> print(round(results["brier"], 6))
    0.2

    >>> results = brier.compute(references=[1, 0], prediction_scores=[[0.0, 1.0], [1.0, 0.0]])
    >>> print(results["brier"])
    0.0
"""

_CITATION = """
@article{brier1950verification,
  title={Verification of forecasts expressed in terms of probability},
  author={Brier, Glenn W},
  journal={Monthly Weather Review},
  volume={78},
  number={1},
  pages={1--3},
  year={1950}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Brier(evaluate.Metric):
    """Multi-class Brier score, computed with numpy."""

    def _info(self):
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "references": datasets.Value("int64"),
                    "prediction_scores": datasets.Sequence(datasets.Value("float64")),
                }
            ),
            reference_urls=["https://en.wikipedia.org/wiki/Brier_score"],
        )

    def _compute(self, references, prediction_scores, num_classes=None, sum_tolerance=1e-3):
        n = len(references)
        if n == 0:
            raise ValueError("brier: got no samples; references and prediction_scores must be non-empty.")
        widths = {len(row) for row in prediction_scores}
        if len(widths) != 1:
            raise ValueError(
                f"brier: prediction_scores rows have different lengths {sorted(widths)}; "
                "every row needs one probability per class."
            )
        k = widths.pop()
        if num_classes is not None and k != int(num_classes):
            raise ValueError(f"brier: num_classes={num_classes} but prediction_scores rows have {k} entries.")
        if k < 2:
            raise ValueError(f"brier: prediction_scores rows have {k} entries; at least 2 classes are needed.")
        probs = np.asarray(prediction_scores, dtype=np.float64)
        labels = np.asarray(references, dtype=np.int64)
        if not np.all(np.isfinite(probs)):
            raise ValueError("brier: prediction_scores contain NaN or infinite values.")
        bad = np.flatnonzero((probs < 0.0).any(axis=1) | (probs > 1.0).any(axis=1))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"brier: prediction_scores must be probabilities in [0, 1]; row {i} is {probs[i].tolist()} "
                f"({bad.size} such row(s)). Pass softmax outputs, not logits."
            )
        sums = probs.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > sum_tolerance)
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"brier: each row of prediction_scores must sum to 1 (tolerance {sum_tolerance}); row {i} sums "
                f"to {sums[i]:.6g} ({bad.size} of {n} rows do not). Pass normalised probabilities (softmax), "
                "not logits or scores."
            )
        bad = np.flatnonzero((labels < 0) | (labels >= k))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"brier: references must be class indices in [0, {k}); reference {i} is {labels[i]}.")
        onehot = np.zeros_like(probs)
        onehot[np.arange(n), labels] = 1.0
        return {"brier": float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))}
