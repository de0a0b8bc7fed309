"""One collect: every query searched, its new URLs downloaded (in result order, so a rerun
after an interruption makes the same choices), each outcome recorded in the manifest at once,
then near duplicates grouped across all kept images and one of each group kept."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from imclass.collect.download import Downloader, DownloadSettings, Image, Rejected
from imclass.collect.manifest import (
    DUPLICATE,
    KEPT,
    REJECTED,
    ManifestLog,
    Row,
    read_manifest,
    write_attribution,
)
from imclass.collect.providers import Pacer, Provider, SearchResult, search
from imclass.collect.queries import Query
from imclass.data.dedup import find_duplicates
from imclass.files import atomic_path
from imclass.progress import Reporter

# dhash bits (of 256) for "the same photo": on 60 hymenoptera photos a JPEG re-encode at
# quality 70 moved 59 by <= 9 bits and one by 24, a resize to 90 % moved all by <= 5, and
# the closest two different photos were 77 bits apart.
DEFAULT_MAX_DISTANCE = 24


@dataclass(frozen=True)
class CollectSettings:
    per_query: int
    max_distance: int = DEFAULT_MAX_DISTANCE
    workers: int = 8
    download: DownloadSettings = field(default_factory=DownloadSettings)


@dataclass
class Summary:
    """The final table: this run's asked/returned/downloaded, and the data set's totals."""

    asked: int = 0
    returned: int = 0
    left_out: int = 0  # by the filters the provider could not apply (--license, --min-width)
    downloaded: int = 0
    rejected: Counter = field(default_factory=Counter)  # by reason
    duplicates: int = 0
    kept: Counter = field(default_factory=Counter)  # by class folder


def collect(
    queries: list[Query],
    provider: Provider,
    out: Path,
    settings: CollectSettings,
    *,
    reporter: Reporter | None = None,
    downloader: Downloader | None = None,
) -> Summary:
    """Fill out with the images of every query; resumes from out's manifest. A provider
    without its key (or Bing without --endpoint) is refused before any request. downloader:
    one of settings.download's own, by default (tests give one on a local network)."""
    provider.check_ready()
    reporter = reporter or Reporter(quiet=True)
    out.mkdir(parents=True, exist_ok=True)
    _remove_partial_files(out)
    state = _State(out, ManifestLog(out, read_manifest(out)), Summary())
    downloader = downloader or Downloader(polite_downloads(settings.download, provider))
    pacer = Pacer(provider.politeness.min_interval)  # one for the run: spaces queries too
    with (
        httpx.Client(timeout=settings.download.timeout, follow_redirects=True) as api,
        ThreadPoolExecutor(settings.workers) as pool,
    ):
        for query in queries:
            results = search(api, provider, query.text, settings.per_query, pacer)
            state.summary.asked += settings.per_query
            state.summary.returned += len(results)
            kept = [r for r in results if provider.keeps(r)]
            state.summary.left_out += len(results) - len(kept)
            fresh = state.fresh(kept)
            with reporter.task(query.text, len(fresh)) as advance:
                for result, outcome in zip(fresh, pool.map(_fetch(downloader), fresh), strict=True):
                    state.record(provider.name, query, result, outcome)
                    advance(1)
    state.drop_near_duplicates(settings.max_distance)
    write_attribution(out, state.rows)
    return state.totals()


def polite_downloads(settings: DownloadSettings, provider: Provider) -> DownloadSettings:
    """settings with at most the provider's downloads at once from one host, and its minimum
    width checked on every image (a search's metadata may not give one)."""
    per_host = min(settings.per_host, provider.politeness.concurrency)
    min_width = max(settings.min_width, provider.wanted.min_width)
    return replace(settings, per_host=per_host, min_width=min_width)


def _remove_partial_files(out: Path) -> None:
    """What a killed run was writing (imclass.files.atomic_path's hidden .NAME.*.tmp files)."""
    for partial in (*out.glob(".*.tmp"), *out.glob("*/.*.tmp")):
        partial.unlink(missing_ok=True)


def _fetch(downloader: Downloader):
    def fetch(result: SearchResult) -> Image | Rejected:
        try:
            return downloader.fetch_image(result.url)
        except Rejected as error:
            return error

    return fetch


@dataclass
class _State:
    out: Path
    log: ManifestLog
    summary: Summary
    met: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rows = self.log.rows  # by URL, recorded through the log
        self.stored: dict[str, Row] = {}  # the first row of each sha256 met
        for row in self.rows.values():
            if row.sha256:
                self.stored.setdefault(row.sha256, row)

    def fresh(self, results: list[SearchResult]) -> list[SearchResult]:
        """Results whose URL no run has recorded and this run has not met yet."""
        new = [r for r in dict((r.url, r) for r in results).values()]
        new = [r for r in new if r.url not in self.rows and r.url not in self.met]
        self.met.update(r.url for r in new)
        return new

    def record(self, provider: str, query: Query, result: SearchResult, outcome) -> None:
        row = _row(provider, query, result)
        if isinstance(outcome, Rejected):
            row = row.but(status=REJECTED, reason=str(outcome))
        else:
            self.summary.downloaded += 1
            row = self._store(row, query, outcome)
        if row.sha256:
            self.stored.setdefault(row.sha256, row)
        self.log.record(row)  # at once: a kill loses at most this download

    def _store(self, row: Row, query: Query, image: Image) -> Row:
        facts = dict(width=image.width, height=image.height, bytes=len(image.data))
        row = row.but(sha256=image.sha256, **facts)
        holder = self.stored.get(image.sha256)
        if holder is not None:
            return row.but(status=DUPLICATE, reason=f"same bytes as {holder.path or holder.url}")
        path = f"{query.folder}/{image.sha256[:16]}{image.extension}"
        with atomic_path(self.out / path) as temporary:
            temporary.write_bytes(image.data)
        return row.but(path=path, status=KEPT)

    def drop_near_duplicates(self, max_distance: int) -> None:
        """One image of each near-duplicate group stays; the others' files go."""
        kept = {self.out / r.path: r for r in self.rows.values() if r.status == KEPT}
        found = find_duplicates(sorted(kept), max_distance, cache=False, workers=1)
        for group in found.groups:
            keeper = group.keep.relative_to(self.out).as_posix()
            for path in group.redundant:
                reason = f"near duplicate of {keeper}"
                row = kept[path].but(path="", status=DUPLICATE, reason=reason)
                self.rows[row.url] = row
                path.unlink(missing_ok=True)
        self.log.save()

    def totals(self) -> Summary:
        for row in self.rows.values():
            if row.status == REJECTED:
                self.summary.rejected[row.reason] += 1
            elif row.status == DUPLICATE:
                self.summary.duplicates += 1
            else:
                self.summary.kept[row.path.split("/")[0]] += 1
        return self.summary


def _row(provider: str, query: Query, result: SearchResult) -> Row:
    return Row(
        path="",
        provider=provider,
        query=query.text,
        item=query.item,
        attribute=query.attribute,
        url=result.url,
        page_url=result.page_url,
        width=result.width,
        height=result.height,
        bytes=0,
        sha256="",
        licence=result.licence,
        licence_url=result.licence_url,
        creator=result.creator,
        attribution=result.attribution,
        status="",
        reason="",
    )
