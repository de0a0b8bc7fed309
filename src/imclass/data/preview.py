"""A picture of what an augmentation preset does, before any training time is spent on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2 as T
from PIL import Image, ImageDraw

from imclass.data.dataset import ImageSet, label_ids
from imclass.data.images import UnreadableImage, load_rgb
from imclass.data.transforms import Preprocessing, picture_steps
from imclass.files import atomic_path

CAPTION = 14  # pixels of text above each row


def pick_images(images: ImageSet, n: int, seed: int) -> list[int]:
    """n indices spread over the classes in turn, seeded."""
    rng = np.random.default_rng(seed)
    first = np.array([label_ids(label)[0] for label in images.labels])
    by_class = [list(rng.permutation(np.flatnonzero(first == c))) for c in sorted(set(first))]
    picked = []
    while len(picked) < min(n, len(images)):
        for members in by_class:
            if members and len(picked) < n:
                picked.append(int(members.pop()))
    return picked


def augment_grid(
    images: ImageSet,
    classes,
    preset: str,
    pre: Preprocessing,
    *,
    n: int = 16,
    variants: int = 4,
    seed: int = 0,
) -> Image.Image:
    """One row per image: the evaluation view, then `variants` augmented versions."""
    size = pre.image_size
    # torchvision's random transforms draw from torch's global generator and take no other:
    # seeded inside fork_rng, the caller's random state is as it was once the grid is drawn.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        rows = _rows(images, classes, preset, pre, pick_images(images, n, seed), variants)
    grid = Image.new("RGB", ((variants + 1) * size, len(rows) * (size + CAPTION)), "white")
    draw = ImageDraw.Draw(grid)
    for r, (caption, tiles) in enumerate(rows):
        top = r * (size + CAPTION)
        draw.text((2, top + 1), caption, fill="black")
        for c, tile in enumerate(tiles):
            grid.paste(tile.resize((size, size)), (c * size, top + CAPTION))
    return grid


def _rows(images: ImageSet, classes, preset: str, pre: Preprocessing, picked, variants: int):
    """(caption, tiles) per readable picked image: the evaluation view, then augmented views."""
    original, augmented = (
        T.Compose(picture_steps("none", pre)),
        T.Compose(picture_steps(preset, pre)),
    )
    rows = []
    for index in picked:
        try:
            picture = load_rgb(images.paths[index], min_size=pre.resize_size)
        except UnreadableImage:
            continue
        tiles = [original(picture)] + [augmented(picture) for _ in range(variants)]
        name = images.paths[index].name
        shown = ", ".join(classes[c] for c in label_ids(images.labels[index]))
        rows.append((f"{shown}: {name}  (original, then {preset})", tiles))
    return rows


def write_png(picture: Image.Image, path: Path) -> Path:
    with atomic_path(path) as temporary:
        picture.save(temporary, format="PNG")
    return path
