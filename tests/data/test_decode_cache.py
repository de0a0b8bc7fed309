import os
import warnings

from PIL import Image
from tests.helpers import colour_image

from imclass.data.decode_cache import DecodeCache, cache_side, worth_caching
from imclass.data.hashing import CacheWarning


def test_each_image_is_decoded_once_at_the_size_training_needs(tmp_path):
    path = tmp_path / "photo.jpg"
    colour_image((200, 40, 40), 100).resize((1200, 900)).save(path, quality=90)
    cache = DecodeCache(side=300, folder=tmp_path / "cache")
    first = cache.load(path)
    assert first.size == (400, 300)
    entry = cache.entry(path)
    assert entry.is_file()
    stamp = entry.stat().st_mtime_ns
    again = cache.load(path)
    assert again.size == (400, 300) and entry.stat().st_mtime_ns == stamp
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))  # the photo was edited
    assert cache.entry(path) != entry


def test_cache_is_worth_it_only_for_images_much_larger_than_needed(tmp_path):
    big, small = tmp_path / "big.jpg", tmp_path / "small.jpg"
    colour_image((1, 2, 3), 50).resize((1600, 1200)).save(big)
    colour_image((1, 2, 3), 300).save(small)
    side = cache_side(224, 256)
    assert side == 392
    assert worth_caching([big], side) and not worth_caching([small], side)


def test_a_name_that_is_not_utf8_is_cached(tmp_path):
    path = tmp_path / os.fsdecode(b"caf\xe9.jpg")
    colour_image((200, 40, 40), 100).resize((1200, 900)).save(path, quality=90)
    cache = DecodeCache(side=300, folder=tmp_path / "cache")
    assert cache.load(path).size == (400, 300)
    assert cache.entry(path).is_file()


def test_a_damaged_cached_copy_is_decoded_afresh_and_rewritten(tmp_path):
    path = tmp_path / "photo.jpg"
    colour_image((200, 40, 40), 100).resize((1200, 900)).save(path, quality=90)
    cache = DecodeCache(side=300, folder=tmp_path / "cache")
    entry = cache.entry(path)
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"\xff\xd8 half a jpeg")
    assert cache.load(path).size == (400, 300)
    with Image.open(entry) as rewritten:
        assert rewritten.size == (400, 300)


def test_a_cache_folder_that_cannot_be_written_is_bypassed_with_one_warning(tmp_path):
    """A file where the cache folder should be: no folder can be made there, even as root."""
    (tmp_path / "taken").write_text("not a folder")
    cache = DecodeCache(side=300, folder=tmp_path / "taken" / "decoded")
    paths = [tmp_path / f"photo{i}.jpg" for i in range(3)]
    for seed, path in enumerate(paths):
        colour_image((200, 40, 40), 100, seed).resize((1200, 900)).save(path, quality=90)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sizes = [cache.load(p).size for p in paths]
    assert sizes == [(400, 300)] * 3
    assert [(w.category, "cannot be written" in str(w.message)) for w in caught] == [
        (CacheWarning, True)
    ]
