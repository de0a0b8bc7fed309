"""OUT/manifest.csv, one row per image URL with its source, licence and fate (kept, duplicate,
rejected and why), and OUT/ATTRIBUTION.md made from it. Its only reader and writer; `imclass
info` and the app's grid read the kept images' sources through read_sources."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from imclass.errors import DataError
from imclass.files import write_text

MANIFEST = "manifest.csv"
JOURNAL = ".manifest.journal"  # rows recorded since manifest.csv was last rewritten
ATTRIBUTION = "ATTRIBUTION.md"
KEPT, DUPLICATE, REJECTED = "kept", "duplicate", "rejected"


@dataclass(frozen=True)
class Row:
    path: str  # relative to OUT; empty when nothing was stored
    provider: str
    query: str
    item: str
    attribute: str
    url: str
    page_url: str
    width: int
    height: int
    bytes: int
    sha256: str
    licence: str
    licence_url: str
    creator: str
    attribution: str
    status: str
    reason: str  # why rejected; for a duplicate, "same bytes as P" or "near duplicate of P"

    def but(self, **changes) -> Row:
        return replace(self, **changes)


COLUMNS = [f.name for f in fields(Row)]


def read_manifest(out: Path) -> dict[str, Row]:
    """The rows of OUT/manifest.csv by URL, then those its journal recorded since; {} when
    there are none yet."""
    path = out / MANIFEST
    if not path.exists():
        return {row.url: row for row in _journal_rows(out)}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != COLUMNS:
            raise DataError(f"{path}: not a manifest imclass collect wrote (columns differ)")
        try:
            rows = [_row(r) for r in reader]
        except (TypeError, ValueError):
            raise DataError(
                f"{path}: line {reader.line_num} is not a row imclass collect wrote; "
                "correct or remove it"
            ) from None
    return {row.url: row for row in (*rows, *_journal_rows(out))}


def _journal_rows(out: Path) -> list[Row]:
    """The journal's complete lines (a killed run's last line may be cut short: dropped)."""
    path = out / JOURNAL
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    complete = text[: text.rfind("\n") + 1]
    try:
        return [Row(**json.loads(line)) for line in complete.splitlines() if line]
    except (TypeError, ValueError):
        raise DataError(f"{path}: not a journal imclass collect wrote; remove it") from None


def read_sources(folder: Path) -> dict[str, Row]:
    """The rows of folder/manifest.csv's kept images whose files are still there, by their path
    relative to folder; {} when folder has no manifest. Its text came from the internet: show
    it as text, never as markup."""
    rows = read_manifest(folder).values()
    return {r.path: r for r in rows if r.status == KEPT and r.path and (folder / r.path).is_file()}


@dataclass(frozen=True)
class Provenance:
    """Where a data set's collected images came from: how many by provider and by licence."""

    images: int
    providers: Counter
    licences: Counter  # only the images with a licence recorded
    unlicensed: int


def summarize_sources(rows: Iterable[Row]) -> Provenance:
    rows = list(rows)
    licences = Counter(r.licence for r in rows if r.licence)
    unlicensed = sum(1 for r in rows if not r.licence)
    return Provenance(len(rows), Counter(r.provider for r in rows), licences, unlicensed)


def _row(raw: dict) -> Row:
    ints = {"width", "height", "bytes"}
    return Row(**{k: int(v or 0) if k in ints else v for k, v in raw.items()})


def write_manifest(out: Path, rows: dict[str, Row]) -> None:
    """Atomically, in the order the URLs were met; the journal it holds is then dropped."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(row) for row in rows.values())
    write_text(out / MANIFEST, buffer.getvalue())
    (out / JOURNAL).unlink(missing_ok=True)


class ManifestLog:
    """Records each row the moment it is known, as one JSON line appended to
    OUT/.manifest.journal and handed to the OS (what a killed process keeps: read_manifest
    replays it; not fsynced, 6 ms a row, so a power cut may cost the last rows, whose images
    the next run then fetches again), and folds the journal
    into manifest.csv once it holds a quarter as many rows as the manifest (at least 200):
    rewriting the whole manifest after every image made a 50,000-image collect quadratic."""

    def __init__(self, out: Path, rows: dict[str, Row]):
        """rows: read_manifest(out)'s, a killed run's journal included, which is folded in at
        once (new lines must not follow a line the kill cut short)."""
        self.out, self.rows, self.pending = out, rows, 0
        if (out / JOURNAL).exists():
            self.save()

    def record(self, row: Row) -> None:
        self.rows[row.url] = row
        with (self.out / JOURNAL).open("a", encoding="utf-8") as journal:
            journal.write(json.dumps(asdict(row)) + "\n")
        self.pending += 1
        if self.pending >= max(200, len(self.rows) // 4):
            self.save()

    def save(self) -> None:
        write_manifest(self.out, self.rows)
        self.pending = 0


def write_attribution(out: Path, rows: dict[str, Row]) -> None:
    """ATTRIBUTION.md: every kept image with its creator, licence and source page."""
    kept = sorted((r for r in rows.values() if r.status == KEPT), key=lambda r: r.path)
    lines = [
        "# Attribution",
        "",
        "The images in this folder remain their creators' works, under the licences below.",
        "",
    ]
    for row in kept:
        licence = (
            f"[{row.licence or 'licence unknown'}]({row.licence_url})"
            if row.licence_url
            else (row.licence or "licence unknown")
        )
        source = row.page_url or row.url
        credit = row.attribution or f"by {row.creator or 'unknown creator'}"
        lines.append(f"- `{row.path}`: {credit}; {licence}; <{source}>")
    write_text(out / ATTRIBUTION, "\n".join(lines) + "\n")
