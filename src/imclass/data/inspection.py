"""Looking at a data set before training: what is in it, what is wrong with it, what to do.

`describe_data` reads only image headers (fast); `verify_images` decodes every image fully.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imclass.data.dataset import DataSource, label_ids
from imclass.data.dedup import Duplicates, find_duplicates
from imclass.data.images import (
    EXTENSION_FORMATS,
    UnreadableImage,
    failure_reason,
    load_rgb,
    open_image,
)
from imclass.data.workers import parallel_map

LARGE_PIXELS = 4_000_000  # above 4 MP decoding dominates training: downsize
FEW_IMAGES = 20  # below this a class is too small; ~100 per class usually works


@dataclass(frozen=True)
class Header:
    format: str
    width: int
    height: int
    bytes: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass
class DataSummary:
    """Everything `imclass info` reports, as data."""

    root: Path
    class_counts: dict[str, dict[str, int]]  # class -> split -> count
    headers: dict[Path, Header]
    unreadable: dict[Path, str]
    suspicious: dict[Path, str]
    duplicates: Duplicates = field(default_factory=Duplicates)
    unlabelled: int = 0  # images with no class: loose in a folder read by open_images
    skipped: tuple[str, ...] = ()  # the data set's notes: links, folders and rows not read

    @property
    def classified(self) -> bool:
        """Whether there are classes to compare: two or more."""
        return len(self.class_counts) >= 2

    @property
    def totals(self) -> dict[str, int]:
        return {c: sum(splits.values()) for c, splits in self.class_counts.items()}

    @property
    def imbalance_ratio(self) -> float | None:
        """Largest class / smallest class; None with fewer than two classes."""
        if not self.classified:
            return None
        counts = self.totals.values()
        return max(counts) / max(min(counts), 1)

    @property
    def large(self) -> list[Path]:
        return [p for p, h in self.headers.items() if h.pixels > LARGE_PIXELS]

    def megapixels(self) -> tuple[float, float, float]:
        values = [h.pixels / 1e6 for h in self.headers.values()] or [0.0]
        return min(values), statistics.median(values), max(values)

    def formats(self) -> Counter:
        return Counter(h.format for h in self.headers.values())

    @property
    def bytes(self) -> int:
        return sum(h.bytes for h in self.headers.values())

    def problems(self) -> list[dict]:
        """One row per unreadable or suspicious image: path, problem, reason."""
        rows = [
            {"path": str(p), "problem": "unreadable", "reason": r}
            for p, r in self.unreadable.items()
        ]
        return rows + [
            {"path": str(p), "problem": "suspicious", "reason": r}
            for p, r in self.suspicious.items()
        ]

    def report(self) -> dict:
        """`imclass info --report`'s figures (its rows are problems())."""
        return {
            "classes": self.class_counts,
            "unlabelled": self.unlabelled,
            "imbalance_ratio": self.imbalance_ratio,
            "megapixels": dict(zip(("min", "median", "max"), self.megapixels(), strict=True)),
            "above_4mp": len(self.large),
            "formats": dict(self.formats()),
            "bytes": self.bytes,
            "duplicate_groups": len(self.duplicates.groups),
            "leaking_groups": len(self.duplicates.leaking),
            "skipped": list(self.skipped),
            "advice": advice(self),
        }


def read_header(path: Path) -> Header | str:
    """The header facts of one file, or the reason it cannot be opened, in verify's words
    (images.failure_reason); an image above the bomb limit is refused by both."""
    try:
        with open_image(path) as image:
            return Header(image.format or "?", *image.size, path.stat().st_size)
    except Exception as error:  # noqa: BLE001 - any failure is this file's reason
        return failure_reason(error)


def split_of(source: DataSource) -> dict[Path, str]:
    return {p: split for split, images in source.splits.items() for p in images.paths}


def describe_data(
    source: DataSource, *, workers: int | None = None, advance: Callable[[int], None] | None = None
) -> DataSummary:
    images = source.all_images()
    results = dict(
        zip(
            images.paths,
            parallel_map(
                read_header, list(images.paths), workers=workers, chunksize=32, advance=advance
            ),
            strict=True,
        )
    )
    headers = {p: r for p, r in results.items() if isinstance(r, Header)}
    unreadable = {p: r for p, r in results.items() if isinstance(r, str)}
    counts: dict[str, dict[str, int]] = {c: {} for c in source.classes}
    for split, split_images in source.splits.items():
        for label, n in Counter(c for lab in split_images.labels for c in label_ids(lab)).items():
            counts[source.classes[label]][split] = n
    labels = dict(zip(images.paths, images.labels, strict=True))
    first_class = {p: _first_class(labels[p], source.classes) for p in headers}
    suspicious = find_suspicious(headers, first_class)
    duplicates = find_duplicates(list(headers), 0, split_of=split_of(source), workers=workers)
    unlabelled = sum(1 for label in images.labels if not label_ids(label))
    return DataSummary(
        source.root, counts, headers, unreadable, suspicious, duplicates, unlabelled, source.notes
    )


def _first_class(label, classes) -> str | None:
    ids = label_ids(label)
    return classes[ids[0]] if ids else None


def find_suspicious(
    headers: dict[Path, Header], class_of: dict[Path, str | None]
) -> dict[Path, str]:
    """Files that are probably not photos of their class (None: of the images without one):
    misnamed, or an odd format out."""
    found = {}
    for path, header in headers.items():
        expected = EXTENSION_FORMATS.get(path.suffix.lower())
        if expected and header.format != expected:
            found[path] = f"content is {header.format} but the name says {path.suffix}"
    by_class: dict[str | None, list[Path]] = {}
    for path, name in class_of.items():
        by_class.setdefault(name, []).append(path)
    for name, paths in by_class.items():
        formats = Counter(headers[p].format for p in paths)
        common, common_n = formats.most_common(1)[0]
        for path in paths:
            fmt = headers[path].format
            if fmt != common and formats[fmt] <= max(2, len(paths) // 50) and common_n >= 10:
                among = f"of class {name!r}" if name is not None else "without a class"
                found.setdefault(
                    path,
                    f"the only {fmt} among {common_n} {common} files {among} "
                    "(a placeholder saved by a scraper?)",
                )
    return found


def advice(summary: DataSummary) -> list[str]:
    """Concrete next steps, most useful first."""
    lines = []
    root = summary.root
    leaks = summary.duplicates.leaking
    if leaks:
        lines.append(
            f"{len(leaks)} duplicate group(s) span train and val/test: "
            f"`imclass dedup {root}` lists them; accuracy is inflated until removed"
        )
    if summary.unreadable:
        lines.append(
            f"{len(summary.unreadable)} unreadable file(s): "
            f"`imclass verify {root} --quarantine DIR` moves them aside"
        )
    if summary.suspicious:
        lines.append(f"{len(summary.suspicious)} suspicious file(s), listed above: look at them")
    if summary.large:
        lines.append(
            f"{len(summary.large)} images above 4 MP: `imclass downsize {root} "
            f"{root}-4mp` (decoding them dominates training time)"
        )
    lines += _class_advice(summary) if summary.classified else []
    redundant = len(summary.duplicates.redundant)
    if redundant and not leaks:
        lines.append(
            f"{redundant} exact duplicate file(s): `imclass dedup {root} --action clean "
            f"--to DIR` writes a copy without them"
        )
    return lines


def _class_advice(summary: DataSummary) -> list[str]:
    """Small and imbalanced classes: only where there are classes to train on."""
    lines = []
    for name, count in summary.totals.items():
        if count < FEW_IMAGES:
            lines.append(f"class {name!r} has {count} images — about 100 per class usually works")
    if summary.imbalance_ratio > 3:
        lines.append(
            f"classes are imbalanced ({summary.imbalance_ratio:.1f}x between largest "
            "and smallest): collect more of the small ones, or watch balanced accuracy"
        )
    return lines


def _check(path: str) -> str | None:
    try:
        load_rgb(path)
    except UnreadableImage as error:
        return error.reason
    return None


def verify_images(
    paths: list[Path], *, workers: int | None = None, advance: Callable[[int], None] | None = None
) -> dict[Path, str]:
    """Decode every image fully; {path: reason} for each that fails."""
    reasons = parallel_map(_check, [str(p) for p in paths], workers=workers, advance=advance)
    return {p: r for p, r in zip(paths, reasons, strict=True) if r is not None}
