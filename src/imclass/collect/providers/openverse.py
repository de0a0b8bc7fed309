"""Openverse (https://api.openverse.org/v1/images/): CC-licensed images. Anonymous use has a
small quota and page_size <= 20; a free token (OPENVERSE_TOKEN, sent as a Bearer header)
allows page_size <= 500. Rate limits are in X-RateLimit-* headers, 429 beyond."""

from __future__ import annotations

from dataclasses import dataclass

from imclass.collect.providers.base import Page, Politeness, Provider, SearchResult

ANONYMOUS_PAGE_SIZE = 20  # documented maximum without a token
TOKEN_PAGE_SIZE = 500


@dataclass(frozen=True)
class Openverse(Provider):
    name: str = "openverse"
    base_url: str = "https://api.openverse.org"
    path: str = "/v1/images/"
    page_size: int = ANONYMOUS_PAGE_SIZE
    paging: str = "page"
    filters: tuple[str, ...] = ("license",)  # its `license` parameter takes our codes
    politeness: Politeness = Politeness(min_interval=1.0, concurrency=4)
    key_env: str = "OPENVERSE_TOKEN"
    sign_up: str = "a free token: https://api.openverse.org/v1/#tag/auth"

    def headers(self) -> dict[str, str]:
        token = self.key()
        return {**super().headers(), **({"Authorization": f"Bearer {token}"} if token else {})}

    def params(self, query: str, want: int, state: dict | None) -> dict:
        size = TOKEN_PAGE_SIZE if self.key() else self.page_size
        page = state["page"] if state else 1
        # a page is results (page - 1) x page_size on: a later page keeps the first page's size,
        # the largest (there is one only when the first did not hold all that is wanted)
        size = size if state else min(size, max(want, 1))
        params = {"q": query, "page": page, "page_size": size, "mature": "false"}
        if self.wanted.licences is not None:
            params["license"] = ",".join(sorted(self.wanted.licences))
        return params

    def parse(self, payload: dict, state: dict | None) -> Page:
        page = state["page"] if state else 1
        results = [_result(r) for r in payload.get("results") or () if r.get("url")]
        more = page < int(payload.get("page_count") or 0)
        return Page(results, {"page": page + 1} if more else None)


def licence_name(code: str, version: str) -> str:
    """Openverse's lower-case codes as people write them: by-sa 2.0 -> "CC BY-SA 2.0"."""
    name = {"cc0": "CC0", "pdm": "Public Domain Mark"}.get(code, f"CC {code.upper()}")
    return f"{name} {version}".strip() if code else ""


def _result(row: dict) -> SearchResult:
    return SearchResult(
        url=row["url"],
        page_url=row.get("foreign_landing_url") or "",
        width=int(row.get("width") or 0),
        height=int(row.get("height") or 0),
        licence=licence_name(row.get("license") or "", row.get("license_version") or ""),
        licence_url=row.get("license_url") or "",
        creator=row.get("creator") or "",
        attribution=row.get("attribution") or "",
    )
