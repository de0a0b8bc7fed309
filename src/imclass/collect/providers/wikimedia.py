"""Wikimedia Commons through the MediaWiki Action API (https://commons.wikimedia.org/w/api.php):
generator=search over the File namespace (6), prop=imageinfo with url|size|mime|extmetadata;
paging by the `continue` object; no key, but a descriptive User-Agent and one request at a
time (https://www.mediawiki.org/wiki/API:Etiquette)."""

from __future__ import annotations

from dataclasses import dataclass

from imclass.collect.providers.base import Page, Politeness, Provider, SearchResult, plain_text

MAX_LIMIT = 50  # gsrlimit's maximum for clients without the apihighlimits right


@dataclass(frozen=True)
class Wikimedia(Provider):
    name: str = "wikimedia"
    base_url: str = "https://commons.wikimedia.org"
    path: str = "/w/api.php"
    page_size: int = MAX_LIMIT
    paging: str = "continue"
    filters: tuple[str, ...] = ()
    politeness: Politeness = Politeness(min_interval=1.0, concurrency=1)

    def params(self, query: str, want: int, state: dict | None) -> dict:
        return {
            "action": "query",
            "format": "json",
            "formatversion": "2",
            "generator": "search",
            "gsrsearch": query,
            "gsrnamespace": "6",
            "gsrlimit": str(min(self.page_size, max(want, 1))),
            "prop": "imageinfo",
            "iiprop": "url|size|mime|extmetadata",
            **(state or {}),
        }

    def parse(self, payload: dict, state: dict | None) -> Page:
        pages = (payload.get("query") or {}).get("pages") or []
        if isinstance(pages, dict):  # formatversion=1 keys pages by id
            pages = list(pages.values())
        ordered = sorted(pages, key=lambda p: p.get("index", 0))
        results = [_result(p) for p in ordered if p.get("imageinfo")]
        return Page([r for r in results if r.url], payload.get("continue"))


def _result(page: dict) -> SearchResult:
    info = page["imageinfo"][0]
    meta = {
        k: plain_text(str(v.get("value", ""))) for k, v in (info.get("extmetadata") or {}).items()
    }
    creator = meta.get("Artist", "")
    licence = meta.get("LicenseShortName", "")
    return SearchResult(
        url=info.get("url") or "",
        page_url=info.get("descriptionurl") or "",
        width=int(info.get("width") or 0),
        height=int(info.get("height") or 0),
        licence=licence,
        licence_url=meta.get("LicenseUrl", ""),
        creator=creator,
        attribution=meta.get("Attribution") or ", ".join(p for p in (creator, licence) if p),
    )
