"""Splitting images into train / validation / test without leaks and without losing a class."""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imclass.data.dataset import DataSource, ImageSet, label_ids, multi_hot
from imclass.errors import DataError, invalid_parameter
from imclass.files import write_text


def train_valid_sets(
    source: DataSource, valid_fraction: float, seed: int
) -> tuple[ImageSet, ImageSet]:
    """The train and validation images: as given when pre-split, else a stratified split of
    train (when there are train but no valid images) or of all images.

    Test images are never used for validation: they are held out for `imclass evaluate`, and
    a figure measured on the images that chose the epoch or temperature is not accuracy."""
    if source.is_presplit:
        valid = source.splits.get("valid")
        if valid:
            return source.splits["train"], valid
        images = source.splits["train"]
    elif "all" in source.splits:
        images = source.splits["all"]
    else:
        raise DataError(
            f"{source.root}: no train rows (only {' and '.join(sorted(source.splits))}); "
            "mark the images to train on 'train'"
        )
    plan = plan_split(images, source.classes, valid=valid_fraction, seed=seed)
    return plan.side("train"), plan.side("valid")


# ---- split files: stratified, random or grouped, written once and reused -------------------

FRAME_NUMBER = re.compile(r"^(.*?)[_\-. ]*\d+$")
STRATEGIES = ("stratified", "random", "group")


def group_by_name(path: Path) -> str:
    """The file name without its trailing frame number: clip7_000123.jpg -> clip7."""
    match = FRAME_NUMBER.match(path.stem)
    return match.group(1) if match and match.group(1) else path.stem


def group_by_folder(path: Path) -> str:
    return str(path.parent)


def group_by_pattern(pattern: str):
    """A group function taking the first capture of pattern in the file name."""
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise invalid_parameter(
            "group_pattern", "split", "a valid regular expression", f"{pattern} ({error})"
        ) from None
    if compiled.groups < 1:
        raise invalid_parameter("group_pattern", "split", "a regex with a capture group", pattern)

    def group(path: Path) -> str:
        match = compiled.search(path.name)
        return match.group(1) if match else path.name

    return group


GROUP_BY = {"name": group_by_name, "folder": group_by_folder}


@dataclass(frozen=True)
class SplitPlan:
    """Where each image goes: 'train', 'valid' or 'test'; images dropped by per_class are absent."""

    images: ImageSet
    classes: tuple[str, ...]
    sides: dict[int, str]
    groups: list[str]

    def side(self, name: str) -> ImageSet:
        return self.images.subset([i for i in sorted(self.sides) if self.sides[i] == name])

    def counts(self) -> dict[str, dict[str, int]]:
        """class -> side -> images (an image with two labels counts in both classes)."""
        counts = Counter(
            (label, side)
            for i, side in self.sides.items()
            for label in label_ids(self.images.labels[i])
        )
        return {
            name: {side: counts[label, side] for side in ("train", "valid", "test")}
            for label, name in enumerate(self.classes)
        }


def split_data_set(
    images: ImageSet,
    classes,
    *,
    group_by: str = "name",
    group_pattern: str | None = None,
    keep_duplicates_together: bool = True,
    **plan_options,
) -> tuple[SplitPlan, int]:
    """`imclass split`: plan_split with exact duplicates on one side unless asked otherwise;
    returns the plan and how many duplicate groups were kept together. group_by: 'name' (the
    file name less its frame number) or 'folder'; group_pattern, when given, wins over it.
    plan_options: plan_split's strategy, valid, test, seed and per_class."""
    from imclass.data.dedup import find_duplicates

    together = []
    if keep_duplicates_together:
        index = {p: i for i, p in enumerate(images.paths)}
        found = find_duplicates(list(images.paths), 0)
        together = [[index[p] for p in g.members] for g in found.groups]
    if group_pattern:
        group_of = group_by_pattern(group_pattern)
    elif group_by in GROUP_BY:
        group_of = GROUP_BY[group_by]
    else:
        raise invalid_parameter("group_by", "split", " or ".join(map(repr, GROUP_BY)), group_by)
    plan = plan_split(images, classes, group_of=group_of, together=together, **plan_options)
    return plan, len(together)


def plan_split(
    images: ImageSet,
    classes,
    *,
    strategy: str = "stratified",
    valid: float = 0.2,
    test: float = 0.0,
    seed: int = 0,
    group_of=None,
    together=(),
    per_class: int | None = None,
) -> SplitPlan:
    """Assign whole groups to sides. together: index groups (duplicates) kept on one side."""
    if strategy not in STRATEGIES:
        raise invalid_parameter("strategy", "split", f"one of {', '.join(STRATEGIES)}", strategy)
    keys = [(group_of or group_by_name)(p) if strategy == "group" else str(p) for p in images.paths]
    members = _merge_groups(keys, together)
    has = multi_hot(images.labels, len(classes)).astype(bool)
    strata = _strata(has) if strategy != "random" else np.zeros(len(images), dtype=int)
    sides = _assign(members, strata, {"valid": valid, "test": test}, seed)
    _ensure_both_sides(members, has, sides, classes, valid)
    if per_class is not None:
        sides = _keep_per_class(sides, has, per_class, seed)
    names = _group_names(members, keys, images.paths, strategy)
    return SplitPlan(images, tuple(classes), sides, names)


def _strata(has: np.ndarray) -> np.ndarray:
    """The class to stratify each image by: its only class, or its rarest one (multi-label)."""
    rarity = np.where(has, has.sum(axis=0, keepdims=True), np.iinfo(np.int64).max)
    return rarity.argmin(axis=1)


def _merge_groups(keys: list[str], together) -> list[list[int]]:
    """Indices sharing a key, merged with every 'together' group they touch (union-find)."""
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        parent[root(index)] = root(first.setdefault(key, index))
    for group in together:
        for index in group[1:]:
            parent[root(index)] = root(group[0])
    merged: dict[int, list[int]] = {}
    for index in range(len(keys)):
        merged.setdefault(root(index), []).append(index)
    return list(merged.values())


def _assign(members, strata, fractions: dict[str, float], seed: int) -> dict[int, str]:
    """Groups in seeded random order go where their majority stratum is most short."""
    rng = np.random.default_rng(seed)
    totals = Counter(strata.tolist())
    target = {(s, c): round(n * f) for s, f in fractions.items() for c, n in totals.items()}
    have: Counter = Counter()
    sides = {}
    for g in rng.permutation(len(members)):
        group = members[g]
        stratum = Counter(strata[group].tolist()).most_common(1)[0][0]
        side = max(fractions, key=lambda s: target[s, stratum] - have[s, stratum])
        if target[side, stratum] - have[side, stratum] < len(group) / 2:
            side = "train"
        have[side, stratum] += len(group)
        sides.update({i: side for i in group})
    return sides


def _ensure_both_sides(members, has, sides, classes, valid: float) -> None:
    """Each class on train and valid; moves its smallest group to valid, or names it."""
    if valid <= 0:
        return
    for label in range(has.shape[1]):
        on = {sides[i] for i in np.flatnonzero(has[:, label])}
        if "valid" in on and "train" in on:
            continue
        own = sorted((g for g in members if has[g, label].any()), key=len)
        if len(own) < 2:
            raise DataError(
                f"class {classes[label]!r} cannot appear on both sides: all its "
                f"{int(has[:, label].sum())} images are in one group"
            )
        missing = "valid" if "valid" not in on else "train"
        sides.update({i: missing for i in own[0]})


def _keep_per_class(sides, has, per_class: int, seed: int) -> dict[int, str]:
    """per_class training images of each class (multi-label: at least)."""
    kept = {i: s for i, s in sides.items() if s != "train"}
    train = [i for i in sorted(sides) if sides[i] == "train"]
    kept.update({i: "train" for i in _nested_pick(has, train, per_class, seed + 1)})
    return kept


def per_class_subset(images: ImageSet, classes, per_class: int, seed: int) -> ImageSet:
    """per_class images of each class (multi-label: at least), in the file order of images.
    Nested: with the same seed, the N images are among the N + 1 (learning curves)."""
    has = multi_hot(images.labels, len(classes)).astype(bool)
    return images.subset(sorted(_nested_pick(has, range(len(images)), per_class, seed)))


def _nested_pick(has: np.ndarray, candidates, per_class: int, seed: int) -> set[int]:
    """The first per_class candidates of each class in one seeded order per class."""
    rng = np.random.default_rng(seed)
    candidates, picked = list(candidates), set()
    for label in range(has.shape[1]):
        own = [i for i in candidates if has[i, label]]
        picked.update(int(i) for i in rng.permutation(own)[:per_class])
    return picked


def _group_names(members, keys, paths, strategy: str) -> list[str]:
    """The group key, or for stratified/random splits the duplicates a file is tied to."""
    names = [""] * len(keys)
    for group in members:
        for i in group:
            if strategy == "group":
                names[i] = keys[group[0]]
            elif len(group) > 1:
                names[i] = f"duplicates:{paths[group[0]].name}"
    return names


def write_split_file(plan: SplitPlan, path: Path) -> Path:
    """path,label(s),split,group rows; paths relative to the file's folder; multi-label data
    gets a `labels` column, space-separated."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    multilabel = any(isinstance(label, tuple) for label in plan.images.labels)
    writer.writerow(["path", "labels" if multilabel else "label", "split", "group"])
    base = path.resolve().parent
    for i in sorted(plan.sides):
        shown = os.path.relpath(plan.images.paths[i].resolve(), base)
        label = plan.images.labels[i]
        names = " ".join(plan.classes[c] for c in (label if multilabel else (label,)))
        writer.writerow([shown, names, plan.sides[i], plan.groups[i]])
    write_text(path, buffer.getvalue())
    return path
