"""Turning a decoded picture into a model input: the evaluation transform and augmentation presets.

Presets by domain, because an augmentation that fits one domain teaches nonsense in another:
- photo     everyday photos: random resized crop, horizontal flip, small rotation, light jitter
- overhead  satellite / microscopy: no "up", so both flips and 90-degree rotations
- text      characters and digits: mirrored glyphs are different glyphs, so no flips
- none      the evaluation transform, unchanged
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torchvision.transforms.v2 as T
from torchvision.transforms import InterpolationMode

from imclass.data.presets import check_augment


@dataclass(frozen=True)
class Preprocessing:
    """How a model expects its input; stored in every run's model.json."""

    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str
    crop_pct: float

    @property
    def resize_size(self) -> int:
        """The shorter side before the centre crop."""
        return max(self.image_size, int(round(self.image_size / self.crop_pct)))

    def at_size(self, image_size: int | None) -> Preprocessing:
        return replace(self, image_size=image_size) if image_size else self


def _interpolation(name: str) -> InterpolationMode:
    return (
        InterpolationMode(name)
        if name in {m.value for m in InterpolationMode}
        else (InterpolationMode.BICUBIC)
    )


def _to_tensor(mean, std) -> list:
    return [T.ToImage(), T.ToDtype(torch.float32, scale=True), T.Normalize(mean, std)]


def eval_transform(pre: Preprocessing):
    """Resize the shorter side to image_size / crop_pct, then centre-crop image_size."""
    return T.Compose([*picture_steps("none", pre), *_to_tensor(pre.mean, pre.std)])


def pixel_transform(pre: Preprocessing):
    """eval_transform up to its uint8 pixels (3 x image_size x image_size): what a Predictor
    feeds its model, which scales and normalises them itself (inference/end_to_end.py), so an
    exported model takes plain RGB pixels and its input is a quarter of the bytes."""
    return T.Compose([*picture_steps("none", pre), T.ToImage()])


# Multi-label: a crop that drops an object makes its label wrong, so crops keep most of the image.
CONTENT_KEEPING_CROP = 0.85


def picture_steps(preset: str, pre: Preprocessing, *, keep_content: bool = False) -> list:
    """The steps of a preset that act on the picture (what augment-preview shows)."""
    interp = _interpolation(pre.interpolation)
    if check_augment(preset) == "none":
        return [
            T.Resize(pre.resize_size, interpolation=interp, antialias=True),
            T.CenterCrop(pre.image_size),
        ]
    return _geometric(preset, pre.image_size, interp, CONTENT_KEEPING_CROP if keep_content else 0)


def has_horizontal_flips(preset: str) -> bool:
    """Whether the preset mirrors images, so a mirror image is as good a view as the image."""
    return check_augment(preset) in ("photo", "overhead")


def train_transform(preset: str, pre: Preprocessing, *, keep_content: bool = False):
    """The augmentation preset for training; 'none' is the evaluation transform.

    keep_content (multi-label training): random crops keep at least 85 % of the area."""
    steps = picture_steps(preset, pre, keep_content=keep_content)
    return T.Compose([*steps, *_to_tensor(pre.mean, pre.std)])


def _geometric(preset: str, size: int, interp: InterpolationMode, min_crop: float) -> list:
    if preset == "photo":
        return [
            T.RandomResizedCrop(
                size, scale=(max(0.35, min_crop), 1.0), interpolation=interp, antialias=True
            ),
            T.RandomHorizontalFlip(),
            T.RandomRotation(10, interpolation=InterpolationMode.BILINEAR),
            T.ColorJitter(brightness=0.2, contrast=0.2),
        ]
    if preset == "overhead":
        quarter_turns = T.RandomChoice([T.RandomRotation((a, a)) for a in (0, 90, 180, 270)])
        return [
            T.RandomResizedCrop(
                size, scale=(max(0.5, min_crop), 1.0), interpolation=interp, antialias=True
            ),
            T.RandomHorizontalFlip(),
            T.RandomVerticalFlip(),
            quarter_turns,
            T.ColorJitter(brightness=0.15, contrast=0.15),
        ]
    # text: small shifts, zooms and rotations only
    return [
        T.Resize(size, interpolation=interp, antialias=True),
        T.CenterCrop(size),
        T.RandomAffine(
            degrees=8,
            translate=(0.08, 0.08),
            scale=(0.9, 1.1),
            interpolation=InterpolationMode.BILINEAR,
        ),
        T.ColorJitter(brightness=0.2, contrast=0.2),
    ]
