"""Batches of model inputs from image files; an unreadable file is reported, never fatal."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial

import torch
from torch.utils.data import DataLoader, Dataset

from imclass.data.dataset import ImageSet, multi_hot
from imclass.data.images import UnreadableImage, load_rgb
from imclass.data.workers import cpu_cores, parallel_map


@dataclass
class Batch:
    """Decoded inputs, their labels and positions in the ImageSet, and the files that failed."""

    inputs: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor
    failures: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.indices)


class ImageFileDataset(Dataset):
    """Decodes item i of an ImageSet; a bad file yields its reason instead of a tensor."""

    def __init__(self, images: ImageSet, transform, decode, num_labels: int | None = None):
        self.images = images
        self.transform = transform
        self.decode = decode
        self.num_labels = num_labels  # set for multi-label data: targets become multi-hot

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        path = self.images.paths[index]
        try:
            picture = self.decode(path)
        except UnreadableImage as error:
            return None, error.reason, index
        return self.transform(picture), self.target(self.images.labels[index]), index

    def target(self, label):
        if self.num_labels is None:
            return label
        return torch.from_numpy(multi_hot([label], self.num_labels)[0])


def collate(items) -> Batch:
    """Stack the decoded items; the failed ones travel along as (index, reason)."""
    good = [item for item in items if item[0] is not None]
    failures = [(index, reason) for picture, reason, index in items if picture is None]
    if not good:
        empty = torch.empty(0, dtype=torch.long)
        return Batch(torch.empty(0), empty, empty, failures)
    return Batch(
        torch.stack([item[0] for item in good]),
        _stack_targets([item[1] for item in good]),
        torch.tensor([item[2] for item in good]),
        failures,
    )


def _stack_targets(targets) -> torch.Tensor:
    return torch.stack(targets) if torch.is_tensor(targets[0]) else torch.tensor(targets)


def quiet_worker(worker_id: int) -> None:
    """In each decoding process: Ctrl-C is the main process's to handle (it stops the workers),
    and SIGTERM simply ends the worker, whatever handlers the main process had installed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def default_workers(cores: int | None = None) -> int:
    """Decoding workers beside training: one per core beyond the first, at most 8 (cores: the
    ones this process may use; default: all)."""
    return min(8, (cores or cpu_cores()) - 1)


def threaded_batches(
    dataset: ImageFileDataset, *, batch_size: int, workers: int | None = None
) -> Iterator[Batch]:
    """The dataset's items in order, batch_size at a time, each batch decoded by one of workers
    threads (None: one per core; 0 or 1: in this thread) a few batches ahead of the caller, so
    decoding overlaps what the caller does with the batches (Pillow and ONNX Runtime or torch
    release the GIL). Threads, not processes: data/workers.py says why."""
    chunks = [
        range(start, min(start + batch_size, len(dataset)))
        for start in range(0, len(dataset), batch_size)
    ]
    return parallel_map(partial(_decode_batch, dataset), chunks, workers=workers, chunksize=1)


def _decode_batch(dataset: ImageFileDataset, rows: range) -> Batch:
    return collate([dataset[row] for row in rows])


def make_loader(
    images: ImageSet,
    transform,
    *,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    sampler=None,
    workers: int | None = None,
    decode_size: int | None = None,
    decode=None,
    num_labels: int | None = None,
) -> DataLoader:
    """A DataLoader of Batch objects; decode(path) -> RGB image (default: load_rgb, with
    JPEG draft decoding to decode_size); shuffling is reproducible from seed. A sampler (one
    process's share under torchrun) replaces the loader's own order.

    The workers stay forked processes, PyTorch's default: a forkserver costs 5 s to start and
    0.3 s more per epoch (a loader is made per epoch), spawn 8-15 s per epoch (measured on 2 busy
    cores, 64 small PNGs, 2 workers).
    """
    workers = default_workers() if workers is None else workers
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        ImageFileDataset(
            images, transform, decode or partial(load_rgb, min_size=decode_size), num_labels
        ),
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        generator=generator,
        num_workers=workers,
        worker_init_fn=quiet_worker,
        collate_fn=collate,
        persistent_workers=False,
        pin_memory=torch.cuda.is_available(),
    )
