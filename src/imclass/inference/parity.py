"""The parity check of an export: the exported file and the eager model score the same images,
and the figures say how far apart they are.

The images, in order of preference: those the user gives (--images), the run's validation
images (listed in its predictions.csv, where they still exist), else a few generated pictures;
at most MAX_IMAGES (a static quantization, calibrated on them, asks for up to 64), spread over
the list so every class is likely among them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from imclass.data.images import UnreadableImage, expand_paths, load_rgb
from imclass.data.transforms import pixel_transform
from imclass.errors import DataError, RunDirError
from imclass.inference.decisions import decide
from imclass.models.run_dir import ModelSpec, RunDirectory

MAX_IMAGES = 16
GENERATED = 8
TOLERANCE = 1e-4  # max |difference| of any probability; float32 graphs differ by ~1e-6


@dataclass(frozen=True)
class ParityImages:
    """Pixels to score, the class index of each where known (else -1), and where they came from."""

    pixels: torch.Tensor  # (N, 3, S, S) uint8
    labels: np.ndarray  # (N,) int
    source: str


@dataclass(frozen=True)
class Parity:
    """How an exported file's answers compare with the eager model's on the same images."""

    source: str
    images: int
    max_difference: float  # the largest |difference| of any probability
    agreeing: int  # images given the same decision (top-1, or the same labels for multi-label)
    accuracy: tuple[float, float] | None  # (eager, exported) on the labelled images

    def passed(self, tolerance: float = TOLERANCE) -> bool:
        return self.max_difference <= tolerance and self.agreeing == self.images

    def describe(self) -> str:
        text = (
            f"on {self.source}: max |difference in probability| {self.max_difference:.2g}, "
            f"same decision on {self.agreeing} of {self.images}"
        )
        if self.accuracy is not None:
            text += f", accuracy {self.accuracy[0]:.4f} eager against {self.accuracy[1]:.4f}"
        return text


def compare(images: ParityImages, eager: np.ndarray, exported: np.ndarray, spec) -> Parity:
    """Parity of exported against eager probabilities, both (N, classes), rows of images."""
    decided = [
        decide(p, multilabel=spec.multilabel, thresholds=spec.decision_thresholds())
        for p in (eager, exported)
    ]
    same = decided[0] == decided[1]
    agreeing = int((same.all(1) if spec.multilabel else same).sum())
    labelled = images.labels >= 0
    accuracy = None
    if labelled.any() and not spec.multilabel:
        truth = images.labels[labelled]
        accuracy = tuple(float((d[labelled] == truth).mean()) for d in decided)
    return Parity(
        images.source,
        len(exported),
        float(np.abs(eager.astype(np.float64) - exported).max()),
        agreeing,
        accuracy,
    )


def parity_images(
    run: RunDirectory, spec: ModelSpec, folder: Path | None = None, limit: int = MAX_IMAGES
) -> ParityImages:
    """The images of the parity check (see the module's docstring), at most limit of them."""
    if folder is not None:
        return _from_folder(folder, spec, limit)
    validation = _validation_images(run, spec, limit)
    if validation is not None:
        return validation
    pictures = [_generated(seed, spec.preprocessing.resize_size) for seed in range(GENERATED)]
    return ParityImages(
        _pixels(pictures, spec), np.full(GENERATED, -1), f"{GENERATED} generated pictures"
    )


def _from_folder(folder: Path, spec: ModelSpec, limit: int) -> ParityImages:
    paths = _spread(expand_paths([folder]), limit)
    index = {name: i for i, name in enumerate(spec.classes)}
    labels = [index.get(path.parent.name, -1) for path in paths]  # class folders are labels
    return _decoded(paths, labels, spec, f"{{}} images in {folder}")


def _validation_images(run: RunDirectory, spec: ModelSpec, limit: int) -> ParityImages | None:
    """The run's validation images that still exist, or None."""
    try:
        predictions = run.read_predictions()
    except RunDirError:
        return None
    index = {name: i for i, name in enumerate(spec.classes)}
    rows = [i for i, path in enumerate(predictions.paths) if Path(path).is_file()]
    rows = _spread(rows, limit)
    if not rows:
        return None
    paths = [Path(predictions.paths[i]) for i in rows]
    labels = [index.get(predictions.labels[i], -1) for i in rows]
    try:
        return _decoded(paths, labels, spec, "{} validation images of the run")
    except DataError:
        return None


def _decoded(paths: list[Path], labels: list[int], spec: ModelSpec, source: str) -> ParityImages:
    """The readable ones of paths as pixels; source's {} becomes how many."""
    pictures, kept = [], []
    for path, label in zip(paths, labels, strict=True):
        try:
            pictures.append(load_rgb(path, min_size=spec.preprocessing.resize_size))
        except UnreadableImage:
            continue
        kept.append(label)
    if not pictures:
        raise DataError(f"{paths[0].parent}: none of the images could be read")
    return ParityImages(_pixels(pictures, spec), np.array(kept), source.format(len(pictures)))


def _pixels(pictures: list[Image.Image], spec: ModelSpec) -> torch.Tensor:
    transform = pixel_transform(spec.preprocessing)
    return torch.stack([torch.as_tensor(transform(picture)) for picture in pictures])


def _spread(items: list, limit: int) -> list:
    """At most limit of items, evenly spaced over the list."""
    if len(items) <= limit:
        return items
    return [items[round(i * (len(items) - 1) / (limit - 1))] for i in range(limit)]


def _generated(seed: int, size: int) -> Image.Image:
    """A smooth random picture, different for each seed, a little larger than the crop."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
    return Image.fromarray(coarse).resize((size * 4 // 3, size), Image.Resampling.BICUBIC)
