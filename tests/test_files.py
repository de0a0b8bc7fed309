"""files.py: the one cache-key policy both caches (hashes, decoded images) use; an atomic
write that cannot make its folder is one OutputError naming the target."""

import os

import pytest

from imclass.data.decode_cache import DecodeCache
from imclass.errors import OutputError
from imclass.files import cache_key, write_text


def test_a_cache_key_is_the_absolute_path_and_a_link_is_its_own_entry(tmp_path, monkeypatch):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"not read")
    link = tmp_path / "link.jpg"
    link.symlink_to(photo)
    monkeypatch.chdir(tmp_path)
    assert cache_key("photo.jpg") == cache_key(photo) == os.fsencode(str(photo))
    assert cache_key(link) != cache_key(photo)
    name = os.fsdecode(b"caf\xe9.jpg")  # not UTF-8: still a key, byte for byte
    assert cache_key(tmp_path / name) == os.fsencode(str(tmp_path)) + b"/caf\xe9.jpg"


def test_the_decode_cache_follows_the_same_policy(tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"not read")
    link = tmp_path / "link.jpg"
    link.symlink_to(photo)
    cache = DecodeCache(64, tmp_path / "cache")
    assert cache.entry(link) != cache.entry(photo)  # as the hash cache keys them
    assert cache.entry(photo) == cache.entry(tmp_path / "." / "photo.jpg")


def test_a_cache_entry_changes_with_the_file_and_the_variant(tmp_path):
    from imclass.files import cache_entry

    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"first")
    first = cache_entry(tmp_path / "cache", photo, 64)
    assert first == cache_entry(tmp_path / "cache", photo, 64)
    assert first.parent.parent == tmp_path / "cache" and first.suffix == ".jpg"
    assert cache_entry(tmp_path / "cache", photo, 128) != first
    assert DecodeCache(64, tmp_path / "cache").entry(photo) == first  # the decode cache's rule
    photo.write_bytes(b"edited, longer")
    assert cache_entry(tmp_path / "cache", photo, 64) != first


def test_a_folder_that_cannot_be_made_is_an_output_error_naming_the_target(tmp_path):
    (tmp_path / "a-file").write_text("")
    target = tmp_path / "a-file" / "cache" / "out.txt"
    with pytest.raises(OutputError, match=f"^{target}: cannot write there "):
        write_text(target, "text")
