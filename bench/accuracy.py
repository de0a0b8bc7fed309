"""Accuracy of the default recipe on the shared data sets, with each training's wall time.

    python bench/accuracy.py ../shared/data [--only fridge|hymenoptera] [--folds 5]

fridgeObjects: stratified 5-fold cross-validation (mean and spread of accuracy).
hymenoptera: train on train/, score on val/ (the split it ships with).
Targets (issue 2): fridgeObjects mean >= 0.96, hymenoptera >= 0.95, each training <= 180 s.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from imclass.data.dataset import open_data  # noqa: E402
from imclass.progress import Reporter  # noqa: E402
from imclass.train.config import TrainConfig  # noqa: E402
from imclass.train.run import train_run  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from settings import add_set_option, config_from  # noqa: E402


def timed_run(data: Path, run_dir: Path, config: TrainConfig) -> tuple[float, float, str]:
    start = time.perf_counter()
    result = train_run(data, config, run_dir, Reporter(quiet=True))
    return result.metrics["accuracy"], time.perf_counter() - start, result.best_epoch


def write_fold(path: Path, images, classes, valid_index) -> Path:
    valid = set(valid_index.tolist())
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split"])
        for i, (image, label) in enumerate(zip(images.paths, images.labels, strict=True)):
            writer.writerow([image, classes[label], "valid" if i in valid else "train"])
    return path


def fridge(root: Path, work: Path, folds: int, config: TrainConfig) -> None:
    source = open_data(root / "fridgeObjects")
    images = source.all_images()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    accuracies = []
    for fold, (_, valid_index) in enumerate(splitter.split(images.paths, images.labels)):
        split_file = write_fold(work / f"fold{fold}.csv", images, source.classes, valid_index)
        accuracy, seconds, best = timed_run(split_file, work / f"fridge{fold}", config)
        accuracies.append(accuracy)
        print(
            f"fridgeObjects fold {fold + 1}/{folds}: accuracy {accuracy:.4f} "
            f"(best epoch {best}), {seconds:.0f} s wall",
            flush=True,
        )
    print(
        f"fridgeObjects {folds}-fold: mean accuracy {np.mean(accuracies):.4f} "
        f"+- {np.std(accuracies):.4f} (target >= 0.96)",
        flush=True,
    )


def hymenoptera(root: Path, work: Path, config: TrainConfig) -> None:
    accuracy, seconds, best = timed_run(root / "hymenoptera", work / "hymenoptera", config)
    print(
        f"hymenoptera train->val: accuracy {accuracy:.4f} (best epoch {best}), "
        f"{seconds:.0f} s wall (target >= 0.95, <= 180 s)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_root", type=Path)
    parser.add_argument("--only", choices=["fridge", "hymenoptera"])
    parser.add_argument("--folds", type=int, default=5)
    add_set_option(parser)
    args = parser.parse_args()
    config = config_from(args.set)
    with tempfile.TemporaryDirectory() as work:
        if args.only in (None, "fridge"):
            fridge(args.data_root.resolve(), Path(work), args.folds, config)
        if args.only in (None, "hymenoptera"):
            hymenoptera(args.data_root, Path(work), config)


if __name__ == "__main__":
    main()
