"""Finding a data set on disk: a folder per class, a pre-split folder, or a split file."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from imclass.data.images import IMAGE_EXTENSIONS, is_image_file
from imclass.errors import DataError

# Folder names of a pre-split layout, and the split each one means.
SPLIT_FOLDERS = {
    "train": "train",
    "val": "valid",
    "valid": "valid",
    "validation": "valid",
    "test": "test",
}


@dataclass(frozen=True)
class ImageSet:
    """Image paths with integer labels into the owning DataSource's classes."""

    paths: tuple[Path, ...]
    labels: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, indices) -> ImageSet:
        return ImageSet(
            tuple(self.paths[i] for i in indices), tuple(self.labels[i] for i in indices)
        )

    def without(self, bad: set[Path]) -> ImageSet:
        keep = [i for i, path in enumerate(self.paths) if path not in bad]
        return self.subset(keep)


@dataclass(frozen=True)
class DataSource:
    """A data set: its class names and its images, either as 'all' or already split."""

    root: Path
    classes: tuple[str, ...]
    splits: dict[str, ImageSet] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.root.stem if self.root.is_file() else self.root.name

    @property
    def is_presplit(self) -> bool:
        return "train" in self.splits

    def all_images(self) -> ImageSet:
        paths, labels = [], []
        for images in self.splits.values():
            paths += images.paths
            labels += images.labels
        return ImageSet(tuple(paths), tuple(labels))


def open_data(path: Path | str) -> DataSource:
    """Read a data set: a split file (.csv/.tsv), a pre-split folder, or a folder per class."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such file or folder")
    if root.is_file():
        return read_split_file(root)
    split_dirs = _split_folders(root)
    if split_dirs:
        return _read_presplit(root, split_dirs)
    by_class = _scan_class_folders(root)
    _check_classes(root, by_class)
    classes = tuple(sorted(by_class))
    return DataSource(root, classes, {"all": _to_imageset(by_class, classes)})


def _split_folders(root: Path) -> dict[str, Path]:
    found = {}
    for child in sorted(root.iterdir()):
        split = SPLIT_FOLDERS.get(child.name.lower())
        if child.is_dir() and split and split not in found:
            found[split] = child
    return found if "train" in found and len(found) > 1 else {}


def _read_presplit(root: Path, split_dirs: dict[str, Path]) -> DataSource:
    scanned = {split: _scan_class_folders(folder) for split, folder in split_dirs.items()}
    classes = tuple(sorted(set().union(*scanned.values())))
    _check_classes(root, {c: [p for s in scanned.values() for p in s.get(c, [])] for c in classes})
    splits = {split: _to_imageset(by_class, classes) for split, by_class in scanned.items()}
    return DataSource(root, classes, splits)


def _scan_class_folders(root: Path) -> dict[str, list[Path]]:
    """Class name -> its image files, found recursively; hidden files and folders are skipped."""
    by_class: dict[str, list[Path]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(
            p
            for p in folder.rglob("*")
            if p.is_file()
            and is_image_file(p)
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )
        if files:
            by_class[folder.name] = files
    return by_class


def _check_classes(root: Path, by_class: dict[str, list[Path]]) -> None:
    if not by_class:
        extensions = " ".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(
            f"{root}: no images found; expected one folder per class holding {extensions} files"
        )
    if len(by_class) == 1:
        only = next(iter(by_class))
        raise DataError(
            f"{root}: only one class ({only!r}); a classifier needs at least two class folders"
        )


def _to_imageset(by_class: dict[str, list[Path]], classes: tuple[str, ...]) -> ImageSet:
    index = {name: i for i, name in enumerate(classes)}
    pairs = [(path, index[name]) for name, files in by_class.items() for path in files]
    return ImageSet(tuple(p for p, _ in pairs), tuple(label for _, label in pairs))


def read_split_file(path: Path) -> DataSource:
    """A CSV/TSV with columns path,label[,split]; relative paths are against the file's folder."""
    rows = _read_rows(path)
    classes = tuple(sorted({label for _, label, _ in rows}))
    if len(classes) < 2:
        raise DataError(f"{path}: only {len(classes)} class(es); a classifier needs at least two")
    index = {name: i for i, name in enumerate(classes)}
    grouped: dict[str, list[tuple[Path, int]]] = {}
    for image, label, split in rows:
        grouped.setdefault(split, []).append((image, index[label]))
    splits = {
        split: ImageSet(tuple(p for p, _ in pairs), tuple(lab for _, lab in pairs))
        for split, pairs in grouped.items()
    }
    return DataSource(path, classes, splits)


def _read_rows(path: Path) -> list[tuple[Path, str, str]]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            missing = {"path", "label"} - set(reader.fieldnames or ())
            if missing:
                raise DataError(f"{path}: line 1: missing column(s) {', '.join(sorted(missing))}")
            rows = [_parse_row(path, line, row) for line, row in enumerate(reader, start=2)]
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error.reason})") from None
    if not rows:
        raise DataError(f"{path}: no rows")
    counts = Counter(r[0] for r in rows)
    duplicated = [p for p, n in counts.items() if n > 1]
    if duplicated:
        raise DataError(f"{path}: {duplicated[0]} is listed {counts[duplicated[0]]} times")
    return rows


def _parse_row(path: Path, line: int, row: dict) -> tuple[Path, str, str]:
    image, label = (row.get("path") or "").strip(), (row.get("label") or "").strip()
    if not image or not label:
        raise DataError(f"{path}: line {line}: empty path or label")
    split = SPLIT_FOLDERS.get((row.get("split") or "all").strip().lower(), "all")
    full = Path(image) if Path(image).is_absolute() else path.parent / image
    if not full.is_file():
        raise DataError(f"{path}: line {line}: {image} does not exist (looked for {full})")
    return full, label, split
