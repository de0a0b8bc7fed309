"""Which runtime scores a run's images: `--runtime torch|onnx|auto` resolved to a backend.

torch  the eager model.
onnx   ONNX Runtime on the run's model.onnx; exported once into the run directory when it has
       none, or when the one it has was exported from other weights or another model.json.
auto   onnx, except on a CUDA device (eager PyTorch on a GPU is the faster) and when the export
       cannot be made (a read-only run directory, a failed parity check): then torch, with a
       warning saying why.

A model.onnx that is not an imclass export of some run (damaged, foreign, another input) is an
ExportError under onnx and auto alike: it is never written over, and never silently ignored.
"""

from __future__ import annotations

from pathlib import Path

from imclass.errors import ExportError, OutputError, invalid_parameter
from imclass.inference.backends import OnnxBackend, TorchBackend
from imclass.inference.device import pick_device
from imclass.inference.end_to_end import EndToEndModel
from imclass.inference.export import ExportSettings, export_run
from imclass.models.run_dir import RunDirectory
from imclass.progress import Reporter

RUNTIMES = ("auto", "onnx", "torch")


def load_backend(
    run_dir: Path | str,
    runtime: str = "torch",
    *,
    device: str = "auto",
    reporter: Reporter | None = None,
    threads: int | None = None,
) -> TorchBackend | OnnxBackend:
    """The backend that scores with the run's model under runtime (see the module docstring);
    threads: ONNX Runtime's intra-op threads (None: one per core)."""
    if runtime not in RUNTIMES:
        raise invalid_parameter("runtime", "predict", f"one of {RUNTIMES}", runtime)
    reporter = reporter or Reporter(quiet=True)
    run = RunDirectory(run_dir)
    if runtime == "torch" or (runtime == "auto" and pick_device(device).type == "cuda"):
        return _torch_backend(run, device)
    exported = _current_export(run, reporter, threads)
    if exported is not None:
        return exported
    try:
        export_run(run.path, run.onnx_path, ExportSettings(dynamic_batch=True), reporter)
    except (ExportError, OutputError) as error:
        if runtime == "onnx":
            raise
        reporter.warn(f"{error}; scoring with PyTorch instead")
        return _torch_backend(run, device)
    reporter.line(f"exported {run.onnx_path} for the ONNX runtime (once; later runs reuse it)")
    return OnnxBackend(run.onnx_path, threads=threads)


def _torch_backend(run: RunDirectory, device: str) -> TorchBackend:
    model, spec = run.load_model()
    return TorchBackend(EndToEndModel(model, spec), device)


def _current_export(
    run: RunDirectory, reporter: Reporter, threads: int | None = None
) -> OnnxBackend | None:
    """The run's model.onnx when it was exported from the run as it is now; None when there is
    none or it is out of date (then it is exported again)."""
    if not run.onnx_path.exists():
        return None
    # an ExportError for anything but an imclass export
    backend = OnnxBackend(run.onnx_path, threads=threads)
    described = backend.description
    if described.weights_sha256 == run.weights_digest() and described.spec == run.read_spec():
        return backend
    reporter.line(f"{run.onnx_path} was exported from other weights or settings")
    return None
