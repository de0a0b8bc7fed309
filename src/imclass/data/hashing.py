"""Perceptual hashes (dhash, 16 x 16 = 256 bits) of image files, fast and cached.

The reference is imagehash's recipe, `imagehash.dhash(Image.open(p), hash_size=16)`: grey,
Lanczos-resize to 17 x 16, one bit per horizontally adjacent pair. The fast variant decodes a
JPEG in grey at reduced scale (Pillow's draft mode), several times cheaper for large photos; its
hash can differ from the reference in a few bits, so find_duplicates re-hashes the candidates
the reference way before it decides (see imclass.data.dedup).
"""

from __future__ import annotations

import os
import sqlite3
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from imclass.data.workers import process_map

HASH_SIZE = 16
HASH_BYTES = HASH_SIZE * HASH_SIZE // 8
DRAFT_REQUEST = (256, 256)  # at least 15x the hash width: few bits differ from the reference


def dhash_of_image(image: Image.Image) -> bytes:
    """imagehash's dhash(image, hash_size=16), as 32 bytes."""
    grey = image.convert("L").resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey)
    return np.packbits(pixels[:, 1:] > pixels[:, :-1]).tobytes()


def _hash_file(item: tuple[str, bool]) -> tuple[bytes | None, str | None]:
    """(hash, None) or (None, reason); module-level so worker processes can run it."""
    path, exact = item
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if not exact and image.format == "JPEG":
                    image.draft("L", DRAFT_REQUEST)
                return dhash_of_image(image), None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, "decompression bomb refused"
    except Exception as error:  # noqa: BLE001 - any decoding failure is this file's reason
        return None, f"unreadable ({type(error).__name__}: {error})"


def cache_dir() -> Path:
    """IMCLASS_CACHE_DIR, else $XDG_CACHE_HOME/imclass, else ~/.cache/imclass."""
    if os.environ.get("IMCLASS_CACHE_DIR"):
        return Path(os.environ["IMCLASS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "imclass"


class HashCache:
    """Hashes keyed by (absolute path, size, mtime): a re-run only hashes new or changed files."""

    def __init__(self, path: Path | None = None):
        path = path or cache_dir() / "dhash.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS dhash (path TEXT, kind TEXT, size INTEGER, "
            "mtime_ns INTEGER, hash BLOB, PRIMARY KEY (path, kind))"
        )

    def lookup(self, paths: list[Path], kind: str) -> dict[Path, bytes]:
        found = {}
        for path in paths:
            stat = path.stat()
            row = self.db.execute(
                "SELECT hash FROM dhash WHERE path=? AND kind=? AND size=? AND mtime_ns=?",
                (os.path.abspath(path), kind, stat.st_size, stat.st_mtime_ns),
            ).fetchone()
            if row:
                found[path] = row[0]
        return found

    def store(self, hashes: dict[Path, bytes], kind: str) -> None:
        rows = []
        for path, digest in hashes.items():
            stat = path.stat()
            rows.append((os.path.abspath(path), kind, stat.st_size, stat.st_mtime_ns, digest))
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO dhash VALUES (?, ?, ?, ?, ?)", rows)


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
    results = process_map(
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
