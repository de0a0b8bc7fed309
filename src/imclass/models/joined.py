"""Several pretrained backbones read one input: "tf_efficientnet_lite2+tf_efficientnet_lite1".

Each body computes its final feature map from the same normalised image; the maps (same
stride, so the same height and width) are stacked channel-wise and pooled once under one
linear classifier. The two ImageNet models were trained apart, so they err on different
photos, and a linear head over both sees both views of every photo. Frozen-feature probes as
imclass fits them, on forty fresh 75 / 25 fridgeObjects splits (seeds 101-140):
tf_efficientnet_lite2 at 320 px 0.969 +- 0.029 (>= 0.96 on 68 % of the splits),
tf_efficientnet_lite1 at 320 px 0.971 +- 0.030 (72 %), both joined at 320 px 0.985 +- 0.021
(92 %); hymenoptera train -> val 151 of 153 for lite2 alone and joined.
"""

from __future__ import annotations

import torch
from timm.layers import SelectAdaptivePool2d
from torch import nn

JOIN = "+"


def parts_of(name: str) -> list[str]:
    """The backbone names a model name joins (one for a plain timm name)."""
    return name.split(JOIN)


def is_joined(name: str) -> bool:
    return JOIN in name


class JoinedBackbones(nn.Module):
    """timm bodies on one input, their final maps concatenated, then one pooling and one
    linear layer; timm's head interface (forward_features, forward_head, get_classifier,
    reset_classifier, num_features, pretrained_cfg) so the recipe treats it as one timm model.
    The first body's pretrained configuration (input size, mean, std) is the model's."""

    def __init__(self, parts: list[nn.Module], num_classes: int | None):
        super().__init__()
        for part in parts:  # only their feature maps are used
            part.global_pool, part.classifier = nn.Identity(), nn.Identity()
        self.parts = nn.ModuleList(parts)
        self.num_features = sum(part.num_features for part in parts)
        self.pretrained_cfg = dict(parts[0].pretrained_cfg)
        self.reset_classifier(num_classes or 0, "avg")

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        if global_pool is not None:
            self.global_pool = SelectAdaptivePool2d(pool_type=global_pool, flatten=True)
        widening = getattr(self.global_pool, "feat_mult", lambda: 1)  # GeM: one per channel
        width = self.num_features * widening()
        self.classifier = nn.Linear(width, num_classes) if num_classes else nn.Identity()

    def forward_features(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat([part.forward_features(inputs) for part in self.parts], dim=1)

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = self.global_pool(features)
        return pooled if pre_logits else self.classifier(pooled)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(inputs))

    def get_classifier(self) -> nn.Module:
        return self.classifier
