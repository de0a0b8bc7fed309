"""Writing a data set in another layout: a folder per class, or labels.csv beside images/.

Images are hard-linked where possible, else copied; never moved. File names that would
collide get their parent folder's name in front (`can__1.jpg`). Every destination is checked
before the first image is linked, so a refusal leaves nothing half written.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from imclass.data.dataset import DataSource, label_ids
from imclass.data.relocate import check_destinations, link_or_copy
from imclass.errors import DataError
from imclass.files import write_text

FORMATS = ("folders", "csv")


def convert(source: DataSource, to: str, out: Path, delimiter: str = " ") -> dict[str, int]:
    """Write source as `to` under out; returns how many files were linked and copied."""
    if to == "folders":
        return _to_folders(source, out)
    if to == "csv":
        return _to_csv(source, out, delimiter)
    raise DataError(f"unknown target layout {to!r}; choose one of {', '.join(FORMATS)}")


def _to_folders(source: DataSource, out: Path) -> dict[str, int]:
    if source.multilabel:
        raise DataError(
            f"{source.root}: multi-label data cannot be a folder per class; use --to csv"
        )
    for name in source.classes:
        _check_folder_name(source.root, name)
    images = source.all_images()
    names = _unique_names(images.paths)
    targets = {
        path: out / source.classes[label] / names[path]
        for path, label in zip(images.paths, images.labels, strict=True)
    }
    return _link_all(targets)


def _check_folder_name(root: Path, name: str) -> None:
    """A class from a label file becomes one folder inside out: never '..', a path or a name
    the file system refuses (a class '../x' would have linked images outside out)."""
    if name in (".", "..") or "/" in name or os.sep in name or "\0" in name:
        raise DataError(
            f"{root}: class {name!r} cannot be a folder name (a path, '.', '..' or a NUL "
            "character); rename the class or use --to csv"
        )


def _to_csv(source: DataSource, out: Path, delimiter: str) -> dict[str, int]:
    clashing = [c for c in source.classes if delimiter in c]
    if clashing:
        raise DataError(
            f"class {clashing[0]!r} contains the label delimiter {delimiter!r}; "
            "choose another with --label-delimiter"
        )
    images = source.all_images()
    names = _unique_names(images.paths)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["filename", "labels"])
    for path, label in zip(images.paths, images.labels, strict=True):
        writer.writerow([names[path], delimiter.join(source.classes[i] for i in label_ids(label))])
    ways = _link_all({path: out / "images" / names[path] for path in images.paths})
    write_text(out / "labels.csv", buffer.getvalue())
    return ways


def _link_all(targets: dict[Path, Path]) -> dict[str, int]:
    """Check every destination, then link (or copy) each image; how many of each."""
    check_destinations(targets)
    ways = {"link": 0, "copy": 0}
    for path, target in targets.items():
        ways[link_or_copy(path, target)] += 1
    return ways


def _unique_names(paths) -> dict[Path, str]:
    """Each file's name, with its folder's name in front where names repeat."""
    counts: dict[str, int] = {}
    for path in paths:
        counts[path.name] = counts.get(path.name, 0) + 1
    names = {p: p.name if counts[p.name] == 1 else f"{p.parent.name}__{p.name}" for p in paths}
    if len(set(names.values())) != len(names):
        raise DataError("file names repeat even with their folder names; rename them first")
    return names
