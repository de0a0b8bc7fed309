"""Bing Image Search v7's interface (GET /v7.0/images/search, key in the
Ocp-Apim-Subscription-Key header; q, count <= 150, offset, safeSearch, license, minWidth;
answers value[] with contentUrl, hostPageUrl, width, height, and nextOffset,
totalEstimatedMatches). Microsoft retired Bing Search v7 on 2025-08-11, so --endpoint must name
a service that still answers in its shape. Results are images found on the web: none says
under which licence it is; Bing's own license filter is its claim, which imclass cannot check.
The F1 and S1 tiers allowed 3 requests a second."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from imclass.collect.filters import COMMERCIAL, LICENCES, MODIFICATION
from imclass.collect.providers.base import Page, Politeness, Provider, SearchResult, found_on
from imclass.errors import ConfigError

MAX_COUNT = 150  # count's documented maximum
RETIRED = "2025-08-11"
# the licence sets --license can name that Bing's license= values mean exactly
BING_LICENCES = {
    frozenset(LICENCES): "Any",
    COMMERCIAL: "ShareCommercially",
    MODIFICATION: "Modify",
    COMMERCIAL & MODIFICATION: "ModifyCommercially",
    frozenset({"cc0", "pdm"}): "Public",
}


@dataclass(frozen=True)
class Bing(Provider):
    name: str = "bing"
    base_url: str = "https://api.bing.microsoft.com"
    path: str = "/v7.0/images/search"
    page_size: int = MAX_COUNT
    paging: str = "offset"
    filters: tuple[str, ...] = ("license", "min_width")
    licensed: bool = False
    politeness: Politeness = Politeness(min_interval=1 / 3, concurrency=2)
    key_env: str = "BING_SEARCH_KEY"
    key_required: bool = True
    sign_up: str = "the service --endpoint names gives it (Bing's own closed in 2025)"

    def check_filters(self) -> None:
        licences = self.wanted.licences
        if licences is not None and licences not in BING_LICENCES:
            raise ConfigError(
                f"bing filters licences only as whole groups: --license commercial, modification, "
                f"commercial,modification or cc0,pdm. Got {','.join(sorted(licences))} instead."
            )

    def check_ready(self) -> None:
        if not self.endpoint:
            raise ConfigError(
                f"bing: Microsoft retired Bing Search v7 on {RETIRED}; give --endpoint URL of a "
                f"service that answers in its shape"
            )
        super().check_ready()

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Ocp-Apim-Subscription-Key": self.key() or ""}

    def params(self, query: str, want: int, state: dict | None) -> dict:
        params = {
            "q": query,
            "count": min(self.page_size, max(want, 1)),
            "offset": state["offset"] if state else 0,
            "safeSearch": "Strict",
        }
        if self.wanted.licences is not None:
            params["license"] = BING_LICENCES[self.wanted.licences]
        if self.wanted.min_width:
            params["minWidth"] = self.wanted.min_width
        return params

    def parse(self, payload: dict, state: dict | None) -> Page:
        rows = [r for r in payload.get("value") or () if r.get("contentUrl")]
        offset = (state["offset"] if state else 0) + len(payload.get("value") or ())
        following = int(payload.get("nextOffset") or offset)  # skips Bing's duplicates
        more = bool(rows) and following < int(payload.get("totalEstimatedMatches") or 0)
        return Page([_result(r) for r in rows], {"offset": following} if more else None)


def _result(row: dict) -> SearchResult:
    page_url = row.get("hostPageUrl") or ""
    return SearchResult(
        url=row["contentUrl"],
        page_url=page_url,
        width=int(row.get("width") or 0),
        height=int(row.get("height") or 0),
        attribution=found_on(row.get("name") or "", urlsplit(page_url).hostname or ""),
    )
