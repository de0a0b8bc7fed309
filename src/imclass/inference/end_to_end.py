"""A trained model and everything model.json says about running it, as one module: uint8 RGB
pixels in, logits and probabilities out. The eager runtime runs it and `imclass export` writes
it, so an exported file and the Predictor share one definition of the arithmetic.

What stays outside: decoding, resizing and the centre crop (data/transforms.py pixel_transform:
Pillow's resampling is not an ONNX operator, and every language decodes images its own way).
"""

from __future__ import annotations

import torch
from torch import nn

from imclass.inference.decisions import probabilities
from imclass.models.run_dir import ModelSpec

INPUT_NAME = "pixels"
OUTPUT_NAMES = ("logits", "probabilities")


class EndToEndModel(nn.Module):
    """pixels (N, 3, S, S) uint8 -> (logits, probabilities), each (N, classes) float32.

    The steps of eval_transform after the crop (scale to [0, 1], normalise with model.json's
    mean and std), flip test-time augmentation when the run uses it, and the temperature-scaled
    softmax (single-label) or sigmoids (multi-label) of decisions.probabilities."""

    def __init__(self, model: nn.Module, spec: ModelSpec):
        super().__init__()
        self.model, self.spec = model, spec
        pre = spec.preprocessing
        self.register_buffer("mean", torch.tensor(pre.mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(pre.std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # the arithmetic of torchvision's ToDtype(scale=True) then Normalize
        inputs = (pixels.float() * (1.0 / 255) - self.mean) / self.std
        if self.spec.flip_tta:
            # the images and their mirror images in one batch: ONNX Runtime ran lite0 at 224 px
            # 15 % faster than in two (68-70 against 55-61 images/s, batches of 32). unflatten,
            # not chunk or a slice at len(inputs), which torch.export makes a constant batch.
            logits = self.model(torch.cat([inputs, inputs.flip(3)])).unflatten(0, (2, -1)).mean(0)
        else:
            logits = self.model(inputs)
        logits = logits.float()
        scored = probabilities(
            logits, multilabel=self.spec.multilabel, temperature=self.spec.temperature
        )
        return logits, scored
