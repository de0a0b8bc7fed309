"""Running a model: where the arithmetic runs (device.py), batched passes over a loader
(batches.py), logits to probabilities to decisions (decisions.py, the one place either is
made), and answers for image files from a trained run or a pretrained ImageNet backbone
(predictor.py, imagenet.py). A run's whole inference path as one module (end_to_end.py), scored
eagerly or by ONNX Runtime (backends.py, runtime.py), and exported to a file that is checked
against the eager model (export.py, exported.py, parity.py). Below training and evaluation,
which both use it; it uses models and data only."""

from imclass.inference.backends import OnnxBackend, TorchBackend
from imclass.inference.decisions import decide, probabilities
from imclass.inference.export import ExportResult, ExportSettings, export_run
from imclass.inference.imagenet import imagenet_predictor
from imclass.inference.predictor import (
    Predictor,
    Probabilities,
    above_thresholds,
    expand_paths,
    top_k,
)
from imclass.inference.runtime import RUNTIMES

__all__ = [
    "RUNTIMES",
    "ExportResult",
    "ExportSettings",
    "OnnxBackend",
    "Predictor",
    "Probabilities",
    "TorchBackend",
    "above_thresholds",
    "decide",
    "expand_paths",
    "export_run",
    "imagenet_predictor",
    "probabilities",
    "top_k",
]
