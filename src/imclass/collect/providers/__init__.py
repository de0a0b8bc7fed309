"""One small module per image-search API, behind one interface (base.Provider)."""

from __future__ import annotations

from imclass.collect.providers.base import Pacer, Politeness, Provider, SearchResult, search
from imclass.collect.providers.openverse import Openverse
from imclass.collect.providers.wikimedia import Wikimedia
from imclass.errors import ConfigError, did_you_mean

PROVIDERS: dict[str, type[Provider]] = {"openverse": Openverse, "wikimedia": Wikimedia}


def create_provider(name: str, *, endpoint: str | None = None) -> Provider:
    """The provider called name, asking endpoint's scheme and host instead of its own."""
    if name not in PROVIDERS:
        raise ConfigError(
            f"The 'provider' parameter of collect must be one of {', '.join(PROVIDERS)}. "
            f"Got {name!r} instead.{did_you_mean(name, PROVIDERS)}"
        )
    return PROVIDERS[name](endpoint=endpoint)


__all__ = [
    "PROVIDERS",
    "Pacer",
    "Politeness",
    "Provider",
    "SearchResult",
    "create_provider",
    "search",
]
