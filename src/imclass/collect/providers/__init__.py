"""One small module per image-search API, behind one interface (base.Provider)."""

from __future__ import annotations

from dataclasses import replace

from imclass.collect.filters import SearchFilters
from imclass.collect.keys import find_key
from imclass.collect.providers.base import (
    Pacer,
    Politeness,
    Provider,
    SearchError,
    SearchResult,
    search,
)
from imclass.collect.providers.bing import Bing
from imclass.collect.providers.brave import Brave
from imclass.collect.providers.flickr import Flickr
from imclass.collect.providers.openverse import Openverse
from imclass.collect.providers.wikimedia import Wikimedia
from imclass.errors import ConfigError, did_you_mean

PROVIDERS: dict[str, type[Provider]] = {
    "openverse": Openverse,
    "wikimedia": Wikimedia,
    "flickr": Flickr,
    "brave": Brave,
    "bing": Bing,
}


NO_FILTERS = SearchFilters()


def create_provider(
    name: str, *, endpoint: str | None = None, filters: SearchFilters = NO_FILTERS
) -> Provider:
    """The provider called name, asking endpoint's scheme and host instead of its own, for
    images that pass filters, with its key from the environment or the keys file (keys.py)."""
    if name not in PROVIDERS:
        raise ConfigError(
            f"The 'provider' parameter of collect must be one of {', '.join(PROVIDERS)}. "
            f"Got {name!r} instead.{did_you_mean(name, PROVIDERS)}"
        )
    provider = PROVIDERS[name](endpoint=endpoint, wanted=filters)
    provider.check_filters()
    if not provider.key_env:
        return provider
    return replace(provider, api_key=find_key(provider.name, provider.key_env))


__all__ = [
    "PROVIDERS",
    "Pacer",
    "Politeness",
    "Provider",
    "SearchError",
    "SearchFilters",
    "SearchResult",
    "create_provider",
    "search",
]
