from collections import Counter

import pytest
from tests.helpers import colour_image, make_image_folder

from imclass.data.dataset import open_data, open_images
from imclass.data.split import train_valid_sets
from imclass.errors import DataError


def test_folder_per_class_is_found_recursively_in_any_extension_case(tmp_path):
    make_image_folder(tmp_path, ("red", "blue"), per_class=3)
    nested = tmp_path / "red" / "more" / "deeper"
    nested.mkdir(parents=True)
    colour_image((200, 40, 40)).save(nested / "x.JPG", format="JPEG")
    (tmp_path / "red" / "notes.txt").write_text("not an image")
    (tmp_path / "red" / ".hidden.png").write_bytes(b"")
    source = open_data(tmp_path)
    assert source.classes == ("blue", "red")
    images = source.all_images()
    assert Counter(images.labels) == {0: 3, 1: 4}
    assert nested / "x.JPG" in images.paths


def test_presplit_layout_is_used_as_given(tmp_path):
    make_image_folder(tmp_path / "train", ("red", "blue"), per_class=4)
    make_image_folder(tmp_path / "val", ("red", "blue"), per_class=2)
    source = open_data(tmp_path)
    assert source.is_presplit
    train, valid = train_valid_sets(source, 0.2, 0)
    assert (len(train), len(valid)) == (8, 4)
    assert all("val" in p.parts for p in valid.paths)


def test_a_class_too_small_to_split_is_named(tmp_path):
    make_image_folder(tmp_path, ("red", "blue"), per_class=4)
    for extra in list((tmp_path / "blue").iterdir())[1:]:
        extra.unlink()
    with pytest.raises(DataError, match="'blue' cannot appear on both sides"):
        train_valid_sets(open_data(tmp_path), 0.2, 0)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such file or folder"),
        ("empty", "no images found"),
        ("single", "only one class"),
    ],
)
def test_unusable_data_sets_are_clear_errors(tmp_path, setup, message):
    target = tmp_path / "data"
    if setup == "empty":
        (target / "red").mkdir(parents=True)
    elif setup == "single":
        make_image_folder(target, ("red",), per_class=2)
    with pytest.raises(DataError, match=message):
        open_data(target)


def test_split_file_rows_resolve_against_the_file_folder(tmp_path):
    make_image_folder(tmp_path, ("red", "blue"), per_class=2)
    (tmp_path / "split.csv").write_text(
        "path,label,split\nred/red_0.png,red,train\nblue/blue_0.png,blue,train\n"
        "red/red_1.png,red,val\nblue/blue_1.png,blue,val\n"
    )
    source = open_data(tmp_path / "split.csv")
    assert source.classes == ("blue", "red")
    assert source.splits["valid"].paths == (
        tmp_path / "red/red_1.png",
        tmp_path / "blue/blue_1.png",
    )


def test_split_file_errors_name_the_line(tmp_path):
    colour_image((200, 40, 40)).save(tmp_path / "a.png")
    (tmp_path / "split.csv").write_text("path,label\na.png,red\n,blue\n")
    with pytest.raises(DataError, match="line 3"):
        open_data(tmp_path / "split.csv")
    (tmp_path / "bad.csv").write_text("file,label\na.png,red\n")
    with pytest.raises(DataError, match=r"line 1: unknown columns \(file, label\)"):
        open_data(tmp_path / "bad.csv")


def test_split_file_naming_a_missing_image_names_the_line(tmp_path):
    make_image_folder(tmp_path, ("red", "blue"), per_class=1)
    (tmp_path / "split.csv").write_text("path,label\nred/red_0.png,red\nblue/gone.png,blue\n")
    with pytest.raises(DataError, match=r"split.csv: line 3: image blue/gone.png not found"):
        open_data(tmp_path / "split.csv")


def test_shared_hymenoptera_is_read_as_presplit(shared_data):
    source = open_data(shared_data / "hymenoptera")
    assert source.classes == ("ants", "bees") and source.is_presplit
    train, valid = source.splits["train"], source.splits["valid"]
    assert Counter(train.labels) == {0: 124, 1: 121}  # 123 ant photos + the placeholder GIF
    assert Counter(valid.labels) == {0: 70, 1: 83}


def test_a_misspelt_split_folder_beside_train_is_named_with_a_suggestion(tmp_path):
    make_image_folder(tmp_path / "train", ("red", "blue"), per_class=2)
    make_image_folder(tmp_path / "vaild", ("red", "blue"), per_class=2)
    with pytest.raises(DataError, match=r"folder 'vaild' beside 'train'.* Did you mean 'valid'\?"):
        open_data(tmp_path)


def test_class_folders_named_like_splits_are_still_classes(tmp_path):
    for c_index, name in enumerate(("train", "tram", "bus")):
        (tmp_path / name).mkdir()
        for i in range(2):
            colour_image((40, 80 * c_index, 90), seed=i).save(tmp_path / name / f"{i}.png")
    source = open_data(tmp_path)
    assert source.classes == ("bus", "train", "tram") and not source.is_presplit


def test_open_images_takes_a_flat_folder_of_unlabelled_images(tmp_path):
    make_image_folder(tmp_path / "scraped", ("red",), per_class=2)
    colour_image((1, 2, 3)).save(tmp_path / "scraped" / "loose.png")
    (tmp_path / "scraped" / ".hidden.png").write_bytes(b"")
    one_class = open_images(tmp_path / "scraped" / "red")
    assert one_class.classes == () and one_class.all_images().labels == ((), ())
    mixed = open_images(tmp_path / "scraped")
    assert mixed.classes == ("red",)
    assert dict(zip(mixed.all_images().paths, mixed.all_images().labels, strict=True)) == {
        tmp_path / "scraped" / "loose.png": (),
        tmp_path / "scraped" / "red" / "red_0.png": 0,
        tmp_path / "scraped" / "red" / "red_1.png": 0,
    }
    with pytest.raises(DataError, match="only one class"):
        open_data(tmp_path / "scraped")


def test_open_images_still_needs_an_image(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(DataError, match="no images found"):
        open_images(tmp_path / "empty")
