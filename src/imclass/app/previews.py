"""Display-size copies and thumbnails of the images, made once and cached outside the data
folder (beside the hash cache), so the Label page shows the next photo without decoding a
12-megapixel original on each key press. The data folder is never written to."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from imclass.data.hashing import cache_dir
from imclass.data.images import load_rgb
from imclass.files import cache_key, write_bytes

# Longest side in pixels: a display copy fills a laptop screen; thumbnails fill a grid cell.
SIZES = {"display": 1280, "thumb": 256}


def preview(path: Path, size: str) -> Path:
    """The cached JPEG of path at SIZES[size], made now if missing or out of date. Raises
    imclass.data.images.UnreadableImage for a file that does not decode."""
    cached = _cached_path(path, size)
    if not cached.exists():
        write_bytes(cached, _jpeg(path, SIZES[size]))
    return cached


def _cached_path(path: Path, size: str) -> Path:
    """Named by the cache key with the file's size and modification time: an edited photo gets
    a new copy; the old one is simply never asked for again."""
    info = os.stat(path)
    stamp = f"|{info.st_size}|{info.st_mtime_ns}|{size}".encode()
    digest = hashlib.sha256(cache_key(path) + stamp).hexdigest()
    return cache_dir() / "app-previews" / digest[:2] / f"{digest}.jpg"


def _jpeg(path: Path, longest: int) -> bytes:
    image = load_rgb(path, min_size=longest)
    image.thumbnail((longest, longest))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
