import shutil

import pytest
from tests.helpers import colour_image, jpeg_bytes, make_image_folder, png_header_only

from imclass.data.dataset import open_data
from imclass.data.dedup import find_duplicates
from imclass.data.downsize import SizeLimit, downsize_tree
from imclass.data.inspection import advice, describe_data, read_header, verify_images


def test_summary_counts_resolutions_duplicates_and_advice(tmp_path):
    data = make_image_folder(tmp_path / "d", ("red", "blue"), per_class=8, ext=".jpg")
    for i in range(3):
        (data / "green").mkdir(exist_ok=True)
        colour_image((40, 170, 60), 48, seed=50 + i).save(data / "green" / f"g{i}.jpg")
    colour_image((200, 40, 40), 2500).save(data / "red" / "huge.jpg")  # 6.25 MP
    shutil.copy(data / "red" / "red_0.jpg", data / "red" / "red_0_copy.jpg")
    summary = describe_data(open_data(data), workers=0)
    assert summary.totals == {"blue": 8, "green": 3, "red": 10}
    assert summary.imbalance_ratio == 10 / 3
    assert [p.name for p in summary.large] == ["huge.jpg"]
    assert summary.megapixels()[2] == 6.25
    assert len(summary.duplicates.groups) == 1
    text = "\n".join(advice(summary))
    assert "1 images above 4 MP: `imclass downsize" in text
    assert "class 'green' has 3 images — about 100 per class usually works" in text
    assert "1 exact duplicate file(s)" in text


def test_a_placeholder_among_photos_is_suspicious(tmp_path):
    data = make_image_folder(tmp_path / "d", ("red", "blue"), per_class=12, ext=".jpg")
    colour_image((128, 128, 128), 300).convert("P").save(data / "red" / "notfound.gif")
    colour_image((128, 128, 128), 30).save(data / "blue" / "png_named.jpg", format="PNG")
    summary = describe_data(open_data(data), workers=0)
    reasons = {p.name: r for p, r in summary.suspicious.items()}
    assert "the only GIF among 12 JPEG files of class 'red'" in reasons["notfound.gif"]
    assert reasons["png_named.jpg"] == "content is PNG but the name says .jpg"


def test_shared_placeholder_gif_surfaces_in_info(shared_data):
    summary = describe_data(open_data(shared_data / "hymenoptera"))
    flagged = {p.name for p in summary.suspicious}
    assert flagged == {"imageNotFound.gif"}
    assert any("suspicious" in line for line in advice(summary))


def test_verify_decodes_fully_and_names_each_problem(tmp_path):
    data = make_image_folder(tmp_path / "d", ("red", "blue"), per_class=3)
    full = jpeg_bytes(colour_image((1, 2, 3), 200))
    (data / "red" / "cut.jpg").write_bytes(full[: len(full) // 2])  # header fine, data not
    (data / "red" / "empty.png").write_bytes(b"")
    (data / "blue" / "bomb.png").write_bytes(png_header_only(20000, 20000))
    problems = verify_images(list(open_data(data).all_images().paths), workers=2)
    reasons = {p.name: r for p, r in problems.items()}
    assert set(reasons) == {"cut.jpg", "empty.png", "bomb.png"}
    assert reasons["cut.jpg"] == "truncated file" and reasons["empty.png"] == "zero bytes"
    assert reasons["bomb.png"].startswith("decompression bomb refused")


def test_info_and_verify_name_a_file_that_is_not_an_image_alike(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image\n")
    assert read_header(text) == verify_images([text])[text] == "not an image (unknown format)"


@pytest.mark.parametrize(
    ("cut", "header_read"),
    [(300, False), (1000, True)],  # Pillow: "Truncated File Read" / "image file is truncated"
)
def test_every_command_names_a_cut_off_jpeg_in_the_same_words(tmp_path, cut, header_read):
    """Issue 9: info, verify, dedup and downsize said 'not an image (OSError)', 'unreadable
    (Truncated File Read)', 'truncated file' and 'unreadable (OSError: ...)' of one file."""
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg_bytes(colour_image((1, 2, 3), 48))[:cut])
    header = read_header(path)
    assert (header != "truncated file") == header_read  # a header read whole is not a problem
    assert verify_images([path])[path] == "truncated file"
    assert find_duplicates([path], 0, cache=False).failures[path] == "truncated file"
    limit = SizeLimit(1024, None)  # below its 48 x 48 pixels: downsize decodes it
    assert downsize_tree([path], tmp_path, tmp_path / "out", limit)[path] == (
        "skipped",
        "truncated file",
    )
