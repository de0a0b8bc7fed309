"""Every error imclass raises on purpose, in one tree.

    ImclassError
     ├── DataError        a data set, image folder or split file that cannot be used
     │    └── UploadError     bytes sent to be classified that are not an image imclass reads
     │         └── UploadTooLargeError  more bytes than the limit
     ├── ConfigError      an invalid parameter value ("The 'lr' parameter of train must be ...")
     ├── ModelError       a backbone that does not exist or whose weights cannot be had
     ├── RunDirError      a run directory that is missing, incomplete or corrupt
     ├── OutputError      an output path onto an input, existing without --overwrite, or unwritable
     ├── ExportError      an exported model that fails its parity check, or a model file (ONNX,
     │                    TorchScript) that is corrupt, foreign or made for another run
     ├── NotFittedError   an ImageClassifier used before fit() or load()
     ├── StorageError     a sweep's study database that cannot be opened or reached
     ├── ShardError       prediction shards that cannot be merged: missing, given twice, or
     │                    scored by another model, list or settings
     ├── DistributedError  a training process under torchrun that lost the others (one of them
     │                    died or stopped answering); the run directory stays resumable
     └── TrainingInterrupted  Ctrl-C or kill during training; the run directory stays usable

The CLI maps each to a one-line message and a non-zero exit; none is a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ImclassError(Exception):
    """Base of every error imclass raises for a user mistake or bad input."""

    exit_code = 1


class DataError(ImclassError):
    """A data set, image folder or split file that cannot be used."""


class UploadError(DataError):
    """Bytes sent to be classified (an upload, a webcam frame) that are not a readable image."""


class UploadTooLargeError(UploadError):
    """An upload over the size limit, refused before it is decoded."""


class ConfigError(ImclassError, ValueError):
    """An invalid parameter value."""

    exit_code = 2


class ModelError(ImclassError):
    """A backbone that does not exist or whose weights cannot be loaded."""


class RunDirError(ImclassError):
    """A run directory that is missing, incomplete or corrupt."""


class OutputError(ImclassError):
    """An output that would land on or inside an input, already exists (without --overwrite),
    is of the wrong kind (a file where a folder is needed, or the reverse) or cannot be written."""


class ExportError(ImclassError):
    """An export whose file does not reproduce the model (the parity check's figures say by how
    much), or an exported model file that is corrupt, not imclass's, or made for another run."""


class NotFittedError(ImclassError, AttributeError):
    """An estimator used before it was fitted or loaded."""


class StorageError(ImclassError):
    """A sweep's study database (an SQLite file, a PostgreSQL server) that cannot be opened."""


class ShardError(ImclassError):
    """Prediction shards that do not make one whole: one missing or given twice, or scored by
    another model, on another file list or with other settings."""


class DistributedError(ImclassError):
    """A collective between torchrun's training processes failed: another process died, or
    none answered within IMCLASS_DIST_TIMEOUT seconds; says how to resume."""


class TrainingInterrupted(ImclassError):
    """Training stopped by Ctrl-C or SIGTERM; says how to resume."""

    exit_code = 130


def invalid_parameter(name: str, where: str, expected: str, got: object) -> ConfigError:
    """The one message template for an invalid parameter value."""
    return ConfigError(
        f"The {name!r} parameter of {where} must be {expected}. Got {got!r} instead."
    )


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix for a close match among choices, or ''."""
    matches = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {matches[0]!r}?" if matches else ""
