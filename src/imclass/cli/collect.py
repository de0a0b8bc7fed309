"""`imclass collect`: a data set from an image-search API, one class folder per item, with a
manifest recording every image's source and licence (issue 12)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from imclass.cli.common import PATH, stdout
from imclass.progress import Reporter

PROVIDERS = ("openverse", "wikimedia", "flickr", "brave", "bing")  # = providers.PROVIDERS
PROVIDER_HELP = """\b
openverse  CC and public-domain images; no key (a free token in OPENVERSE_TOKEN
           raises the quota: https://api.openverse.org/v1/#tag/auth)
wikimedia  Wikimedia Commons; no key
flickr     CC and public-domain photos only; FLICKR_API_KEY
           (https://www.flickr.com/services/apps/create/apply/)
brave      images from the web, NOT licence-filtered; BRAVE_API_KEY
           (https://brave.com/search/api/)
bing       images from the web, NOT licence-filtered; BING_SEARCH_KEY and
           --endpoint URL (Bing Search v7 closed on 2025-08-11; a compatible service)

Keys come from the environment variable, else from ~/.config/imclass/keys.toml (or the file
$IMCLASS_KEYS names) holding [flickr] key = "..." and so on; never from an option, and they
are never printed or written. Images stay their creators' works: manifest.csv and
ATTRIBUTION.md keep each one's source, licence and attribution; check them before use."""


@click.command(
    help=f"Collect images for items x attributes from an image-search API.\n\n{PROVIDER_HELP}"
)
@click.option("--items", help="comma-separated items, the classes: blouse,hoodie")
@click.option("--attributes", help="comma-separated attributes: striped,dotted")
@click.option("--queries", "queries_file", type=PATH, help="YAML with items, attributes, extras")
@click.option("--per-query", type=click.IntRange(1, 4000), default=50, show_default=True)
@click.option(
    "--provider",
    type=click.Choice(PROVIDERS),
    default="openverse",
    show_default=True,
)
@click.option("--out", type=PATH, required=True, help="the data set folder (resumed if it exists)")
@click.option("--template", default="{attribute} {item}", show_default=True)
@click.option("--bare", is_flag=True, help="also search each item without attributes")
@click.option(
    "--by",
    type=click.Choice(["item", "query"]),
    default="item",
    show_default=True,
    help="class folders per item, or per item_attribute",
)
@click.option("--dry-run", is_flag=True, help="list the queries and requests; send none")
@click.option("--endpoint", help="replace the API's scheme and host (tests, proxies, bing)")
@click.option(
    "--license",
    "licences",
    help="keep only these licences: by, by-sa, by-nd, by-nc, by-nc-sa, by-nc-nd, cc0, pdm, "
    "and/or the groups commercial, modification (a group narrows the codes). openverse, flickr "
    "and bing filter their search; wikimedia's results are filtered here; brave cannot",
)
@click.option(
    "--min-width",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="keep only images at least this wide in pixels (bing filters its search; the others' "
    "results are filtered here, and every downloaded image is checked)",
)
@click.option(
    "--min-side",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="refuse images with a shorter side in pixels",
)
@click.option(
    "--max-distance",
    type=click.IntRange(0, 64),
    default=None,
    help="dhash bits (of 256) for near duplicates [default: 24]",
)
@click.option(
    "--allow-private-urls",
    is_flag=True,
    help="fetch image URLs on loopback or private addresses (local tests only)",
)
def collect(
    items,
    attributes,
    queries_file,
    per_query,
    provider,
    out,
    template,
    bare,
    by,
    dry_run,
    endpoint,
    licences,
    min_width,
    min_side,
    max_distance,
    allow_private_urls,
):
    from imclass.collect.download import DownloadSettings
    from imclass.collect.filters import SearchFilters, parse_licences
    from imclass.collect.keys import exposed_keys_file
    from imclass.collect.providers import create_provider
    from imclass.collect.queries import QuerySpec, plan_queries, read_queries_file, split_list
    from imclass.collect.run import DEFAULT_MAX_DISTANCE, CollectSettings
    from imclass.collect.run import collect as run_collect

    spec = read_queries_file(queries_file) if queries_file else {}
    spec = {k: v for k, v in spec.items() if v}
    spec.setdefault("items", split_list(items))
    spec.setdefault("attributes", split_list(attributes))
    queries = plan_queries(QuerySpec(**spec, template=template, bare=bare, by=by))
    filters = SearchFilters(parse_licences(licences), min_width)
    client = create_provider(provider, endpoint=endpoint, filters=filters)
    if client.key_env and (warning := exposed_keys_file()):
        Reporter().warn(warning)
    if dry_run:
        from imclass.collect.queries import dry_run_lines

        for line in dry_run_lines(queries, lambda text: client.describe(text, per_query)):
            click.echo(line)
        click.echo(f"{len(queries)} queries, up to {len(queries) * per_query} images; nothing sent")
        return
    settings = CollectSettings(
        per_query=per_query,
        max_distance=DEFAULT_MAX_DISTANCE if max_distance is None else max_distance,
        download=DownloadSettings(min_side=min_side, allow_private_urls=allow_private_urls),
    )
    summary = run_collect(queries, client, Path(out), settings, reporter=Reporter())
    _print_summary(summary, Path(out))


def _print_summary(summary, out: Path) -> None:
    table = Table(title=f"imclass collect -> {out}")
    table.add_column("")
    table.add_column("images", justify="right")
    for label, count in (
        ("asked", summary.asked),
        ("returned", summary.returned),
        ("left out by --license/--min-width", summary.left_out),
        ("downloaded", summary.downloaded),
        *((f"rejected: {reason}", n) for reason, n in sorted(summary.rejected.items())),
        ("duplicates", summary.duplicates),
        *((f"kept: {folder}", n) for folder, n in sorted(summary.kept.items())),
    ):
        table.add_row(label, str(count))
    stdout.print(table)
    kept = sum(summary.kept.values())
    stdout.print(f"kept {kept} images in {out}; sources and licences in {out / 'manifest.csv'}")
