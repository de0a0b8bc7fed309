"""imclass: turn a folder of your own photos into a strong image classifier."""

__version__ = "0.1.0"

from imclass.classifier import ImageClassifier  # noqa: E402
from imclass.errors import (  # noqa: E402
    ConfigError,
    DataError,
    ImclassError,
    ModelError,
    NotFittedError,
    RunDirError,
)
from imclass.train.config import TrainConfig  # noqa: E402

__all__ = [
    "ConfigError",
    "DataError",
    "ImageClassifier",
    "ImclassError",
    "ModelError",
    "NotFittedError",
    "RunDirError",
    "TrainConfig",
    "__version__",
]
