"""Fixtures of collect's tests: `fake_apis`, a real HTTP server on 127.0.0.1 started by the
test, that answers like Openverse's /v1/images/, Commons' /w/api.php, Flickr's
flickr.photos.search, Brave's /res/v1/images/search and Bing v7's /v7.0/images/search (their
documented JSON shapes, keys checked) and serves the bytes it is given (traps included);
`image_bytes`, distinct JPEGs. Every test here runs without the developer's keys."""

from __future__ import annotations

import io
import json
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image


def distinct_image(seed: int, size: int = 64) -> Image.Image:
    """A picture no other seed's is near: 8x8 random colours smoothly enlarged."""
    cells = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(cells).resize((size, size), Image.BILINEAR)


def jpeg(seed: int, size: int = 64, quality: int = 95, resize: int | None = None) -> bytes:
    """distinct_image(seed, size) as JPEG bytes; resize: then scaled to that side."""
    image = distinct_image(seed, size)
    image = image.resize((resize, resize)) if resize else image
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@pytest.fixture
def image_bytes():
    return jpeg


KEY_VARIABLES = ("OPENVERSE_TOKEN", "FLICKR_API_KEY", "BRAVE_API_KEY", "BING_SEARCH_KEY")


@pytest.fixture(autouse=True)
def no_keys(monkeypatch, tmp_path_factory):
    """No key from the developer's environment or ~/.config: a keys file that does not exist."""
    for variable in KEY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    missing = tmp_path_factory.mktemp("keys") / "keys.toml"
    monkeypatch.setenv("IMCLASS_KEYS", str(missing))
    return missing


@pytest.fixture
def fake_apis():
    with FakeApis() as server:
        yield server


@pytest.fixture
def api_keys(monkeypatch, fake_apis):
    """The keys fake_apis accepts, in each provider's environment variable."""
    variables = {"flickr": "FLICKR_API_KEY", "brave": "BRAVE_API_KEY", "bing": "BING_SEARCH_KEY"}
    for provider, variable in variables.items():
        monkeypatch.setenv(variable, fake_apis.keys[provider])
    return fake_apis.keys


@dataclass
class Answer:
    body: bytes = b""
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    first_status: int | None = None  # answered once before the real answer (a 429)


@dataclass(frozen=True)
class Asked:
    """One request as the server saw it."""

    at: float  # time.monotonic()
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class FakeApis:
    """results: query -> image paths; files: path -> Answer; requests: every path asked (log:
    with time, query and headers); keys: provider -> the key its API accepts; peak: the most
    files served at once."""

    def __init__(self):
        self.results: dict[str, list[str]] = {}
        self.files: dict[str, Answer] = {}
        self.requests: list[str] = []
        self.log: list[Asked] = []
        self.keys = {"flickr": "flickr-key-1", "brave": "brave-key-2", "bing": "bing-key-3"}
        self.peak = 0
        self._serving = 0
        self._lock = threading.Lock()
        self._answered_once: set[str] = set()
        self.busy_once: set[str] = set()  # search paths answered 429 (Retry-After: 1) once first
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def serve(self, path: str, body: bytes = b"", status: int = 200, **options) -> None:
        """Answer GET path with body; options: headers, delay, first_status (see Answer)."""
        self.files[path] = Answer(body, status, **options)

    def openverse(self, query: str, page: int, page_size: int) -> dict:
        paths = self.results.get(query, [])
        chunk = paths[(page - 1) * page_size : page * page_size]
        return {
            "result_count": len(paths),
            "page_count": -(-len(paths) // page_size),
            "page_size": page_size,
            "page": page,
            "results": [self._openverse_row(p) for p in chunk],
        }

    def _openverse_row(self, path: str) -> dict:
        return {
            "id": path,
            "title": path,
            "url": self.base + path,
            "thumbnail": self.base + path + "/thumb",
            "foreign_landing_url": f"{self.base}/page{path}",
            "width": 64,
            "height": 64,
            "filetype": "jpg",
            "license": "by",
            "license_version": "4.0",
            "license_url": "https://creativecommons.org/licenses/by/4.0/",
            "creator": "Ann Example",
            "attribution": f'"{path}" by Ann Example is licensed under CC BY 4.0.',
        }

    def commons(self, query: str, offset: int, limit: int) -> dict:
        paths = self.results.get(query, [])
        pages = [
            {
                "pageid": 1000 + offset + i,
                "ns": 6,
                "title": f"File:{path.strip('/')}",
                "index": offset + i + 1,
                "imageinfo": [
                    {
                        "url": self.base + path,
                        "descriptionurl": f"{self.base}/wiki/File:{path.strip('/')}",
                        "width": 64,
                        "height": 64,
                        "size": 1000,
                        "mime": "image/jpeg",
                        "extmetadata": {
                            "Artist": {"value": "<a href='//x'>Bo Example</a>"},
                            "LicenseShortName": {"value": "CC BY-SA 4.0"},
                            "LicenseUrl": {
                                "value": "https://creativecommons.org/licenses/by-sa/4.0"
                            },
                        },
                    }
                ],
            }
            for i, path in enumerate(paths[offset : offset + limit])
        ]
        answer: dict = {"batchcomplete": True, "query": {"pages": pages[::-1]}}
        if offset + limit < len(paths):
            answer["continue"] = {"gsroffset": offset + limit, "continue": "gsroffset||"}
        return answer

    def flickr(self, query: dict) -> dict:
        if query.get("api_key") != self.keys["flickr"]:
            return {"stat": "fail", "code": 100, "message": "Invalid API Key (Key not found)"}
        page, per_page = int(query["page"]), int(query["per_page"])
        paths = self.results.get(query["text"], [])
        chunk = paths[(page - 1) * per_page : page * per_page]
        photos = [self._flickr_photo(path, query["license"]) for path in chunk]
        return {
            "photos": {
                "page": page,
                "pages": -(-len(paths) // per_page),
                "perpage": per_page,
                "total": len(paths),
                "photo": photos,
            },
            "stat": "ok",
        }

    def _flickr_photo(self, path: str, licences: str) -> dict:
        number = str(zlib.crc32(path.encode()))
        return {
            "id": number,
            "owner": "12037949754@N01",
            "secret": "a1b2c3",
            "server": "65535",
            "title": path,
            "license": "4" if "4" in licences.split(",") else licences.split(",")[0],
            "ownername": "Cy Example",
            "url_l": self.base + path,
            "height_l": 64,
            "width_l": 64,
        }

    def brave(self, query: str, count: int) -> dict:
        return {
            "type": "images",
            "query": {"original": query, "spellcheck_off": False},
            "results": [
                {
                    "type": "image_result",
                    "title": path,
                    "url": f"{self.base}/page{path}",
                    "source": "127.0.0.1",
                    "thumbnail": {"src": f"{self.base}/thumb{path}"},
                    "properties": {"url": self.base + path, "width": 64, "height": 64},
                    "meta_url": {"scheme": "http", "hostname": "127.0.0.1"},
                    "confidence": "high",
                }
                for path in self.results.get(query, [])[:count]
            ],
            "extra": {"might_be_offensive": False},
        }

    def bing(self, query: str, offset: int, count: int) -> dict:
        paths = self.results.get(query, [])
        chunk = paths[offset : offset + count]
        return {
            "_type": "Images",
            "totalEstimatedMatches": len(paths),
            "nextOffset": offset + len(chunk),
            "value": [
                {
                    "name": path,
                    "contentUrl": self.base + path,
                    "thumbnailUrl": f"{self.base}/thumb{path}",
                    "hostPageUrl": f"{self.base}/page{path}",
                    "encodingFormat": "jpeg",
                    "width": 64,
                    "height": 64,
                }
                for path in chunk
            ],
        }

    def _handler(self):
        apis = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # a form, as Flickr's REST endpoint takes it
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                self._answer(urlsplit(self.path).path, {k: v[0] for k, v in form.items()})

            def do_GET(self):
                parts = urlsplit(self.path)
                self._answer(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})

            def _answer(self, path, query):
                apis.requests.append(path)
                apis.log.append(Asked(time.monotonic(), path, query, dict(self.headers)))
                if path in apis.busy_once and path not in apis._answered_once:
                    apis._answered_once.add(path)
                    return self._send(Answer(b"", 429, {"Retry-After": "1"}))
                if path == "/services/rest/":
                    return self._json(apis.flickr(query))
                if path == "/res/v1/images/search":
                    if self.headers.get("X-Subscription-Token") != apis.keys["brave"]:
                        return self._refuse({"type": "ErrorResponse", "error": {"status": 401}})
                    return self._json(apis.brave(query["q"], int(query["count"])))
                if path == "/v7.0/images/search":
                    if self.headers.get("Ocp-Apim-Subscription-Key") != apis.keys["bing"]:
                        return self._refuse({"error": {"code": "401", "message": "Access denied"}})
                    offset, count = int(query["offset"]), int(query["count"])
                    return self._json(apis.bing(query["q"], offset, count))
                if path == "/v1/images/":
                    page = apis.openverse(query["q"], int(query["page"]), int(query["page_size"]))
                    return self._json(page)
                if path == "/w/api.php":
                    offset = int(query.get("gsroffset", 0))
                    return self._json(
                        apis.commons(query["gsrsearch"], offset, int(query["gsrlimit"]))
                    )
                return self._file(path)

            def _json(self, value, status=200):
                body = json.dumps(value).encode()
                self._send(Answer(body, status, headers={"Content-Type": "application/json"}))

            def _refuse(self, value):
                self._json(value, status=401)

            def _file(self, path):
                answer = apis.files.get(path, Answer(b"not found", 404))
                if answer.first_status and path not in apis._answered_once:
                    apis._answered_once.add(path)
                    return self._send(Answer(b"", answer.first_status, {"Retry-After": "1"}))
                with apis._lock:
                    apis._serving += 1
                    apis.peak = max(apis.peak, apis._serving)
                time.sleep(answer.delay)
                with apis._lock:  # before the answer: a client that has it may ask again at once
                    apis._serving -= 1
                self._send(answer)

            def _send(self, answer: Answer):
                try:
                    self.send_response(answer.status)
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
