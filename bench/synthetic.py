"""Generated photo-like JPEGs for benchmarks: textured, distinct, with a few duplicates."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

TEXTURE_SIDE = 1024


def photo(seed: int, size: tuple[int, int], texture: np.ndarray) -> Image.Image:
    """A smooth random scene with film-grain texture, so JPEG sizes and decode times are real."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC), np.int16)
    dy, dx = rng.integers(0, TEXTURE_SIDE, 2)
    reps = (size[1] // TEXTURE_SIDE + 2, size[0] // TEXTURE_SIDE + 2, 1)
    grain = np.tile(texture, reps)[dy : dy + size[1], dx : dx + size[0]]
    return Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8))


def write_photos(
    folder: Path, count: int, size: tuple[int, int], *, classes: int = 2, duplicates: int = 0
) -> list[Path]:
    """count JPEGs in folder/class_k/; the last `duplicates` are copies or re-encodes of others."""
    texture = np.random.default_rng(0).normal(0, 10, (TEXTURE_SIDE, TEXTURE_SIDE, 3))
    texture = texture.astype(np.int16)
    paths = []
    for index in range(count):
        path = folder / f"class_{index % classes}" / f"photo_{index:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        if index >= count - duplicates:
            twin = paths[index - (count - duplicates)]
            if index % 2:
                shutil.copy(twin, path)
            else:
                Image.open(twin).save(path, quality=75)
        else:
            photo(index, size, texture).save(path, quality=90)
        paths.append(path)
    return paths
