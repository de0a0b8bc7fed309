"""Flickr's flickr.photos.search (https://www.flickr.com/services/api/flickr.photos.search.html)
through the REST endpoint with format=json&nojsoncallback=1 and the key as api_key (from
FLICKR_API_KEY or the keys file), POSTed (the REST format takes GET or POST) so that the key
is in no URL a log could record. per_page <= 500, page numbers, and at most the first 4,000
results of a query. Only Creative Commons and public-domain photos are asked for (license=),
so nothing all rights reserved is fetched. The API terms allow 3,600 requests an hour a key.
An error comes back as HTTP 200 with stat "fail", a code and a message."""

from __future__ import annotations

from dataclasses import dataclass

from imclass.collect.providers.base import Page, Politeness, Provider, SearchResult

MAX_PER_PAGE = 500
MAX_RESULTS = 4000  # "Flickr will return at most the first 4,000 results for any given search"
PHOTO_PAGE = "https://www.flickr.com/photos/{owner}/{id}"

# flickr.photos.licenses.getInfo: id -> (name as people write it, URL)
LICENCES = {
    "0": ("All Rights Reserved", ""),
    "1": ("CC BY-NC-SA 2.0", "https://creativecommons.org/licenses/by-nc-sa/2.0/"),
    "2": ("CC BY-NC 2.0", "https://creativecommons.org/licenses/by-nc/2.0/"),
    "3": ("CC BY-NC-ND 2.0", "https://creativecommons.org/licenses/by-nc-nd/2.0/"),
    "4": ("CC BY 2.0", "https://creativecommons.org/licenses/by/2.0/"),
    "5": ("CC BY-SA 2.0", "https://creativecommons.org/licenses/by-sa/2.0/"),
    "6": ("CC BY-ND 2.0", "https://creativecommons.org/licenses/by-nd/2.0/"),
    "7": ("No known copyright restrictions", "https://www.flickr.com/commons/usage/"),
    "8": ("United States Government Work", "http://www.usa.gov/copyright.shtml"),
    "9": ("CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "10": ("Public Domain Mark 1.0", "https://creativecommons.org/publicdomain/mark/1.0/"),
}
# --license codes -> Flickr's ids; "pdm" takes the three public-domain ones
LICENCE_IDS = {
    "by-nc-sa": ("1",),
    "by-nc": ("2",),
    "by-nc-nd": ("3",),
    "by": ("4",),
    "by-sa": ("5",),
    "by-nd": ("6",),
    "cc0": ("9",),
    "pdm": ("7", "8", "10"),
}


@dataclass(frozen=True)
class Flickr(Provider):
    name: str = "flickr"
    base_url: str = "https://api.flickr.com"
    path: str = "/services/rest/"
    page_size: int = MAX_PER_PAGE
    paging: str = "page"
    method: str = "POST"
    filters: tuple[str, ...] = ("license",)
    # 3,600 requests an hour a key; photos come from Flickr's image servers, 4 at once
    politeness: Politeness = Politeness(min_interval=1.0, concurrency=4)
    key_env: str = "FLICKR_API_KEY"
    key_required: bool = True
    sign_up: str = "get one at https://www.flickr.com/services/apps/create/apply/"

    def secret_params(self) -> dict:
        return {"api_key": self.key() or ""}

    def params(self, query: str, want: int, state: dict | None) -> dict:
        return {
            "method": "flickr.photos.search",
            "format": "json",
            "nojsoncallback": "1",
            "text": query,
            "license": ",".join(self.licence_ids()),
            "extras": "url_l,url_o,owner_name,license",
            "media": "photos",
            "safe_search": "1",
            "sort": "relevance",
            "per_page": min(self.page_size, max(want, 1)),
            "page": state["page"] if state else 1,
        }

    def licence_ids(self) -> list[str]:
        """Flickr's ids for the licences asked for; every CC and public-domain one by default."""
        codes = self.wanted.licences or LICENCE_IDS
        return sorted({i for code in codes for i in LICENCE_IDS[code]}, key=int)

    def error(self, payload: dict) -> str | None:
        if payload.get("stat") != "fail":
            return None
        return f"error {payload.get('code', '?')}: {payload.get('message', 'no message')}"

    def parse(self, payload: dict, state: dict | None) -> Page:
        photos = payload.get("photos") or {}
        page, per_page = int(photos.get("page") or 1), int(photos.get("perpage") or 0)
        rows = [p for p in photos.get("photo") or () if p.get("url_l") or p.get("url_o")]
        more = page < int(photos.get("pages") or 0) and page * per_page < MAX_RESULTS
        return Page([_result(p) for p in rows], {"page": page + 1} if more else None)


def _result(photo: dict) -> SearchResult:
    size = "l" if photo.get("url_l") else "o"  # large (1024 px) when there is one
    licence, licence_url = LICENCES.get(str(photo.get("license")), ("", ""))
    title, owner = photo.get("title") or "", photo.get("ownername") or ""
    credit = f'"{title}" by {owner}' if title else f"by {owner}"
    return SearchResult(
        url=photo[f"url_{size}"],
        page_url=PHOTO_PAGE.format(owner=photo.get("owner", ""), id=photo.get("id", "")),
        width=int(photo.get(f"width_{size}") or 0),
        height=int(photo.get(f"height_{size}") or 0),
        licence=licence,
        licence_url=licence_url,
        creator=owner,
        attribution=", ".join(p for p in (credit if owner else "", licence) if p),
    )
