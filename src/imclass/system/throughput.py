"""How fast this machine decodes a folder's images against how fast it runs a model on them,
measured on a small sample in a few seconds; and which of the two sets the pace.

Decoding is timed as predict and evaluate decode (data/images.py's load_rgb at reduced JPEG
scale for the model's size, then resize and crop), in one thread per core; the model as imclass
runs inference (inference/batches.py: channels_last, a few images at a time on the CPU, autocast
on a GPU) on a batch of random pixels, since speed does not depend on the weights. The ratio is
decoding's time per image over the model's: above 1, the model waits for images (decode-bound).
On a GPU the two run side by side, so the slower sets the pace; on the CPU they share the cores,
so the ratio is also decoding's share of the work against the model's.
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
from imclass.inference.batches import forward_pieces
from imclass.inference.device import pieces, prepare

LARGE_PIXELS = 4_000_000  # above it, `imclass downsize` (4 MP by default) shrinks an image
SIZE_SAMPLE = 1000  # image headers read to count the large ones (all of a smaller folder)
DECODE_SAMPLE = 8  # images decoded per core (JPEG draft decoding makes 12 MP ~25-60 ms each)
MODEL_SECONDS = 1.5  # the model is timed over batches for about this long (at least one)


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
    device: str
    model_images_per_s: float
    batch: int

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


@torch.inference_mode()
def model_rate(model: torch.nn.Module, image_size: int, device: torch.device) -> tuple[float, int]:
    """(images/s, batch) of the model's forward pass on random pixels, as imclass runs it."""
    model = prepare(model.eval(), device)
    # a GPU batch, or on the CPU the few images imclass runs through the network at once
    inputs = torch.rand(64, 3, image_size, image_size)
    inputs = inputs[: pieces(inputs, device)]
    _forward(model, inputs, device)  # warm-up
    images, start = 0, time.perf_counter()
    while images == 0 or time.perf_counter() - start < MODEL_SECONDS:
        _forward(model, inputs, device)
        images += len(inputs)
    return images / (time.perf_counter() - start), len(inputs)


def _forward(model, inputs: torch.Tensor, device: torch.device) -> None:
    for out in forward_pieces(model, inputs, device):
        out.float().cpu()  # waits for the GPU
