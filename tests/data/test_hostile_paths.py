"""Hostile trees: label files naming files outside the data set, linked class folders, link
loops, dangling links, unreadable folders, and outputs that must be checked before any write."""

import json
import os
import subprocess
import sys

import pytest
from tests.helpers import as_a_user, colour_image, make_image_folder, png_header_only

from imclass.data.convert import convert
from imclass.data.dataset import LabelOptions, open_data, open_images
from imclass.data.downsize import SizeLimit, downsize_tree
from imclass.data.inspection import describe_data, read_header, verify_images
from imclass.data.relocate import copy_files, move_files, moved_rows_warning
from imclass.errors import DataError, OutputError


@pytest.fixture
def labelled(tmp_path):
    """tmp_path/D/labels.csv beside D/images/{a,b}.png, and a photo outside D."""
    images = tmp_path / "D" / "images"
    images.mkdir(parents=True)
    for i, name in enumerate(("a.png", "b.png")):
        colour_image((200, 40 + 100 * i, 40), 32, seed=i).save(images / name)
    (tmp_path / "outside").mkdir()
    colour_image((40, 40, 200), 32, seed=9).save(tmp_path / "outside" / "secret.png")
    return tmp_path / "D"


def write_labels(data, rows: str):
    (data / "labels.csv").write_text("filename,labels\na.png,x\nb.png,y\n" + rows)
    return data / "labels.csv"


@pytest.mark.parametrize("row", ["../outside/secret.png", "images/../../outside/secret.png"])
def test_a_label_file_row_climbing_out_of_the_data_set_names_file_line_and_path(labelled, row):
    labels = write_labels(labelled, f"{row},y\n")
    for options in (LabelOptions(), LabelOptions(skip_missing=True)):
        with pytest.raises(DataError) as caught:
            open_images(labelled, options)
        assert str(caught.value).startswith(f"{labels}: line 4: {row} is outside the data set ")


def test_an_absolute_path_outside_is_refused_and_one_inside_is_read(labelled):
    secret = labelled.parent / "outside" / "secret.png"
    labels = write_labels(labelled, f"{secret},y\n")
    with pytest.raises(DataError, match=f"line 4: {secret} is outside the data set"):
        open_data(labels)
    inside = labelled / "images" / "c.png"
    colour_image((1, 2, 3), 32).save(inside)
    labels = write_labels(labelled, f"{inside},y\n")
    assert open_data(labels).all_images().paths[-1] == inside.resolve()


def test_a_link_inside_the_data_set_leading_out_is_refused(labelled):
    os.symlink(labelled.parent / "outside" / "secret.png", labelled / "images" / "c.png")
    labels = write_labels(labelled, "c.png,y\n")
    secret = (labelled.parent / "outside" / "secret.png").resolve()
    with pytest.raises(DataError, match=f"line 4: c.png is a link to {secret}, outside"):
        open_data(labels)


def test_an_explicit_root_lets_rows_reach_beside_the_label_file(labelled):
    labels = write_labels(labelled, "../outside/secret.png,y\n")
    source = open_data(labels, LabelOptions(root=labelled.parent))
    secret = (labelled.parent / "outside" / "secret.png").resolve()
    assert source.all_images().paths[-1] == secret
    assert source.folder == labelled.parent.resolve()


def test_a_root_that_is_not_a_folder_is_named(labelled):
    labels = write_labels(labelled, "")
    with pytest.raises(DataError, match=f"--root {labels}: not a folder"):
        open_data(labels, LabelOptions(root=labels))


def test_a_pipe_given_as_data_is_refused_not_read(tmp_path):
    """Reading a FIFO waits for a writer; it was 'cannot read this folder (Not a directory)'."""
    os.mkfifo(tmp_path / "labels.csv")
    for reader in (open_data, open_images):
        with pytest.raises(DataError, match="not a folder or a label file"):
            reader(tmp_path / "labels.csv")


def test_nothing_outside_the_data_set_is_moved(labelled, tmp_path):
    secret = tmp_path / "outside" / "secret.png"
    with pytest.raises(DataError, match="outside the data set"):
        move_files([labelled / "images" / "a.png", secret], labelled, tmp_path / "Q")
    assert secret.is_file() and (labelled / "images" / "a.png").is_file()
    assert not (tmp_path / "Q").exists()


@pytest.mark.parametrize("label", ["../escaped", "/abs", "..", "a/b", "nul\0byte"])
def test_a_class_that_is_not_a_folder_name_never_becomes_one(labelled, tmp_path, label):
    """convert --to folders made out/<class>/: a class '../escaped' linked an image outside out,
    a class with a NUL byte was a ValueError traceback."""
    (labelled / "labels.csv").write_text(f'filename,labels\na.png,"{label}"\nb.png,y\n')
    with pytest.raises(DataError, match="cannot be a folder name"):
        convert(open_data(labelled / "labels.csv"), "folders", tmp_path / "out" / "f")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D", "outside"]


@pytest.fixture
def linked_class(tmp_path):
    """D/red is a folder, D/blue a link to a folder outside D."""
    make_image_folder(tmp_path / "ext", ("blue",), per_class=2)
    data = make_image_folder(tmp_path / "D", ("red",), per_class=2)
    os.symlink(tmp_path / "ext" / "blue", data / "blue")
    return data


def test_a_linked_class_folder_keeps_its_class_in_every_output(linked_class, tmp_path):
    source = open_images(linked_class)
    assert source.classes == ("blue", "red")
    paths = source.all_images().paths
    results = downsize_tree(paths, source.folder, tmp_path / "small", SizeLimit(), workers=0)
    assert set(results.values()) == {("link", "")}
    assert sorted(p.name for p in (tmp_path / "small" / "blue").iterdir()) == [
        "blue_0.png",
        "blue_1.png",
    ]
    assert copy_files(paths[:3], source.folder, tmp_path / "clean")["link"] == 3
    assert (tmp_path / "clean" / "blue" / "blue_0.png").is_file()
    moved = move_files([linked_class / "blue" / "blue_1.png"], source.folder, tmp_path / "Q")
    assert moved == [tmp_path / "Q" / "blue" / "blue_1.png"]
    assert moved[0].is_file() and not (tmp_path / "ext" / "blue" / "blue_1.png").exists()


def test_a_link_loop_is_read_once_never_a_class_and_is_noted(tmp_path):
    data = make_image_folder(tmp_path / "D", ("red", "blue"), per_class=2)
    os.symlink(".", data / "loop")
    os.symlink("..", data / "red" / "up")
    source = open_data(data)
    assert source.classes == ("blue", "red")
    assert len(source.all_images()) == 4
    assert source.notes == (
        f"{data / 'red' / 'up'}: the same folder as {data} (a link loop or a second link to it); "
        "read once, skipped here",
        f"{data / 'loop'}: the same folder as {data} (a link loop or a second link to it); "
        "read once, skipped here",
    )
    assert describe_data(source, workers=0).skipped == source.notes


def test_a_second_link_to_a_class_folder_is_skipped_not_a_second_class(tmp_path):
    data = make_image_folder(tmp_path / "D", ("red", "blue"), per_class=2)
    os.symlink("red", data / "another")
    source = open_data(data)
    assert source.classes == ("blue", "red")
    assert [n.split(":")[0] for n in source.notes] == [str(data / "another")]


def test_a_linked_folder_inside_a_class_is_followed(tmp_path):
    data = make_image_folder(tmp_path / "D", ("red", "blue"), per_class=1)
    make_image_folder(tmp_path / "more", ("red",), per_class=2)
    os.symlink(tmp_path / "more" / "red", data / "red" / "more")
    source = open_data(data)
    names = sorted(p.relative_to(data).as_posix() for p in source.all_images().paths)
    assert names == ["blue/blue_0.png", "red/more/red_0.png", "red/more/red_1.png", "red/red_0.png"]
    assert source.notes == ()


def test_dangling_links_and_pipes_are_noted_by_name(tmp_path):
    data = make_image_folder(tmp_path / "D", ("red", "blue"), per_class=2)
    os.symlink(tmp_path / "gone.png", data / "red" / "gone.png")
    os.symlink(tmp_path / "gone", data / "green")
    os.mkfifo(data / "blue" / "pipe.png")
    source = open_images(data)
    assert len(source.all_images()) == 4
    assert source.notes == (
        f"{data / 'green'}: broken link to {tmp_path / 'gone'} (No such file or directory); "
        "skipped",
        f"{data / 'blue' / 'pipe.png'}: not a regular file; skipped",
        f"{data / 'red' / 'gone.png'}: broken link to {tmp_path / 'gone.png'} "
        "(No such file or directory); skipped",
    )


def test_an_unreadable_class_folder_is_noted(shared_tmp):
    data = make_image_folder(shared_tmp / "D", ("red", "blue", "green"), per_class=2)
    (data / "green").chmod(0)
    read = (  # in a process of its own: as `nobody` when this is root
        "import json, sys; from imclass.data.dataset import open_data; "
        "source = open_data(sys.argv[1]); print(json.dumps([source.classes, source.notes]))"
    )
    command = as_a_user([sys.executable, "-c", read, str(data)])
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    classes, notes = json.loads(result.stdout)
    assert classes == ["blue", "red"]
    assert notes == [f"{data / 'green'}: unreadable folder (Permission denied); skipped"]


def test_a_move_that_would_collide_moves_nothing(tmp_path):
    data = make_image_folder(tmp_path / "D", ("red", "blue"), per_class=2)
    (tmp_path / "Q" / "red").mkdir(parents=True)
    (tmp_path / "Q" / "red" / "red_1.png").write_bytes(b"already here")
    paths = [data / "blue" / "blue_0.png", data / "red" / "red_1.png"]
    with pytest.raises(OutputError, match=f"{tmp_path / 'Q' / 'red' / 'red_1.png'}: already"):
        move_files(paths, data, tmp_path / "Q")
    assert all(p.is_file() for p in paths)
    assert not (tmp_path / "Q" / "blue").exists()


def test_a_clean_copy_into_a_file_writes_nothing(tmp_path):
    data = make_image_folder(tmp_path / "D", ("red", "blue"), per_class=2)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "red").write_bytes(b"a file where a folder is needed")
    paths = open_data(data).all_images().paths
    with pytest.raises(OutputError, match="is a file, not a folder"):
        copy_files(paths, data, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["red"]


def test_downsize_checks_every_destination_before_writing(tmp_path):
    data = make_image_folder(tmp_path / "D", ("red", "blue"), per_class=2)
    (tmp_path / "out" / "red").mkdir(parents=True)
    (tmp_path / "out" / "red" / "red_1.png").write_bytes(b"x")
    paths = open_data(data).all_images().paths
    with pytest.raises(OutputError, match="already exists"):
        downsize_tree(paths, data, tmp_path / "out", SizeLimit(), workers=0)
    assert [p.name for p in (tmp_path / "out").rglob("*")] == ["red", "red_1.png"]


def test_convert_refuses_a_name_too_long_before_linking_anything(tmp_path):
    long = "f" * 250  # fits; "blue__" in front (the names repeat) does not
    data = make_image_folder(tmp_path / "D", ("red", "blue"), per_class=1)
    for name in ("red", "blue"):
        (data / name / f"{long}.png").write_bytes((data / name / f"{name}_0.png").read_bytes())
    with pytest.raises(OutputError, match="longer than 255 bytes"):
        convert(open_data(data), "csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_info_and_verify_agree_on_an_image_above_the_bomb_limit(tmp_path):
    data = make_image_folder(tmp_path / "D", ("red", "blue"), per_class=1)
    big = data / "red" / "big.png"
    big.write_bytes(png_header_only(10000, 10000))  # 100 MP: above Pillow's 89.5 MP limit
    reason = read_header(big)
    assert reason.startswith("decompression bomb refused (Image size (100000000 pixels)")
    assert verify_images([big], workers=0) == {big: reason}
    assert describe_data(open_data(data), workers=0).unreadable == {big: reason}


def test_moving_files_listed_in_a_label_file_warns_about_its_rows(labelled, tmp_path):
    source = open_data(write_labels(labelled, ""))
    moved = move_files([labelled / "images" / "b.png"], source.folder, tmp_path / "Q")
    assert moved_rows_warning(source, moved) == (
        f"{labelled / 'labels.csv'}: 1 row(s) still list the moved file(s) and now point to "
        "missing files; the label file is unchanged (read it with --skip-missing, or remove "
        "those rows)"
    )
    assert moved_rows_warning(open_data(make_image_folder(tmp_path / "F")), moved) is None
