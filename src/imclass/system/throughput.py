"""How fast this machine decodes a folder's images against how fast it runs a model on them,
measured on a small sample in a few seconds; and which of the two sets the pace.

Decoding is timed as predict and evaluate decode (data/images.py's load_rgb at reduced JPEG
scale for the model's size, then resize and crop), in one thread per core; the model as predict
scores (system/timed_model.py: ONNX Runtime on the CPU, eager PyTorch on a GPU, flip TTA as
model.json has it) on batches of random pixels, since speed does not depend on the weights. The
ratio is decoding's time per image over the model's: above 1, the model waits for images
(decode-bound). On a GPU the two run side by side, so the slower sets the pace; on the CPU they
share the cores, so the ratio is also decoding's share of the work against the model's.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from imclass.data.images import UnreadableImage, load_rgb, open_image
from imclass.data.transforms import Preprocessing, pixel_transform
from imclass.data.workers import cpu_cores, parallel_map
from imclass.inference.backends import OnnxBackend, TorchBackend, warm_up
from imclass.inference.device import pieces
from imclass.inference.predictor import DEFAULT_BATCH

LARGE_PIXELS = 4_000_000  # above it, `imclass downsize` (4 MP by default) shrinks an image
SIZE_SAMPLE = 1000  # image headers read to count the large ones (all of a smaller folder)
DECODE_SAMPLE = 8  # images decoded per core (JPEG draft decoding makes 12 MP ~25-60 ms each)
# The model is timed warm (inference/backends.py warm_up), then for about this long (at least
# two batches). Timed from its second call, doctor saw half predict's speed over a folder and
# called a folder of 12-MP JPEGs compute-bound that predict decodes slower than it scores.
MODEL_SECONDS = 2.0


@dataclass(frozen=True)
class ImageSizes:
    """How many of a folder's images are above LARGE_PIXELS, from the headers of a sample."""

    images: int
    read: int  # headers read (a sample spread over the folder, or every image)
    large: int  # of those read, above LARGE_PIXELS
    unreadable: int


@dataclass(frozen=True)
class Throughput:
    """Images per second of decoding and of the model on this machine, and the verdict."""

    decode_images_per_s: float
    decoded: int
    decode_threads: int
    model: str
    image_size: int
    flip_tta: bool  # each image scored twice, as itself and mirrored
    runtime: str  # "onnx" (ONNX Runtime) or "torch" (eager PyTorch)
    device: str
    model_images_per_s: float
    batch: int
    fallback: str | None = None  # why eager PyTorch stands in for ONNX Runtime on the CPU

    @property
    def ratio(self) -> float:
        """Decoding's time per image over the model's."""
        return self.model_images_per_s / self.decode_images_per_s

    @property
    def verdict(self) -> str:
        return "decode-bound" if self.ratio >= 1 else "compute-bound"


def spread(items: list, count: int) -> list:
    """count items evenly spaced over the list (all of a shorter one)."""
    if len(items) <= count:
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]


def image_sizes(paths: list[Path]) -> ImageSizes:
    """Count the images above LARGE_PIXELS by their headers (no pixel is decoded)."""
    sample = spread(paths, SIZE_SAMPLE)
    pixels = list(parallel_map(_pixels, sample))
    large = sum(1 for p in pixels if p is not None and p > LARGE_PIXELS)
    return ImageSizes(len(paths), len(sample), large, pixels.count(None))


def _pixels(path: Path) -> int | None:
    try:
        with open_image(path) as image:
            return image.size[0] * image.size[1]
    except (UnreadableImage, OSError):
        return None


def decode_rate(paths: list[Path], pre: Preprocessing) -> tuple[float, int, int]:
    """(images/s, images decoded, threads): a sample spread over the folder, decoded and
    cropped as predict does, one thread per core. Unreadable files count as decoded (their
    time is spent too)."""
    threads = cpu_cores()
    sample = spread(paths, DECODE_SAMPLE * threads)
    prepare = partial(_decode, transform=pixel_transform(pre), min_size=pre.resize_size)
    start = time.perf_counter()
    for _ in parallel_map(prepare, sample, workers=threads, chunksize=1):
        pass
    return len(sample) / (time.perf_counter() - start), len(sample), threads


def _decode(path: Path, transform, min_size: int) -> None:
    with contextlib.suppress(UnreadableImage):  # its time is spent all the same
        transform(load_rgb(path, min_size=min_size))


def model_rate(backend: TorchBackend | OnnxBackend) -> tuple[float, int]:
    """(images/s, batch) of the backend scoring random pixels, in batches as predict sends them:
    DEFAULT_BATCH, or on the CPU under eager PyTorch the few images it runs at once (predict's
    batch goes through in such pieces, at the same rate). Timed once warm, as predict runs
    over a folder: full batches are run until one is no slower than the one before."""
    size = backend.spec.preprocessing.image_size
    generator = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (DEFAULT_BATCH, 3, size, size), generator=generator)
    pixels = pixels.to(torch.uint8)
    if isinstance(backend, TorchBackend) and backend.device.type == "cpu":
        pixels = pixels[: pieces(pixels, backend.device)]
    warm_up(lambda: backend.probabilities(pixels))
    images, start = 0, time.perf_counter()
    while images < 2 * len(pixels) or time.perf_counter() - start < MODEL_SECONDS:
        backend.probabilities(pixels)
        images += len(pixels)
    return images / (time.perf_counter() - start), len(pixels)
