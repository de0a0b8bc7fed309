"""A learning curve: held-out accuracy against training images per class, to tell whether
collecting more images of this kind would help (issue 13).

The held-out side is cut once (held_out_split) and every point is scored on it. Repeat r draws
its training subsets with seed 1000 * SEED + r, nested (its 10 per class include its 5), and
trains with the recipe's seed + r; 'all' is every training image, placed on the curve at the
mean images per class. Points are trained repeat by repeat, so the first repeat gives a whole
curve early; each is kept in OUT/points/size-<n>-repeat-<r>/ and reused by a re-run, which
rebuilds curve.csv, per_class.csv, curve.png and verdict.txt from them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, fields, replace
from itertools import pairwise
from pathlib import Path

import numpy as np

from imclass.data.dataset import ImageSet, LabelOptions
from imclass.data.split import per_class_subset
from imclass.errors import ConfigError, invalid_parameter
from imclass.experiments.curve_verdict import (
    Gain,
    Verdict,
    fit_saturating,
    judge,
    rising_classes,
    rising_classes_text,
)
from imclass.experiments.points import (
    POINT_FILE,
    HeldOut,
    held_out_split,
    images_per_class,
    start_experiment,
    train_point,
)
from imclass.files import write_bytes, write_text
from imclass.progress import Reporter, interrupt_ends_with
from imclass.train.config import TrainConfig

ALL = "all"
DEFAULT_SIZES = "5,10,20,40,80,all"
POINTS_FOLDER = "points"


@dataclass(frozen=True)
class CurvePlan:
    """What to train: sizes (images per class, increasing, 'all' last), repeats of each, the
    seed of the held-out cut and of the subsets, and the held-out fraction."""

    sizes: tuple = (5, 10, 20, 40, 80, ALL)
    repeats: int = 3
    seed: int = 0
    test_fraction: float = 0.25


@dataclass(frozen=True)
class CurveSize:
    """One size of the curve: its name ('5' or 'all') and its images per class."""

    label: str
    per_class: int

    @property
    def shown(self) -> str:
        return f"all ({self.per_class})" if self.label == ALL else self.label


@dataclass(frozen=True)
class CurveRow:
    """One trained point: its size and repeat, and what it scored on the held-out side."""

    size: CurveSize
    repeat: int
    accuracy: float
    macro_f1: float
    seconds: float
    recall: dict


@dataclass(frozen=True)
class Curve:
    classes: tuple[str, ...]
    sizes: tuple[CurveSize, ...]
    repeats: int
    rows: tuple[CurveRow, ...]

    @property
    def x(self) -> np.ndarray:
        return np.array([size.per_class for size in self.sizes], dtype=float)

    def grid(self, pick) -> np.ndarray:
        """(sizes x repeats) of pick(row), NaN where a point is missing."""
        values = np.full((len(self.sizes), self.repeats), np.nan)
        for row in self.rows:
            values[self.sizes.index(row.size), row.repeat] = pick(row)
        return values

    def scores(self) -> np.ndarray:
        return self.grid(lambda row: row.accuracy)

    def recalls(self) -> dict[str, np.ndarray]:
        return {c: self.grid(lambda row, c=c: row.recall.get(c, np.nan)) for c in self.classes}


@dataclass(frozen=True)
class CurveResult:
    curve: Curve
    verdict: Verdict
    rising: list[tuple[str, Gain]]
    out: Path

    @property
    def lines(self) -> list[str]:
        return [self.verdict.text, rising_classes_text(self.rising)]


def parse_sizes(text: str) -> tuple:
    """'5,10,20,all' -> (5, 10, 20, 'all'): increasing positive ints, 'all' only last."""
    items = [item.strip().lower() for item in text.split(",")]
    numbers = items[:-1] if items[-1] == ALL else items
    valid = all(item.isdigit() and int(item) > 0 for item in numbers)
    if not valid or any(int(a) >= int(b) for a, b in pairwise(numbers)):
        raise invalid_parameter(
            "sizes",
            "learning-curve",
            "increasing positive ints (images per class), optionally ending in 'all', like "
            f"{DEFAULT_SIZES}",
            text,
        )
    return (*map(int, numbers), *items[len(numbers) :])


def resolve_sizes(sizes: tuple, held: HeldOut, reporter: Reporter) -> tuple[CurveSize, ...]:
    """The sizes the data allows: one over the smallest class's training images is covered by
    'all' when it is asked for (and dropped with a note), and an error otherwise."""
    counts = images_per_class(held.train, held.classes)
    smallest = min(counts, key=counts.get)
    every = round(np.mean(list(counts.values())))
    numbers = [n for n in sizes if n != ALL]
    too_many = [n for n in numbers if n > counts[smallest] or (ALL in sizes and n >= every)]
    if too_many and ALL not in sizes:
        raise ConfigError(_too_many(too_many[0], smallest, counts[smallest], held))
    if too_many:
        shown = ", ".join(map(str, too_many))
        reporter.line(
            f"sizes {shown}: {_class_count(smallest, counts[smallest], held)}; 'all' covers them"
        )
    kept = [CurveSize(str(n), n) for n in numbers if n not in too_many]
    kept += [CurveSize(ALL, every)] if ALL in sizes else []
    if len(kept) < 2:
        raise ConfigError(
            f"a learning curve needs two sizes or more; the data leaves only "
            f"{', '.join(size.shown for size in kept)} of --sizes {','.join(map(str, sizes))}"
        )
    return tuple(kept)


def _class_count(name: str, count: int, held: HeldOut) -> str:
    held_back = images_per_class(held.test, held.classes)[name]
    return (
        f"class {name!r} has {count} images for training "
        f"({count + held_back} less {held_back} held out)"
    )


def _too_many(size: int, name: str, count: int, held: HeldOut) -> str:
    return (
        f"size {size} is more images per class than there are: {_class_count(name, count, held)}; "
        f"use sizes up to {count}, or end --sizes with 'all' to train on every image"
    )


def subset_seed(seed: int, repeat: int) -> int:
    """The seed repeat draws its nested subsets with (repeats stay below 1000)."""
    return 1000 * seed + repeat


def point_folder(out: Path, size: CurveSize, repeat: int) -> Path:
    return Path(out) / POINTS_FOLDER / f"size-{size.label}-repeat-{repeat}"


def training_images(held: HeldOut, size: CurveSize, repeat: int, seed: int) -> ImageSet:
    """Size's images per class from held.train for repeat: nested within the repeat."""
    if size.label == ALL:
        return held.train
    return per_class_subset(held.train, held.classes, size.per_class, subset_seed(seed, repeat))


def learning_curve(
    data: Path | str,
    out: Path | str,
    plan: CurvePlan = CurvePlan(),
    config: TrainConfig | None = None,
    options: LabelOptions | None = None,
    reporter: Reporter | None = None,
) -> CurveResult:
    """Train every point of plan on data (resuming those out already holds), then write
    curve.csv, per_class.csv, curve.png and verdict.txt into out."""
    config, reporter = config or TrainConfig(), reporter or Reporter(quiet=True)
    held = held_out_split(data, plan.test_fraction, plan.seed, options)
    for note in held.source.notes:
        reporter.warn(note)
    sizes = resolve_sizes(plan.sizes, held, reporter)
    out = start_experiment(out, _description(data, plan, config, options, held))
    curve = train_curve(held, sizes, plan, config, out, reporter)
    return write_curve(curve, out)


def _description(data, plan: CurvePlan, config: TrainConfig, options, held: HeldOut) -> dict:
    """What makes two runs the same experiment. Not the sizes or repeats: a point depends only
    on its own size and repeat, so a re-run may add either and reuse what is trained."""
    return {
        "experiment": "learning-curve",
        "data": Path(data).resolve(),
        "test_fraction": plan.test_fraction,
        "seed": plan.seed,
        "settings": _changed_settings(config),
        "label_options": asdict(options or LabelOptions()),
        "train_images": len(held.train),
        "test_images": len(held.test),
    }


def _changed_settings(config: TrainConfig) -> dict:
    """The settings --set changed from the default recipe: short enough to show in full when a
    re-run differs."""
    return {
        f.name: getattr(config, f.name)
        for f in fields(config)
        if getattr(config, f.name) != f.default
    }


def train_curve(
    held: HeldOut,
    sizes: tuple[CurveSize, ...],
    plan: CurvePlan,
    config: TrainConfig,
    out: Path,
    reporter: Reporter,
) -> Curve:
    """Every point, repeat by repeat; Ctrl-C keeps the finished ones for a re-run."""
    points = [(size, repeat) for repeat in range(plan.repeats) for size in sizes]
    rows: list[CurveRow] = []

    def hint() -> str:
        done = sum((point_folder(out, *point) / POINT_FILE).is_file() for point in points)
        return (
            f"interrupted with {done} of {len(points)} points finished in "
            f"{out / POINTS_FOLDER}; run the same command again to resume"
        )

    with interrupt_ends_with(hint), reporter.task("learning curve", len(points)) as advance:
        for size, repeat in points:
            advance(0, status=f"size {size.label}, repeat {repeat}")
            rows.append(_train_row(held, size, repeat, plan.seed, config, out, reporter))
            advance(1)
    return Curve(held.classes, sizes, plan.repeats, tuple(rows))


def _train_row(held, size, repeat, seed, config, out, reporter) -> CurveRow:
    folder = point_folder(out, size, repeat)
    reused = (folder / POINT_FILE).is_file()
    train = training_images(held, size, repeat, seed)
    point = train_point(held, train, folder, replace(config, seed=config.seed + repeat))
    took = "reused" if reused else f"{point['seconds']:.0f} s"
    reporter.line(f"size {size.shown}, repeat {repeat}: accuracy {point['accuracy']:.4f} ({took})")
    return CurveRow(
        size, repeat, point["accuracy"], point["macro_f1"], point["seconds"], point["recall"]
    )


def write_curve(curve: Curve, out: Path) -> CurveResult:
    """curve.csv, per_class.csv, curve.png and verdict.txt from the curve's points."""
    from imclass.experiments.curve_plot import curve_figure

    fit = fit_saturating(curve.x, curve.scores())
    result = CurveResult(
        curve,
        judge(curve.x, curve.scores(), fit),
        rising_classes(curve.x, curve.recalls()),
        out,
    )
    write_text(out / "curve.csv", _csv(CURVE_COLUMNS, map(_curve_line, curve.rows)))
    write_text(out / "per_class.csv", _csv(PER_CLASS_COLUMNS, _per_class_lines(curve.rows)))
    write_bytes(out / "curve.png", curve_figure(curve, fit))
    write_text(out / "verdict.txt", "\n".join(result.lines) + "\n")
    return result


CURVE_COLUMNS = ("size", "repeat", "accuracy", "macro_f1", "seconds")
PER_CLASS_COLUMNS = ("size", "repeat", "class", "recall")


def _curve_line(row: CurveRow) -> tuple:
    return row.size.per_class, row.repeat, f"{row.accuracy:.4f}", f"{row.macro_f1:.4f}", row.seconds


def _per_class_lines(rows):
    for row in rows:
        for name, recall in row.recall.items():
            yield row.size.per_class, row.repeat, name, f"{recall:.4f}"


def _csv(header, lines) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue()
