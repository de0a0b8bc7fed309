"""One experiment point: a recipe trained on some of a data set's training side and scored on a
held-out side that no training decision touched (not the epoch, the temperature or any setting:
the protocol of bench/accuracy.py). learning-curve, compare, sweep and hard-negatives are made of
points; a finished point is kept in its folder and never trained again (re-runs resume)."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from imclass.data.dataset import DataSource, ImageSet, LabelOptions, label_ids, open_data
from imclass.data.split import split_data_set
from imclass.errors import ConfigError, DataError
from imclass.evaluate.evaluator import evaluate_run
from imclass.files import read_json, write_json, write_text
from imclass.progress import Reporter, raise_if_interrupted
from imclass.train.config import TrainConfig
from imclass.train.run import train_run

POINT_FILE = "point.json"
SPLIT_FILE = "split.csv"


@dataclass(frozen=True)
class HeldOut:
    """A data set cut once into the images experiments train on and the images they score on."""

    source: DataSource
    train: ImageSet
    test: ImageSet

    @property
    def classes(self) -> tuple[str, ...]:
        return self.source.classes


def held_out_split(
    data: Path | str,
    test_fraction: float = 0.25,
    seed: int = 0,
    options: LabelOptions | None = None,
) -> HeldOut:
    """The data set's own test rows (a split file or test/ folder) when it has them, else a
    stratified test_fraction of its images, exact duplicates kept on one side."""
    source = open_data(data, options)
    if "test" in source.splits:
        train = [images for side, images in source.splits.items() if side != "test"]
        paths = tuple(p for images in train for p in images.paths)
        labels = tuple(label for images in train for label in images.labels)
        return HeldOut(source, ImageSet(paths, labels), source.splits["test"])
    if not 0 < test_fraction < 1:
        raise DataError(f"the held-out fraction must be in (0, 1); got {test_fraction}")
    plan, _ = split_data_set(
        source.all_images(), source.classes, valid=0.0, test=test_fraction, seed=seed
    )
    held = HeldOut(source, plan.side("train"), plan.side("test"))
    if not len(held.test):
        raise DataError(f"{data}: too few images to hold {test_fraction:.0%} out for testing")
    return held


def images_per_class(images: ImageSet, classes) -> dict[str, int]:
    counts = dict.fromkeys(classes, 0)
    for label in images.labels:
        for i in label_ids(label):
            counts[classes[i]] += 1
    return counts


def score_of(metrics: dict) -> float:
    """The headline figure: accuracy, or exact match for multi-label models."""
    return float(metrics["exact_match"] if metrics.get("multilabel") else metrics["accuracy"])


def train_point(
    held: HeldOut,
    train: ImageSet,
    folder: Path,
    config: TrainConfig,
    reporter: Reporter | None = None,
) -> dict:
    """Train config on `train` into folder/run, score held.test into folder/heldout; returns
    (and keeps in folder/point.json) accuracy, macro F1, per-class recall and seconds. A point
    whose point.json exists is read back, not trained again."""
    raise_if_interrupted()  # a Ctrl-C that landed where Python swallows it
    folder = Path(folder)
    done = folder / POINT_FILE
    if done.is_file():
        return read_json(done)
    reporter = reporter or Reporter(quiet=True)
    split = write_split(folder / SPLIT_FILE, held, train)
    # the split file is ours: read as written (labels column, space-separated), wherever it is
    options = LabelOptions(multilabel=held.source.multilabel, root=_common_folder(held, train))
    start = time.perf_counter()
    result = train_run(split, config, folder / "run", reporter, options)
    seconds = time.perf_counter() - start
    metrics = evaluate_run(result.run_dir, split, folder / "heldout", reporter, options)
    point = {
        "score": score_of(metrics),
        "accuracy": metrics.get("accuracy", metrics.get("exact_match")),
        "macro_f1": metrics["macro_f1"],
        "recall": _recalls(metrics),
        "seconds": round(seconds, 2),
        "train_images": len(train),
        "test_images": len(held.test),
    }
    write_json(done, point)
    return point


def write_split(path: Path, held: HeldOut, train: ImageSet) -> Path:
    """A split file: the training images marked train (the recipe takes its own validation
    from them), the held-out images marked test; paths relative to the file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    multilabel = held.source.multilabel  # a class name may hold spaces: one column each way
    writer.writerow(["path", "labels" if multilabel else "label", "split"])
    base = path.parent.resolve()
    for images, side in ((train, "train"), (held.test, "test")):
        for image, label in zip(images.paths, images.labels, strict=True):
            names = " ".join(held.classes[i] for i in label_ids(label))
            writer.writerow([os.path.relpath(Path(image).resolve(), base), names, side])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, buffer.getvalue())
    return path


def _common_folder(held: HeldOut, train: ImageSet) -> Path:
    """The folder every listed image is inside: what a split file elsewhere must name."""
    paths = [str(Path(p).resolve()) for p in (*train.paths, *held.test.paths)]
    return Path(os.path.commonpath(paths))


def _recalls(metrics: dict) -> dict[str, float]:
    per_class = metrics.get("per_class") or metrics.get("per_label") or {}
    return {name: float(figures["recall"]) for name, figures in per_class.items()}


EXPERIMENT_FILE = "experiment.json"


def start_experiment(out: Path | str, description: dict) -> Path:
    """out, recording what the experiment is (its data, settings and plan) on the first run;
    a later run into the same folder must be the same experiment, which it then resumes."""
    out = Path(out)
    record = out / EXPERIMENT_FILE
    description = json.loads(json.dumps(description, default=str))  # as it reads back
    if record.is_file():
        before = read_json(record)
        changed = sorted(k for k in {*before, *description} if before.get(k) != description.get(k))
        if changed:
            raise ConfigError(
                f"{out} holds another experiment ({', '.join(changed)} differ: "
                f"{', '.join(f'{k}={before.get(k)!r}' for k in changed)}); resume it with the "
                "same arguments or choose another --out"
            )
        return out
    out.mkdir(parents=True, exist_ok=True)
    write_json(record, description)
    return out
