"""Class probabilities for image files from a trained model, in batches, skipping bad files.

Worker threads decode and crop the images into uint8 pixels while the backend (eager PyTorch or
ONNX Runtime, inference/backends.py) scores the batch before, so a folder goes at the pace of
the slower of the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image
from torch import nn

from imclass.data.dataset import ImageSet
from imclass.data.images import expand_paths, load_rgb, to_rgb
from imclass.data.loader import Batch, ImageFileDataset, collate, threaded_batches
from imclass.data.transforms import pixel_transform
from imclass.inference.backends import OnnxBackend, TorchBackend
from imclass.inference.decisions import decide
from imclass.inference.end_to_end import EndToEndModel
from imclass.inference.runtime import load_backend
from imclass.models.run_dir import ModelSpec
from imclass.progress import Reporter

__all__ = ["Predictor", "Probabilities", "above_thresholds", "expand_paths", "top_k"]

DEFAULT_BATCH = 32  # images a backend scores in one call


class Probabilities(NamedTuple):
    """A Predictor's answer, row i for the i-th path asked about."""

    probs: np.ndarray  # (N, C); NaN rows for unreadable files
    readable: np.ndarray  # the rows that were read, ascending
    failures: list[tuple[int, str]]  # (row, reason) of each unreadable file


class Predictor:
    """A model and its preprocessing, from model.json; nobody re-types mean/std.

    model: a torch module (scored eagerly on device) or a ready backend (OnnxBackend). workers:
    decoding threads (None: one per core; 0 or 1: decode in this thread, between batches).
    Changes nothing process-wide: thread counts are the caller's (the CLI uses every core)."""

    def __init__(
        self,
        model: nn.Module | TorchBackend | OnnxBackend,
        spec: ModelSpec,
        *,
        device: str = "auto",
        batch_size: int = DEFAULT_BATCH,
        workers: int | None = None,
    ):
        if isinstance(model, nn.Module):
            model = TorchBackend(EndToEndModel(model, spec), device)
        self.backend, self.spec = model, spec
        self.batch_size, self.workers = batch_size, workers

    @classmethod
    def from_run_dir(
        cls,
        run_dir: Path | str,
        *,
        runtime: str = "torch",
        device: str = "auto",
        reporter: Reporter | None = None,
        threads: int | None = None,
        **kwargs,
    ) -> Predictor:
        """The run's model under runtime "torch", "onnx" or "auto" (inference/runtime.py);
        threads: ONNX Runtime's (None: one per core; torch's are process-wide, the caller's)."""
        backend = load_backend(run_dir, runtime, device=device, reporter=reporter, threads=threads)
        return cls(backend, backend.spec, **kwargs)

    @classmethod
    def from_onnx(cls, path: Path | str, **kwargs) -> Predictor:
        """An exported ONNX file alone: its metadata holds classes and preprocessing."""
        backend = OnnxBackend(path)
        return cls(backend, backend.spec, **kwargs)

    @property
    def runtime(self) -> str:
        """The backend's: 'torch' or 'onnx'."""
        return self.backend.runtime

    def probabilities(self, paths: list[Path], reporter: Reporter | None = None) -> Probabilities:
        """One row per path, in the order given (a path given twice gets two rows).

        Single-label: softmax rows. Multi-label: independent sigmoids, one per class."""
        reporter = reporter or Reporter(quiet=True)
        pre = self.spec.preprocessing
        dataset = ImageFileDataset(
            ImageSet(tuple(paths), (0,) * len(paths)),
            pixel_transform(pre),
            partial(load_rgb, min_size=pre.resize_size),
        )
        batches = threaded_batches(dataset, batch_size=self.batch_size, workers=self.workers)
        with reporter.task("predict", len(paths)) as advance:
            rows, scored, failures = self._score(batches, advance)
        for row, reason in failures:
            reporter.warn(f"skipped {paths[row]}: {reason}")
        probs = np.full((len(paths), len(self.spec.classes)), np.nan, dtype=np.float32)
        probs[rows] = scored
        return Probabilities(probs, np.sort(rows), sorted(failures))

    def predict_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """(N, C) probabilities for pictures already in memory (a webcam frame, an upload that
        data.uploads.decode_upload decoded), prepared as files are: model.json's transform,
        flip TTA and temperature; any Pillow mode is made RGB as files are. Rows as for
        probabilities(); top_k or above_thresholds turn them into answers."""
        _, scored, _ = self._score(self._batches(images), _ignore)
        return scored

    def _batches(self, images: Sequence[Image.Image]) -> Iterator[Batch]:
        transform = pixel_transform(self.spec.preprocessing)
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            yield collate([(transform(to_rgb(im)), 0, start + i) for i, im in enumerate(chunk)])

    def _score(self, batches: Iterable[Batch], advance) -> tuple[np.ndarray, np.ndarray, list]:
        """(rows, probabilities of those rows, failures) over the batches."""
        rows, scored, failures = [], [], []
        for batch in batches:
            failures += batch.failures
            if len(batch):
                rows.append(batch.indices.numpy())
                scored.append(self.backend.probabilities(batch.inputs))
            advance(len(batch) + len(batch.failures))
        if not rows:
            empty = np.empty((0, len(self.spec.classes)), dtype=np.float32)
            return np.empty(0, dtype=int), empty, failures
        return np.concatenate(rows), np.concatenate(scored), failures


def _ignore(done: int) -> None:
    """Progress of a pass nobody watches."""


def above_thresholds(probs: np.ndarray, classes, thresholds) -> list[list[tuple[str, float]]]:
    """For each row, every (class, probability) at or above its threshold, most probable first."""
    rows = []
    for row, on in zip(probs, decide(probs, multilabel=True, thresholds=thresholds), strict=True):
        chosen = [(classes[c], float(row[c])) for c in np.flatnonzero(on)]
        rows.append(sorted(chosen, key=lambda pair: -pair[1]))
    return rows


def top_k(probs: np.ndarray, classes, k: int) -> list[list[tuple[str, float]]]:
    """For each row, the k most probable (class, probability) pairs."""
    k = min(k, probs.shape[1])
    order = np.argsort(-probs, axis=1)[:, :k]
    return [
        [(classes[j], float(row[j])) for j in ranks]
        for row, ranks in zip(probs, order, strict=True)
    ]
