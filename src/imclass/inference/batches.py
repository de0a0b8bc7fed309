"""One pass of a model over a loader: logits or pooled features for every readable image."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from imclass.inference.device import autocast, pieces, to_device


@dataclass
class Outputs:
    """What a pass over a loader produced, aligned row by row with indices into its ImageSet."""

    values: torch.Tensor  # features or logits
    labels: torch.Tensor
    indices: torch.Tensor
    failures: list[tuple[int, str]]

    def __getitem__(self, rows) -> Outputs:
        return Outputs(self.values[rows], self.labels[rows], self.indices[rows], self.failures)


@torch.inference_mode()
def run_inference(
    model: nn.Module,
    loader,
    device: torch.device,
    advance,
    *,
    features: bool = False,
    flip: bool = False,
) -> Outputs:
    """Logits (or pooled pre-logit features) for every readable image of the loader; with
    flip, the mean of the image's and its mirror image's (test-time augmentation)."""
    model.eval()
    values, labels, indices, failures = [], [], [], []
    for batch in loader:
        failures += batch.failures
        if len(batch):
            for out in forward_pieces(model, batch.inputs, device, features=features, flip=flip):
                # unpooled maps (class-attention heads) are cached at half the memory
                values.append(out.cpu().half() if features and out.ndim > 2 else out.float().cpu())
            labels.append(batch.labels)
            indices.append(batch.indices)
        advance(len(batch) + len(batch.failures))
    if not values:
        return Outputs(
            torch.empty(0),
            torch.empty(0, dtype=torch.long),
            torch.empty(0, dtype=torch.long),
            failures,
        )
    return Outputs(torch.cat(values), torch.cat(labels), torch.cat(indices), failures)


def forward_pieces(
    model: nn.Module,
    inputs: torch.Tensor,
    device: torch.device,
    *,
    features: bool = False,
    flip: bool = False,
) -> Iterator[torch.Tensor]:
    """The model's outputs for a batch of CPU inputs, as imclass runs every inference: moved
    to the device in channels_last, a few images at a time on the CPU, under autocast on a GPU;
    with flip, the mean of the image's and its mirror image's. Call under inference_mode."""
    for piece in inputs.split(pieces(inputs, device)):
        with autocast(device):
            moved = to_device(piece, device)
            out = _forward(model, moved, features)
            if flip:
                out = (out + _forward(model, moved.flip(3), features)) / 2
        yield out


def _forward(model: nn.Module, inputs: torch.Tensor, features: bool) -> torch.Tensor:
    if features:
        return model.forward_head(model.forward_features(inputs), pre_logits=True)
    return model(inputs)
