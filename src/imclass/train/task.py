"""What the outputs mean: one class per image (softmax) or any number of labels (sigmoid).

Everything that differs between the two lives here, so the loops and the recipe stay one.
Multi-label thresholds always apply to probabilities, never to raw logits.
"""

from __future__ import annotations

import torch
from torch import nn


class SingleLabel:
    """Softmax over classes, cross-entropy with label smoothing; accuracy = top-1."""

    multilabel = False

    def __init__(self, num_classes: int, label_smoothing: float = 0.0):
        self.num_classes = num_classes
        self.loss = nn.CrossEntropyLoss(label_smoothing=label_smoothing)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.float().softmax(1)

    def correct(self, logits: torch.Tensor, targets: torch.Tensor) -> int:
        return int((logits.argmax(1) == targets).sum())

    def plain_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> float:
        """Validation loss, without smoothing."""
        return nn.functional.cross_entropy(logits.float(), targets).item()


class MultiLabel:
    """Independent sigmoids, binary cross-entropy; accuracy = exact match at 0.5."""

    multilabel = True

    def __init__(self, num_classes: int, label_smoothing: float = 0.0):
        self.num_classes = num_classes
        self.loss = nn.BCEWithLogitsLoss()  # no smoothing: tuned thresholds need calibration

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.float().sigmoid()

    def correct(self, logits: torch.Tensor, targets: torch.Tensor) -> int:
        return int(((logits > 0) == (targets > 0.5)).all(1).sum())

    def plain_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> float:
        return nn.functional.binary_cross_entropy_with_logits(logits.float(), targets).item()


def make_task(multilabel: bool, num_classes: int, label_smoothing: float):
    return (MultiLabel if multilabel else SingleLabel)(num_classes, label_smoothing)
