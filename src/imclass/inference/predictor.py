"""Class probabilities for image files from a trained model, in batches, skipping bad files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from imclass.data.dataset import ImageSet
from imclass.data.images import is_image_file, to_rgb
from imclass.data.loader import Batch, collate, make_loader
from imclass.data.transforms import eval_transform
from imclass.errors import DataError
from imclass.inference.batches import run_inference
from imclass.inference.decisions import decide, probabilities
from imclass.inference.device import pick_device, prepare
from imclass.models.run_dir import ModelSpec, RunDirectory
from imclass.progress import Reporter


class Probabilities(NamedTuple):
    """A Predictor's answer, row i for the i-th path asked about."""

    probs: np.ndarray  # (N, C); NaN rows for unreadable files
    readable: np.ndarray  # the rows that were read, ascending
    failures: list[tuple[int, str]]  # (row, reason) of each unreadable file


class Predictor:
    """A model and its preprocessing, from model.json; nobody re-types mean/std.

    Changes nothing process-wide: thread counts are the caller's (the CLI uses every core)."""

    def __init__(
        self,
        model: torch.nn.Module,
        spec: ModelSpec,
        *,
        device: str = "auto",
        batch_size: int = 32,
        workers: int | None = None,
    ):
        self.device = pick_device(device)
        self.model, self.spec = prepare(model.eval(), self.device), spec
        self.batch_size, self.workers = batch_size, workers

    @classmethod
    def from_run_dir(cls, run_dir: Path | str, **kwargs) -> Predictor:
        model, spec = RunDirectory(run_dir).load_model()
        return cls(model, spec, **kwargs)

    def probabilities(self, paths: list[Path], reporter: Reporter | None = None) -> Probabilities:
        """One row per path, in the order given (a path given twice gets two rows).

        Single-label: softmax rows. Multi-label: independent sigmoids, one per class."""
        reporter = reporter or Reporter(quiet=True)
        images = ImageSet(tuple(paths), (0,) * len(paths))
        pre = self.spec.preprocessing
        loader = make_loader(
            images,
            eval_transform(pre),
            batch_size=self.batch_size,
            workers=self.workers if len(paths) > self.batch_size else 0,
            decode_size=pre.resize_size,
        )
        with reporter.task("predict", len(paths)) as advance:
            out = run_inference(self.model, loader, self.device, advance, flip=self.spec.flip_tta)
        for row, reason in out.failures:
            reporter.warn(f"skipped {paths[row]}: {reason}")
        probs = np.full((len(paths), len(self.spec.classes)), np.nan, dtype=np.float32)
        if len(out.values):
            probs[out.indices.numpy()] = self._probabilities(out.values)
        return Probabilities(probs, np.sort(out.indices.numpy()), sorted(out.failures))

    def predict_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """(N, C) probabilities for pictures already in memory (a webcam frame, an upload that
        data.uploads.decode_upload decoded), prepared as files are: model.json's transform,
        flip TTA and temperature; any Pillow mode is made RGB as files are. Rows as for
        probabilities(); top_k or above_thresholds turn them into answers."""
        if not images:
            return np.empty((0, len(self.spec.classes)), dtype=np.float32)
        out = run_inference(
            self.model, self._batches(images), self.device, _ignore, flip=self.spec.flip_tta
        )
        return self._probabilities(out.values)

    def _batches(self, images: Sequence[Image.Image]) -> Iterator[Batch]:
        transform = eval_transform(self.spec.preprocessing)
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            yield collate([(transform(to_rgb(im)), 0, start + i) for i, im in enumerate(chunk)])

    def _probabilities(self, logits: torch.Tensor) -> np.ndarray:
        return probabilities(
            logits, multilabel=self.spec.multilabel, temperature=self.spec.temperature
        ).numpy()


def _ignore(done: int) -> None:
    """Progress of a pass nobody watches."""


def expand_paths(inputs: list[Path | str]) -> list[Path]:
    """Files as given, and image files inside folders, recursively; a missing path is an error."""
    found = []
    for item in map(Path, inputs):
        if item.is_dir():
            found += sorted(p for p in item.rglob("*") if p.is_file() and is_image_file(p))
        elif item.is_file():
            found.append(item)
        elif item.exists():  # a FIFO would wait forever for a writer
            raise DataError(f"{item}: not an image file or folder (a device, pipe or socket)")
        else:
            raise DataError(f"{item}: no such file or folder")
    if not found:
        raise DataError(f"{', '.join(map(str, inputs))}: no image files found")
    return found


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
