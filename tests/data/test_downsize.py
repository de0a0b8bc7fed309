import os

import pytest
from PIL import Image
from tests.helpers import colour_image, png_header_only

from imclass.data.downsize import SizeLimit, downsize_tree
from imclass.data.inspection import verify_images
from imclass.errors import ConfigError


def test_large_images_are_resized_upright_and_small_ones_linked(tmp_path):
    source = tmp_path / "src"
    (source / "cats").mkdir(parents=True)
    big = colour_image((200, 40, 40), 100).resize((3000, 2000))
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated: 2000 wide, 3000 tall
    big.save(source / "cats" / "big.jpg", quality=90, exif=exif)
    colour_image((40, 40, 200), 64).save(source / "cats" / "small.png")
    before = (source / "cats" / "big.jpg").read_bytes()
    results = downsize_tree(
        sorted((source / "cats").iterdir()),
        source,
        tmp_path / "dst",
        SizeLimit(4_000_000),
        workers=0,
    )
    resized = Image.open(tmp_path / "dst" / "cats" / "big.jpg")
    assert resized.format == "JPEG"
    width, height = resized.size
    assert width < height and width * height <= 4_000_000 and width * height > 3_900_000
    assert abs(width / height - 2 / 3) < 0.01
    assert results[source / "cats" / "big.jpg"][0] == "resized"
    assert results[source / "cats" / "small.png"] == ("link", "")
    assert (
        os.stat(source / "cats" / "small.png").st_ino
        == os.stat(tmp_path / "dst" / "cats" / "small.png").st_ino
    )
    assert (source / "cats" / "big.jpg").read_bytes() == before  # the source is untouched


def test_max_side_caps_the_longer_side():
    assert SizeLimit(None, 1000).target(4000, 3000) == (1000, 750)
    assert SizeLimit(4_000_000, None).target(1000, 1000) is None
    with pytest.raises(ConfigError, match="max_side"):
        SizeLimit(None, 3)


def test_a_decompression_bomb_is_skipped_in_verifys_words(tmp_path):
    source = tmp_path / "src"
    (source / "cats").mkdir(parents=True)
    (source / "cats" / "bomb.png").write_bytes(png_header_only(20000, 20000))
    results = downsize_tree([source / "cats" / "bomb.png"], source, tmp_path / "out", SizeLimit())
    bomb = source / "cats" / "bomb.png"
    action, reason = results[bomb]
    assert (action, reason) == ("skipped", verify_images([bomb])[bomb])
    assert reason.startswith("decompression bomb refused")
    assert not (tmp_path / "out").exists()
