"""The model doctor times, run the way `imclass predict` runs a trained one by default
(inference/runtime.py, --runtime auto): on the CPU, ONNX Runtime (inference/backends.py
OnnxBackend) on the export `imclass export` would make (inference/export.py write_onnx) of the
untrained model, since speed does not depend on the weights; on a GPU, eager PyTorch.

The export takes tens of seconds, so it is made once and cached in IMCLASS_CACHE_DIR/doctor
(default ~/.cache/imclass/doctor), one file per model, size, flip TTA and the imclass and torch
versions that made it. Under auto, when onnxruntime is missing or the export fails, eager
PyTorch stands in and the reason is kept to be shown; under onnx that is an ExportError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import torch

from imclass._version import __version__
from imclass.data.hashing import cache_dir
from imclass.data.transforms import Preprocessing
from imclass.errors import ExportError, OutputError, invalid_parameter
from imclass.files import atomic_path
from imclass.inference.backends import OnnxBackend, TorchBackend
from imclass.inference.device import pick_device
from imclass.inference.end_to_end import EndToEndModel
from imclass.inference.export import ExportSettings, write_onnx
from imclass.inference.exported import ExportDescription
from imclass.inference.runtime import RUNTIMES
from imclass.models.heads import build_model
from imclass.models.run_dir import ModelSpec
from imclass.progress import Reporter

# Two classes: the head's size barely counts beside the body's convolutions.
CLASSES = ("class_0", "class_1")
UNTRAINED = "untrained (doctor's timing copy)"  # the weights_sha256 its description carries
EXPORT_SETTINGS = ExportSettings(dynamic_batch=True)  # as predict's own (inference/runtime.py)


@dataclass(frozen=True)
class TimedModel:
    """A backend scoring uint8 pixels as predict would, and why it is eager PyTorch on a CPU
    under auto (None when it is what predict uses)."""

    backend: TorchBackend | OnnxBackend
    fallback: str | None = None


def timing_spec(model_name: str, pre: Preprocessing, flip_tta: bool) -> ModelSpec:
    """model.json of an untrained run of model_name at pre's size: what the timed copy is."""
    return ModelSpec(model_name, CLASSES, pre, flip_tta=flip_tta)


def load_timed_model(
    spec: ModelSpec, runtime: str = "auto", reporter: Reporter | None = None
) -> TimedModel:
    """The backend predict would score spec's model with under runtime (module docstring)."""
    if runtime not in RUNTIMES:
        raise invalid_parameter("runtime", "doctor", f"one of {RUNTIMES}", runtime)
    reporter = reporter or Reporter(quiet=True)
    if runtime == "torch" or (runtime == "auto" and pick_device("auto").type == "cuda"):
        return TimedModel(_torch_backend(spec))
    try:
        return TimedModel(_onnx_backend(spec, reporter))
    except (ExportError, OutputError) as error:
        if runtime == "onnx":
            raise
        reporter.warn(f"{error}; timing eager PyTorch instead")
        return TimedModel(_torch_backend(spec), str(error))


def cached_export(spec: ModelSpec) -> Path:
    """Where the timing copy of spec's model is kept, named by all that changes its graph."""
    flip = "flip" if spec.flip_tta else "noflip"
    name = (
        f"{spec.architecture}-{spec.preprocessing.image_size}px-{flip}"
        f"-imclass{__version__}-torch{torch.__version__}"
    )
    return cache_dir() / "doctor" / (re.sub(r"[^A-Za-z0-9._+-]", "_", name) + ".onnx")


def _untrained(spec: ModelSpec) -> EndToEndModel:
    model = build_model(spec.architecture, len(spec.classes), spec.head, pretrained=False)
    return EndToEndModel(model, spec).eval()


def _torch_backend(spec: ModelSpec) -> TorchBackend:
    return TorchBackend(_untrained(spec))


def _onnx_backend(spec: ModelSpec, reporter: Reporter) -> OnnxBackend:
    if find_spec("onnxruntime") is None:
        raise ExportError("ONNX Runtime is not installed (pip install onnxruntime)")
    path = cached_export(spec)
    if path.is_file():
        try:
            backend = OnnxBackend(path)
        except ExportError as error:  # a damaged cache entry is made again
            reporter.line(f"{error}; exporting it again")
        else:
            reporter.line(f"timing the model as predict runs it: ONNX Runtime on {path}")
            return backend
    with atomic_path(path) as temporary:  # said once the folder has taken a file
        reporter.line(
            f"timing the model as predict runs it: ONNX Runtime; exporting it once, cached in "
            f"{path}"
        )
        write_onnx(_untrained(spec), ExportDescription(spec, UNTRAINED), temporary, EXPORT_SETTINGS)
    return OnnxBackend(path)
