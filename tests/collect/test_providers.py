"""Each provider's requests and its reading of answers in the documented JSON shapes (the
examples of each API's reference, trimmed)."""

import dataclasses

import pytest

from imclass.collect.filters import SearchFilters, parse_licences
from imclass.collect.providers import SearchResult, create_provider
from imclass.errors import ConfigError

OPENVERSE_ANSWER = {
    "result_count": 3,
    "page_count": 2,
    "page_size": 2,
    "page": 1,
    "results": [
        {
            "id": "a",
            "title": "Striped blouse",
            "url": "https://live.staticflickr.com/1/a.jpg",
            "thumbnail": "https://api.openverse.org/v1/images/a/thumb/",
            "foreign_landing_url": "https://www.flickr.com/photos/x/1",
            "width": 640,
            "height": 480,
            "filetype": "jpg",
            "license": "by-sa",
            "license_version": "2.0",
            "license_url": "https://creativecommons.org/licenses/by-sa/2.0/",
            "creator": "Ann",
            "attribution": '"Striped blouse" by Ann is licensed under CC BY-SA 2.0.',
        }
    ],
}

COMMONS_ANSWER = {
    "batchcomplete": True,
    "continue": {"gsroffset": 2, "continue": "gsroffset||"},
    "query": {
        "pages": [
            {
                "pageid": 2,
                "ns": 6,
                "title": "File:B.jpg",
                "index": 2,
                "imageinfo": [{"url": "https://upload.wikimedia.org/b.jpg", "width": 5}],
            },
            {
                "pageid": 1,
                "ns": 6,
                "title": "File:A.jpg",
                "index": 1,
                "imageinfo": [
                    {
                        "size": 1000,
                        "width": 800,
                        "height": 600,
                        "url": "https://upload.wikimedia.org/a.jpg",
                        "descriptionurl": "https://commons.wikimedia.org/wiki/File:A.jpg",
                        "mime": "image/jpeg",
                        "extmetadata": {
                            "Artist": {"value": '<a href="//x">Bob</a>', "source": "commons-desc"},
                            "LicenseShortName": {"value": "CC BY 4.0"},
                            "LicenseUrl": {"value": "https://creativecommons.org/licenses/by/4.0"},
                        },
                    }
                ],
            },
        ]
    },
}


def test_openverse_asks_pages_and_reads_results():
    provider = create_provider("openverse", endpoint="http://127.0.0.1:8123")
    assert provider.url() == "http://127.0.0.1:8123/v1/images/"
    assert provider.params("striped blouse", 50, None) == {
        "q": "striped blouse",
        "page": 1,
        "page_size": 20,
        "mature": "false",
    }
    page = provider.parse(OPENVERSE_ANSWER, None)
    assert page.next_state == {"page": 2}
    # 10 more wanted after two pages: page 3 of size 20 (results 40-59), not of size 10 (20-29)
    assert provider.params("striped blouse", 10, {"page": 3})["page_size"] == 20
    (result,) = page.results
    assert (result.url, result.width, result.licence) == (
        "https://live.staticflickr.com/1/a.jpg",
        640,
        "CC BY-SA 2.0",
    )
    assert provider.parse(OPENVERSE_ANSWER, {"page": 2}).next_state is None


def test_openverse_licence_names():
    from imclass.collect.providers.openverse import licence_name

    assert licence_name("by-nc-sa", "4.0") == "CC BY-NC-SA 4.0"
    assert licence_name("cc0", "1.0") == "CC0 1.0"
    assert licence_name("pdm", "1.0") == "Public Domain Mark 1.0"
    assert licence_name("", "") == ""


def test_openverse_token_from_the_environment_only(monkeypatch):
    assert "Authorization" not in create_provider("openverse").headers()
    monkeypatch.setenv("OPENVERSE_TOKEN", "secret")
    provider = create_provider("openverse")
    assert provider.headers()["Authorization"] == "Bearer secret"
    assert provider.params("q", 500, None)["page_size"] == 500
    assert "secret" not in provider.describe("q", 500) and "secret" not in repr(provider)


def test_openverse_is_asked_for_the_licences_wanted():
    wanted = SearchFilters(parse_licences("commercial"), min_width=300)
    provider = create_provider("openverse", filters=wanted)
    assert provider.params("q", 5, None)["license"] == "by,by-nd,by-sa,cc0,pdm"
    narrow = SearchResult("https://x/a.jpg", width=200, licence="CC BY-NC 2.0")
    assert not provider.keeps(narrow)  # the width is checked here, the licence by Openverse
    assert provider.keeps(dataclasses.replace(narrow, width=0))


def test_wikimedia_searches_files_and_follows_continue():
    provider = create_provider("wikimedia")
    assert provider.url() == "https://commons.wikimedia.org/w/api.php"
    params = provider.params("dotted hoodie", 80, None)
    assert (params["generator"], params["gsrnamespace"], params["gsrlimit"]) == (
        "search",
        "6",
        "50",
    )
    assert params["iiprop"] == "url|size|mime|extmetadata"
    assert "imclass" in provider.headers()["User-Agent"]
    page = provider.parse(COMMONS_ANSWER, None)
    assert [r.url for r in page.results] == [
        "https://upload.wikimedia.org/a.jpg",
        "https://upload.wikimedia.org/b.jpg",
    ]
    first = page.results[0]
    assert (first.creator, first.licence, first.attribution) == (
        "Bob",
        "CC BY 4.0",
        "Bob, CC BY 4.0",
    )
    assert page.next_state == {"gsroffset": 2, "continue": "gsroffset||"}
    assert provider.params("q", 5, page.next_state)["gsroffset"] == 2


def test_unknown_provider_and_bad_endpoint():
    with pytest.raises(ConfigError, match="Did you mean 'openverse'"):
        create_provider("openvers")
    with pytest.raises(ConfigError, match="endpoint"):
        create_provider("openverse", endpoint="ftp://x").url()


def test_wikimedia_results_are_filtered_by_their_licence_here():
    provider = create_provider("wikimedia", filters=SearchFilters(parse_licences("by,cc0")))
    assert "license" not in provider.params("q", 5, None)
    kept = [
        provider.keeps(SearchResult("u", licence=name))
        for name in ("CC BY 4.0", "CC0", "CC BY-SA 4.0", "GFDL", "")
    ]
    assert kept == [True, True, False, False, False]


FLICKR_ANSWER = {
    "photos": {
        "page": 1,
        "pages": 3,
        "perpage": 2,
        "total": "5",
        "photo": [
            {
                "id": "53248070597",
                "owner": "12037949754@N01",
                "secret": "a123456",
                "server": "65535",
                "farm": 66,
                "title": "Striped blouse",
                "ispublic": 1,
                "license": "5",
                "ownername": "Cal",
                "url_l": "https://live.staticflickr.com/65535/53248070597_a123456_b.jpg",
                "height_l": 683,
                "width_l": 1024,
            },
            {
                "id": "2",
                "owner": "x@N01",
                "title": "",
                "license": "9",
                "ownername": "Dee",
                "url_o": "https://live.staticflickr.com/1/2_o.png",
                "height_o": "3000",
                "width_o": "4000",
            },
            {"id": "3", "owner": "x@N01", "title": "no public size", "license": "4"},
        ],
    },
    "stat": "ok",
}


def test_flickr_asks_only_cc_and_public_domain_licences_and_reads_photos(monkeypatch):
    monkeypatch.setenv("FLICKR_API_KEY", "f-key")
    provider = create_provider("flickr", endpoint="http://127.0.0.1:8123")
    assert provider.url() == "http://127.0.0.1:8123/services/rest/"
    params = provider.params("striped blouse", 900, None)
    assert params["method"] == "flickr.photos.search" and params["text"] == "striped blouse"
    assert (params["format"], params["nojsoncallback"]) == ("json", "1")
    assert params["license"] == "1,2,3,4,5,6,7,8,9,10"  # never 0, all rights reserved
    assert params["extras"] == "url_l,url_o,owner_name,license"
    assert (params["per_page"], params["page"]) == (500, 1)
    assert provider.secret_params() == {"api_key": "f-key"}
    assert provider.describe("q", 5).startswith(
        "POST http://127.0.0.1:8123/services/rest/ with method=flickr.photos.search&format=json"
    )
    assert "f-key" not in provider.describe("q", 5)

    page = provider.parse(FLICKR_ANSWER, None)
    first, second = page.results
    assert (first.url, first.width, first.height) == (
        "https://live.staticflickr.com/65535/53248070597_a123456_b.jpg",
        1024,
        683,
    )
    assert first.page_url == "https://www.flickr.com/photos/12037949754@N01/53248070597"
    assert (first.licence, first.licence_url, first.creator) == (
        "CC BY-SA 2.0",
        "https://creativecommons.org/licenses/by-sa/2.0/",
        "Cal",
    )
    assert first.attribution == '"Striped blouse" by Cal, CC BY-SA 2.0'
    assert (second.url, second.width, second.licence, second.attribution) == (
        "https://live.staticflickr.com/1/2_o.png",
        4000,
        "CC0 1.0",
        "by Dee, CC0 1.0",
    )
    assert page.next_state == {"page": 2}
    assert provider.params("q", 900, page.next_state)["page"] == 2


def test_flickr_licence_codes_and_its_4000_result_limit():
    wanted = SearchFilters(parse_licences("commercial,modification"))
    provider = create_provider("flickr", filters=wanted)
    assert provider.params("q", 5, None)["license"] == "4,5,7,8,9,10"
    last = {"photos": {"page": 8, "pages": 40, "perpage": 500, "photo": []}, "stat": "ok"}
    assert provider.parse(last, {"page": 8}).next_state is None
    failed = {"stat": "fail", "code": 100, "message": "Invalid API Key (Key not found)"}
    assert provider.error(failed) == "error 100: Invalid API Key (Key not found)"
    assert provider.error(FLICKR_ANSWER) is None


BRAVE_ANSWER = {
    "type": "images",
    "query": {"original": "striped blouse", "altered": None, "spellcheck_off": False},
    "results": [
        {
            "type": "image_result",
            "title": "Striped blouse",
            "url": "https://example.com/shop/blouse",
            "source": "example.com",
            "page_fetched": "2025-09-15T10:30:00Z",
            "thumbnail": {"src": "https://imgs.search.brave.com/abc", "width": 200, "height": 150},
            "properties": {
                "url": "https://example.com/images/blouse.jpg",
                "placeholder": "https://imgs.search.brave.com/placeholder/abc",
                "width": 1920,
                "height": 1080,
            },
            "meta_url": {"scheme": "https", "netloc": "example.com", "hostname": "example.com"},
            "confidence": "high",
        },
        {"type": "image_result", "title": "no image URL", "properties": {}},
    ],
    "extra": {"might_be_offensive": False},
}


def test_brave_asks_one_page_of_at_most_200_and_reads_results(monkeypatch):
    monkeypatch.setenv("BRAVE_API_KEY", "b-key")
    provider = create_provider("brave")
    assert provider.url() == "https://api.search.brave.com/res/v1/images/search"
    assert provider.headers()["X-Subscription-Token"] == "b-key"
    assert provider.params("striped blouse", 500, None) == {
        "q": "striped blouse",
        "count": 200,
        "safesearch": "strict",
    }
    page = provider.parse(BRAVE_ANSWER, None)
    (result,) = page.results
    assert page.next_state is None  # no offset: one page a query
    assert (result.url, result.page_url, result.width, result.height) == (
        "https://example.com/images/blouse.jpg",
        "https://example.com/shop/blouse",
        1920,
        1080,
    )
    assert (result.licence, result.attribution) == ("", '"Striped blouse" on example.com')


def test_brave_cannot_filter_by_licence_but_by_width():
    with pytest.raises(ConfigError, match="--license cannot be used with brave"):
        create_provider("brave", filters=SearchFilters(parse_licences("cc0")))
    provider = create_provider("brave", filters=SearchFilters(min_width=1000))
    assert provider.keeps(SearchResult("u", width=1920))
    assert not provider.keeps(SearchResult("u", width=640))


BING_ANSWER = {
    "_type": "Images",
    "totalEstimatedMatches": 834,
    "nextOffset": 3,
    "value": [
        {
            "name": "Striped blouse",
            "webSearchUrl": "https://www.bing.com/images/search?q=striped+blouse",
            "thumbnailUrl": "https://tse3.mm.bing.net/th?id=OIP.abc",
            "datePublished": "2017-06-09T02:49:00.0000000Z",
            "contentUrl": "https://shop.example.org/blouse.jpg",
            "hostPageUrl": "https://shop.example.org/blouse.html",
            "contentSize": "54018 B",
            "encodingFormat": "jpeg",
            "hostPageDisplayUrl": "shop.example.org/blouse.html",
            "width": 800,
            "height": 600,
        },
        {"name": "a duplicate Bing left out", "thumbnailUrl": "https://tse3.mm.bing.net/x"},
    ],
}


def test_bing_needs_an_endpoint_and_pages_by_next_offset(monkeypatch):
    monkeypatch.setenv("BING_SEARCH_KEY", "k-key")
    with pytest.raises(ConfigError, match="retired Bing Search v7 on 2025-08-11"):
        create_provider("bing").check_ready()
    provider = create_provider("bing", endpoint="https://bing.example.net")
    provider.check_ready()
    assert provider.url() == "https://bing.example.net/v7.0/images/search"
    assert provider.headers()["Ocp-Apim-Subscription-Key"] == "k-key"
    assert provider.params("striped blouse", 500, None) == {
        "q": "striped blouse",
        "count": 150,
        "offset": 0,
        "safeSearch": "Strict",
    }
    page = provider.parse(BING_ANSWER, None)
    (result,) = page.results
    assert (result.url, result.page_url, result.width, result.height) == (
        "https://shop.example.org/blouse.jpg",
        "https://shop.example.org/blouse.html",
        800,
        600,
    )
    assert (result.licence, result.attribution) == ("", '"Striped blouse" on shop.example.org')
    assert page.next_state == {"offset": 3}
    assert provider.params("q", 500, page.next_state)["offset"] == 3
    last = {**BING_ANSWER, "totalEstimatedMatches": 3}
    assert provider.parse(last, None).next_state is None


def test_bing_licence_groups_and_min_width_go_to_the_api():
    wanted = SearchFilters(parse_licences("commercial"), min_width=500)
    params = create_provider("bing", filters=wanted).params("q", 5, None)
    assert (params["license"], params["minWidth"]) == ("ShareCommercially", 500)
    public = SearchFilters(parse_licences("cc0,pdm"))
    assert create_provider("bing", filters=public).params("q", 5, None)["license"] == "Public"
    with pytest.raises(ConfigError, match="only as whole groups.*Got by instead"):
        create_provider("bing", filters=SearchFilters(parse_licences("by")))


def test_a_provider_that_needs_a_key_says_where_to_put_one(no_keys):
    with pytest.raises(ConfigError) as refused:
        create_provider("flickr").check_ready()
    assert str(refused.value) == (
        f'flickr needs a key: set FLICKR_API_KEY, or write [flickr] key = "..." in {no_keys}, '
        "which does not exist (another file: $IMCLASS_KEYS); get one at "
        "https://www.flickr.com/services/apps/create/apply/"
    )
    create_provider("openverse").check_ready()  # a token is optional there
