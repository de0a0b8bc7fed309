"""From logits to probabilities, and from probabilities to decisions: the one place either is
made, for training, evaluation, predict and the estimator alike.

Single-label: a softmax over the classes, and the most probable class. Multi-label: one sigmoid
per class, and every label whose probability reaches its threshold. Thresholds always apply to
probabilities, never to raw logits: the classic fastai-v1 recipe tuned a threshold on
probabilities and then applied it to logits, so its figures were at another threshold than
claimed.
"""

from __future__ import annotations

import numpy as np
import torch

HALF = 0.5  # a multi-label threshold when none was tuned


def probabilities(
    logits: torch.Tensor, *, multilabel: bool, temperature: float = 1.0
) -> torch.Tensor:
    """(N, C) float32: softmax rows, or independent sigmoids, of logits / temperature."""
    scaled = logits.float() / temperature
    return scaled.sigmoid() if multilabel else scaled.softmax(1)


def decide(probs, *, multilabel: bool, thresholds=HALF) -> np.ndarray:
    """Row by row: (N,) the most probable class's index, or for multi-label (N, C) bool, label
    c on where its probability reaches thresholds[c] (one number: the same for every label).

    >>> decide(np.array([[0.6, 0.3], [0.2, 0.8]]), multilabel=True, thresholds=[0.5, 0.9])
    array([[ True, False],
           [False, False]])
    """
    probs = np.asarray(probs)
    if not multilabel:
        return probs.argmax(1)
    return probs >= np.asarray(thresholds, dtype=float)
