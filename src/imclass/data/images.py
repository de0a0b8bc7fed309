"""Decoding one image file into an RGB picture, or a clear reason why it cannot be."""

from __future__ import annotations

import io
import os
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from imclass.errors import DataError

# The file names read as images, and the format each name promises (inspection compares them).
EXTENSION_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".bmp": "BMP",
    ".gif": "GIF",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
IMAGE_EXTENSIONS = frozenset(EXTENSION_FORMATS)

# Pillow's own bomb limit (about 89 megapixels) is the threshold; above it we refuse to decode.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS
# warnings.catch_warnings swaps process-wide state; worker threads take turns (only while opening).
_WARNINGS_LOCK = threading.Lock()
# What Pillow raises for a file it cannot open or decode (UnidentifiedImageError is an OSError).
READ_ERRORS = (OSError, ValueError, SyntaxError, struct.error, IndexError)


class UnreadableImage(Exception):
    """An image file that cannot be decoded; str(error) is the reason, for one warning line."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(reason)
        self.path = Path(path)
        self.reason = reason


class UnsupportedMode(ValueError):
    """A pixel format that cannot be turned into RGB."""


def is_image_file(path: Path) -> bool:
    """True when the file name has one of the image extensions, in any case."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def expand_paths(inputs: list[Path | str]) -> list[Path]:
    """Files as given, and image files inside folders, recursively; a missing path is an error."""
    found = []
    for item in map(Path, inputs):
        if item.is_dir():
            found += sorted(p for p in item.rglob("*") if p.is_file() and is_image_file(p))
        elif item.is_file():
            found.append(item)
        elif item.exists():  # a FIFO would wait forever for a writer
            raise DataError(f"{item}: not an image file or folder (a device, pipe or socket)")
        else:
            raise DataError(f"{item}: no such file or folder")
    if not found:
        raise DataError(f"{', '.join(map(str, inputs))}: no image files found")
    return found


# An image already in memory (an upload, a webcam frame) has no path; errors name it so.
IN_MEMORY = "<in memory>"


@contextmanager
def open_image(source: Path | str | io.BytesIO) -> Iterator[Image.Image]:
    """Image.open, safe in threads, of a file or of bytes in memory; an empty one, one Pillow
    cannot open and a decompression bomb (above MAX_PIXELS, refused before any pixel is
    decoded) raise UnreadableImage."""
    name = _name(source)
    try:
        if _byte_count(source) == 0:
            raise UnreadableImage(name, "zero bytes")
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UnreadableImage(name, f"decompression bomb refused ({error})") from None
    except READ_ERRORS as error:
        raise UnreadableImage(name, failure_reason(error)) from None
    with image:
        _refuse_bomb(name, image)
        yield image


def _name(source: Path | str | io.BytesIO) -> Path:
    return Path(IN_MEMORY if isinstance(source, io.BytesIO) else source)


def _byte_count(source: Path | str | io.BytesIO) -> int:
    return source.getbuffer().nbytes if isinstance(source, io.BytesIO) else os.stat(source).st_size


def load_rgb(source: Path | str | io.BytesIO, *, min_size: int | None = None) -> Image.Image:
    """Decode a file (or bytes in memory) fully to 8-bit RGB with EXIF orientation applied.

    With min_size, a JPEG is decoded at the smallest reduced scale whose shorter side is still
    at least min_size (Pillow's draft mode), which makes large photos several times cheaper.
    """
    path = _name(source)
    try:
        with open_image(source) as image:
            if min_size and image.format == "JPEG":
                image.draft("RGB", _draft_request(image.size, min_size))
            image.load()
            return to_rgb(_upright(path, image))
    except READ_ERRORS as error:
        raise UnreadableImage(path, failure_reason(error)) from None


def failure_reason(error: BaseException) -> str:
    """Why an image file cannot be read, in the one wording every command prints (info, verify,
    dedup, downsize, training): "zero bytes", "truncated file", "not an image (unknown
    format)", "decompression bomb refused (...)", "unreadable (...)"."""
    if isinstance(error, UnreadableImage | UnsupportedMode):
        return str(error)
    if isinstance(error, UnidentifiedImageError):
        return "not an image (unknown format)"
    if isinstance(error, OSError):
        text = str(error)
        # Pillow says "Truncated File Read" when the header is cut, "image file is truncated"
        # when the pixel data is, and "broken data stream" for a cut PNG.
        if "truncated" in text.lower() or "broken data stream" in text:
            return "truncated file"
        return f"unreadable ({error.strerror or text})"
    if isinstance(error, READ_ERRORS):
        return f"corrupt image data ({error})"
    return f"unreadable ({type(error).__name__}: {error})"


def _upright(path: Path, image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception as error:  # noqa: BLE001 - Pillow raises many kinds for broken EXIF
        raise UnreadableImage(path, f"unreadable EXIF ({type(error).__name__}: {error})") from None


def _refuse_bomb(path: Path, image: Image.Image) -> None:
    pixels = image.size[0] * image.size[1]
    if pixels > MAX_PIXELS:
        raise UnreadableImage(
            path, f"decompression bomb refused ({image.size[0]}x{image.size[1]} = {pixels} pixels)"
        )


def _draft_request(size: tuple[int, int], min_size: int) -> tuple[int, int]:
    """The draft size that keeps the shorter side at least min_size."""
    width, height = size
    scale = min_size / min(width, height)
    return (max(1, round(width * scale)), max(1, round(height * scale)))


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode (grayscale, 16-bit, CMYK, palette, alpha) as 8-bit RGB on white."""
    try:
        return _convert(image)
    except (ValueError, OSError) as error:
        raise UnsupportedMode(f"unsupported mode {image.mode} ({error})") from None


def eight_bit(image: Image.Image) -> Image.Image:
    """A 16- or 32-bit grey image ("I;16", "I;16B", "I", "F") scaled to 8-bit "L" over its
    range, where Pillow's own convert clips every value above 255 to white; others unchanged."""
    if image.mode.startswith("I;16") or image.mode == "I":
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode != "I" or array.max() > 255 else 255.0
        return _grey(array * (255.0 / max(top, float(array.max()))))
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        span = max(float(array.max() - array.min()), 1e-12)
        return _grey((array - array.min()) * (255.0 / span))
    return image


def _grey(array: np.ndarray) -> Image.Image:
    return Image.fromarray(np.rint(array).clip(0, 255).astype(np.uint8))


def _convert(image: Image.Image) -> Image.Image:
    image = eight_bit(image)
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
