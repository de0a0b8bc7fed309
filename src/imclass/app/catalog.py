"""The images the app shows: every image file under the data folder (flat, one folder per
class, or the folder of a label file), named by its path relative to that folder, and the
labels the data already gives them (class folders or a label file)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

from imclass.data.dataset import LabelOptions, label_ids, open_data, open_images
from imclass.data.images import is_image_file
from imclass.errors import DataError


@dataclass(frozen=True)
class Catalog:
    """root: the folder images are named relative to; images: their names, sorted; initial:
    the classes the data gives some of them; multilabel: whether the data has several."""

    root: Path
    images: tuple[str, ...]
    initial: dict[str, tuple[str, ...]]
    classes: tuple[str, ...]
    multilabel: bool

    @cached_property
    def image_set(self) -> frozenset[str]:
        return frozenset(self.images)

    def file(self, name: str) -> Path | None:
        """The image file name stands for, only if it lies inside root, by its written path and
        with links resolved; None for '..', absolute paths, links out, and non-images."""
        return file_inside(self.root, name)


def read_catalog(data: Path, *, labels_file: Path) -> Catalog:
    """The images of data (a folder or a label file). When labels_file already exists it holds
    the labels, and the data's own are not read."""
    data = Path(data).expanduser()
    if not data.exists():
        raise DataError(f"{data}: no such file or folder")
    root = (data.parent if data.is_file() else data).resolve()
    images = tuple(list_images(root))
    if not images:
        raise DataError(f"{root}: no images found below this folder")
    if labels_file.exists():
        return Catalog(root, images, {}, (), False)
    source = (open_data if data.is_file() else open_images)(data, LabelOptions())
    initial = {}
    everything = source.all_images()
    for path, label in zip(everything.paths, everything.labels, strict=True):
        name = _relative(root, path)
        if name is not None and label_ids(label):
            initial[name] = tuple(source.classes[i] for i in label_ids(label))
    return Catalog(root, images, initial, source.classes, source.multilabel)


def list_images(root: Path) -> list[str]:
    """Image files below root (hidden names skipped, links followed once, only those that stay
    inside root), as sorted POSIX paths relative to root."""
    found, seen = [], set()
    for folder, folders, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen or not Path(real).is_relative_to(root):
            folders.clear()
            continue
        seen.add(real)
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        for name in files:
            path = Path(folder) / name
            if not name.startswith(".") and is_image_file(path) and _stays_inside(root, path):
                found.append(path.relative_to(root).as_posix())
    return sorted(found)


def file_inside(root: Path, name: str) -> Path | None:
    """root/name if it is an image file inside root (see Catalog.file), else None."""
    if not name or "\x00" in name:
        return None
    written = PurePosixPath(name)
    if written.is_absolute() or any(part in ("..", ".") for part in name.split("/")):
        return None
    path = root / written
    if not is_image_file(path) or not _stays_inside(root, path) or not path.is_file():
        return None
    return path


def _stays_inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop
        return False


def _relative(root: Path, path: Path) -> str | None:
    path = Path(os.path.abspath(path))
    if not path.is_relative_to(root):
        path = path.resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else None
