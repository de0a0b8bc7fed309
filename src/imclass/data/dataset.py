"""Finding a data set on disk: a folder per class, a pre-split folder, or a label file (given,
or alone at the top of a folder); open_images also takes folders with one class or none.

Label files (split files, labels.csv, annotation TSVs, Label Studio exports) are read by
imclass.data.label_files; this module holds what every format produces: a DataSource.
"""

from __future__ import annotations

import os
import stat
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
    notes: tuple[str, ...] = ()  # one warning per skipped row, link or folder, for the user
    data_root: Path | None = None  # where a label file's images must be, if not its folder

    @property
    def name(self) -> str:
        return self.root.stem if self.root.is_file() else self.root.name

    @property
    def folder(self) -> Path:
        """The folder every image is under, as listed: root, or a label file's data root.
        Outputs mirror each image's path relative to it (symlinked class folders included)."""
        if self.data_root is not None:
            return self.data_root
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
    """How to read label files: forced multi-label, the label delimiter, skipping missing images,
    and the folder every listed image must be inside (default: the label file's folder)."""

    multilabel: bool | None = None
    delimiter: str | None = None
    skip_missing: bool = False
    root: Path | str | None = None


def open_data(path: Path | str, options: LabelOptions | None = None) -> DataSource:
    """Read a data set to train or evaluate on: a label file (or a folder holding exactly one),
    a pre-split folder, or a folder per class; at least two classes."""
    root = _existing(path)
    label_file = _label_file(root)
    if label_file is not None:
        from imclass.data.label_files import read_label_file

        return read_label_file(label_file, options or LabelOptions())
    source, loose = _read_folders(root)
    _check_classes(root, source.classes, len(loose))
    return source


def open_images(path: Path | str, options: LabelOptions | None = None) -> DataSource:
    """Any folder of images, for the commands that look at files (info, verify, dedup, downsize):
    also one class or none. Images directly in the folder have no class: label ()."""
    root = _existing(path)
    if _label_file(root) is not None:
        return open_data(root, options)
    source, loose = _read_folders(root)
    if source.is_presplit:
        return source
    found = source.splits["all"]
    if not found and not loose:
        raise DataError(f"{root}: no images found ({' '.join(sorted(IMAGE_EXTENSIONS))} files)")
    images = ImageSet(tuple(loose) + found.paths, ((),) * len(loose) + found.labels)
    return DataSource(root, source.classes, {"all": images}, notes=source.notes)


def _existing(path: Path | str) -> Path:
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such file or folder")
    if not root.is_dir() and not root.is_file():  # reading a FIFO would wait forever
        raise DataError(f"{root}: not a folder or a label file (a device, pipe or socket)")
    return root


def _listing(folder: Path) -> list[Path]:
    """The visible entries of the data set's own folder, sorted; unreadable is an error."""
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as error:
        raise DataError(f"{folder}: cannot read this folder ({error.strerror or error})") from None


def _label_file(root: Path) -> Path | None:
    """root itself when a file, else the one label file at the top of the folder, if any."""
    if root.is_file():
        return root
    from imclass.data.label_files import is_label_file

    found = [p for p in _listing(root) if is_label_file(p)]
    if len(found) > 1:
        raise DataError(
            f"{root}: {len(found)} label files ({', '.join(p.name for p in found)}); "
            "give one of them as DATA"
        )
    return found[0] if found else None


class FolderWalk:
    """One pass over a data set's folders: links to folders are followed, but each real folder
    is read once (a loop such as `loop -> .`, or a second link to a folder, is skipped);
    dangling links and unreadable folders are skipped too, and every skip is noted."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._read: dict[tuple[int, int], Path] = {}

    def entries(self, folder: Path) -> dict[Path, str] | None:
        """folder's visible entries and their kinds ('folder', 'file', 'other'); None when it
        was read already or cannot be read (noted)."""
        try:
            info = folder.stat()
            first = self._read.setdefault((info.st_dev, info.st_ino), folder)
            if first != folder:
                self.notes.append(
                    f"{folder}: the same folder as {first} (a link loop or a second link to it); "
                    "read once, skipped here"
                )
                return None
            listed = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        except OSError as error:
            self.notes.append(f"{folder}: unreadable folder ({error.strerror or error}); skipped")
            return None
        kinds = {path: self._kind(path) for path in listed}
        return {path: kind for path, kind in kinds.items() if kind is not None}

    def _kind(self, path: Path) -> str | None:
        try:
            mode = path.stat().st_mode
        except OSError as error:
            target = f" to {os.readlink(path)}" if path.is_symlink() else ""
            self.notes.append(f"{path}: broken link{target} ({error.strerror or error}); skipped")
            return None
        if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
            return "folder" if stat.S_ISDIR(mode) else "file"
        if is_image_file(path):  # a FIFO or device named like an image would hang a reader
            self.notes.append(f"{path}: not a regular file; skipped")
        return "other"

    def images(self, folder: Path) -> list[Path]:
        """The image files below folder, in any depth, as listed (links not resolved)."""
        found, pending = [], [folder]
        while pending:
            entries = self.entries(pending.pop()) or {}
            found += [p for p, kind in entries.items() if kind == "file" and is_image_file(p)]
            pending += _links_first([p for p, kind in entries.items() if kind == "folder"])
        return sorted(found)


def _links_first(folders: list[Path]) -> list[Path]:
    """Folders in reverse reading order: real folders are read before links that lead to them."""
    return sorted(folders, key=lambda p: (not p.is_symlink(), p.name), reverse=True)


def _read_folders(root: Path) -> tuple[DataSource, list[Path]]:
    """A pre-split folder or a folder per class, and the images loose at the top."""
    walk = FolderWalk()
    top = walk.entries(root)
    if top is None:
        raise DataError(f"{root}: cannot read this folder; {walk.notes[-1]}")
    loose = [p for p, kind in top.items() if kind == "file" and is_image_file(p)]
    split_dirs = _split_folders(root, top)
    if split_dirs:
        scanned = {}
        for split, folder in split_dirs.items():
            scanned[split] = _scan_class_folders(walk, walk.entries(folder) or {})
        classes = tuple(sorted(set().union(*scanned.values())))
        splits = {split: _to_imageset(by_class, classes) for split, by_class in scanned.items()}
    else:
        by_class = _scan_class_folders(walk, top)
        classes = tuple(sorted(by_class))
        splits = {"all": _to_imageset(by_class, classes)}
    return DataSource(root, classes, splits, notes=tuple(walk.notes)), loose


def _split_folders(root: Path, top: dict[Path, str]) -> dict[str, Path]:
    found = {}
    for child in (p for p, kind in top.items() if kind == "folder"):
        split = SPLIT_FOLDERS.get(child.name.lower())
        if split and split not in found:
            found[split] = child
    if "train" not in found:
        return {}
    _reject_misspelt_splits(root, [p for p, kind in top.items() if kind == "folder"])
    return found if len(found) > 1 else {}


def _reject_misspelt_splits(root: Path, folders: list[Path]) -> None:
    """Beside train/, a folder of class folders named almost like a split is a typo, not a
    class: 'vaild' would otherwise train a classifier of 'train' against 'vaild'."""
    others = [name for name in SPLIT_FOLDERS if SPLIT_FOLDERS[name] != "train"]
    for child in folders:
        suggestion = did_you_mean(child.name.lower(), others)
        if suggestion and child.name.lower() not in SPLIT_FOLDERS and _holds_folders(child):
            raise DataError(
                f"{root}: folder {child.name!r} beside 'train' is not a split; expected "
                f"{SPLIT_NAMES}.{suggestion}"
            )


def _holds_folders(folder: Path) -> bool:
    try:
        return any(p.is_dir() and not p.name.startswith(".") for p in folder.iterdir())
    except OSError:  # unreadable: noted when the folder is read as a class
        return False


def _scan_class_folders(walk: FolderWalk, entries: dict[Path, str]) -> dict[str, list[Path]]:
    """Class name -> its image files, found recursively; hidden files and folders are skipped.
    Real folders are read before links, so a link to a class folder is the copy skipped."""
    folders = [p for p, kind in entries.items() if kind == "folder"]
    by_class: dict[str, list[Path]] = {}
    for folder in sorted(folders, key=lambda p: (p.is_symlink(), p.name)):
        files = walk.images(folder)
        if files:
            by_class[folder.name] = files
    return dict(sorted(by_class.items()))


def _check_classes(root: Path, classes: tuple[str, ...], loose: int) -> None:
    if not classes and loose:
        raise DataError(
            f"{root}: {loose} images but no class folders; a classifier needs one folder "
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
