"""One pass of a model over a loader: logits or pooled features for every readable image."""

from __future__ import annotations

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
            for piece in batch.inputs.split(pieces(batch.inputs, device)):
                with autocast(device):
                    inputs = to_device(piece, device)
                    out = _forward(model, inputs, features)
                    if flip:
                        out = (out + _forward(model, inputs.flip(3), features)) / 2
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


def _forward(model: nn.Module, inputs: torch.Tensor, features: bool) -> torch.Tensor:
    if features:
        return model.forward_head(model.forward_features(inputs), pre_logits=True)
    return model(inputs)
