"""What every provider client is: a base URL with documented paths, a page size, a paging
style, the filters it supports and its politeness; and the one search loop they share."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from imclass.collect.filters import SearchFilters, licence_code
from imclass.collect.http import RETRY_STATUSES, retry_after
from imclass.collect.keys import missing_key
from imclass.errors import ConfigError, ImclassError

USER_AGENT = "imclass-collect/1 (https://github.com/imclass/imclass; image classifier data sets)"


class SearchError(ImclassError):
    """A search API that answered with an error or a shape its documentation does not give."""


@dataclass(frozen=True)
class Politeness:
    """Seconds between two search requests, and downloads at once from one host."""

    min_interval: float
    concurrency: int


@dataclass(frozen=True)
class SearchResult:
    """One image a search returned, with what the manifest records of its source and licence."""

    url: str
    page_url: str = ""
    width: int = 0
    height: int = 0
    licence: str = ""
    licence_url: str = ""
    creator: str = ""
    attribution: str = ""


@dataclass(frozen=True)
class Page:
    results: list[SearchResult]
    next_state: dict | None  # what the next request needs; None: the last page


@dataclass(frozen=True)
class Provider:
    """One search API. Subclasses say how to ask for a page and how to read one."""

    name: str = ""
    base_url: str = ""
    path: str = ""
    page_size: int = 20  # the most results one request may ask for
    paging: str = "page"  # "page" (number), "offset", "continue" (token) or "none" (one page)
    filters: tuple[str, ...] = ()  # of SearchFilters', those the API applies itself
    licensed: bool = True  # whether its results say under which licence each image is
    politeness: Politeness = Politeness(1.0, 1)
    key_env: str = ""  # the environment variable holding its key, if any
    key_required: bool = False
    sign_up: str = ""  # where to get a key, for the message when there is none
    method: str = "GET"  # "POST": the parameters, key included, travel in the body, not the URL
    endpoint: str | None = None
    wanted: SearchFilters = SearchFilters()
    api_key: str | None = field(default=None, repr=False, compare=False)  # see keys.py
    extra_headers: dict[str, str] = field(default_factory=dict)

    def url(self) -> str:
        """base_url + path, with the scheme and host replaced by endpoint's when given."""
        base = urlsplit(self.base_url + self.path)
        if not self.endpoint:
            return urlunsplit(base)
        other = urlsplit(self.endpoint)
        if other.scheme not in ("http", "https") or not other.netloc:
            raise ConfigError(
                f"The 'endpoint' parameter of collect must be an http(s) URL like "
                f"http://127.0.0.1:8123. Got {self.endpoint!r} instead."
            )
        return urlunsplit((other.scheme, other.netloc, base.path, base.query, ""))

    def key(self) -> str | None:
        """The key create_provider found (environment, then keys file); None without one."""
        return self.api_key

    def check_ready(self) -> None:
        """Before any request: a provider that needs a key and has none says where to put one."""
        if self.key_required and not self.key():
            raise missing_key(self.name, self.key_env, self.sign_up)

    def check_filters(self) -> None:
        """Refuse a filter this API can neither apply nor let us apply on its results."""
        if self.wanted.licences is not None and not (self.licensed or "license" in self.filters):
            raise ConfigError(
                f"--license cannot be used with {self.name}: its results do not say under which "
                f"licence each image is; drop --license, or use openverse, wikimedia or flickr"
            )

    def keeps(self, result: SearchResult) -> bool:
        """Whether result passes the filters the API did not apply itself (on its metadata; an
        unknown width passes here and is checked on the downloaded image)."""
        licences = self.wanted.licences
        licence_done = licences is None or "license" in self.filters
        if not licence_done and licence_code(result.licence) not in licences:
            return False
        return not (result.width and result.width < self.wanted.min_width)

    def headers(self) -> dict[str, str]:
        return {"User-Agent": USER_AGENT, "Accept": "application/json"}

    def secret_params(self) -> dict:
        """Query parameters that carry the key: sent, never shown (--dry-run, errors)."""
        return {}

    def params(self, query: str, want: int, state: dict | None) -> dict:
        raise NotImplementedError

    def parse(self, payload: dict, state: dict | None) -> Page:
        raise NotImplementedError

    def error(self, payload: dict) -> str | None:
        """The error a 200 answer reports in its body (Flickr's stat "fail"); None if none."""
        return None

    def describe(self, query: str, want: int) -> str:
        """The first request, for --dry-run; never shows a key."""
        between = "?" if self.method == "GET" else " with "
        return f"{self.method} {self.url()}{between}{urlencode(self.params(query, want, None))}"

    def redact(self, text: str) -> str:
        """text without the key, for messages that quote an answer or an exception."""
        key = self.key()
        return text.replace(key, "***") if key else text


class Pacer:
    """Spaces requests min_interval seconds apart, start to start: a search that follows a
    query's downloads waits only for what is left of the interval."""

    def __init__(self, min_interval: float):
        self.min_interval = min_interval
        self._last: float | None = None

    def wait(self) -> None:
        if self._last is not None:
            time.sleep(max(0.0, self._last + self.min_interval - time.monotonic()))
        self._last = time.monotonic()


def search(
    client: httpx.Client,
    provider: Provider,
    query: str,
    want: int,
    pacer: Pacer | None = None,
) -> list[SearchResult]:
    """Up to want results for query, page by page, no faster than the provider allows (one
    pacer for a whole run spaces its queries' requests too)."""
    pacer = pacer or Pacer(provider.politeness.min_interval)
    results: list[SearchResult] = []
    state: dict | None = None
    while len(results) < want:
        # want, not what is left: every page asks for the same size, or page numbers would shift
        params = provider.params(query, want, state)
        page = provider.parse(_get_json(client, provider, params, pacer), state)
        results.extend(page.results)
        if page.next_state is None or not page.results:
            break
        state = page.next_state
    return results[:want]


SEARCH_RETRIES = 3  # a rate-limited or failing search page is asked again this many times
SEARCH_BACKOFF = 1.0  # seconds before the first retry without Retry-After; doubled each time
REFUSED_KEY = (401, 403)


def _get_json(client: httpx.Client, provider: Provider, params: dict, pacer: Pacer) -> dict:
    response = _get(client, provider, params, pacer)
    where = f"{provider.name}: {provider.url()}"
    if response.status_code != 200:
        status = response.status_code
        raise SearchError(f"{where} answered HTTP {status}{_hint(provider, response)}")
    try:
        payload = response.json()
    except ValueError:
        raise SearchError(f"{where} did not answer JSON") from None
    if not isinstance(payload, dict):
        raise SearchError(f"{where} answered JSON of an unknown shape")
    error = provider.error(payload)
    if error:
        raise SearchError(f"{where} answered {provider.redact(error)}")
    return payload


def _get(client: httpx.Client, provider: Provider, params: dict, pacer: Pacer) -> httpx.Response:
    """The answer, asked again after a 429 or 5xx (Retry-After, else a doubling wait)."""
    for attempt in range(SEARCH_RETRIES):
        response = _ask(client, provider, params, pacer)
        if response.status_code not in RETRY_STATUSES:
            return response
        wait = retry_after(response.headers.get("Retry-After"), SearchError)
        time.sleep(wait if wait is not None else SEARCH_BACKOFF * 2**attempt)
    return _ask(client, provider, params, pacer)


def _ask(client: httpx.Client, provider: Provider, params: dict, pacer: Pacer) -> httpx.Response:
    pacer.wait()
    try:
        fields = {**params, **provider.secret_params()}
        if provider.method == "POST":  # httpx logs each request's URL at INFO level
            return client.post(provider.url(), data=fields, headers=provider.headers())
        return client.get(provider.url(), params=fields, headers=provider.headers())
    except httpx.HTTPError as error:
        reason = provider.redact(str(error) or type(error).__name__)
        raise SearchError(f"{provider.name}: no answer from {provider.url()} ({reason})") from None


def _hint(provider: Provider, response: httpx.Response) -> str:
    if response.status_code == 429:
        return " (rate limited; wait, or use a key)"
    if response.status_code in REFUSED_KEY and provider.key_env:
        return f" (the key was refused; check {provider.key_env} or the keys file)"
    return ""


def plain_text(html: str) -> str:
    """Commons' metadata is HTML: the text without tags or extra spaces."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html or "")).split())


def found_on(title: str, site: str) -> str:
    """The credit a web image search can give: the image's title and the site it is on."""
    return " on ".join(p for p in (f'"{title}"' if title else "", site) if p)
