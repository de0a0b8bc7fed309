"""Training throughput of imclass next to a minimal hand-written PyTorch loop.

    python bench/train_speed.py ../shared/data/hymenoptera [--epochs 2] [--batch-size 32]

Same model (tf_efficientnet_lite0 with its ImageNet weights), same batch size, same images, same
augmentation and the same number of decoding workers. The minimal loop is what one writes from
the PyTorch tutorial: ImageFolder, DataLoader, model.train(), AdamW, cross-entropy. Epochs
alternate between the two so machine noise hits both alike. Prints images/s, the ratio
imclass / minimal (target >= 0.95) and the fraction of step time spent waiting for data.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import torchvision  # noqa: E402
from torch import nn  # noqa: E402

from imclass.data.dataset import open_data  # noqa: E402
from imclass.data.loader import default_workers  # noqa: E402
from imclass.data.split import train_valid_sets  # noqa: E402
from imclass.inference.device import use_all_cores  # noqa: E402
from imclass.progress import Reporter  # noqa: E402
from imclass.train.config import TrainConfig  # noqa: E402
from imclass.train.loop import finetune_epoch  # noqa: E402
from imclass.train.resolve import resolve
from imclass.train.schedule import LrSchedule  # noqa: E402
from imclass.train.trainer import Trainer  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import write_photos  # noqa: E402


def minimal_epoch(model, loader, optimizer) -> tuple[int, float, float]:
    """The tutorial loop; returns images, seconds and seconds spent waiting for data."""
    model.train()
    images, wait = 0, 0.0
    start = waited_from = time.perf_counter()
    for inputs, labels in loader:
        wait += time.perf_counter() - waited_from
        loss = nn.functional.cross_entropy(model(inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        images += len(labels)
        waited_from = time.perf_counter()
    return images, time.perf_counter() - start, wait


def build_imclass(data: Path, batch_size: int, workers: int, cache: bool | None = None) -> Trainer:
    config = TrainConfig(batch_size=batch_size, workers=workers, cache=cache)
    source = open_data(data)
    train, valid = train_valid_sets(source, config.valid_fraction, config.seed)
    resolved = resolve(config, source, train, valid)
    return Trainer(
        resolved, source, Path("/tmp/imclass-train-speed"), train, valid, Reporter(quiet=True)
    )


def build_minimal(trainer: Trainer, data: Path, batch_size: int, workers: int):
    model = copy.deepcopy(trainer.model).to(memory_format=torch.contiguous_format)
    folder = data / "train" if (data / "train").is_dir() else data
    dataset = torchvision.datasets.ImageFolder(
        folder, transform=trainer.train_loader(0).dataset.transform
    )
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, num_workers=workers
    )
    return model, loader, torch.optim.AdamW(model.parameters(), lr=1e-4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--large", type=int, default=160, help="generated 12-MP JPEGs (0: skip)")
    args = parser.parse_args()
    use_all_cores()  # as the CLI does; the library leaves torch's threads alone
    workers = default_workers()
    trainer = build_imclass(args.data, args.batch_size, workers)
    model, loader, optimizer = build_minimal(trainer, args.data, args.batch_size, workers)
    imclass_optimizer = trainer.finetune_optimizer()
    steps = args.epochs * len(trainer.train_loader(0))
    schedule = LrSchedule([g["lr"] for g in imclass_optimizer.param_groups], steps, 0)
    totals = {"minimal": [0, 0.0, 0.0], "imclass": [0, 0.0, 0.0]}
    for epoch in range(args.epochs):
        for name, figures in (
            ("minimal", minimal_epoch(model, loader, optimizer)),
            ("imclass", _imclass_epoch(trainer, imclass_optimizer, schedule, epoch)),
        ):
            totals[name] = [a + b for a, b in zip(totals[name], figures, strict=True)]
            print(
                f"epoch {epoch + 1} {name:>8}: {figures[0] / figures[1]:6.1f} images/s, "
                f"data wait {figures[2] / figures[1]:.1%}",
                flush=True,
            )
    rates = {name: images / seconds for name, (images, seconds, _) in totals.items()}
    for name, (images, seconds, wait) in totals.items():
        print(
            f"{name:>8}: {rates[name]:6.1f} images/s over {images} images, "
            f"data wait {wait / seconds:.1%} of step time"
        )
    print(
        f"imclass / minimal = {rates['imclass'] / rates['minimal']:.2f} (target >= 0.95); "
        f"{workers} decoding worker(s), batch {args.batch_size}, {torch.get_num_threads()} threads"
    )
    if args.large:
        large_jpeg_case(args.large, 3, args.batch_size, workers)


def large_jpeg_case(count: int, epochs: int, batch_size: int, workers: int) -> None:
    """12-megapixel JPEGs with the decode cache: the first epoch decodes, later ones reuse."""
    with tempfile.TemporaryDirectory() as folder:
        os.environ["IMCLASS_CACHE_DIR"] = str(Path(folder) / "cache")
        write_photos(Path(folder) / "photos", count, (4000, 3000))
        trainer = build_imclass(Path(folder) / "photos", batch_size, workers, cache=True)
        optimizer = trainer.finetune_optimizer()
        schedule = LrSchedule([g["lr"] for g in optimizer.param_groups], 10**6, 0)
        for epoch in range(epochs):
            images, seconds, wait = _imclass_epoch(trainer, optimizer, schedule, epoch)
            label = "first (decoding 12 MP)" if epoch == 0 else "later (from the cache)"
            print(
                f"12-MP JPEGs, epoch {epoch + 1} {label}: {images / seconds:.1f} images/s, "
                f"data wait {wait / seconds:.1%} of step time (target <= 5% after the first)",
                flush=True,
            )


def _imclass_epoch(trainer: Trainer, optimizer, schedule, epoch: int):
    stats, _ = finetune_epoch(
        trainer.model,
        optimizer,
        schedule,
        trainer.train_loader(epoch),
        trainer.device,
        task=trainer.task,
        advance=lambda n, s="": None,
    )
    return stats.images, stats.seconds, stats.data_wait


if __name__ == "__main__":
    main()
