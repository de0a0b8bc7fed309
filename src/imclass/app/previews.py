"""Display-size copies and thumbnails of the images, made once and cached outside the data
folder (beside the hash cache), so the Label page shows the next photo without decoding a
12-megapixel original on each key press. The data folder is never written to."""

from __future__ import annotations

import io
from pathlib import Path

from imclass.data.hashing import cache_dir
from imclass.data.images import load_rgb
from imclass.files import cache_entry, write_bytes

# Longest side in pixels: a display copy fills a laptop screen; thumbnails fill a grid cell.
SIZES = {"display": 1280, "thumb": 256}


def preview(path: Path, size: str) -> Path:
    """The cached JPEG of path at SIZES[size], made now if missing or out of date. Raises
    imclass.data.images.UnreadableImage for a file that does not decode."""
    cached = cache_entry(cache_dir() / "app-previews", path, size)
    if not cached.exists():
        write_bytes(cached, _jpeg(path, SIZES[size]))
    return cached


def _jpeg(path: Path, longest: int) -> bytes:
    image = load_rgb(path, min_size=longest)
    image.thumbnail((longest, longest))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
