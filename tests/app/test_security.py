"""The app on a laptop: the token, the Host and Origin checks, and nothing served from outside
the data folder, each against the real server in its own process."""

import http.client
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tests.helpers import AppServer, make_image_folder

pytestmark = pytest.mark.slow  # a server process each: a few seconds


def raw_status(server: AppServer, path: str, headers: dict | None = None) -> int:
    """GET path exactly as written (httpx would tidy `..` away before sending it)."""
    address = urlsplit(server.base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request("GET", path, headers={"X-Imclass-Token": server.token, **(headers or {})})
    status = connection.getresponse().status
    connection.close()
    return status


@pytest.fixture
def photos(tmp_path) -> Path:
    data = make_image_folder(tmp_path / "photos", per_class=2)
    secret = make_image_folder(tmp_path / "secret", classes=("green",), per_class=1)
    (data / "red" / "out.png").symlink_to(secret / "green" / "green_0.png")
    (data / "outdir").symlink_to(secret / "green")
    (tmp_path / "photos-2").mkdir()
    return data


def test_nothing_outside_the_data_folder_is_served(photos):
    with AppServer(photos) as server:
        assert raw_status(server, "/api/images/red/red_0.png?size=full") == 200
        assert raw_status(server, "/api/images/red/red_0.png?size=thumb") == 200
        refused = [
            "/api/images/../secret/green/green_0.png",
            "/api/images/red/../../secret/green/green_0.png",
            "/api/images/%2e%2e/secret/green/green_0.png",
            "/api/images/red%2f%2e%2e%2f%2e%2e%2fsecret%2fgreen%2fgreen_0.png",
            "/api/images/%2Fetc%2Fpasswd",
            "/api/images//etc/passwd",
            "/api/images/red/out.png",  # a link out of DATA
            "/api/images/outdir/green_0.png",  # a folder link out of DATA
            "/api/images/annotations.tsv",
            "/api/images/red/red_0.png%00.png",
        ]
        statuses = {path: raw_status(server, path) for path in refused}
        assert statuses == dict.fromkeys(refused, 404)
        listed = httpx.get(f"{server.base}/api/images", headers={"X-Imclass-Token": server.token})
        assert "out.png" not in listed.text and "green" not in listed.text


def test_every_call_needs_the_token_and_the_url_sets_a_strict_cookie(photos):
    with AppServer(photos) as server:
        assert httpx.get(f"{server.base}/api/images").status_code == 401
        assert httpx.get(f"{server.base}/label").status_code == 401
        wrong = {"X-Imclass-Token": "x" + server.token}
        assert httpx.get(f"{server.base}/api/images", headers=wrong).status_code == 403
        port = urlsplit(server.base).port
        stale = {f"imclass_token_{port}": "guess"}
        assert httpx.get(f"{server.base}/api/images", cookies=stale).status_code == 403
        opened = httpx.get(server.url)
        assert opened.status_code == 303 and opened.headers["location"] == "/label"
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
        with httpx.Client(base_url=server.base, cookies=opened.cookies) as client:
            assert client.get("/label").status_code == 200
            assert client.get("/api/progress").json()["labelled"] == 4


def test_writes_from_another_site_or_through_another_host_name_are_refused(photos):
    headers = {}
    with AppServer(photos) as server:
        headers = {"X-Imclass-Token": server.token}
        write = {"image": "red/red_0.png", "labels": ["blue"]}
        address = urlsplit(server.base)

        def post(extra):
            return httpx.post(f"{server.base}/api/labels", json=write, headers=headers | extra)

        assert post({"Origin": "http://evil.example"}).status_code == 403
        assert post({"Origin": f"http://localhost:{address.port + 1}"}).status_code == 403
        rebinding = {"Host": f"evil.example:{address.port}"}
        assert post(rebinding).status_code == 403
        assert raw_status(server, "/api/images", rebinding) == 403
        assert not (photos / "annotations.tsv").exists()
        assert post({"Origin": server.base}).status_code == 200
        assert post({"Host": f"localhost:{address.port}"}).status_code == 200
        assert "red/red_0.png\tFalse\tblue" in (photos / "annotations.tsv").read_text()
        bad = httpx.post(f"{server.base}/api/labels", headers=headers, json=write | {"image": "x"})
        assert bad.status_code == 404
        typo = httpx.post(
            f"{server.base}/api/labels", headers=headers, json=write | {"labels": ["bleu"]}
        )
        assert typo.status_code == 400 and "Did you mean 'blue'" in typo.json()["detail"]
