"""Temporary (issue 10): the predictor moved to imclass.inference; this old path stays only
until `imclass predict` in cli.py imports from imclass.inference, then this package goes."""

from imclass.inference import (
    Predictor,
    above_thresholds,
    expand_paths,
    imagenet_predictor,
    top_k,
)

__all__ = ["Predictor", "above_thresholds", "expand_paths", "imagenet_predictor", "top_k"]
