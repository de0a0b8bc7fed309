"""Running a model: where the arithmetic runs (device.py), batched passes over a loader
(batches.py), logits to probabilities to decisions (decisions.py, the one place either is
made), and answers for image files from a trained run or a pretrained ImageNet backbone
(predictor.py, imagenet.py). Below training and evaluation, which both use it; it uses models
and data only."""

from imclass.inference.decisions import decide, probabilities
from imclass.inference.imagenet import imagenet_predictor
from imclass.inference.predictor import (
    Predictor,
    Probabilities,
    above_thresholds,
    expand_paths,
    top_k,
)

__all__ = [
    "Predictor",
    "Probabilities",
    "above_thresholds",
    "decide",
    "expand_paths",
    "imagenet_predictor",
    "probabilities",
    "top_k",
]
