"""Duplicate finding: imclass against the plain imagehash loop; near-duplicate grouping at scale.

    python bench/dedup_speed.py ../shared/data/hymenoptera [--large 200] [--hashes 100000]

1. hymenoptera, and 2. generated 12-megapixel JPEGs (some copied or re-encoded): images/s of
   imclass.data.find_duplicates (cold cache, worker processes, reduced-scale JPEG decoding,
   verified) next to a single-process loop of imagehash.dhash(Image.open(p), hash_size=16), and
   whether the groups are identical at max distance 0 and 8. Targets: >= 2x and >= 5x.
3. Grouping 100,000 hashes at max distance 8 (target <= 10 s).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from imclass.data.dataset import open_data  # noqa: E402
from imclass.data.dedup import find_duplicates, group_hashes  # noqa: E402
from synthetic import write_photos  # noqa: E402

REPEATS = 2  # best of two for both sides: this machine is shared and noisy


def plain(paths) -> tuple[list[bytes], float]:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        hashes = [bytes.fromhex(str(imagehash.dhash(Image.open(p), hash_size=16))) for p in paths]
        best = min(best, time.perf_counter() - start)
    return hashes, best


def cold_imclass(paths, distance: int):
    """find_duplicates with an empty hash cache (nothing hashed before); best time of REPEATS."""
    best = float("inf")
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["IMCLASS_CACHE_DIR"] = cache
            start = time.perf_counter()
            found = find_duplicates(paths, distance)
            best = min(best, time.perf_counter() - start)
    return found, best


def compare(name: str, paths: list[Path]) -> None:
    reference, plain_seconds = plain(paths)
    found, seconds = cold_imclass(paths, 0)
    same = {0: _same(found, reference, paths, 0)}
    same[8] = _same(cold_imclass(paths, 8)[0], reference, paths, 8)
    print(
        f"{name}: {len(paths)} images; plain imagehash loop {len(paths) / plain_seconds:.1f} "
        f"images/s, imclass {len(paths) / seconds:.1f} images/s = "
        f"{plain_seconds / seconds:.2f}x; groups identical at distance 0: {same[0]}, "
        f"at 8: {same[8]} ({len(found.groups)} exact groups)",
        flush=True,
    )


def _same(found, reference, paths, distance) -> bool:
    ours = {frozenset(g.members) for g in found.groups}
    theirs = {frozenset(paths[i] for i in g) for g in group_hashes(reference, distance)}
    return ours == theirs


def grouping_at_scale(count: int, distance: int) -> None:
    """Random hashes plus clusters of near copies (0..distance+2 bits flipped)."""
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (count, 256), dtype=np.uint8)
    sources = rng.integers(0, count // 2, count // 10)
    for row, source in zip(range(count - len(sources), count), sources, strict=True):
        bits[row] = bits[source]
        flips = rng.choice(256, rng.integers(0, distance + 3), replace=False)
        bits[row, flips] ^= 1
    hashes = [row.tobytes() for row in np.packbits(bits, axis=1)]
    start = time.perf_counter()
    groups = group_hashes(hashes, distance)
    seconds = time.perf_counter() - start
    print(
        f"grouping {count} hashes at max distance {distance}: {seconds:.2f} s "
        f"({len(groups)} groups; target <= 10 s)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hymenoptera", type=Path)
    parser.add_argument("--large", type=int, default=200, help="generated 12-MP JPEGs")
    parser.add_argument("--hashes", type=int, default=100_000)
    args = parser.parse_args()
    compare("hymenoptera", list(open_data(args.hymenoptera).all_images().paths))
    with tempfile.TemporaryDirectory() as folder:
        paths = write_photos(Path(folder), args.large, (4000, 3000), duplicates=args.large // 10)
        compare("12-MP JPEGs", paths)
    grouping_at_scale(args.hashes, 8)


if __name__ == "__main__":
    main()
