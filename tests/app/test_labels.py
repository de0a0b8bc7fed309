"""The label store: journal first, TSV in the format `imclass train` reads, replay after a
crash, two writers, undo."""

import json
from pathlib import Path

import pytest
from tests.helpers import make_image_folder

from imclass.app.catalog import file_inside, list_images, read_catalog
from imclass.app.labels import ChangeConflict, LabelStore
from imclass.data.dataset import open_data
from imclass.errors import ConfigError


def store_for(data: Path, **options) -> LabelStore:
    catalog = read_catalog(data, labels_file=data / "annotations.tsv")
    return LabelStore(data / "annotations.tsv", catalog.root, initial=catalog.initial, **options)


def flat_folder(root: Path, count: int = 4) -> Path:
    make_image_folder(root, classes=("red",), per_class=count)
    for path in (root / "red").iterdir():
        path.rename(root / path.name)
    (root / "red").rmdir()
    return root


def test_a_change_is_in_the_journal_and_the_tsv_train_reads(tmp_path):
    data = flat_folder(tmp_path / "photos")
    store = store_for(data, classes=("cat", "dog"))
    assert not (data / "annotations.tsv").exists()  # looking writes nothing
    store.set_labels("red_0.png", ["cat"])
    store.set_labels("red_1.png", ["dog"])
    store.set_labels("red_2.png", ["dog"], exclude=True)
    lines = (data / "annotations.tsv").read_text().splitlines()
    assert lines[0] == "IM_FILENAME\tEXCLUDE\tLABELS"
    assert "red_2.png\tTrue\tdog" in lines
    journal = [json.loads(line) for line in (data / "annotations.tsv.journal").open()]
    assert journal[0] == {"seq": 0, "classes": ["cat", "dog"], "multilabel": False}
    assert [entry["image"] for entry in journal[1:]] == ["red_0.png", "red_1.png", "red_2.png"]
    source = open_data(data)
    assert source.classes == ("cat", "dog")
    assert sorted(p.name for p in source.all_images().paths) == ["red_0.png", "red_1.png"]


def test_the_journal_is_replayed_over_an_older_tsv_and_a_torn_line_dropped(tmp_path):
    data = flat_folder(tmp_path / "photos")
    store = store_for(data, classes=("cat", "dog"))
    store.set_labels("red_0.png", ["cat"])
    tsv_then = (data / "annotations.tsv").read_text()
    store.set_labels("red_1.png", ["dog"])
    store.set_labels("red_0.png", ["dog"])
    # a kill between the journal's fsync and the TSV's rename, and a write cut short
    (data / "annotations.tsv").write_text(tsv_then)
    with open(data / "annotations.tsv.journal", "a") as journal:
        journal.write('{"seq": 99, "image": "red_3.p')
    again = store_for(data)
    _, images, _ = again.snapshot()
    assert images["red_0.png"].labels == ("dog",) and images["red_1.png"].labels == ("dog",)
    assert "red_3.png" not in images
    assert again.snapshot()[0] == ["cat", "dog"]
    assert "red_0.png\tFalse\tdog" in (data / "annotations.tsv").read_text()
    assert len((data / "annotations.tsv.journal").read_text().splitlines()) == 1  # compacted


def test_a_corrupt_journal_line_before_the_end_is_an_error_naming_it(tmp_path):
    data = flat_folder(tmp_path / "photos")
    store_for(data, classes=("cat",)).set_labels("red_0.png", ["cat"])
    journal = data / "annotations.tsv.journal"
    journal.write_text("garbage\n" + journal.read_text())
    with pytest.raises(Exception, match="line 1: not a journal entry"):
        store_for(data)


def test_two_writers_only_touch_their_own_images_and_the_last_write_wins(tmp_path):
    data = flat_folder(tmp_path / "photos")
    store = store_for(data, classes=("cat", "dog"))
    first = store.set_labels("red_0.png", ["cat"], seen=0)
    store.set_labels("red_1.png", ["dog"], seen=0)  # the other tab, another image
    late = store.set_labels("red_0.png", ["dog"], seen=0)  # the other tab had not seen `first`
    assert late.replaced_unseen and not first.replaced_unseen
    _, images, _ = store.snapshot()
    assert images["red_0.png"].labels == ("dog",) and images["red_1.png"].labels == ("dog",)


def test_undo_walks_back_and_refuses_over_a_later_change(tmp_path):
    data = flat_folder(tmp_path / "photos")
    store = store_for(data, classes=("cat", "dog"))
    one = store.set_labels("red_0.png", ["cat"])
    two = store.set_labels("red_0.png", ["dog"])
    other = store.set_labels("red_1.png", ["cat"])
    store.set_labels("red_1.png", ["dog"])
    assert store.undo(two.seq).after.labels == ("cat",)
    assert store.undo(one.seq).after.labels == ()
    with pytest.raises(ChangeConflict, match="changed again"):
        store.undo(other.seq)
    assert "red_0.png" not in (data / "annotations.tsv").read_text()


def test_class_folders_seed_the_labels_and_bad_writes_are_refused(tmp_path):
    data = make_image_folder(tmp_path / "photos", per_class=2)
    store = store_for(data)
    _, images, _ = store.snapshot()
    assert images["red/red_0.png"].labels == ("red",)
    with pytest.raises(ConfigError, match="unknown class 'rde'.*Did you mean 'red'"):
        store.set_labels("red/red_0.png", ["rde"])
    with pytest.raises(ConfigError, match="single-label"):
        store.set_labels("red/red_0.png", ["red", "blue"])
    with pytest.raises(ConfigError, match="without commas"):
        store.add_class("a,b")
    assert store.add_class("green") == ["blue", "red", "green"]
    assert store_for(data).snapshot()[0] == ["blue", "red", "green"]  # kept in the journal


def test_multilabel_rows_and_a_labels_file_elsewhere(tmp_path):
    data = flat_folder(tmp_path / "photos")
    tsv = tmp_path / "labels" / "mine.tsv"
    tsv.parent.mkdir()
    catalog = read_catalog(data, labels_file=tsv)
    store = LabelStore(tsv, catalog.root, classes=("cat", "dog"), multilabel=True)
    store.set_labels("red_0.png", ["dog", "cat"])
    assert "../photos/red_0.png\tFalse\tdog,cat" in tsv.read_text()
    again = LabelStore(tsv, catalog.root)
    assert again.multilabel and again.snapshot()[1]["red_0.png"].labels == ("dog", "cat")


def test_only_images_inside_the_folder_are_listed_or_served(tmp_path):
    data = flat_folder(tmp_path / "photos", count=2)
    outside = flat_folder(tmp_path / "elsewhere", count=1)
    (data / "out.png").symlink_to(outside / "red_0.png")
    (data / "outdir").symlink_to(outside)
    (data / "inner.png").symlink_to(data / "red_0.png")
    assert list_images(data.resolve()) == ["inner.png", "red_0.png", "red_1.png"]
    root = data.resolve()
    assert file_inside(root, "red_0.png") == root / "red_0.png"
    for name in ("out.png", "outdir/red_0.png", "../elsewhere/red_0.png", "/etc/passwd", ""):
        assert file_inside(root, name) is None, name
