"""What every provider client is: a base URL with documented paths, a page size, a paging
style, the filters it supports and its politeness; and the one search loop they share."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from imclass.collect.http import RETRY_STATUSES, retry_after
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
    paging: str = "page"  # "page" (a page number) or "continue" (a token from the answer)
    filters: tuple[str, ...] = ()
    politeness: Politeness = Politeness(1.0, 1)
    key_env: str = ""  # the environment variable holding its key, if any
    endpoint: str | None = None
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
        """The key from the environment variable key_env; None without one."""
        return (os.environ.get(self.key_env) or None) if self.key_env else None

    def headers(self) -> dict[str, str]:
        return {"User-Agent": USER_AGENT, "Accept": "application/json"}

    def params(self, query: str, want: int, state: dict | None) -> dict:
        raise NotImplementedError

    def parse(self, payload: dict, state: dict | None) -> Page:
        raise NotImplementedError

    def describe(self, query: str, want: int) -> str:
        """The first request, for --dry-run; never shows a key."""
        return f"GET {self.url()}?{urlencode(self.params(query, want, None))}"


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


def _get_json(client: httpx.Client, provider: Provider, params: dict, pacer: Pacer) -> dict:
    for attempt in range(SEARCH_RETRIES + 1):
        pacer.wait()
        try:
            response = client.get(provider.url(), params=params, headers=provider.headers())
        except httpx.HTTPError as error:
            raise SearchError(
                f"{provider.name}: no answer from {provider.url()} ({error})"
            ) from None
        if response.status_code not in RETRY_STATUSES or attempt == SEARCH_RETRIES:
            break
        wait = retry_after(response.headers.get("Retry-After"), SearchError)
        time.sleep(wait if wait is not None else SEARCH_BACKOFF * 2**attempt)
    if response.status_code != 200:
        raise SearchError(
            f"{provider.name}: {provider.url()} answered HTTP {response.status_code}"
            + (" (rate limited; wait, or use a key)" if response.status_code == 429 else "")
        )
    try:
        payload = response.json()
    except ValueError:
        raise SearchError(f"{provider.name}: {provider.url()} did not answer JSON") from None
    if not isinstance(payload, dict):
        raise SearchError(f"{provider.name}: {provider.url()} answered JSON of an unknown shape")
    return payload


def plain_text(html: str) -> str:
    """Commons' metadata is HTML: the text without tags or extra spaces."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html or "")).split())
