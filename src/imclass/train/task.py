"""What the outputs mean: one class per image (softmax) or any number of labels (sigmoid).

Everything that differs between the two lives here, so the loops and the recipe stay one.
Probabilities and decisions come from inference/decisions.py, as everywhere else.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from imclass.inference.decisions import decide, probabilities


class SingleLabel:
    """Softmax over classes, cross-entropy with label smoothing; accuracy = top-1."""

    multilabel = False

    def __init__(self, num_classes: int, label_smoothing: float = 0.0):
        self.num_classes = num_classes
        self.loss = nn.CrossEntropyLoss(label_smoothing=label_smoothing)

    def correct(self, logits: torch.Tensor, targets: torch.Tensor) -> int:
        return int(np.sum(_decided(logits, self.multilabel) == targets.cpu().numpy()))

    def plain_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> float:
        """Validation loss, without smoothing."""
        return nn.functional.cross_entropy(logits.float(), targets).item()


class MultiLabel:
    """Independent sigmoids, binary cross-entropy; accuracy = exact match at 0.5."""

    multilabel = True

    def __init__(self, num_classes: int, label_smoothing: float = 0.0):
        self.num_classes = num_classes
        self.loss = nn.BCEWithLogitsLoss()  # no smoothing: tuned thresholds need calibration

    def correct(self, logits: torch.Tensor, targets: torch.Tensor) -> int:
        right = _decided(logits, self.multilabel) == (targets.cpu().numpy() > 0.5)
        return int(right.all(1).sum())

    def plain_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> float:
        return nn.functional.binary_cross_entropy_with_logits(logits.float(), targets).item()


def _decided(logits: torch.Tensor, multilabel: bool) -> np.ndarray:
    """What the model predicts for each row of a batch, at threshold 0.5 when multi-label."""
    probs = probabilities(logits.detach(), multilabel=multilabel).cpu()
    return decide(probs, multilabel=multilabel)


def make_task(multilabel: bool, num_classes: int, label_smoothing: float):
    return (MultiLabel if multilabel else SingleLabel)(num_classes, label_smoothing)
