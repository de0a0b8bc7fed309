import os

from tests.conftest import colour_image

from imclass.data.decode_cache import DecodeCache, cache_side, worth_caching


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
