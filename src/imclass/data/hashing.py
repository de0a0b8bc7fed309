"""Perceptual hashes (dhash, 16 x 16 = 256 bits) of image files, fast and cached.

The reference is imagehash's recipe, `imagehash.dhash(Image.open(p), hash_size=16)`: grey,
Lanczos-resize to 17 x 16, one bit per horizontally adjacent pair. The fast variant decodes a
JPEG in grey at reduced scale (Pillow's draft mode), several times cheaper for large photos; its
hash can differ from the reference in a few bits, so find_duplicates re-hashes the candidates
the reference way before it decides (see imclass.data.dedup).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from imclass.data.images import eight_bit, failure_reason, open_image
from imclass.data.workers import parallel_map
from imclass.files import cache_key

HASH_SIZE = 16
HASH_BYTES = HASH_SIZE * HASH_SIZE // 8
DRAFT_REQUEST = (256, 256)  # at least 15x the hash width: few bits differ from the reference


class CacheWarning(UserWarning):
    """A cache that cannot be used as it is: imclass rebuilds it or carries on without it."""


def dhash_of_image(image: Image.Image) -> bytes:
    """imagehash's dhash(image, hash_size=16), as 32 bytes; a 16-bit image is scaled to 8 bits
    first (imagehash clips it, which turns most 16-bit photos white)."""
    grey = eight_bit(image).convert("L")
    grey = grey.resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey)
    return np.packbits(pixels[:, 1:] > pixels[:, :-1]).tobytes()


def _hash_file(item: tuple[str, bool]) -> tuple[bytes | None, str | None]:
    """(hash, None) or (None, reason); one file, run in the worker threads."""
    path, exact = item
    try:
        with open_image(path) as image:
            if not exact and image.format == "JPEG":
                image.draft("L", DRAFT_REQUEST)
            return dhash_of_image(image), None
    except Exception as error:  # noqa: BLE001 - any decoding failure is this file's reason
        return None, failure_reason(error)


def cache_dir() -> Path:
    """IMCLASS_CACHE_DIR, else $XDG_CACHE_HOME/imclass, else ~/.cache/imclass."""
    if os.environ.get("IMCLASS_CACHE_DIR"):
        return Path(os.environ["IMCLASS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "imclass"


class HashCache:
    """Hashes keyed by (absolute path, size, mtime): a re-run only hashes new or changed files.

    Paths are stored as the file system's bytes, so names that are not UTF-8 are cached too. A
    corrupt cache file is replaced by a new one; a cache that cannot be opened or written (a
    read-only folder) is bypassed; either way with one CacheWarning, never an error.
    """

    def __init__(self, path: Path | None = None):
        self.path = path or cache_dir() / "dhash.sqlite"
        self.db = self._open()

    def lookup(self, paths: list[Path], kind: str) -> dict[Path, bytes]:
        found = {}
        try:
            for path in paths if self.db else []:
                row = self._row(path, kind)
                if row:
                    found[path] = row[0]
        except sqlite3.Error as error:
            self._give_up(error)
        return found

    def store(self, hashes: dict[Path, bytes], kind: str) -> None:
        rows = [(cache_key(p), kind, *stamp, d) for p, d in hashes.items() if (stamp := _stamp(p))]
        try:
            if self.db:
                with self.db:
                    self.db.executemany("INSERT OR REPLACE INTO dhash VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as error:
            self._give_up(error)

    def _row(self, path: Path, kind: str) -> tuple | None:
        stamp = _stamp(path)
        if stamp is None:
            return None
        return self.db.execute(
            "SELECT hash FROM dhash WHERE path=? AND kind=? AND size=? AND mtime_ns=?",
            (cache_key(path), kind, *stamp),
        ).fetchone()

    def _open(self) -> sqlite3.Connection | None:
        try:
            return self._connect()
        except sqlite3.OperationalError as error:  # cannot be opened: the folder's fault
            self._warn(f"cannot be used ({error}); hashes are not cached this time")
        except sqlite3.DatabaseError as error:  # "file is not a database"
            self._warn(f"is corrupt ({error}); starting a new one")
            return self._fresh()
        except OSError as error:
            self._warn(f"cannot be used ({error}); hashes are not cached this time")
        return None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS dhash (path BLOB, kind TEXT, size INTEGER, "
                "mtime_ns INTEGER, hash BLOB, PRIMARY KEY (path, kind))"
            )
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _fresh(self) -> sqlite3.Connection | None:
        try:
            self._remove()
            return self._connect()
        except (sqlite3.Error, OSError) as error:
            self._warn(f"cannot be rebuilt ({error}); hashes are not cached this time")
        return None

    def _give_up(self, error: sqlite3.Error) -> None:
        """Bypassed for the rest of the run; a damaged file is removed so the next run rebuilds."""
        self.db.close()
        self.db = None
        if not isinstance(error, sqlite3.OperationalError):
            with contextlib.suppress(OSError):
                self._remove()
        self._warn(f"cannot be used ({error}); hashes are not cached this time")

    def _remove(self) -> None:
        for stale in (self.path, self.path.with_name(self.path.name + "-journal")):
            stale.unlink(missing_ok=True)

    def _warn(self, problem: str) -> None:
        warnings.warn(f"hash cache {self.path} {problem}", CacheWarning, stacklevel=3)


def _stamp(path: Path) -> tuple[int, int] | None:
    """(size, mtime in ns), or None for a file that cannot be looked at (hashing says why)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def hash_files(
    paths: list[Path],
    *,
    exact: bool = False,
    workers: int | None = None,
    cache: HashCache | None = None,
    advance: Callable[[int], None] | None = None,
) -> tuple[dict, dict]:
    """({path: 32-byte hash}, {path: reason}) for readable and unreadable files."""
    kind = "exact" if exact else "fast"
    hashes = cache.lookup(paths, kind) if cache else {}
    if advance and hashes:
        advance(len(hashes))
    todo = [p for p in paths if p not in hashes]
    fresh, failures = {}, {}
    results = parallel_map(
        _hash_file, [(str(p), exact) for p in todo], workers=workers, advance=advance
    )
    for path, (digest, reason) in zip(todo, results, strict=True):
        if digest is None:
            failures[path] = reason
        else:
            fresh[path] = digest
    if cache and fresh:
        cache.store(fresh, kind)
    return {**hashes, **fresh}, failures
