"""`imclass predict` throughput: ONNX Runtime against eager PyTorch, side by side in one run.

    python bench/predict_speed.py ../shared/data/hymenoptera [--run RUN_DIR] [--epochs 1]
        [--model NAME] [--image-size N] [--repeats 2] [--limit N]

Without --run, trains a run on DATA_DIR first: the default model and size (what `imclass
train` gives: tf_efficientnet_lite2+tf_efficientnet_lite1 at 320 px) unless --model or
--image-size, its ImageNet weights, --epochs fine-tuning epochs after the probe, flip TTA on as
by default (so every runtime scores each photo twice). The ONNX files are exported before any
timing (the exports are timed apart). Then every photo under DATA_DIR is scored, alternately,
--repeats times each, the best time of each kept, by:
  before  the eager Predictor as it was before the ONNX runtime: DataLoader worker processes
          decoding normalised float tensors, the model run by inference.batches.run_inference
  torch   Predictor.from_run_dir(runtime="torch"): eager, decoded by worker threads
  onnx    Predictor.from_run_dir(runtime="onnx"): ONNX Runtime on model.onnx (float32)
  int8    Predictor.from_onnx(model.int8.onnx): `imclass export --quantize static`
Prints images/s of each, the ratios to "before" (the target: onnx >= 3x) and to "torch", and
for onnx and int8 the largest |difference| of any probability from "before" and the share of
labels that agree. And the load average before and after: on a shared machine it decides more
than the code does. On a busy machine "before" also pays for PyTorch's OpenMP threads spinning
while they wait (set OMP_WAIT_POLICY=PASSIVE to see how much); "torch" hardly does, its decoding
threads make libgomp throttle the spinning.
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


def train_run_for(data: Path, out: Path, args: argparse.Namespace) -> Path:
    from imclass.train.config import TrainConfig
    from imclass.train.run import train_run

    started = time.perf_counter()
    config = TrainConfig(model=args.model, image_size=args.image_size, epochs=args.epochs)
    train_run(data, config, out, Reporter(quiet=True))
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
    parser.add_argument("--model", help="its backbone [default: imclass train's]")
    parser.add_argument("--image-size", type=int, help="its input size [default: the model's]")
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
            train_run_for(args.data, run, args)
        compare(run, paths, args.repeats)


def compare(run: Path, paths: list[Path], repeats: int) -> None:
    for settings in (ExportSettings(dynamic_batch=True), ExportSettings(quantize="static")):
        exported = export_run(run, settings=settings)
        print(
            f"export {exported.path.name}: {exported.seconds:.1f} s, parity "
            f"{exported.parity.describe()}",
            flush=True,
        )
    scorers = {"before": ScoredAsBefore(run)}
    scorers |= {name: Predictor.from_run_dir(run, runtime=name) for name in ("torch", "onnx")}
    scorers["int8"] = Predictor.from_onnx(RunDirectory(run).quantized_onnx_path)
    spec = scorers["torch"].spec
    print(
        f"{len(paths)} photos, {spec.architecture} at {spec.preprocessing.image_size} px, "
        f"flip TTA {spec.flip_tta}; load average {load()}",
        flush=True,
    )
    best = {name: float("inf") for name in scorers}
    probs = {}
    for _ in range(repeats):
        for name, scorer in scorers.items():
            seconds, probs[name] = timed(scorer, paths)
            best[name] = min(best[name], seconds)
            print(f"  {name}: {len(paths) / seconds:.1f} images/s", flush=True)
    rate = {name: len(paths) / seconds for name, seconds in best.items()}
    for name in scorers:
        line = f"{name:>6}: {rate[name]:5.1f} images/s = {rate[name] / rate['before']:.2f}x before"
        line += f", {rate[name] / rate['torch']:.2f}x torch"
        if name in ("onnx", "int8"):
            difference = float(np.nanmax(np.abs(probs["before"] - probs[name])))
            agree = np.nanargmax(probs["before"], 1) == np.nanargmax(probs[name], 1)
            line += f"; max |difference in probability| {difference:.2g}, "
            line += f"same label on {agree.mean():.1%}"
        print(line)
    print(f"load average {load()}")


if __name__ == "__main__":
    sys.exit(main())
