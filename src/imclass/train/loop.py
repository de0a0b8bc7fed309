"""One pass over data, for each kind of pass the recipe makes. Each reads top to bottom."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from imclass.errors import DataError
from imclass.inference.batches import Outputs
from imclass.inference.device import autocast, pieces, to_device
from imclass.train.schedule import LrSchedule


def joined(first: Outputs, second: Outputs, offset: int) -> Outputs:
    """Outputs of two ImageSets as of their concatenation; offset: the first set's size."""
    return Outputs(
        torch.cat([first.values, second.values]),
        torch.cat([first.labels, second.labels]),
        torch.cat([first.indices, second.indices + offset]),
        first.failures + [(i + offset, reason) for i, reason in second.failures],
    )


@dataclass
class EpochStats:
    loss: float
    accuracy: float
    images: int
    seconds: float
    data_wait: float  # seconds blocked waiting for the loader

    @property
    def images_per_s(self) -> float:
        return self.images / max(self.seconds, 1e-9)

    @property
    def data_wait_fraction(self) -> float:
        """Of the epoch's time, the part spent waiting for data; NaN for an epoch of no time."""
        return self.data_wait / self.seconds if self.seconds > 0 else float("nan")


def train_keeping_batchnorm_statistics(model: nn.Module) -> None:
    """Train mode, except BatchNorm keeps its ImageNet running statistics.

    With ~100 images per class, batch statistics are noisy and, for images unlike ImageNet
    (digits at 64 px), far from the running ones: the head trained on frozen features then
    meets different features and accuracy collapses (0.97 -> 0.44 on the digits demo).
    Keeping the statistics frozen while their scale and shift still learn avoids that.
    """
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def head_epoch(
    head: nn.Module,
    optimizer,
    schedule: LrSchedule,
    features: torch.Tensor,
    labels: torch.Tensor,
    *,
    batch_size: int,
    task,
    generator,
) -> EpochStats:
    """One epoch of the classifier alone on cached features: no backbone pass at all."""
    head.train()
    start = time.perf_counter()
    order = torch.randperm(len(labels), generator=generator)
    total_loss, correct = 0.0, 0
    for chunk in order.split(batch_size):
        schedule.apply(optimizer)
        logits = head(features[chunk].float())
        loss = task.loss(logits, labels[chunk])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(chunk)
        correct += task.correct(logits, labels[chunk])
    seconds = time.perf_counter() - start
    n = len(labels)
    return EpochStats(total_loss / max(n, 1), correct / max(n, 1), n, seconds, 0.0)


def finetune_epoch(
    model: nn.Module,
    optimizer,
    schedule: LrSchedule,
    loader,
    device: torch.device,
    *,
    task,
    advance,
) -> tuple[EpochStats, list]:
    """One epoch of the whole network on augmented images; returns stats and failed files."""
    train_keeping_batchnorm_statistics(model)
    total_loss, correct, seen, failures, data_wait = 0.0, 0, 0, [], 0.0
    start = waited_from = time.perf_counter()
    for batch in loader:
        data_wait += time.perf_counter() - waited_from
        failures += batch.failures
        schedule.apply(optimizer)  # every batch, so a resumed run finds the same step
        # a batch of one (an epoch's remainder) gives no useful gradient statistics: skipped.
        # Counted with its unreadable files, a batch is as large in every torchrun process,
        # which must all take the step (DDP averages the gradients).
        if len(batch) + len(batch.failures) > 1:
            loss, right = accumulate_gradients(model, optimizer, batch, device, task)
            optimizer.step()
            total_loss += loss * len(batch)
            correct += right
            seen += len(batch)
        rate = seen / max(time.perf_counter() - start, 1e-9)
        advance(
            len(batch) + len(batch.failures),
            f"loss {total_loss / max(seen, 1):.3f}  acc {correct / max(seen, 1):.3f}  "
            f"{rate:.1f} img/s",
        )
        waited_from = time.perf_counter()
    seconds = time.perf_counter() - start
    stats = EpochStats(total_loss / max(seen, 1), correct / max(seen, 1), seen, seconds, data_wait)
    return stats, failures


def accumulate_gradients(model: nn.Module, optimizer, batch, device: torch.device, task):
    """The gradient of the batch's mean loss, summed over pieces of the batch (small ones on
    the CPU: faster and lighter, see device.pieces). With BatchNorm statistics frozen every
    image is processed independently, so this is the whole batch's gradient.
    Returns the batch's mean loss and how many of its images were right."""
    optimizer.zero_grad(set_to_none=True)
    size = pieces(batch.inputs, device)
    total, correct = 0.0, 0
    split = list(zip(batch.inputs.split(size), batch.labels.split(size), strict=True))
    if isinstance(model, DistributedDataParallel) and not split:
        raise DataError(
            f"all {len(batch.failures)} images of a training batch are unreadable (the first: "
            f"{batch.failures[0][1]}), and the other torchrun processes cannot step without "
            "this one: remove them, or train with head_epochs > 0 (its pass finds them first)"
        )
    for number, (inputs, labels) in enumerate(split):
        inputs, labels = to_device(inputs, device), labels.to(device)
        with _gradients_kept_local(model, number < len(split) - 1):
            with autocast(device):
                logits = model(inputs)
                loss = task.loss(logits.float(), labels) * (len(labels) / len(batch))
            loss.backward()
        total += loss.item()
        correct += task.correct(logits, labels)
    return total, correct


def _gradients_kept_local(model: nn.Module, local: bool):
    """Under DDP, a piece's gradient stays in this process but for the batch's last piece, whose
    backward pass averages the sum over the processes (once per step, not once per piece)."""
    if local and isinstance(model, DistributedDataParallel):
        return model.no_sync()
    return contextlib.nullcontext()
