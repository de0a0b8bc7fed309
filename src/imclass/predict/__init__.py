"""Using a trained model: probabilities for image files, and zero-shot ImageNet predictions."""

from imclass.predict.imagenet import imagenet_predictor
from imclass.predict.predictor import (
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
    "expand_paths",
    "imagenet_predictor",
    "top_k",
]
