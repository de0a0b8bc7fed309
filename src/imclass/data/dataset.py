"""Finding a data set on disk: a folder per class, a pre-split folder, or a label file (given,
or alone at the top of a folder); open_images also takes folders with one class or none.

Label files (split files, labels.csv, annotation TSVs, Label Studio exports) are read by
imclass.data.label_files; this module holds what every format produces: a DataSource.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imclass.data.images import IMAGE_EXTENSIONS, is_image_file
from imclass.errors import DataError, did_you_mean

# Folder names of a pre-split layout, and the split each one means.
SPLIT_FOLDERS = {
    "train": "train",
    "val": "valid",
    "valid": "valid",
    "validation": "valid",
    "test": "test",
}
SPLIT_NAMES = "train, valid (or val, validation) or test"


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
    multi-label data a tuple of ints per image; () for an image with no class (open_images)."""

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
    def folder(self) -> Path:
        """The folder the images are under: root, or the folder of a label file."""
        return self.root.parent if self.root.is_file() else self.root

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
    """Read a data set to train or evaluate on: a label file (or a folder holding exactly one),
    a pre-split folder, or a folder per class; at least two classes."""
    root = _existing(path)
    label_file = _label_file(root)
    if label_file is not None:
        from imclass.data.label_files import read_label_file

        return read_label_file(label_file, options or LabelOptions())
    split_dirs = _split_folders(root)
    if split_dirs:
        source = _read_presplit(root, split_dirs)
    else:
        by_class = _scan_class_folders(root)
        classes = tuple(sorted(by_class))
        source = DataSource(root, classes, {"all": _to_imageset(by_class, classes)})
    _check_classes(root, source.classes)
    return source


def open_images(path: Path | str, options: LabelOptions | None = None) -> DataSource:
    """Any folder of images, for the commands that look at files (info, verify, dedup, downsize):
    also one class or none. Images directly in the folder have no class: label ()."""
    root = _existing(path)
    if _label_file(root) is not None:
        return open_data(root, options)
    split_dirs = _split_folders(root)
    if split_dirs:
        return _read_presplit(root, split_dirs)
    by_class = _scan_class_folders(root)
    loose = _loose_images(root)
    if not by_class and not loose:
        raise DataError(f"{root}: no images found ({' '.join(sorted(IMAGE_EXTENSIONS))} files)")
    classes = tuple(sorted(by_class))
    found = _to_imageset(by_class, classes)
    images = ImageSet(tuple(loose) + found.paths, ((),) * len(loose) + found.labels)
    return DataSource(root, classes, {"all": images})


def _existing(path: Path | str) -> Path:
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such file or folder")
    return root


def _label_file(root: Path) -> Path | None:
    """root itself when a file, else the one label file at the top of the folder, if any."""
    if root.is_file():
        return root
    from imclass.data.label_files import is_label_file

    found = sorted(p for p in root.iterdir() if not p.name.startswith(".") and is_label_file(p))
    if len(found) > 1:
        raise DataError(
            f"{root}: {len(found)} label files ({', '.join(p.name for p in found)}); "
            "give one of them as DATA"
        )
    return found[0] if found else None


def _split_folders(root: Path) -> dict[str, Path]:
    found = {}
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        split = SPLIT_FOLDERS.get(child.name.lower())
        if split and split not in found:
            found[split] = child
    if "train" not in found:
        return {}
    _reject_misspelt_splits(root)
    return found if len(found) > 1 else {}


def _reject_misspelt_splits(root: Path) -> None:
    """Beside train/, a folder of class folders named almost like a split is a typo, not a
    class: 'vaild' would otherwise train a classifier of 'train' against 'vaild'."""
    others = [name for name in SPLIT_FOLDERS if SPLIT_FOLDERS[name] != "train"]
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        suggestion = did_you_mean(child.name.lower(), others)
        if suggestion and child.name.lower() not in SPLIT_FOLDERS and _holds_folders(child):
            raise DataError(
                f"{root}: folder {child.name!r} beside 'train' is not a split; expected "
                f"{SPLIT_NAMES}.{suggestion}"
            )


def _holds_folders(folder: Path) -> bool:
    return any(p.is_dir() and not p.name.startswith(".") for p in folder.iterdir())


def _read_presplit(root: Path, split_dirs: dict[str, Path]) -> DataSource:
    scanned = {split: _scan_class_folders(folder) for split, folder in split_dirs.items()}
    classes = tuple(sorted(set().union(*scanned.values())))
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


def _loose_images(root: Path) -> list[Path]:
    """Image files directly in root (not in a class folder), hidden ones skipped."""
    return sorted(
        p for p in root.iterdir() if p.is_file() and is_image_file(p) and not p.name.startswith(".")
    )


def _check_classes(root: Path, classes: tuple[str, ...]) -> None:
    loose = _loose_images(root)
    if not classes and loose:
        raise DataError(
            f"{root}: {len(loose)} images but no class folders; a classifier needs one folder "
            "per class (at least two)"
        )
    if not classes:
        extensions = " ".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(
            f"{root}: no images found; expected one folder per class holding {extensions} files"
        )
    if len(classes) == 1:
        raise DataError(
            f"{root}: only one class ({classes[0]!r}); "
            "a classifier needs at least two class folders"
        )


def _to_imageset(by_class: dict[str, list[Path]], classes: tuple[str, ...]) -> ImageSet:
    index = {name: i for i, name in enumerate(classes)}
    pairs = [(path, index[name]) for name, files in by_class.items() for path in files]
    return ImageSet(tuple(p for p, _ in pairs), tuple(label for _, label in pairs))
