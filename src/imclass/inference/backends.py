"""The two runtimes a Predictor can score with, behind one call: logits(pixels) and
probabilities(pixels), for a batch of uint8 pixels (N, 3, S, S) as pixel_transform makes them.

TorchBackend runs the EndToEndModel eagerly (CUDA with autocast when present, else the CPU in
small pieces); OnnxBackend runs an exported file with ONNX Runtime on the CPU, and refuses, in
one line naming the file, one that is damaged, not imclass's, or takes another input.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from imclass.data.workers import cpu_cores
from imclass.errors import ExportError
from imclass.inference.device import autocast, pick_device, pieces, prepare, to_device
from imclass.inference.end_to_end import INPUT_NAME, OUTPUT_NAMES, EndToEndModel
from imclass.inference.exported import ExportDescription
from imclass.models.run_dir import ModelSpec

# ONNX Runtime runs its first calls at a batch size slowly while it grows its buffers (lite2 at
# 320 px with flip TTA, 32 images on 2 cores: 2.1 s, 1.5 s, 1.2 s, then 1.0 s); once warm at
# the largest batch, smaller ones run at full speed from their first call.
WARM_UP_CALLS = 4  # at most


def warm_up(run: Callable[[], object], max_calls: int = WARM_UP_CALLS) -> int:
    """Call run() until a call is no faster than the one before, at most max_calls times; the
    calls made. For the largest batch a backend will see, before it is timed or serves."""
    previous = float("inf")
    for calls in range(1, max_calls + 1):
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
        if seconds >= 0.95 * previous:
            return calls
        previous = seconds
    return max_calls


class TorchBackend:
    """The EndToEndModel in eager PyTorch."""

    runtime = "torch"

    def __init__(self, model: EndToEndModel, device: str = "auto"):
        self.device = pick_device(device)
        self.model = prepare(model.eval(), self.device)
        self.spec: ModelSpec = model.spec

    def logits(self, pixels: torch.Tensor) -> np.ndarray:
        return self._run(pixels)[0]

    def probabilities(self, pixels: torch.Tensor) -> np.ndarray:
        return self._run(pixels)[1]

    @torch.inference_mode()
    def _run(self, pixels: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        logits, probs = [], []
        for piece in pixels.split(pieces(pixels, self.device)):
            with autocast(self.device):
                out = self.model(to_device(piece, self.device))
            logits.append(out[0].float().cpu())
            probs.append(out[1].float().cpu())
        return torch.cat(logits).numpy(), torch.cat(probs).numpy()


class OnnxBackend:
    """An exported ONNX file (inference/export.py) in ONNX Runtime, on every core."""

    runtime = "onnx"

    def __init__(self, path: Path | str, *, threads: int | None = None):
        self.path = Path(path)
        self.session = _session(self.path, threads or cpu_cores())
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.description = ExportDescription.from_metadata(self.path, metadata)
        self.spec: ModelSpec = self.description.spec
        # a file exported without --dynamic-batch takes one image a run
        self.one_at_a_time = _check_signature(self.path, self.session, self.spec)

    def logits(self, pixels: torch.Tensor | np.ndarray) -> np.ndarray:
        return self._run(pixels)[0]

    def probabilities(self, pixels: torch.Tensor | np.ndarray) -> np.ndarray:
        return self._run(pixels)[1]

    def _run(self, pixels: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        array = np.ascontiguousarray(pixels.numpy() if torch.is_tensor(pixels) else pixels)
        step = 1 if self.one_at_a_time else max(1, len(array))
        parts = [
            self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: array[start : start + step]})
            for start in range(0, len(array), step)
        ]
        if not parts:
            empty = np.empty((0, len(self.spec.classes)), dtype=np.float32)
            return empty, empty
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _session(path: Path, threads: int):
    """An ONNX Runtime session with every graph optimisation, intra-op threads = threads, and
    threads that sleep when idle: spinning threads cost the decoding threads beside them their
    core (2 threads on 2 busy cores: 11.7 images/s spinning, 17.6 not)."""
    import onnxruntime as ort

    if path.exists() and not path.is_file():  # a FIFO would keep ONNX Runtime waiting
        raise ExportError(f"{path}: not a model file (a folder, device, pipe or socket)")
    if not path.is_file():
        raise ExportError(f"{path}: no such file (export one with `imclass export RUN_DIR`)")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: its warnings are not the user's business
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - ONNX Runtime has its own type for each damage
        reason = " ".join(str(error).split())[:300]
        raise ExportError(f"{path}: not a readable ONNX model ({reason})") from None


def _check_signature(path: Path, session, spec: ModelSpec) -> bool:
    """Whether the file takes one image a run (True) or a batch of any size (False); an
    ExportError when it does not take pixels of model.json's size and give both outputs."""
    size = spec.preprocessing.image_size
    inputs = session.get_inputs()
    outputs = {o.name: o for o in session.get_outputs()}
    wanted = f"one input {INPUT_NAME!r} of uint8 N x 3 x {size} x {size} (N: 1 or any)"
    taken = ", ".join(f"{i.name!r} of {i.type} {i.shape}" for i in inputs) or "no input"
    shape = inputs[0].shape if len(inputs) == 1 else []
    if (
        len(inputs) != 1
        or inputs[0].name != INPUT_NAME
        or inputs[0].type != "tensor(uint8)"
        or len(shape) != 4
        or list(shape[1:]) != [3, size, size]
        or (isinstance(shape[0], int) and shape[0] != 1)
    ):
        raise ExportError(
            f"{path}: takes {taken}, where its imclass metadata says {wanted}; "
            "export it again with `imclass export RUN_DIR`"
        )
    for name in OUTPUT_NAMES:
        if name not in outputs or outputs[name].shape[-1] != len(spec.classes):
            raise ExportError(
                f"{path}: has no output {name!r} of {len(spec.classes)} classes; "
                "export it again with `imclass export RUN_DIR`"
            )
    return shape[0] == 1
