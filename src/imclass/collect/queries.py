"""The query plan: every item x attribute through a template (plus the bare items), and the
folder (class) each query's images land in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from imclass.errors import ConfigError, did_you_mean

DEFAULT_TEMPLATE = "{attribute} {item}"
FOLDER_BY = ("item", "query")


@dataclass(frozen=True)
class Query:
    """One search: its text, the item and attribute it was made of, and its class folder."""

    text: str
    item: str
    attribute: str
    folder: str


@dataclass(frozen=True)
class QuerySpec:
    """What the plan is made of; extras are attributes asked for one item only."""

    items: tuple[str, ...]
    attributes: tuple[str, ...] = ()
    extras: dict[str, tuple[str, ...]] = field(default_factory=dict)
    template: str = DEFAULT_TEMPLATE
    bare: bool = False
    by: str = "item"


def plan_queries(spec: QuerySpec) -> list[Query]:
    """Every item x (attributes + its extras), in order, then the bare item if asked; no repeats."""
    _check(spec)
    queries: dict[str, Query] = {}
    for item in spec.items:
        for attribute in (*spec.attributes, *spec.extras.get(item, ())):
            text = spec.template.format(item=item, attribute=attribute).strip()
            queries.setdefault(text, Query(text, item, attribute, _folder(spec, item, attribute)))
        if spec.bare or not (spec.attributes or spec.extras.get(item)):
            queries.setdefault(item, Query(item, item, "", item))
    return list(queries.values())


def _folder(spec: QuerySpec, item: str, attribute: str) -> str:
    name = item if spec.by == "item" else f"{item}_{attribute}"
    return name.replace("/", "_").replace(" ", "_")


def _check(spec: QuerySpec) -> None:
    if not spec.items:
        raise ConfigError("collect needs at least one item (--items a,b or items: in --queries)")
    if spec.by not in FOLDER_BY:
        raise ConfigError(
            f"The 'by' parameter of collect must be one of {', '.join(FOLDER_BY)}. "
            f"Got {spec.by!r} instead.{did_you_mean(spec.by, FOLDER_BY)}"
        )
    if "{item}" not in spec.template:
        raise ConfigError(
            f"The 'template' parameter of collect must contain {{item}}. Got {spec.template!r}."
        )
    unknown = sorted(set(spec.extras) - set(spec.items))
    if unknown:
        raise ConfigError(f"extras name items that are not in items: {', '.join(unknown)}")


def split_list(text: str | None) -> tuple[str, ...]:
    """'blouse, hoodie,,pullover' -> ('blouse', 'hoodie', 'pullover')."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def read_queries_file(path: Path | str) -> dict:
    """items, attributes and per-item extras from a YAML file:

    items: [blouse, hoodie]
    attributes: [striped, dotted]
    extras: {hoodie: [zipped]}
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with items, attributes and extras")
    known = {"items", "attributes", "extras"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{path}: unknown key {key!r}.{did_you_mean(str(key), known)}")
    extras = raw.get("extras") or {}
    return {
        "items": tuple(str(i) for i in raw.get("items") or ()),
        "attributes": tuple(str(a) for a in raw.get("attributes") or ()),
        "extras": {str(k): tuple(str(a) for a in v or ()) for k, v in extras.items()},
    }


def dry_run_lines(queries: list[Query], describe) -> list[str]:
    """One line per query: the text, its folder and what the provider would be asked."""
    return [f"{q.text!r} -> {q.folder}/  {describe(q.text)}" for q in queries]
