"""Training in several processes under torchrun (DistributedDataParallel): which process this
is, and the few things the processes share.

torchrun starts one process per GPU (or several on the CPU) and tells each its RANK,
LOCAL_RANK, WORLD_SIZE and LOCAL_WORLD_SIZE. Every process reads the data set itself and runs
the same recipe; what differs:
- the images are divided among the processes: strided shares for the frozen features and for
  validation, all-gathered back into the full set in order, so that every process holds the
  same numbers and takes the same decisions (probe, early stopping); a DistributedSampler for
  fine-tuning, where DDP averages the gradients;
- only rank 0 prints and writes the run directory; what it reads (a resumed run's settings and
  checkpoint) it sends to the others, so other machines need no copy of the run directory;
- `--batch-size` is the global batch: each process takes its share, so the learning rate and
  the schedule are those of one process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn

from imclass.data.dataset import ImageSet
from imclass.data.workers import cpu_cores
from imclass.errors import ConfigError, ImclassError
from imclass.inference.batches import Outputs
from imclass.train.loop import EpochStats

T = TypeVar("T")

# A collective that waits longer than this fails instead of hanging: a process that stopped
# without dying (a dead machine, a stuck disk). torchrun itself ends the others at once when
# one dies. Rank 0 alone writes the evaluation report while the others wait (seconds).
TIMEOUT_VARIABLE = "IMCLASS_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 300


@dataclass(frozen=True)
class World:
    """This process's place among the training processes; World() is a single process."""

    rank: int = 0
    local_rank: int = 0
    size: int = 1
    local_size: int = 1  # processes on this machine

    @classmethod
    def from_environment(cls, environ=os.environ) -> World:
        """What torchrun set for this process; a single process when it did not."""
        try:
            return cls(
                int(environ.get("RANK", 0)),
                int(environ.get("LOCAL_RANK", 0)),
                int(environ.get("WORLD_SIZE", 1)),
                int(environ.get("LOCAL_WORLD_SIZE", environ.get("WORLD_SIZE", 1))),
            )
        except ValueError as error:
            raise ConfigError(f"torchrun's environment is unreadable ({error})") from None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def describe(self, batch_size: int, lr: float) -> str:
        """The line that tells a distributed run's effective batch and learning rate."""
        per_process = self.batch_per_process(batch_size)
        return (
            f"distributed: {self.size} processes, batch {per_process} per process = "
            f"{per_process * self.size} in all, learning rate {lr:g} (as for one process)"
        )

    def cores(self) -> int:
        """Torch threads for this process: the machine's cores shared among its processes."""
        return max(1, cpu_cores() // self.local_size)

    def device(self, device: str) -> str:
        """Each process on a machine takes the GPU of its local rank."""
        if not self.distributed or device != "cuda":
            return device
        if self.local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"process {self.local_rank} on this machine has no GPU of its own "
                f"({torch.cuda.device_count()} here): start at most that many processes per "
                "machine, or train on the CPU with --device cpu"
            )
        return f"cuda:{self.local_rank}"

    def batch_per_process(self, batch_size: int) -> int:
        """The global batch divided among the processes (rounded up)."""
        return -(-batch_size // self.size)

    def batches_per_epoch(self, images: int, batch_size: int) -> int:
        """Optimizer steps in an epoch: every process takes as many (DistributedSampler pads)."""
        per_process = -(-images // self.size)
        return -(-per_process // self.batch_per_process(batch_size))

    def share(self, images: ImageSet) -> ImageSet:
        """This process's images: every size-th, from its rank on (gather puts them back)."""
        return images.subset(range(self.rank, len(images), self.size))

    def gather(self, out: Outputs) -> Outputs:
        """Every process's Outputs over its share, as one Outputs over the full set, in order:
        the same on every process."""
        if not self.distributed:
            return out
        indices = _all_rows(out.indices * self.size + self.rank)
        order = indices.argsort()
        return Outputs(
            _all_rows(out.values)[order],
            _all_rows(out.labels)[order],
            indices[order],
            self.all_failures([(i * self.size + self.rank, why) for i, why in out.failures]),
        )

    def all_failures(self, failures: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Every process's unreadable files (index, reason), so all skip the same ones."""
        if not self.distributed:
            return failures
        every: list = [None] * self.size
        dist.all_gather_object(every, failures)
        return sorted(failure for share in every for failure in share)

    def combined(self, stats: EpochStats) -> EpochStats:
        """An epoch's figures over every process: images summed, loss and accuracy over all
        the images, the time of the slowest process."""
        if not self.distributed:
            return stats
        every: list = [None] * self.size
        dist.all_gather_object(every, stats)
        images = sum(s.images for s in every)
        return EpochStats(
            sum(s.loss * s.images for s in every) / max(images, 1),
            sum(s.accuracy * s.images for s in every) / max(images, 1),
            images,
            max(s.seconds for s in every),
            sum(s.data_wait for s in every) / self.size,  # a process's mean wait
        )

    def sampler(self, images: ImageSet, seed: int):
        """Fine-tuning's sampler: this process's part of a seeded shuffle of the images (None:
        the loader shuffles them all). A new one each epoch, seeded with the epoch's own seed,
        so set_epoch would add nothing. It repeats up to size - 1 images so that every process
        takes as many batches."""
        if not self.distributed:
            return None
        from torch.utils.data.distributed import DistributedSampler

        return DistributedSampler(
            range(len(images)), num_replicas=self.size, rank=self.rank, shuffle=True, seed=seed
        )

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The model DistributedDataParallel trains (its weights sent from rank 0 first); call
        after freezing layers, since DDP averages the gradients of the trainable ones only."""
        if not self.distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        # BatchNorm statistics stay frozen (train/loop.py): buffers are sent once, not every step
        return DistributedDataParallel(model, device_ids=ids, forward_sync_buffers=False)

    def from_main(self, work: Callable[[], T]) -> T:
        """work() done by rank 0 alone (it reads or names the run directory); its result, or
        the ImclassError it raised, is every process's."""
        if not self.distributed:
            return work()
        box: list = [None]
        if self.is_main:
            try:
                box[0] = (True, work())
            except ImclassError as error:
                box[0] = (False, error)
        dist.broadcast_object_list(box, src=0)
        done, value = box[0]
        if not done:
            raise value
        return value


@contextmanager
def process_group(world: World) -> Iterator[World]:
    """The processes joined for the duration: gloo between CPUs, NCCL between GPUs."""
    if not world.distributed:
        yield world
        return
    backend = "gloo"
    if torch.cuda.is_available():
        backend = "cpu:gloo,cuda:nccl"  # objects and gathered features travel on the CPU
        torch.cuda.set_device(world.local_rank % torch.cuda.device_count())
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_seconds()))
    try:
        yield world
    finally:
        dist.destroy_process_group()


def timeout_seconds(environ=os.environ) -> float:
    """How long a collective may wait: IMCLASS_DIST_TIMEOUT seconds, else DEFAULT_TIMEOUT_S."""
    text = environ.get(TIMEOUT_VARIABLE, "")
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ConfigError(f"{TIMEOUT_VARIABLE} must be a number of seconds > 0. Got {text!r}.")
    return seconds


def _all_rows(tensor: torch.Tensor) -> torch.Tensor:
    """Every process's rows of tensor, in rank order; their numbers may differ (a share with
    an unreadable image, or none at all)."""
    shapes: list = [None] * dist.get_world_size()
    dist.all_gather_object(shapes, (tuple(tensor.shape), tensor.dtype))
    filled = [(shape, dtype) for shape, dtype in shapes if shape[0]]
    if not filled:
        return tensor
    (row_shape, dtype), most = (filled[0][0][1:], filled[0][1]), max(s[0] for s, _ in filled)
    padded = torch.zeros((most, *row_shape), dtype=dtype)
    padded[: len(tensor)] = tensor.reshape(len(tensor), *row_shape)
    pieces = [torch.empty_like(padded) for _ in shapes]
    dist.all_gather(pieces, padded)
    return torch.cat([piece[: shape[0]] for piece, (shape, _) in zip(pieces, shapes, strict=True)])
