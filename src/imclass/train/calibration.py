"""Temperature scaling (Guo et al., 2017): one scalar that divides the logits, fitted on the
validation split by log loss. It changes confidence, never the ranking or the argmax.

Fine-tuned on ~100 images per class with label smoothing, the saved model was strongly
under-confident (expected calibration error 0.15-0.20 on held-out photos)."""

from __future__ import annotations

import torch

LOG_T_RANGE = (-3.0, 3.0)  # temperatures from 0.05 to 20


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, task) -> float:
    """The T minimising task.plain_loss(logits / T, targets); 1.0 without validation images."""
    from scipy.optimize import minimize_scalar

    if len(targets) == 0:
        return 1.0
    logits = logits.float()
    result = minimize_scalar(
        lambda log_t: task.plain_loss(logits / float(torch.tensor(log_t).exp()), targets),
        bounds=LOG_T_RANGE,
        method="bounded",
    )
    return float(torch.tensor(result.x).exp())
