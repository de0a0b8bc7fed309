"""collect against a real HTTP server on 127.0.0.1 answering as Openverse, Commons, Flickr,
Brave and Bing do, with the traps: an HTML page at a .jpg URL, a 404, a truncated JPEG, a file
over the byte cap, a response slower than the timeout, a 429 with Retry-After, the same bytes
at two URLs, a re-encoded and a resized near copy, a redirect loop. Then paging, keys, the
providers' politeness and the filters."""

import csv
import dataclasses
import hashlib
import re
from pathlib import Path

import pytest

from imclass.collect.download import DownloadSettings
from imclass.collect.filters import SearchFilters, parse_licences
from imclass.collect.manifest import ManifestLog, Row, read_manifest
from imclass.collect.providers import Politeness, SearchError
from imclass.collect.queries import QuerySpec, plan_queries
from imclass.collect.run import CollectSettings, collect
from imclass.errors import ConfigError
from tests.helpers import local_provider

SETTINGS = CollectSettings(
    per_query=10,
    workers=4,
    download=DownloadSettings(max_bytes=20_000, timeout=1.0, backoff=0.1, allow_private_urls=True),
)
QUERIES = plan_queries(QuerySpec(("blouse", "hoodie"), ("striped", "dotted")))
RESULTS = {
    "striped blouse": ["/good/0.jpg", "/copy/0.jpg", "/html.jpg", "/missing.jpg", "/good/1.jpg"]
    + ["/near/1.jpg", "/truncated.jpg"],
    "dotted blouse": ["/good/2.jpg", "/resized/2.jpg", "/big.jpg", "/slow.jpg"],
    "striped hoodie": ["/good/3.jpg", "/busy.jpg", "/loop/a", "/good/0.jpg"],
    "dotted hoodie": ["/good/4.jpg", "/good/5.jpg", "/noai.jpg"],
}


@pytest.fixture
def good(image_bytes):
    """The distinct images, by path; /busy.jpg is answered 429 once first."""
    return {f"/good/{seed}.jpg": image_bytes(seed) for seed in range(6)} | {
        "/busy.jpg": image_bytes(7)
    }


@pytest.fixture
def apis(fake_apis, api_keys, good, image_bytes):
    fake_apis.results = RESULTS
    for path, body in good.items():
        fake_apis.serve(path, body, headers={"Content-Type": "image/jpeg"})
    fake_apis.serve("/busy.jpg", good["/busy.jpg"], first_status=429)
    truncated = image_bytes(10)
    fake_apis.serve("/copy/0.jpg", good["/good/0.jpg"])
    fake_apis.serve("/near/1.jpg", image_bytes(1, quality=70))
    fake_apis.serve("/resized/2.jpg", image_bytes(2, resize=58))
    fake_apis.serve("/html.jpg", b"<html>Not here</html>", headers={"Content-Type": "text/html"})
    fake_apis.serve("/truncated.jpg", truncated[: len(truncated) // 2])
    fake_apis.serve("/big.jpg", b"\xff\xd8\xff\xe0" + bytes(30_000))
    fake_apis.serve("/slow.jpg", good["/good/5.jpg"][::-1], delay=3.0)
    fake_apis.serve("/noai.jpg", image_bytes(12), headers={"X-Robots-Tag": "noai"})
    fake_apis.serve("/loop/a", status=302, headers={"Location": "/loop/b"})
    fake_apis.serve("/loop/b", status=302, headers={"Location": "/loop/a"})
    return fake_apis


def manifest(out: Path) -> dict[str, dict]:
    with (out / "manifest.csv").open(encoding="utf-8") as handle:
        return {row["url"]: row for row in csv.DictReader(handle)}


# provider -> what the manifest says of the first image: licence, creator, attribution
SOURCES = {
    "openverse": ("CC BY 4.0", "Ann Example", '"/good/0.jpg" by Ann Example is licensed'),
    "wikimedia": ("CC BY-SA 4.0", "Bo Example", "Bo Example, CC BY-SA 4.0"),
    "flickr": ("CC BY 2.0", "Cy Example", '"/good/0.jpg" by Cy Example, CC BY 2.0'),
    "brave": ("", "", '"/good/0.jpg" on 127.0.0.1'),
    "bing": ("", "", '"/good/0.jpg" on 127.0.0.1'),
}
SEARCH_PATHS = {
    "openverse": "/v1/images/",
    "wikimedia": "/w/api.php",
    "flickr": "/services/rest/",
    "brave": "/res/v1/images/search",
    "bing": "/v7.0/images/search",
}


@pytest.mark.parametrize("provider", SOURCES)
def test_collect_keeps_exactly_the_good_distinct_images(apis, good, tmp_path, provider):
    def sha(path: str) -> str:
        return hashlib.sha256(good[path]).hexdigest()

    out = tmp_path / "shirts"
    summary = collect(QUERIES, local_provider(provider, apis.base), out, SETTINGS)

    stored = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    blouse = [f"blouse/{sha(f'/good/{s}.jpg')[:16]}.jpg" for s in (0, 1, 2)]
    hoodie = [
        f"hoodie/{sha(p)[:16]}.jpg"
        for p in ("/good/3.jpg", "/busy.jpg", "/good/4.jpg", "/good/5.jpg")
    ]
    assert stored == sorted(blouse + hoodie)
    for path in stored:
        assert hashlib.sha256((out / path).read_bytes()).hexdigest().startswith(Path(path).stem)

    rows = manifest(out)
    reasons = {
        url.removeprefix(apis.base): (row["status"], row["reason"]) for url, row in rows.items()
    }
    assert reasons == {
        "/good/0.jpg": ("kept", ""),
        "/copy/0.jpg": ("duplicate", f"same bytes as {blouse[0]}"),
        "/html.jpg": ("rejected", "not an image (unknown format)"),
        "/missing.jpg": ("rejected", "HTTP 404"),
        "/good/1.jpg": ("kept", ""),
        "/near/1.jpg": ("duplicate", f"near duplicate of {blouse[1]}"),
        "/truncated.jpg": ("rejected", "truncated file"),
        "/good/2.jpg": ("kept", ""),
        "/resized/2.jpg": ("duplicate", f"near duplicate of {blouse[2]}"),
        "/big.jpg": ("rejected", "larger than 20000 bytes"),
        "/slow.jpg": ("rejected", "timed out after 1 s"),
        "/good/3.jpg": ("kept", ""),
        "/busy.jpg": ("kept", ""),
        "/loop/a": ("rejected", "redirect loop"),
        "/good/4.jpg": ("kept", ""),
        "/good/5.jpg": ("kept", ""),
        "/noai.jpg": ("rejected", "X-Robots-Tag: noai"),
    }
    first = rows[apis.base + "/good/0.jpg"]
    assert (first["path"], first["item"], first["attribute"], first["query"]) == (
        blouse[0],
        "blouse",
        "striped",
        "striped blouse",
    )
    assert (first["width"], first["height"], first["sha256"]) == ("64", "64", sha("/good/0.jpg"))
    licence, creator, attribution = SOURCES[provider]
    assert (first["licence"], first["creator"]) == (licence, creator)
    assert first["attribution"].startswith(attribution)

    assert (summary.asked, summary.returned, summary.downloaded) == (40, 18, 10)
    assert summary.kept == {"blouse": 3, "hoodie": 4}
    assert summary.duplicates == 3 and sum(summary.rejected.values()) == 7
    credits = (out / "ATTRIBUTION.md").read_text()
    assert all(f"`{path}`" in credits for path in stored)
    assert (licence or "licence unknown") in credits


@pytest.mark.parametrize(("provider", "search"), SEARCH_PATHS.items())
def test_a_rate_limited_search_is_asked_again_after_its_retry_after(
    apis, tmp_path, provider, search
):
    calm = collect(QUERIES, local_provider(provider, apis.base), tmp_path / "calm", SETTINGS)
    asked = apis.requests.count(search)
    apis.requests.clear()
    apis.busy_once.add(search)  # the first search page of the run answers 429 once
    busy = collect(QUERIES, local_provider(provider, apis.base), tmp_path / "busy", SETTINGS)
    assert apis.requests.count(search) == asked + 1
    assert busy.kept == calm.kept and sum(busy.kept.values()) == 7


def test_a_second_run_requests_nothing_already_recorded(apis, tmp_path):
    out = tmp_path / "shirts"
    collect(QUERIES, local_provider("openverse", apis.base), out, SETTINGS)
    (out / "blouse" / ".abc.jpg.x1.tmp").write_bytes(b"half an image")  # a killed run's
    first = (out / "manifest.csv").read_text()
    apis.requests.clear()
    summary = collect(QUERIES, local_provider("openverse", apis.base), out, SETTINGS)
    assert set(apis.requests) == {"/v1/images/"}
    assert (out / "manifest.csv").read_text() == first
    assert summary.downloaded == 0 and summary.kept == {"blouse": 3, "hoodie": 4}
    assert not (out / "blouse" / ".abc.jpg.x1.tmp").exists()


def test_seven_items_by_three_attributes_make_a_data_set_imclass_reads(
    fake_apis, image_bytes, tmp_path
):
    """The issue's example: 21 queries; every distinct image kept, none merged as a near copy
    at the default distance; the folder opens as a data set with the items as classes."""
    from imclass.data.dataset import open_data

    items = ("blouse", "hoodie", "pullover", "sweater", "t-shirt", "tank top", "cardigan")
    queries = plan_queries(QuerySpec(items, ("striped", "dotted", "leopard")))
    for number, query in enumerate(queries):
        fake_apis.results[query.text] = [f"/{number}/{i}.jpg" for i in range(5)]
        for i in range(5):
            fake_apis.serve(f"/{number}/{i}.jpg", image_bytes(number * 5 + i))
    settings = dataclasses.replace(SETTINGS, per_query=5)
    out = tmp_path / "shirts"
    summary = collect(queries, local_provider("wikimedia", fake_apis.base), out, settings)
    assert len(queries) == 21
    assert (summary.asked, summary.returned, summary.downloaded, summary.duplicates) == (
        105,
        105,
        105,
        0,
    )
    assert summary.kept == {item.replace(" ", "_"): 15 for item in items}
    source = open_data(out)
    assert source.classes == tuple(sorted(item.replace(" ", "_") for item in items))
    assert len(source.all_images()) == 105


@pytest.mark.parametrize(
    ("provider", "returned"), [*((p, 23) for p in SEARCH_PATHS if p != "brave"), ("brave", 10)]
)
def test_pages_follow_each_other_without_overlap(
    fake_apis, api_keys, image_bytes, tmp_path, provider, returned
):
    """Pages of 10 for 23 images: every page asks for 10 (a last page of 3 would shift the
    page numbers), and the first 23 results arrive in order; Brave has one page only."""
    paths = [f"/p/{i}.jpg" for i in range(25)]
    fake_apis.results["striped blouse"] = paths
    for seed, path in enumerate(paths):
        fake_apis.serve(path, image_bytes(seed))
    settings = dataclasses.replace(SETTINGS, per_query=23)
    summary = collect(
        QUERIES[:1],
        local_provider(provider, fake_apis.base, page_size=10),
        tmp_path / "out",
        settings,
    )
    assert (summary.returned, summary.kept) == (returned, {"blouse": returned})
    urls = [url.removeprefix(fake_apis.base) for url in manifest(tmp_path / "out")]
    assert urls == paths[:returned]


@pytest.mark.parametrize("provider", ["brave", "flickr", "bing"])
def test_without_its_key_a_provider_asks_nothing(fake_apis, tmp_path, provider):
    with pytest.raises(ConfigError, match=f"{provider} needs a key"):
        collect(QUERIES, local_provider(provider, fake_apis.base), tmp_path / "out", SETTINGS)
    assert fake_apis.requests == [] and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("provider", "reason"),
    [
        ("flickr", "answered error 100: Invalid API Key (Key not found)"),
        ("brave", "answered HTTP 401 (the key was refused; check BRAVE_API_KEY or the keys file)"),
        ("bing", "answered HTTP 401 (the key was refused; check BING_SEARCH_KEY or the keys"),
    ],
)
def test_a_refused_key_is_one_error_that_does_not_quote_it(
    apis, tmp_path, monkeypatch, provider, reason
):
    variable = {"flickr": "FLICKR_API_KEY", "brave": "BRAVE_API_KEY", "bing": "BING_SEARCH_KEY"}
    monkeypatch.setenv(variable[provider], "wrong-key-77")
    with pytest.raises(SearchError, match=re.escape(reason)) as refused:
        collect(QUERIES, local_provider(provider, apis.base), tmp_path / "out", SETTINGS)
    assert "wrong-key-77" not in str(refused.value)


def test_searches_are_spaced_by_the_providers_interval(fake_apis, image_bytes, tmp_path):
    """3 queries of 2 pages each, with downloads between the queries: search requests spaced
    by min_interval, 0.3 s. Loosely, as the server sees them: a busy machine delays one arrival
    more than the next, so a gap may look shorter by that jitter, never the whole span."""
    for number, query in enumerate(QUERIES[:3]):
        fake_apis.results[query.text] = [f"/{number}/{i}.jpg" for i in range(3)]
        for i in range(3):
            fake_apis.serve(f"/{number}/{i}.jpg", image_bytes(number * 3 + i))
    provider = local_provider(
        "openverse", fake_apis.base, politeness=Politeness(0.3, 4), page_size=2
    )
    collect(QUERIES[:3], provider, tmp_path / "out", dataclasses.replace(SETTINGS, per_query=3))
    times = [asked.at for asked in fake_apis.log if asked.path == "/v1/images/"]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert len(times) == 6 and min(gaps) >= 0.15 and times[-1] - times[0] >= 5 * 0.3 - 0.1


@pytest.mark.parametrize("concurrency", [1, 3])
def test_downloads_from_one_host_are_bounded_by_the_providers_concurrency(
    fake_apis, image_bytes, tmp_path, concurrency
):
    paths = [f"/slowish/{i}.jpg" for i in range(8)]
    fake_apis.results["striped blouse"] = paths
    for seed, path in enumerate(paths):
        fake_apis.serve(path, image_bytes(seed), delay=0.2)
    provider = local_provider("openverse", fake_apis.base, politeness=Politeness(0, concurrency))
    settings = dataclasses.replace(SETTINGS, per_query=8, workers=8)
    summary = collect(QUERIES[:1], provider, tmp_path / "out", settings)
    assert summary.kept == {"blouse": 8}
    # 8 threads, 0.2 s a file: the bound is reached (loosely: a busy machine may start fewer)
    assert concurrency // 2 < fake_apis.peak <= concurrency


def test_filters_a_provider_cannot_apply_are_applied_to_its_results(apis, tmp_path):
    """Commons' answers are all CC BY-SA 4.0 and 64 px wide: --license cc0 or --min-width 100
    leave every result out before anything is downloaded."""
    for wanted in (SearchFilters(parse_licences("cc0")), SearchFilters(min_width=100)):
        apis.requests.clear()
        provider = dataclasses.replace(local_provider("wikimedia", apis.base), wanted=wanted)
        summary = collect(QUERIES, provider, tmp_path / str(wanted.min_width), SETTINGS)
        assert (summary.returned, summary.left_out, summary.downloaded) == (18, 18, 0)
        assert set(apis.requests) == {"/w/api.php"}
    by_sa = SearchFilters(parse_licences("by-sa"))
    provider = dataclasses.replace(local_provider("wikimedia", apis.base), wanted=by_sa)
    summary = collect(QUERIES, provider, tmp_path / "by-sa", SETTINGS)
    assert (summary.left_out, sum(summary.kept.values())) == (0, 7)


def test_the_manifest_journal_keeps_every_row_until_it_is_folded_in(tmp_path):
    rows = {}
    log = ManifestLog(tmp_path, rows)
    first = _manifest_row("https://a.example/1.jpg")
    log.record(first)
    assert not (tmp_path / "manifest.csv").exists()  # one row: journalled, not yet rewritten
    assert read_manifest(tmp_path) == {first.url: first}
    with (tmp_path / ".manifest.journal").open("a") as journal:
        journal.write('{"path": "half a line a kill cut sh')
    assert read_manifest(tmp_path) == {first.url: first}
    log = ManifestLog(tmp_path, read_manifest(tmp_path))  # the next run folds it in first
    assert read_manifest(tmp_path) == {first.url: first}
    assert not (tmp_path / ".manifest.journal").exists()
    for i in range(2, 201):
        log.record(_manifest_row(f"https://a.example/{i}.jpg"))
    assert (tmp_path / ".manifest.journal").exists()  # 199 rows journalled
    log.record(_manifest_row("https://a.example/201.jpg"))
    assert not (tmp_path / ".manifest.journal").exists()  # 200: folded into the manifest
    assert list(read_manifest(tmp_path)) == [f"https://a.example/{i}.jpg" for i in range(1, 202)]


def _manifest_row(url: str) -> Row:
    return Row(
        *("", "openverse", "striped blouse", "blouse", "striped", url, ""),
        *(0, 0, 0),
        *("", "", "", "", "", "rejected", "404"),
    )
