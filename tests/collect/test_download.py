"""The downloader's refusals: schemes, private addresses (before connecting, and the address
connected to, which DNS rebinding can make another), non-images."""

import httpcore
import httpx
import pytest

from imclass.collect.download import Downloader, DownloadSettings, Rejected, check_image, check_url
from imclass.collect.manifest import read_manifest
from imclass.collect.queries import QuerySpec, plan_queries
from imclass.collect.run import CollectSettings, collect
from tests.helpers import local_provider

PUBLIC = "93.184.215.14"  # an address on the public internet; the tests never send to it


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "private address refused (169.254.169.254)"),
        ("http://127.0.0.1:8080/a.jpg", "private address refused (127.0.0.1)"),
        ("http://10.0.0.1/a.jpg", "private address refused (10.0.0.1)"),
        ("http://[::1]/a.jpg", "private address refused (::1)"),
        ("http://[::ffff:127.0.0.1]/a.jpg", "private address refused (::ffff:127.0.0.1)"),
        ("http://[64:ff9b::a00:1]/a.jpg", "private address refused (64:ff9b::a00:1)"),
        ("http://224.0.0.251/a.jpg", "private address refused (224.0.0.251)"),
        ("http://100.64.0.1/a.jpg", "private address refused (100.64.0.1)"),
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
    check_url(f"http://{PUBLIC}/a.jpg", allow_private=False)


class ToLoopback(httpcore.SyncBackend):
    """Opens every connection to 127.0.0.1, whatever address it was asked for: what a DNS name
    does that answered a public address to check_url and loopback to the connection."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return super().connect_tcp("127.0.0.1", port, timeout, local_address, socket_options)


class RebindingTransport(httpx.HTTPTransport):
    def __init__(self):
        super().__init__()
        self._pool = httpcore.ConnectionPool(network_backend=ToLoopback())


@pytest.mark.parametrize(
    ("allow", "status", "reason"),
    [(False, "rejected", "connected to a private address (127.0.0.1)"), (True, "kept", "")],
)
def test_a_host_rebound_to_loopback_after_the_check_is_refused(
    fake_apis, image_bytes, tmp_path, allow, status, reason
):
    api, port = fake_apis.base, fake_apis.base.rsplit(":", 1)[1]
    fake_apis.base = f"http://{PUBLIC}:{port}"  # the search answers with public image URLs
    fake_apis.results["cat"] = ["/cat.jpg"]
    fake_apis.serve("/cat.jpg", image_bytes(1))
    settings = CollectSettings(per_query=1, download=DownloadSettings(allow_private_urls=allow))
    rebinding = httpx.Client(transport=RebindingTransport())
    downloader = Downloader(settings.download, rebinding)
    out = tmp_path / "cats"
    queries = plan_queries(QuerySpec(("cat",)))
    collect(queries, local_provider("openverse", api), out, settings, downloader=downloader)

    assert fake_apis.requests == ["/v1/images/", "/cat.jpg"]  # it did connect, to 127.0.0.1
    row = read_manifest(out)[f"http://{PUBLIC}:{port}/cat.jpg"]
    assert (row.status, row.reason) == (status, reason)
    stored = [p.relative_to(out).as_posix() for p in out.rglob("*.jpg")]
    assert stored == ([row.path] if allow else [])
    assert (row.bytes, bool(row.sha256)) == ((len(image_bytes(1)), True) if allow else (0, False))


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
