"""Exact and near-duplicate images, found with dhash (hash_size 16) and grouped by Hamming distance.

Speed without changing the answer: every file is hashed the fast way (reduced-scale JPEG
decoding, cached); pairs within max_distance + VERIFY_MARGIN bits of each other are the only
ones that can be within max_distance by the reference hash, because the two ways differ in a
few bits per image. Those candidates are settled exactly: byte-identical files are duplicates
by definition, the rest are re-hashed the reference way (imagehash.dhash on the full image).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from imclass.data.hashing import HashCache, hash_files
from imclass.data.near_duplicates import as_matrix, close_pairs, components, group_rows, hamming

VERIFY_MARGIN = 8  # measured: fast and reference hashes differ by at most 3 bits on hymenoptera


@dataclass(frozen=True)
class DuplicateGroup:
    """Files that are the same picture: the one to keep and the redundant ones."""

    keep: Path
    redundant: tuple[Path, ...]
    splits: tuple[str, ...] = ()

    @property
    def members(self) -> tuple[Path, ...]:
        return (self.keep, *self.redundant)

    @property
    def spans_splits(self) -> bool:
        """A leak: the same picture on both sides of a train/validation/test split."""
        return len(self.splits) > 1


@dataclass
class Duplicates:
    groups: list[DuplicateGroup] = field(default_factory=list)
    failures: dict[Path, str] = field(default_factory=dict)

    @property
    def redundant(self) -> list[Path]:
        return [p for g in self.groups for p in g.redundant]

    @property
    def leaking(self) -> list[DuplicateGroup]:
        return [g for g in self.groups if g.spans_splits]


def find_duplicates(
    paths,
    max_distance: int = 0,
    *,
    split_of: dict[Path, str] | None = None,
    workers: int | None = None,
    cache: bool = True,
    advance: Callable[[int], None] | None = None,
) -> Duplicates:
    """Groups of files whose reference dhashes are within max_distance bits; leaks first."""
    paths = [Path(p) for p in paths]
    hash_cache = HashCache() if cache else None
    fast, failures = hash_files(paths, workers=workers, cache=hash_cache, advance=advance)
    readable = [p for p in paths if p in fast]
    left, right = _verified_pairs(readable, fast, max_distance, workers, hash_cache)
    n = len(readable)
    groups = components(n, left, right)
    result = [_make_group([readable[i] for i in g], split_of or {}) for g in groups]
    result.sort(key=lambda g: (not g.spans_splits, -len(g.members), str(g.keep)))
    return Duplicates(result, failures)


def _verified_pairs(paths, fast, max_distance, workers, hash_cache):
    """Index pairs within max_distance bits by the reference hash (see module docstring)."""
    if len(paths) < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    matrix = as_matrix([fast[p] for p in paths])
    left, right = close_pairs(matrix, max_distance + VERIFY_MARGIN)
    digests: dict[Path, bytes] = {}  # this call's: a file in many pairs is read once
    identical = np.array(
        [_same_bytes(paths[a], paths[b], digests) for a, b in zip(left, right, strict=True)],
        dtype=bool,
    )
    unsettled = sorted(set(left[~identical].tolist()) | set(right[~identical].tolist()))
    exact, _ = hash_files(
        [paths[i] for i in unsettled], exact=True, workers=workers, cache=hash_cache
    )
    close = identical.copy()
    for k in np.flatnonzero(~identical):
        a, b = paths[left[k]], paths[right[k]]
        if a in exact and b in exact:
            pair = as_matrix([exact[a], exact[b]])
            close[k] = hamming(pair, np.array([0]), np.array([1]))[0] <= max_distance
    return left[close], right[close]


def _same_bytes(a: Path, b: Path, digests: dict[Path, bytes]) -> bool:
    return a.stat().st_size == b.stat().st_size and _digest(a, digests) == _digest(b, digests)


def _digest(path: Path, digests: dict[Path, bytes]) -> bytes:
    if path not in digests:
        digests[path] = hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    return digests[path]


def _make_group(members: list[Path], split_of: dict[Path, str]) -> DuplicateGroup:
    ranked = sorted(members, key=_keep_rank)
    splits = tuple(sorted({split_of[p] for p in members if p in split_of}))
    return DuplicateGroup(ranked[0], tuple(ranked[1:]), splits)


def _keep_rank(path: Path):
    """Largest resolution first, then largest file, then path order."""
    try:
        with Image.open(path) as image:
            pixels = image.size[0] * image.size[1]
    except Exception:  # noqa: BLE001 - an unreadable header ranks last
        pixels = 0
    return (-pixels, -path.stat().st_size, str(path))


def group_hashes(hashes: list[bytes], max_distance: int) -> list[list[int]]:
    """Groups of indices of hashes within max_distance bits (the plain, unverified grouping)."""
    return group_rows(as_matrix(hashes), max_distance) if len(hashes) > 1 else []
