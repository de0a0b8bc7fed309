"""imclass: turn a folder of your own photos into a strong image classifier."""

from imclass._version import __version__
from imclass.errors import (
    ConfigError,
    DataError,
    DistributedError,
    ExportError,
    ImclassError,
    ModelError,
    NotFittedError,
    OutputError,
    RunDirError,
    ShardError,
    StorageError,
    TrainingInterrupted,
    UploadError,
    UploadTooLargeError,
)

__all__ = [
    "ConfigError",
    "DataError",
    "DistributedError",
    "ExportError",
    "ImageClassifier",
    "ImclassError",
    "ModelError",
    "NotFittedError",
    "OutputError",
    "RunDirError",
    "ShardError",
    "StorageError",
    "TrainConfig",
    "TrainingInterrupted",
    "UploadError",
    "UploadTooLargeError",
    "__version__",
]


def __getattr__(name: str):
    """ImageClassifier and TrainConfig load torch: imported on first use, so that data commands
    and `imclass --help` start in a fraction of a second."""
    if name == "ImageClassifier":
        from imclass.classifier import ImageClassifier

        return ImageClassifier
    if name == "TrainConfig":
        from imclass.train.config import TrainConfig

        return TrainConfig
    raise AttributeError(f"module 'imclass' has no attribute {name!r}")
