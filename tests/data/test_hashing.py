"""dhash of hostile inputs: 16-bit images, names that are not UTF-8, broken or unwritable caches."""

import os
import sqlite3

import numpy as np
import pytest
from PIL import Image
from tests.helpers import SHARED_DATA, invoke, make_image_folder, scene

from imclass.data.dedup import find_duplicates
from imclass.data.hashing import CacheWarning, HashCache, hash_files
from imclass.data.images import load_rgb
from imclass.data.near_duplicates import as_matrix, hamming


def sixteen_bit(grey: Image.Image, mode: str) -> Image.Image:
    """The 8-bit grey picture with the same values over 0..65535 (v * 257), in mode."""
    values = np.asarray(grey, dtype=np.uint32) * 257
    if mode == "I":
        return Image.fromarray(values.astype(np.int32))
    dtype = ">u2" if mode == "I;16B" else "<u2"
    return Image.frombytes(mode, grey.size, values.astype(dtype).tobytes())


def four_photos() -> list[Image.Image]:
    """Four different real photos where the shared data sets are present, else four scenes."""
    photos = sorted((SHARED_DATA / "hymenoptera").rglob("*.jpg"))[::50][:4]
    if len(photos) == 4:
        return [Image.open(p).convert("L") for p in photos]
    return [scene(seed).convert("L") for seed in (11, 12, 13, 14)]


def distance(a: bytes, b: bytes) -> int:
    return int(hamming(as_matrix([a, b]), np.array([0]), np.array([1]))[0])


@pytest.mark.parametrize(("mode", "suffix"), [("I;16", ".png"), ("I;16B", ".tif"), ("I", ".tif")])
def test_sixteen_bit_photos_hash_and_decode_like_their_eight_bit_versions(tmp_path, mode, suffix):
    eight, sixteen = [], []
    for index, grey in enumerate(four_photos()):
        eight.append(tmp_path / f"photo{index}_8.png")
        grey.save(eight[-1])
        sixteen.append(tmp_path / f"photo{index}_16{suffix}")
        sixteen_bit(grey, mode).save(sixteen[-1])
    assert Image.open(sixteen[0]).mode in ("I;16", "I;16B", "I")
    hashes, failures = hash_files(eight + sixteen, exact=True, workers=0)
    assert failures == {}
    assert [distance(hashes[a], hashes[b]) for a, b in zip(eight, sixteen, strict=True)] == [0] * 4
    assert find_duplicates(sixteen, 24, workers=0, cache=False).groups == []
    decoded = [np.asarray(load_rgb(p), dtype=int) for p in (eight[0], sixteen[0])]
    assert np.abs(decoded[0] - decoded[1]).max() == 0  # training sees the same pixels


def test_names_that_are_not_utf8_are_hashed_and_cached(tmp_path):
    folder = make_image_folder(tmp_path / "data", classes=("red",), per_class=2)
    odd = folder / "red" / os.fsdecode(b"caf\xe9.png")
    (folder / "red" / "red_0.png").rename(odd)
    paths = sorted((folder / "red").iterdir())
    cache = HashCache(tmp_path / "cache" / "dhash.sqlite")
    hashes, failures = hash_files(paths, workers=0, cache=cache)
    assert failures == {} and set(hashes) == set(paths)
    assert cache.lookup(paths, "fast") == hashes


def test_a_corrupt_cache_file_is_reported_and_rebuilt(tmp_path):
    cache_file = tmp_path / "cache" / "dhash.sqlite"
    cache_file.parent.mkdir()
    cache_file.write_bytes(np.random.default_rng(0).bytes(5000))
    paths = sorted(make_image_folder(tmp_path / "data", per_class=2).rglob("*.png"))
    with pytest.warns(CacheWarning, match="is corrupt.*starting a new one"):
        cache = HashCache(cache_file)
    hashes, _ = hash_files(paths, workers=0, cache=cache)
    assert len(hashes) == 4
    assert HashCache(cache_file).lookup(paths, "fast") == hashes


def test_an_unusable_cache_folder_is_reported_and_bypassed(tmp_path):
    """A file where the cache folder should be: no folder can be made there, even as root."""
    (tmp_path / "taken").write_text("not a folder")
    paths = sorted(make_image_folder(tmp_path / "data", per_class=2).rglob("*.png"))
    with pytest.warns(CacheWarning, match="cannot be used.*not cached"):
        cache = HashCache(tmp_path / "taken" / "dhash.sqlite")
    hashes, failures = hash_files(paths, workers=0, cache=cache)
    assert len(hashes) == 4 and failures == {}
    assert cache.lookup(paths, "fast") == {}


def test_info_with_a_corrupt_cache_warns_and_succeeds(tmp_path, monkeypatch):
    data = make_image_folder(tmp_path / "data", per_class=3)
    cache_file = tmp_path / "cache" / "dhash.sqlite"
    cache_file.parent.mkdir()
    cache_file.write_bytes(np.random.default_rng(1).bytes(5000))
    monkeypatch.setenv("IMCLASS_CACHE_DIR", str(cache_file.parent))
    done = invoke("info", data)
    assert done.exit_code == 0, done.exception
    assert done.stderr == (
        f"warning: hash cache {cache_file} is corrupt (file is not a database); "
        "starting a new one\n"
    )
    with sqlite3.connect(cache_file) as db:
        assert db.execute("SELECT COUNT(*) FROM dhash").fetchone() == (6,)
