"""Decode once, train many epochs: each image resized once and kept as a small JPEG.

A 12-megapixel JPEG takes ~100 ms to decode; its cached copy, with the shorter side just large
enough for the training crops, a few milliseconds. Cached files live under the imclass cache
folder, keyed by (absolute path, size, mtime, side), so an edited photo is decoded afresh. A
damaged cached copy is decoded afresh too, and a cache folder that cannot be written is bypassed
with one CacheWarning: the cache only ever saves time, it never stops training.
"""

from __future__ import annotations

import statistics
import warnings
from pathlib import Path

from PIL import Image

from imclass.data.hashing import CacheWarning, cache_dir
from imclass.data.images import load_rgb, open_image
from imclass.errors import OutputError
from imclass.files import atomic_path, cache_entry

QUALITY = 95
CROP_HEADROOM = 1.75  # RandomResizedCrop keeps >= 35 % of the area: 1 / sqrt(0.35) = 1.7


def cache_side(image_size: int, resize_size: int) -> int:
    """Shorter side of cached images: enough for a 35 %-area crop at full resolution."""
    return max(resize_size, int(round(image_size * CROP_HEADROOM)))


class DecodeCache:
    """load(path) -> RGB image with shorter side <= side, decoded from the original at most once."""

    def __init__(self, side: int, folder: Path | None = None):
        self.side = side
        self.folder = folder or cache_dir() / "decoded" / str(side)
        self.writable = True

    def entry(self, path: Path) -> Path:
        return cache_entry(self.folder, path, self.side)

    def load(self, path: Path | str) -> Image.Image:
        path = Path(path)
        try:
            entry = self.entry(path)
        except OSError:  # gone or unreadable: load_rgb says why
            return shrink(load_rgb(path, min_size=self.side), self.side)
        cached = _cached(entry)
        if cached is not None:
            return cached
        picture = shrink(load_rgb(path, min_size=self.side), self.side)
        self._store(entry, picture)
        return picture

    def _store(self, entry: Path, picture: Image.Image) -> None:
        if not self.writable:
            return
        try:
            with atomic_path(entry) as temporary:
                picture.save(temporary, format="JPEG", quality=QUALITY)
        except (OSError, OutputError) as error:  # OutputError: a folder that cannot be made
            self.writable = False
            reason = (error.strerror if isinstance(error, OSError) else None) or error
            warnings.warn(
                f"decode cache {self.folder} cannot be written ({reason}); "
                "images are decoded from the originals every epoch",
                CacheWarning,
                stacklevel=3,
            )


def _cached(entry: Path) -> Image.Image | None:
    """The cached picture; None when there is none or it is damaged (it is then rewritten)."""
    if not entry.is_file():
        return None
    try:
        with Image.open(entry) as cached:
            return cached.convert("RGB")
    except (OSError, ValueError, SyntaxError):
        return None


def shrink(picture: Image.Image, side: int) -> Image.Image:
    """Resize so the shorter side is side; smaller pictures are returned as they are."""
    width, height = picture.size
    if min(width, height) <= side:
        return picture
    scale = side / min(width, height)
    return picture.resize((round(width * scale), round(height * scale)), Image.Resampling.LANCZOS)


def worth_caching(paths, side: int, sample: int = 32) -> bool:
    """True when the images are much larger than needed: median shorter side > 2 x side."""
    sides = []
    for path in list(paths)[:: max(1, len(paths) // sample)][:sample]:
        try:
            with open_image(path) as image:
                sides.append(min(image.size))
        except Exception:  # noqa: BLE001 - unreadable files are reported later, by the loader
            continue
    return bool(sides) and statistics.median(sides) > 2 * side
