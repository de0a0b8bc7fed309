"""Brave Search images (https://api-dashboard.search.brave.com/api-reference/images/image_search):
GET /res/v1/images/search with the key in the X-Subscription-Token header; q, count (1-200,
one page: the API has no offset), safesearch (off or strict, strict by default). Results are
images found on the web: no licence is given, most are all rights reserved. The Free plan
allows 1 request a second."""

from __future__ import annotations

from dataclasses import dataclass

from imclass.collect.providers.base import Page, Politeness, Provider, SearchResult, found_on

MAX_COUNT = 200  # count's documented maximum; more cannot be had for one query


@dataclass(frozen=True)
class Brave(Provider):
    name: str = "brave"
    base_url: str = "https://api.search.brave.com"
    path: str = "/res/v1/images/search"
    page_size: int = MAX_COUNT
    paging: str = "none"
    filters: tuple[str, ...] = ()
    licensed: bool = False
    # 1 request a second on the Free plan (X-RateLimit-Policy: 1;w=1); images come from many
    # sites, each asked for at most 2 at once
    politeness: Politeness = Politeness(min_interval=1.0, concurrency=2)
    key_env: str = "BRAVE_API_KEY"
    key_required: bool = True
    sign_up: str = "get one at https://brave.com/search/api/ (a free plan exists)"

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "X-Subscription-Token": self.key() or ""}

    def params(self, query: str, want: int, state: dict | None) -> dict:
        return {"q": query, "count": min(self.page_size, max(want, 1)), "safesearch": "strict"}

    def parse(self, payload: dict, state: dict | None) -> Page:
        rows = [r for r in payload.get("results") or () if (r.get("properties") or {}).get("url")]
        return Page([_result(r) for r in rows], None)


def _result(row: dict) -> SearchResult:
    image = row["properties"]
    title, site = row.get("title") or "", row.get("source") or ""
    return SearchResult(
        url=image["url"],
        page_url=row.get("url") or "",
        width=int(image.get("width") or 0),
        height=int(image.get("height") or 0),
        attribution=found_on(title, site),
    )
