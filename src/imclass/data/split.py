"""Splitting images into train and validation sides without losing a class."""

from __future__ import annotations

import numpy as np

from imclass.data.dataset import DataSource, ImageSet
from imclass.errors import DataError


def stratified_split(
    labels, valid_fraction: float, seed: int, classes: tuple[str, ...]
) -> tuple[list[int], list[int]]:
    """Indices (train, valid): each class keeps its share on both sides, within one image."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, valid = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        n_valid = int(round(len(members) * valid_fraction))
        n_valid = min(max(n_valid, 1), len(members) - 1)
        if len(members) < 2:
            raise DataError(
                f"class {classes[label]!r} has {len(members)} image; it needs at least 2 "
                "to appear in both the train and the validation split"
            )
        shuffled = rng.permutation(members)
        valid += shuffled[:n_valid].tolist()
        train += shuffled[n_valid:].tolist()
    return sorted(train), sorted(valid)


def train_valid_sets(
    source: DataSource, valid_fraction: float, seed: int
) -> tuple[ImageSet, ImageSet]:
    """The train and validation images: as given when pre-split, else a stratified split."""
    if source.is_presplit:
        valid = source.splits.get("valid") or source.splits.get("test")
        return source.splits["train"], valid
    images = source.all_images()
    train_idx, valid_idx = stratified_split(images.labels, valid_fraction, seed, source.classes)
    return images.subset(train_idx), images.subset(valid_idx)
