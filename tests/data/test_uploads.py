"""Uploaded bytes are decoded by the rules files are, and refused with an UploadError when they
are too many or not an image."""

import io
import re

import numpy as np
import pytest
from PIL import Image
from tests.helpers import colour_image, jpeg_bytes, png_header_only, scene

from imclass.data.images import load_rgb
from imclass.data.uploads import decode_upload
from imclass.errors import DataError, UploadError, UploadTooLargeError

TRUNCATED = jpeg_bytes(colour_image((200, 40, 40), 256))[:3000]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "zero bytes"),
        (b"<html>not an image</html>\n" * 10, "not an image (unknown format)"),
        (TRUNCATED, "truncated file"),
        (png_header_only(20000, 20000), "decompression bomb refused"),
    ],
)
def test_bytes_that_are_not_a_readable_image_are_refused_with_the_reason(data, reason):
    with pytest.raises(
        UploadError, match=re.escape(f"the upload is not a readable image: {reason}")
    ):
        decode_upload(data)


def test_too_many_bytes_are_refused_before_decoding():
    data = jpeg_bytes(colour_image((40, 60, 200), 64))
    assert decode_upload(data, max_bytes=len(data)).size == (64, 64)
    with pytest.raises(
        UploadTooLargeError, match=f"has {len(data)} bytes, more than the limit of 100"
    ):
        decode_upload(data, max_bytes=100)
    assert issubclass(UploadTooLargeError, UploadError) and issubclass(UploadError, DataError)


def test_an_upload_decodes_to_the_pixels_its_file_does(tmp_path):
    photo = scene(3, size=(640, 480))
    path = tmp_path / "photo.jpg"
    photo.save(path, quality=90)
    data = path.read_bytes()
    for min_size in (None, 100):  # 100: JPEG draft decoding at a quarter of the size
        decoded, from_file = (
            decode_upload(data, min_size=min_size),
            load_rgb(path, min_size=min_size),
        )
        assert decoded.mode == "RGB" and decoded.size == from_file.size
        np.testing.assert_array_equal(np.asarray(decoded), np.asarray(from_file))
    assert decode_upload(data, min_size=100).size == (160, 120)


def test_exif_orientation_and_transparency_are_applied():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    scene(1, size=(80, 40)).save(buffer, format="JPEG", exif=exif)
    assert decode_upload(buffer.getvalue()).size == (40, 80)
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(buffer, format="PNG")
    assert np.asarray(decode_upload(buffer.getvalue())).min() == 255  # transparent on white
