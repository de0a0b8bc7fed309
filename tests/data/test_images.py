import numpy as np
import pytest
from PIL import Image
from tests.helpers import colour_image, jpeg_bytes, png_header_only

from imclass.data.images import UnreadableImage, is_image_file, load_rgb


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.jpg", b"", "zero bytes"),
        ("text.jpg", b"this is not an image at all\n" * 10, "not an image"),
        ("truncated.jpg", None, "truncated"),
        ("bomb.png", png_header_only(20000, 20000), "decompression bomb"),
    ],
)
def test_unreadable_files_raise_with_their_reason(tmp_path, name, content, reason):
    if content is None:
        full = jpeg_bytes(colour_image((200, 40, 40), 256))
        content = full[: len(full) // 2]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableImage) as caught:
        load_rgb(path)
    assert reason in caught.value.reason
    assert caught.value.path == path


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "RGBA", "LA", "I;16", "1"])
def test_every_mode_becomes_8bit_rgb(tmp_path, mode):
    source = colour_image((200, 40, 40), 32)
    converted = source.convert("L").convert(mode) if mode == "I;16" else source.convert(mode)
    path = tmp_path / f"x_{mode.replace(';', '')}.{'tif' if mode in ('CMYK', 'I;16') else 'png'}"
    converted.save(path)
    out = load_rgb(path)
    assert out.mode == "RGB" and out.size == (32, 32)


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    array = np.full((8, 8), 65535 // 2, dtype=np.uint16)
    Image.fromarray(array).save(tmp_path / "g16.png")
    value = np.asarray(load_rgb(tmp_path / "g16.png"))[0, 0, 0]
    assert 120 <= value <= 135  # mid-grey, not white


def test_alpha_is_composited_on_white(tmp_path):
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    assert np.asarray(load_rgb(tmp_path / "clear.png")).min() == 255


def test_exif_orientation_is_applied(tmp_path):
    picture = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    picture.save(tmp_path / "rotated.jpg", exif=exif)
    assert load_rgb(tmp_path / "rotated.jpg").size == (20, 40)


def test_draft_decoding_keeps_at_least_the_requested_side(tmp_path):
    colour_image((10, 200, 10), 800).save(tmp_path / "big.jpg", quality=90)
    out = load_rgb(tmp_path / "big.jpg", min_size=150)
    assert 150 <= min(out.size) < 800


def test_extensions_in_any_case(tmp_path):
    assert is_image_file(tmp_path / "a.JPG") and is_image_file(tmp_path / "b.WebP")
    assert not is_image_file(tmp_path / "notes.txt")
