"""The downloader every provider shares: only http(s) to public addresses (the host's addresses
checked before connecting, and the address actually connected to before reading a byte), a
per-host limit on downloads at once, timeouts, retries with exponential backoff on 429 and 5xx
that honour Retry-After, a byte cap, redirects followed one by one (each hop checked), and bytes
kept only when they decode as an image by the rules of data/images.py."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from imclass.collect.http import RETRY_STATUSES, retry_after
from imclass.collect.providers.base import USER_AGENT
from imclass.data.images import EXTENSION_FORMATS, UnreadableImage, load_rgb, open_image

MAX_BYTES = 20 * 1024 * 1024  # issue 12: 20 MB a file by default, as for uploads
# the file name extension each format imclass reads (data/images.py) is stored under
FORMAT_EXTENSIONS = {kind: f".{kind.lower()}" for kind in set(EXTENSION_FORMATS.values())}
FORMAT_EXTENSIONS.update({"JPEG": ".jpg", "TIFF": ".tif"})
REFUSED_ROBOTS = ("noai", "noimageai")
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: an IPv4 address written in IPv6


class Rejected(Exception):
    """A URL whose answer is not kept; str(error) is the manifest's reason."""


@dataclass(frozen=True)
class DownloadSettings:
    max_bytes: int = MAX_BYTES
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0  # seconds before the first retry; doubled each time
    max_redirects: int = 5
    per_host: int = 4  # downloads at once from one host; collect lowers it to the provider's
    min_side: int = 0
    min_width: int = 0
    allow_private_urls: bool = False


@dataclass(frozen=True)
class Image:
    """Bytes that decoded as an image: their digest, format extension and size."""

    data: bytes
    sha256: str
    extension: str
    width: int
    height: int


class Downloader:
    """Fetches image URLs with one httpx client; safe to call from several threads."""

    def __init__(self, settings: DownloadSettings, client: httpx.Client | None = None):
        self.settings = settings
        self.client = client or httpx.Client(
            timeout=settings.timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )
        self._hosts: dict[str, threading.Semaphore] = defaultdict(
            lambda: threading.Semaphore(settings.per_host)
        )
        self._lock = threading.Lock()

    def fetch_image(self, url: str) -> Image:
        """The image at url, or Rejected with the reason."""
        return check_image(self.fetch(url), self.settings.min_side, self.settings.min_width)

    def fetch(self, url: str) -> bytes:
        """The body at url after redirects, each hop checked; Rejected with the reason."""
        seen = set()
        for _ in range(self.settings.max_redirects + 1):
            check_url(url, self.settings.allow_private_urls)
            if url in seen:
                raise Rejected("redirect loop")
            seen.add(url)
            with self._host(url):
                location, body = self._get_with_retries(url)
            if location is None:
                return body
            url = location
        raise Rejected(f"more than {self.settings.max_redirects} redirects")

    def _host(self, url: str) -> threading.Semaphore:
        with self._lock:
            return self._hosts[urlsplit(url).netloc]

    def _get_with_retries(self, url: str) -> tuple[str | None, bytes]:
        for attempt in range(self.settings.retries):
            try:
                return self._get(url)
            except _Retry as retry:
                time.sleep(retry.wait if retry.wait is not None else self._backoff(attempt))
        try:
            return self._get(url)
        except _Retry as retry:
            tries = self.settings.retries + 1
            raise Rejected(f"HTTP {retry.status} after {tries} tries") from None

    def _backoff(self, attempt: int) -> float:
        return self.settings.backoff * 2**attempt

    def _get(self, url: str) -> tuple[str | None, bytes]:
        try:
            with self.client.stream("GET", url) as response:
                if not self.settings.allow_private_urls:
                    check_peer(response)
                return _read(response, url, self.settings.max_bytes)
        except httpx.TimeoutException:
            raise Rejected(f"timed out after {self.settings.timeout:g} s") from None
        except httpx.HTTPError as error:
            raise Rejected(f"download failed ({type(error).__name__})") from None


class _Retry(Exception):
    def __init__(self, status: int, wait: float | None):
        self.status, self.wait = status, wait


def _read(response: httpx.Response, url: str, max_bytes: int) -> tuple[str | None, bytes]:
    status = response.status_code
    if status in RETRY_STATUSES:
        raise _Retry(status, retry_after(response.headers.get("Retry-After"), Rejected))
    if status in (301, 302, 303, 307, 308) and "Location" in response.headers:
        return urljoin(url, response.headers["Location"]), b""
    if status != 200:
        raise Rejected(f"HTTP {status}")
    robots = response.headers.get("X-Robots-Tag", "").lower()
    if any(word in robots for word in REFUSED_ROBOTS):
        raise Rejected(f"X-Robots-Tag: {robots}")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise Rejected(f"larger than {max_bytes} bytes")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise Rejected(f"larger than {max_bytes} bytes")
    return None, bytes(body)


def check_url(url: str, allow_private: bool) -> None:
    """Refuse what a search result must not make us fetch: other schemes, and hosts resolving
    to an address that is not public (see is_public). Cheap and early; check_peer decides."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Rejected(f"not an http(s) URL ({parts.scheme or 'no scheme'})")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Rejected(f"host not found ({parts.hostname})") from None
    for info in infos:
        if not is_public(info[4][0]):
            raise Rejected(f"private address refused ({info[4][0]})")


def check_peer(response: httpx.Response) -> None:
    """Refuse an answer from a non-public address before its body is read. check_url resolved
    the host once and the connection resolved it again: a name may answer a public address to
    the first and 127.0.0.1 to the second (DNS rebinding); the socket's peer is what counts."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        raise Rejected("connected address unknown")
    if not is_public(str(peer[0])):
        raise Rejected(f"connected to a private address ({peer[0]})")


def is_public(address: str) -> bool:
    """Whether address is on the public internet: not loopback, private, link-local (cloud
    metadata at 169.254.169.254), shared, multicast or reserved; an IPv4 address inside IPv6
    (::ffff:a.b.c.d, 64:ff9b::a.b.c.d) is judged as itself."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    elif ip.version == 6 and ip in NAT64:
        ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


def check_image(data: bytes, min_side: int = 0, min_width: int = 0) -> Image:
    """data as an Image if its magic bytes name an image format imclass reads and it decodes
    fully (bomb limit included) with both sides at least min_side and at least min_width
    wide; else Rejected."""
    try:
        with open_image(io.BytesIO(data)) as opened:
            kind = opened.format
        picture = load_rgb(io.BytesIO(data))
    except UnreadableImage as error:
        raise Rejected(error.reason) from None
    if kind not in FORMAT_EXTENSIONS:
        raise Rejected(f"not an image format imclass reads ({kind})")
    if min(picture.size) < min_side:
        raise Rejected(f"smaller than {min_side} px ({picture.width}x{picture.height})")
    if picture.width < min_width:
        raise Rejected(f"narrower than {min_width} px ({picture.width}x{picture.height})")
    digest = hashlib.sha256(data).hexdigest()
    return Image(data, digest, FORMAT_EXTENSIONS[kind], picture.width, picture.height)
