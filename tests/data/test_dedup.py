import shutil

import imagehash
import pytest
from PIL import Image
from tests.helpers import next_frame, scene

from imclass.data import hashing
from imclass.data.dataset import open_data
from imclass.data.dedup import find_duplicates, group_hashes
from imclass.data.hashing import HashCache, hash_files
from imclass.data.inspection import split_of


@pytest.fixture
def variants(tmp_path):
    """An original and its copies of every kind, plus distinct images."""
    folder = tmp_path / "photos"
    folder.mkdir()
    original = scene(1)
    original.save(folder / "original.jpg", quality=95)
    shutil.copy(folder / "original.jpg", folder / "copy.jpg")
    Image.open(folder / "original.jpg").save(folder / "requality60.jpg", quality=60)
    original.resize((160, 120), Image.Resampling.LANCZOS).save(folder / "half.jpg", quality=95)
    next_frame(original, 0).save(folder / "frame.jpg", quality=95)
    for seed in range(2, 8):
        scene(seed).save(folder / f"distinct{seed}.jpg", quality=95)
    return folder


def names(groups) -> set[frozenset[str]]:
    return {frozenset(p.name for p in g.members) for g in groups}


def test_exact_duplicates_are_byte_copies_and_equal_hashes(variants):
    found = find_duplicates(sorted(variants.iterdir()), 0, workers=0)
    assert {"original.jpg", "copy.jpg"} <= next(iter(names(found.groups)))
    assert all("distinct" not in n for group in names(found.groups) for n in group)


def test_near_duplicates_of_every_kind_group_and_distinct_images_do_not(variants):
    found = find_duplicates(sorted(variants.iterdir()), 12, workers=0)
    assert names(found.groups) == {
        frozenset({"original.jpg", "copy.jpg", "requality60.jpg", "half.jpg", "frame.jpg"})
    }
    group = found.groups[0]
    full_size = [p for p in group.members if Image.open(p).size == (320, 240)]
    assert group.keep == max(full_size, key=lambda p: p.stat().st_size)
    assert variants / "half.jpg" in group.redundant


@pytest.mark.parametrize("distance", [0, 3, 12])
def test_groups_equal_the_plain_imagehash_recipe(variants, distance):
    paths = sorted(variants.iterdir())
    plain = [bytes.fromhex(str(imagehash.dhash(Image.open(p), hash_size=16))) for p in paths]
    reference = {frozenset(paths[i].name for i in g) for g in group_hashes(plain, distance)}
    assert names(find_duplicates(paths, distance, workers=2).groups) == reference


def test_reference_hash_bytes_match_imagehash(variants):
    path = variants / "half.jpg"
    hashes, _ = hash_files([path], exact=True, workers=0)
    assert hashes[path].hex() == str(imagehash.dhash(Image.open(path), hash_size=16))


def test_cached_hashes_are_reused_and_changed_files_rehashed(variants, monkeypatch):
    paths = sorted(variants.iterdir())
    hash_files(paths, workers=0, cache=HashCache())
    calls = []
    real = hashing._hash_file
    monkeypatch.setattr(hashing, "_hash_file", lambda item: calls.append(item) or real(item))
    scene(99).save(variants / "new.jpg")
    (variants / "copy.jpg").write_bytes((variants / "distinct2.jpg").read_bytes())
    hash_files(sorted(variants.iterdir()), workers=0, cache=HashCache())
    assert sorted(item[0].rsplit("/", 1)[1] for item in calls) == ["copy.jpg", "new.jpg"]


def test_duplicates_across_splits_are_listed_first_as_leaks(tmp_path):
    for split in ("train", "val"):
        for cls in ("a", "b"):
            (tmp_path / split / cls).mkdir(parents=True)
    scene(1).save(tmp_path / "train/a/x.png")
    shutil.copy(tmp_path / "train/a/x.png", tmp_path / "val/a/x_again.png")
    scene(2).save(tmp_path / "train/b/y.png")
    shutil.copy(tmp_path / "train/b/y.png", tmp_path / "train/b/y_again.png")
    scene(3).save(tmp_path / "val/b/z.png")
    source = open_data(tmp_path)
    found = find_duplicates(
        list(source.all_images().paths), 0, split_of=split_of(source), workers=0
    )
    assert [g.spans_splits for g in found.groups] == [True, False]
    assert found.groups[0].splits == ("train", "valid")
    assert len(found.leaking) == 1


def test_unreadable_files_are_reported_not_fatal(variants):
    (variants / "broken.jpg").write_bytes(b"not a jpeg")
    found = find_duplicates(sorted(variants.iterdir()), 0, workers=0)
    assert found.failures[variants / "broken.jpg"] == "not an image (unknown format)"  # verify's
