"""`imclass export`: a run's whole inference path (inference/end_to_end.py: pixels in,
probabilities out) as one ONNX or TorchScript file, described inside it (ONNX metadata_props)
or beside it (TorchScript: FILE.json; inference/exported.py), and written, atomically, only
once the parity check (inference/parity.py) finds the file answering as the eager model does.

ONNX comes from torch.export (torch.onnx.export(dynamo=True), which needs onnxscript), not the
deprecated TorchScript-based exporter: for tf_efficientnet_lite0 at 224 px the latter keeps
TensorFlow's "same" padding as shape arithmetic and Pad nodes (635 nodes against 98), and ONNX
Runtime ran its graph at 20-24 images/s against 32-34 (2 busy cores, batches of 8); it exports
in a quarter of the time (9 s against 38 s), which happens once.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from imclass._version import __version__
from imclass.errors import ExportError, invalid_parameter
from imclass.files import atomic_path, write_json
from imclass.inference.backends import OnnxBackend
from imclass.inference.end_to_end import INPUT_NAME, OUTPUT_NAMES, EndToEndModel
from imclass.inference.exported import ExportDescription, description_path
from imclass.inference.parity import (
    MAX_IMAGES,
    TOLERANCE,
    Parity,
    ParityImages,
    compare,
    parity_images,
)
from imclass.models.run_dir import RunDirectory
from imclass.progress import Reporter

FORMATS = ("onnx", "torchscript")
QUANTIZE = ("dynamic", "static")
CALIBRATION_IMAGES = 64  # a static quantization's activation ranges come from these
# What a static quantization turns to int8. Not the softmax and sigmoid: quantized, the
# probabilities came out in steps of 1/255 summing to 0.996. Without Add and Clip, lite0 ran at
# 36 images/s instead of 54 (fp32: 25-28; hymenoptera val, 2 busy cores).
STATIC_INT8_OPS = ["Conv", "Gemm", "MatMul", "Add", "Clip"]
# torch.export translates at opset 18; an older one needs a conversion that fails for these
# models (ReduceMean's axes) and leaves 18 behind, so 18 is the oldest offered.
DEFAULT_OPSET = 18  # ONNX Runtime reads it from version 1.14
OPSETS = (18, 23)
MAX_BATCH = 4096  # the largest batch a --dynamic-batch file is declared to take


@dataclass(frozen=True)
class ExportSettings:
    """How to export: format, ONNX opset, a batch of any size or of one, int8 weights, and the
    folder of parity images (None: the run's validation images, else generated ones)."""

    format: str = "onnx"
    opset: int | None = None  # None: DEFAULT_OPSET for ONNX
    dynamic_batch: bool = False
    quantize: str | None = None
    images: Path | None = None
    tolerance: float = TOLERANCE  # the parity check's largest allowed |difference|

    def check(self) -> ExportSettings:
        """Itself, when every setting is valid and applies to the format; else a ConfigError."""
        if self.format not in FORMATS:
            raise invalid_parameter("format", "export", f"one of {FORMATS}", self.format)
        if self.quantize not in (None, *QUANTIZE):
            raise invalid_parameter("quantize", "export", f"one of {QUANTIZE}", self.quantize)
        if self.format == "torchscript":
            for name in ("opset", "dynamic_batch", "quantize"):
                if value := getattr(self, name):
                    raise invalid_parameter(
                        name, "export", "unset for TorchScript (it applies to ONNX only)", value
                    )
        if not self.tolerance >= 0:
            raise invalid_parameter("tolerance", "export", "a number >= 0", self.tolerance)
        if self.opset is not None and not OPSETS[0] <= self.opset <= OPSETS[1]:
            expected = f"an ONNX opset from {OPSETS[0]} to {OPSETS[1]}"
            raise invalid_parameter("opset", "export", expected, self.opset)
        return self


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote and how its answers compare with the eager model's."""

    path: Path
    description: Path | None  # the JSON beside a TorchScript file
    parity: Parity
    seconds: float


def default_out(run: RunDirectory, settings: ExportSettings) -> Path:
    """model.onnx (model.int8.onnx when quantized) or model.torchscript.pt in the run."""
    if settings.format == "torchscript":
        return run.torchscript_path
    return run.quantized_onnx_path if settings.quantize else run.onnx_path


def export_run(
    run_dir: Path | str,
    out: Path | str | None = None,
    settings: ExportSettings | None = None,
    reporter: Reporter | None = None,
) -> ExportResult:
    """Export the run, check the file against the eager model, then put it in place (see the
    module's docstring). A quantized file's parity is reported, never a failure."""
    settings = (settings or ExportSettings()).check()
    reporter = reporter or Reporter(quiet=True)
    started = time.perf_counter()
    run = RunDirectory(run_dir)
    model, spec = run.load_model()
    quantization = f"{settings.quantize}-int8" if settings.quantize else "none"
    description = ExportDescription(spec, run.weights_digest(), quantization)
    out = Path(out) if out is not None else default_out(run, settings)
    limit = CALIBRATION_IMAGES if settings.quantize == "static" else MAX_IMAGES
    images = parity_images(run, spec, settings.images, limit)
    whole = EndToEndModel(model, spec).eval()
    with torch.inference_mode():  # in pieces: 64 images at once would need gigabytes
        eager = np.concatenate([whole(piece)[1].numpy() for piece in images.pixels.split(8)])
    reporter.line(f"exporting {out} ({settings.format}; parity check on {images.source})")
    with atomic_path(out) as temporary:
        parity = _write_and_check(whole, description, temporary, settings, images, eager)
        if not settings.quantize and not parity.passed(settings.tolerance):
            raise ExportError(
                f"{out}: the exported model does not answer as the eager one does "
                f"({parity.describe()}; allowed: a difference up to {settings.tolerance:g} and "
                "the same decision on every image); nothing was written. Try another --opset"
            )
        if settings.format == "torchscript":
            write_json(description_path(out), description.to_json())
    beside = description_path(out) if settings.format == "torchscript" else None
    return ExportResult(out, beside, parity, time.perf_counter() - started)


def _write_and_check(
    whole: EndToEndModel,
    description: ExportDescription,
    path: Path,
    settings: ExportSettings,
    images: ParityImages,
    eager: np.ndarray,
) -> Parity:
    """Write the file at path, then score the parity images with the file as written."""
    if settings.format == "torchscript":
        _write_torchscript(whole, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # PyTorch deprecates TorchScript
            loaded = torch.jit.load(str(path), map_location="cpu")  # the file just written
        with torch.inference_mode():
            exported = loaded(images.pixels)[1].numpy()
    else:
        write_onnx(whole, description, path, settings)
        if settings.quantize:
            _quantize(path, settings.quantize, images)
        exported = OnnxBackend(path).probabilities(images.pixels)
    return compare(images, eager, exported, whole.spec)


def write_onnx(
    whole: EndToEndModel, description: ExportDescription, path: Path, settings: ExportSettings
) -> None:
    """The model as one ONNX file at path, described inside it, without a parity check (export_run
    checks; doctor times an untrained model, whose answers nobody reads)."""
    size = whole.spec.preprocessing.image_size
    # a batch of 2 to trace: torch.export takes a dimension of 1 for a constant
    example = torch.zeros((2 if settings.dynamic_batch else 1, 3, size, size), dtype=torch.uint8)
    shapes = ({0: torch.export.Dim("batch", min=1, max=MAX_BATCH)},)
    opset = settings.opset or DEFAULT_OPSET
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.export's notes on its own internals
            program = torch.onnx.export(
                whole,
                (example,),
                dynamo=True,
                verbose=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=list(OUTPUT_NAMES),
                dynamic_shapes=shapes if settings.dynamic_batch else None,
            )
    except ImportError as error:
        raise ExportError(f"ONNX export needs {error.name} (pip install {error.name})") from None
    except Exception as error:  # noqa: BLE001 - torch.export fails in many ways, each a reason
        reason = " ".join(str(error).split())[:300]
        raise ExportError(
            f"{whole.spec.architecture}: torch.onnx.export failed at opset {opset} ({reason})"
        ) from None
    written = program.model.opset_imports.get("")
    if written != opset:
        raise ExportError(
            f"{whole.spec.architecture}: torch.onnx.export gave opset {written}, not {opset}"
        )
    program.model.metadata_props.update(description.to_metadata())
    program.model.producer_name, program.model.producer_version = "imclass", __version__
    program.save(str(path), external_data=False)


def _quantize(path: Path, kind: str, images: ParityImages) -> None:
    """int8 weights in place, the description kept, after the shape inference and graph
    clean-up ONNX Runtime asks for first. dynamic: activations quantized at run time (ONNX
    Runtime's ConvInteger, slow on x86); static: activation ranges calibrated on images, QDQ
    nodes per channel, which ONNX Runtime runs as int8 convolutions."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    full, prepared = (path.with_name(f"{path.name}.{step}") for step in ("float32", "prepared"))
    path.replace(full)
    try:
        quant_pre_process(str(full), str(prepared))
        if kind == "dynamic":
            quantize_dynamic(prepared, path, weight_type=QuantType.QInt8)
        else:
            quantize_static(
                prepared,
                path,
                _Calibration(images.pixels),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=STATIC_INT8_OPS,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
        quantized = onnx.load(str(path))
        described = onnx.load(str(full)).metadata_props
        onnx.helper.set_model_props(quantized, {p.key: p.value for p in described})
        onnx.save(quantized, str(path))
    finally:
        full.unlink(missing_ok=True)
        prepared.unlink(missing_ok=True)


class _Calibration:
    """ONNX Runtime's calibration data reader: the images one at a time (a file exported
    without --dynamic-batch takes one)."""

    def __init__(self, pixels: torch.Tensor):
        self._rows = iter(pixels.numpy())

    def get_next(self) -> dict | None:
        row = next(self._rows, None)
        return None if row is None else {INPUT_NAME: row[None]}

    def __iter__(self):
        return iter(self.get_next, None)


def _write_torchscript(whole: EndToEndModel, path: Path) -> None:
    """A trace (a TorchScript file takes a batch of any size)."""
    size = whole.spec.preprocessing.image_size
    example = torch.zeros((1, 3, size, size), dtype=torch.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PyTorch deprecates TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        # check_trace would run the model twice more; the parity check runs the saved file
        traced = torch.jit.trace(whole, example, check_trace=False)
        torch.jit.save(traced, str(path))
