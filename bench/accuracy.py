"""Held-out accuracy of imclass's defaults beside two baselines, measured in the same run.

    python bench/accuracy.py ../shared/data [--only fridge|hymenoptera] [--folds 5]
                             [--set NAME=VALUE ...]

Protocol: an outer split whose test side no training decision ever sees (not the epoch, the
temperature, the L2 strength or any setting); every choice is made on the training side.
- fridgeObjects: stratified 5-fold outer cross-validation (--fold-seed, 0 by default): mean
  +- std over folds. The defaults were chosen looking at seed 0's folds; other seeds are
  splits no choice saw.
- hymenoptera: train on train/ (imclass takes its inner validation from train/), score val/.
- --holdout 0.25 --split-seeds 101,102: fridgeObjects split once per seed, stratified, that
  share held out (the issue's "75 / 25 with a seed you do not choose"), instead of the folds.
Methods, on the same splits and images, with the backbone and input size imclass resolved:
- imclass: `train` on a split file of the outer-train images, `evaluate` on the outer test.
- probe: logistic regression on the frozen backbone's pooled features, L2 by inner CV.
- plain: the tutorial fine-tune loop: every layer, AdamW lr 1e-4, batch 16, the photo
  augmentation, as many epochs as imclass fine-tunes, the last epoch kept.
Targets (issue 8): imclass >= 0.96 on fridgeObjects and >= 0.95 on hymenoptera, ahead of both
baselines, each training <= 180 s on 2 CPU cores.
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
import torch  # noqa: E402
from sklearn.model_selection import StratifiedKFold, train_test_split  # noqa: E402

from imclass.data.dataset import ImageSet, LabelOptions, open_data  # noqa: E402
from imclass.data.loader import make_loader  # noqa: E402
from imclass.data.transforms import eval_transform, train_transform  # noqa: E402
from imclass.evaluate.evaluator import evaluate_run  # noqa: E402
from imclass.evaluate.metrics import expected_calibration_error  # noqa: E402
from imclass.inference.batches import run_inference  # noqa: E402
from imclass.inference.device import use_all_cores  # noqa: E402
from imclass.models.heads import build_model  # noqa: E402
from imclass.models.run_dir import RunDirectory  # noqa: E402
from imclass.progress import Reporter  # noqa: E402
from imclass.train.config import TrainConfig  # noqa: E402
from imclass.train.probe import fit_linear_probe  # noqa: E402
from imclass.train.run import train_run  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from baselines import pooled_features  # noqa: E402
from settings import add_set_option, config_from  # noqa: E402

METHODS = ("imclass", "probe", "plain")


def write_split(path: Path, images: ImageSet, classes, side: str) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split"])
        rows = zip(images.paths, images.labels, strict=True)
        writer.writerows([path, classes[label], side] for path, label in rows)
    return path


def run_imclass(train: ImageSet, test: ImageSet, classes, work: Path, config: TrainConfig):
    """Train on the outer-train images, evaluate on the outer test; (metrics, seconds, run)."""
    # the split files live in the work folder and list the photos where they are
    options = LabelOptions(root=Path(os.path.commonpath([*train.paths, *test.paths])))
    start = time.perf_counter()
    train_file = write_split(work / "train.csv", train, classes, "train")
    result = train_run(train_file, config, work / "run", Reporter(quiet=True), options)
    seconds = time.perf_counter() - start
    test_file = write_split(work / "test.csv", test, classes, "test")
    metrics = evaluate_run(work / "run", test_file, work / "heldout", Reporter(quiet=True), options)
    return metrics, seconds, result.run_dir


def run_probe(train: ImageSet, test: ImageSet, classes, run_dir: Path, seed: int):
    start = time.perf_counter()
    spec = RunDirectory(run_dir).read_spec()
    model = build_model(spec.architecture, len(classes)).eval()
    pre = spec.preprocessing
    x_train = pooled_features(model, pre, train)
    probe = fit_linear_probe(x_train, np.array(train.labels), len(classes), seed)
    seconds = time.perf_counter() - start
    x_test = pooled_features(model, pre, test)
    return float(np.mean(probe.logits(x_test).argmax(1) == np.array(test.labels))), seconds


def run_plain(train: ImageSet, test: ImageSet, classes, run_dir: Path, epochs: int, seed: int):
    """What one writes from the PyTorch transfer-learning tutorial, on the same backbone."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    spec = RunDirectory(run_dir).read_spec()
    model = build_model(spec.architecture, len(classes))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loader = make_loader(
        train,
        train_transform("photo", spec.preprocessing),
        batch_size=16,
        shuffle=True,
        decode_size=spec.preprocessing.resize_size,
    )
    for _ in range(epochs):
        model.train()
        for batch in loader:
            loss = torch.nn.functional.cross_entropy(model(batch.inputs), batch.labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    loader = make_loader(
        test,
        eval_transform(spec.preprocessing),
        batch_size=32,
        decode_size=spec.preprocessing.resize_size,
    )
    out = run_inference(model, loader, torch.device("cpu"), lambda *_: None)
    return float((out.values.argmax(1) == out.labels).float().mean()), seconds


def compare(name, train, test, classes, work: Path, config: TrainConfig, methods) -> dict:
    """Every method on one outer split; prints one line per method, returns their accuracies."""
    work.mkdir(parents=True)
    metrics, seconds, run_dir = run_imclass(train, test, classes, work, config)
    results = {"imclass": (metrics["accuracy"], seconds), "held_out": held_out_rows(work, classes)}
    print(
        f"{name} imclass: held-out {metrics['accuracy']:.4f}, ECE "
        f"{metrics['expected_calibration_error']:.3f} (before scaling "
        f"{metrics['expected_calibration_error_unscaled']:.3f}), train {seconds:.0f} s",
        flush=True,
    )
    if "probe" in methods:
        results["probe"] = run_probe(train, test, classes, run_dir, config.seed)
    if "plain" in methods:
        results["plain"] = run_plain(train, test, classes, run_dir, config.epochs, config.seed)
    for method in methods[1:]:
        accuracy, seconds = results[method]
        print(f"{name} {method}: held-out {accuracy:.4f}, train {seconds:.0f} s", flush=True)
    return results


def held_out_rows(work: Path, classes) -> tuple[np.ndarray, np.ndarray]:
    """imclass's held-out labels and calibrated probabilities, from evaluate's predictions.csv."""
    with RunDirectory(work / "heldout").predictions_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([classes.index(row["label"]) for row in rows])
    probs = np.array([[float(row[f"p_{c}"]) for c in classes] for row in rows])
    return labels, probs


def summary(title: str, runs: list[dict], methods) -> None:
    labels = np.concatenate([run["held_out"][0] for run in runs])
    probs = np.concatenate([run["held_out"][1] for run in runs])
    print(
        f"{title} imclass: expected calibration error over all {len(labels)} held-out "
        f"images {expected_calibration_error(labels, probs):.3f}",
        flush=True,
    )
    for method in methods:
        accuracies = [run[method][0] for run in runs]
        seconds = [run[method][1] for run in runs]
        print(
            f"{title} {method:>7}: held-out accuracy {np.mean(accuracies):.4f} "
            f"+- {np.std(accuracies):.4f}, training {min(seconds):.0f}-{max(seconds):.0f} s",
            flush=True,
        )


def outer_folds(images: ImageSet, folds: int, seed: int) -> list[tuple]:
    """(name, train indices, test indices) of stratified k-fold outer cross-validation."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    parts = splitter.split(images.paths, images.labels)
    return [(f"fold {k + 1}/{folds}", train, test) for k, (train, test) in enumerate(parts)]


def holdout_splits(images: ImageSet, fraction: float, seeds: list[int]) -> list[tuple]:
    """(name, train indices, test indices): one stratified split per seed, fraction held out."""
    return [
        (
            f"{1 - fraction:.0%} / {fraction:.0%} split, seed {seed}",
            *train_test_split(
                np.arange(len(images)),
                test_size=fraction,
                stratify=images.labels,
                random_state=seed,
            ),
        )
        for seed in seeds
    ]


def fridge(root: Path, work: Path, args: argparse.Namespace, config: TrainConfig, methods) -> None:
    source = open_data(root / "fridgeObjects")
    images = source.all_images()
    if args.holdout:
        seeds = [int(seed) for seed in args.split_seeds.split(",")]
        splits, title = holdout_splits(images, args.holdout, seeds), f"{len(seeds)} splits"
    else:
        splits, title = outer_folds(images, args.folds, args.fold_seed), f"{args.folds}-fold"
    runs = [
        compare(
            f"fridgeObjects {name}",
            images.subset(train),
            images.subset(test),
            source.classes,
            work / f"split{index}",
            config,
            methods,
        )
        for index, (name, train, test) in enumerate(splits)
    ]
    summary(f"fridgeObjects {title}", runs, methods)


def hymenoptera(root: Path, work: Path, config: TrainConfig, methods) -> None:
    source = open_data(root / "hymenoptera")
    train, test = source.splits["train"], source.splits["valid"]
    run = compare("hymenoptera", train, test, source.classes, work / "hym", config, methods)
    summary("hymenoptera train->val", [run], methods)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_root", type=Path)
    parser.add_argument("--only", choices=["fridge", "hymenoptera"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--fold-seed", type=int, default=0, help="fridgeObjects: seed of the outer folds"
    )
    parser.add_argument(
        "--holdout",
        type=float,
        help="fridgeObjects: hold this share out once per --split-seeds seed, not the folds",
    )
    parser.add_argument("--split-seeds", default="101,102,103,104,105", help="with --holdout")
    parser.add_argument(
        "--methods", nargs="+", default=list(METHODS), choices=METHODS, help="imclass first"
    )
    add_set_option(parser)
    args = parser.parse_args()
    config = config_from(args.set)
    methods = ["imclass", *(m for m in args.methods if m != "imclass")]
    use_all_cores()
    root = args.data_root.resolve()
    with tempfile.TemporaryDirectory() as work:
        if args.only in (None, "fridge"):
            fridge(root, Path(work), args, config, methods)
        if args.only in (None, "hymenoptera"):
            hymenoptera(root, Path(work), config, methods)


if __name__ == "__main__":
    main()
