"""A pool of images that hold none of a model's classes: cut once into the part hard negatives
are mined from and the part that is never mined, on which each model's false-positive rate is
measured; and the two passes over it (mining, scoring), with the mined list kept on disk."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imclass.data.dataset import FolderWalk, ImageSet
from imclass.data.images import IMAGE_EXTENSIONS
from imclass.errors import DataError
from imclass.files import write_text
from imclass.inference import Predictor, decide
from imclass.progress import Reporter

MINED_COLUMNS = ("path", "predicted", "probability")
SPLIT_COLUMNS = ("path", "side")


@dataclass(frozen=True)
class PoolSplit:
    """The pool's images: `mine` may be added to training, `test` never is; notes: what was
    skipped while reading the folder (broken links, unreadable folders), for the user."""

    mine: tuple[Path, ...]
    test: tuple[Path, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mined:
    """A pool image a model called a (non-negative) class, and how sure it was."""

    path: Path
    predicted: str
    probability: float


def split_pool(pool: Path | str, test_fraction: float, seed: int) -> PoolSplit:
    """The image files under pool, in any depth (links followed, as in a data set; absolute,
    as named), test_fraction of them (at least one, at most all but one) drawn by seed for
    the never-mined side."""
    if not 0 < test_fraction < 1:
        raise DataError(f"the pool's held-out fraction must be in (0, 1); got {test_fraction}")
    walk = FolderWalk()
    paths = walk.images(_folder(pool).absolute())
    if len(paths) < 2:
        raise DataError(
            f"{pool}: {len(paths) or 'no'} image file(s) ({' '.join(sorted(IMAGE_EXTENSIONS))}); "
            "a pool needs images to mine and images to test on"
        )
    count = min(len(paths) - 1, max(1, round(test_fraction * len(paths))))
    test = set(np.random.default_rng(seed).permutation(len(paths))[:count].tolist())
    return PoolSplit(
        tuple(p for i, p in enumerate(paths) if i not in test),
        tuple(p for i, p in enumerate(paths) if i in test),
        tuple(walk.notes),
    )


def _folder(pool: Path | str) -> Path:
    pool = Path(pool)
    if not pool.exists():
        raise DataError(f"{pool}: no such file or folder")
    if not pool.is_dir():
        raise DataError(f"{pool}: not a folder; POOL is a folder of images")
    return pool


def check_apart(pool: PoolSplit, data: ImageSet, where: Path | str) -> None:
    """A pool image that is also one of the data set's would be both a class and a negative."""
    known = {Path(p).resolve() for p in data.paths}
    shared = [p for p in (*pool.mine, *pool.test) if p.resolve() in known]
    if shared:
        raise DataError(
            f"{where}: {len(shared)} pool image(s) are in the data set too (like {shared[0]}); "
            "the pool must hold images of none of the classes, outside the data set"
        )


def positives(
    predictor: Predictor, paths: list[Path], negative: int, reporter: Reporter
) -> tuple[list[Mined], int]:
    """The pool images the model calls a class other than the negative one, by the decision
    every command makes (inference.decide), with that class's probability; and how many images
    were read (an unreadable one is reported and skipped)."""
    result = predictor.probabilities(paths, reporter)
    read = result.probs[result.readable]
    chosen = decide(read, multilabel=False)
    classes = predictor.spec.classes
    found = [
        Mined(paths[row], classes[c], float(probs[c]))
        for row, probs, c in zip(result.readable.tolist(), read, chosen.tolist(), strict=True)
        if c != negative
    ]
    return found, len(result.readable)


def false_positive_rate(found: int, read: int, where: Path | str) -> float:
    if not read:
        raise DataError(f"{where}: none of the held-out pool images could be read")
    return found / read


def write_pool_split(path: Path, pool: PoolSplit) -> None:
    """Which pool images may be mined ('mine') and which measure false positives ('test')."""
    rows = [(p, "mine") for p in pool.mine] + [(p, "test") for p in pool.test]
    _write_csv(path, SPLIT_COLUMNS, sorted(rows))


def write_mined(path: Path, mined: list[Mined]) -> None:
    rows = [(m.path, m.predicted, f"{m.probability:.6f}") for m in mined]
    _write_csv(path, MINED_COLUMNS, rows)


def _write_csv(path: Path, header: tuple[str, ...], rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def read_mined(path: Path) -> list[Mined]:
    """What write_mined wrote; a damaged file names itself and the way out."""
    try:
        with path.open(newline="", encoding="utf-8", errors="surrogateescape") as handle:
            rows = list(csv.DictReader(handle))
        mined = [Mined(Path(r["path"]), r["predicted"], float(r["probability"])) for r in rows]
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise DataError(
            f"{path}: unreadable ({error}); delete the round's folder to mine it again"
        ) from None
    return mined
