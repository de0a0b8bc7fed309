"""Finding a data set on disk: a folder per class, a pre-split folder, or a label file.

Label files (split files, labels.csv, annotation TSVs, Label Studio exports) are read by
imclass.data.label_files; this module holds what every format produces: a DataSource.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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


def label_ids(label) -> tuple[int, ...]:
    """The class indices of one image's label: (label,) for single-label data."""
    return label if isinstance(label, tuple) else (label,)


def multi_hot(labels, num_classes: int) -> np.ndarray:
    """(N, num_classes) float32 0/1: row i marks the classes of image i (int or tuple labels)."""
    hot = np.zeros((len(labels), num_classes), dtype=np.float32)
    for row, label in enumerate(labels):
        hot[row, list(label_ids(label))] = 1.0
    return hot


@dataclass(frozen=True)
class ImageSet:
    """Image paths with labels into the owning DataSource's classes: an int per image, or for
    multi-label data a tuple of ints per image."""

    paths: tuple[Path, ...]
    labels: tuple

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
    multilabel: bool = False
    notes: tuple[str, ...] = ()  # warnings for the user, e.g. rows skipped with --skip-missing

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


@dataclass(frozen=True)
class LabelOptions:
    """How to read label files: forced multi-label, the label delimiter, skipping missing images."""

    multilabel: bool | None = None
    delimiter: str | None = None
    skip_missing: bool = False


def open_data(path: Path | str, options: LabelOptions | None = None) -> DataSource:
    """Read a data set: a label file, a pre-split folder, or a folder per class."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such file or folder")
    if root.is_file():
        from imclass.data.label_files import read_label_file

        return read_label_file(root, options or LabelOptions())
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
