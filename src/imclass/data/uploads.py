"""Images that arrive as bytes (an uploaded file, a webcam frame) instead of as files: limited
in size, then decoded by the rules files are (data/images.py: empty, unknown, truncated and
decompression-bomb images refused, EXIF orientation applied)."""

from __future__ import annotations

import io

from PIL import Image

from imclass.data.images import UnreadableImage, load_rgb
from imclass.errors import UploadError, UploadTooLargeError

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # issue 11: uploads are limited to 20 MB by default


def decode_upload(
    data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, *, min_size: int | None = None
) -> Image.Image:
    """The upright 8-bit RGB picture in data. min_size: decode a JPEG at the smallest reduced
    scale keeping that shorter side, as a Predictor does for files (pass its preprocessing's
    resize_size and the answer is the one the same file would get)."""
    if len(data) > max_bytes:
        raise UploadTooLargeError(
            f"the upload has {len(data)} bytes, more than the limit of {max_bytes}; "
            "send a smaller image"
        )
    try:
        return load_rgb(io.BytesIO(data), min_size=min_size)
    except UnreadableImage as error:
        raise UploadError(f"the upload is not a readable image: {error.reason}") from None
