"""`imclass predict` throughput: ONNX Runtime against eager PyTorch, side by side in one run.

    python bench/predict_speed.py ../shared/data/hymenoptera [--run RUN_DIR] [--epochs 1]
        [--repeats 2] [--limit N]

Without --run, trains a small run on DATA_DIR first (tf_efficientnet_lite0 at 224 px, its
ImageNet weights, --epochs fine-tuning epochs after the probe; flip TTA as trained, so both
runtimes score each photo twice). The ONNX file is exported before any timing (the export is
timed apart). Then every photo under DATA_DIR is scored, alternately, --repeats times each, the
best time of each kept, by:
  before  the eager Predictor as it was before the ONNX runtime: DataLoader worker processes
          decoding normalised float tensors, the model run by inference.batches.run_inference
  torch   Predictor.from_run_dir(runtime="torch"): eager, decoded by worker threads
  onnx    Predictor.from_run_dir(runtime="onnx"): ONNX Runtime, decoded by worker threads
Prints images/s of each, the ratios onnx / before (target >= 3x) and onnx / torch, the largest
|difference| of any probability and whether every label is the same, and the load average
before and after: on a shared machine it decides more than the code does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from imclass.data.dataset import ImageSet  # noqa: E402
from imclass.data.images import expand_paths  # noqa: E402
from imclass.data.loader import make_loader  # noqa: E402
from imclass.data.transforms import eval_transform  # noqa: E402
from imclass.inference import Predictor, export_run, probabilities  # noqa: E402
from imclass.inference.batches import run_inference  # noqa: E402
from imclass.inference.device import pick_device, prepare, use_all_cores  # noqa: E402
from imclass.inference.export import ExportSettings  # noqa: E402
from imclass.models.run_dir import RunDirectory  # noqa: E402
from imclass.progress import Reporter  # noqa: E402


def train_small_run(data: Path, out: Path, epochs: int) -> Path:
    from imclass.train.config import TrainConfig
    from imclass.train.run import train_run

    started = time.perf_counter()
    train_run(data, TrainConfig(epochs=epochs), out, Reporter(quiet=True))
    print(f"trained {out} in {time.perf_counter() - started:.0f} s", flush=True)
    return out


class ScoredAsBefore:
    """Predictor.probabilities as it was before the ONNX runtime (same batch size and workers)."""

    def __init__(self, run: Path, batch_size: int = 32):
        model, self.spec = RunDirectory(run).load_model()
        self.device = pick_device("auto")
        self.model, self.batch_size = prepare(model, self.device), batch_size

    def probabilities(self, paths: list[Path]) -> np.ndarray:
        pre = self.spec.preprocessing
        loader = make_loader(
            ImageSet(tuple(paths), (0,) * len(paths)),
            eval_transform(pre),
            batch_size=self.batch_size,
            workers=None if len(paths) > self.batch_size else 0,
            decode_size=pre.resize_size,
        )
        flip = self.spec.flip_tta
        out = run_inference(self.model, loader, self.device, lambda n: None, flip=flip)
        probs = np.full((len(paths), len(self.spec.classes)), np.nan, dtype=np.float32)
        probs[out.indices.numpy()] = probabilities(
            out.values, multilabel=self.spec.multilabel, temperature=self.spec.temperature
        ).numpy()
        return probs


def timed(scorer, paths: list[Path]) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    probs = scorer.probabilities(paths)
    probs = probs.probs if hasattr(probs, "probs") else probs
    return time.perf_counter() - started, probs


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--run", type=Path, help="a trained run [default: train one first]")
    parser.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs of that run")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--limit", type=int, help="score only the first N photos")
    args = parser.parse_args()
    use_all_cores()  # as the CLI does
    paths = expand_paths([args.data])[: args.limit]
    with tempfile.TemporaryDirectory() as scratch:
        run = Path(scratch) / "run"
        if args.run:
            shutil.copytree(args.run, run)  # the export goes into the copy, not the user's run
        else:
            train_small_run(args.data, run, args.epochs)
        compare(run, paths, args.repeats)


def compare(run: Path, paths: list[Path], repeats: int) -> None:
    RunDirectory(run).onnx_path.unlink(missing_ok=True)
    exported = export_run(run, settings=ExportSettings(dynamic_batch=True))
    print(f"export: {exported.seconds:.1f} s, parity {exported.parity.describe()}", flush=True)
    scorers = {"before": ScoredAsBefore(run)}
    scorers |= {name: Predictor.from_run_dir(run, runtime=name) for name in ("torch", "onnx")}
    print(f"{len(paths)} photos; load average {load()}", flush=True)
    best = {name: float("inf") for name in scorers}
    probs = {}
    for _ in range(repeats):
        for name, scorer in scorers.items():
            seconds, probs[name] = timed(scorer, paths)
            best[name] = min(best[name], seconds)
            print(f"  {name}: {len(paths) / seconds:.1f} images/s", flush=True)
    rate = {name: len(paths) / seconds for name, seconds in best.items()}
    difference = float(np.nanmax(np.abs(probs["before"] - probs["onnx"])))
    same = bool((np.nanargmax(probs["before"], 1) == np.nanargmax(probs["onnx"], 1)).all())
    print(
        f"eager as before {rate['before']:.1f} images/s, eager torch now {rate['torch']:.1f}, "
        f"ONNX Runtime {rate['onnx']:.1f}: onnx / before = {rate['onnx'] / rate['before']:.2f}x, "
        f"onnx / torch = {rate['onnx'] / rate['torch']:.2f}x; max |difference in probability| "
        f"{difference:.2g}, same labels: {same}; load average {load()}"
    )


if __name__ == "__main__":
    sys.exit(main())
