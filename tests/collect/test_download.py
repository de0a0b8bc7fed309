"""The downloader's refusals that need no server: schemes, private addresses, non-images."""

import pytest

from imclass.collect.download import Rejected, check_image, check_url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "private address refused (169.254.169.254)"),
        ("http://127.0.0.1:8080/a.jpg", "private address refused (127.0.0.1)"),
        ("http://10.0.0.1/a.jpg", "private address refused (10.0.0.1)"),
        ("http://[::1]/a.jpg", "private address refused (::1)"),
        ("file:///etc/passwd", "not an http(s) URL (file)"),
        ("ftp://example.org/a.jpg", "not an http(s) URL (ftp)"),
    ],
)
def test_untrusted_urls_are_refused(url, reason):
    with pytest.raises(Rejected) as refused:
        check_url(url, allow_private=False)
    assert str(refused.value) == reason


def test_private_urls_pass_when_allowed():
    check_url("http://127.0.0.1:8080/a.jpg", allow_private=True)


def test_only_decodable_images_of_the_minimum_side_are_kept(image_bytes):
    data = image_bytes(3, size=48)
    image = check_image(data, min_side=48)
    assert (image.width, image.height, image.extension, len(image.sha256)) == (48, 48, ".jpg", 64)
    with pytest.raises(Rejected, match=r"smaller than 64 px \(48x48\)"):
        check_image(data, min_side=64)
    with pytest.raises(Rejected, match=r"narrower than 50 px \(48x48\)"):
        check_image(data, min_width=50)
    with pytest.raises(Rejected, match="not an image"):
        check_image(b"<!doctype html><title>404</title>")
    with pytest.raises(Rejected, match="zero bytes"):
        check_image(b"")
