"""`imclass demo`: the main job, offline, on scikit-learn's bundled handwritten digits.

Builds a real folder-per-class data set of image files, then split -> train (`text`
augmentation: mirrored digits are other glyphs) -> evaluate -> predict a few.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from imclass.files import atomic_path
from imclass.inference.predictor import Predictor, top_k
from imclass.progress import Reporter
from imclass.train.config import TrainConfig
from imclass.train.run import RunResult, train_run

# 8x8 digits upscaled to 32 px files, trained at 64 px. One backbone, tf_efficientnet_lite2
# (the default until the joined pair, which costs ~1.8x per image, replaced it for photos):
# the demo shows the whole flow in about two minutes; digits are not what the pair was for.
FILE_SIZE = 32
DEMO_CONFIG = TrainConfig(
    model="tf_efficientnet_lite2", augment="text", image_size=64, epochs=4, head_epochs=20
)


def write_digits(folder: Path) -> Path:
    """Write the 1,797 digits as PNG files in folder/<digit>/; returns folder."""
    digits = load_digits()
    for index, (pixels, target) in enumerate(zip(digits.images, digits.target, strict=True)):
        path = folder / f"digit_{target}" / f"{index:04d}.png"
        if path.exists():
            continue
        gray = (255 - pixels * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)  # dark ink on white
        picture = Image.fromarray(gray).resize((FILE_SIZE, FILE_SIZE), Image.Resampling.BICUBIC)
        with atomic_path(path) as temporary:
            picture.save(temporary, format="PNG")
    return folder


def run_demo(out: Path, reporter: Reporter | None = None) -> tuple[RunResult, list]:
    """Build the data set under out/digits, train into out/run; returns the run and samples."""
    reporter = reporter or Reporter()
    data = write_digits(out / "digits")
    reporter.line(f"demo data set: {data} (1,797 handwritten digits, 10 classes)")
    result = train_run(data, DEMO_CONFIG, out / "run", reporter)
    predictor = Predictor.from_run_dir(result.run_dir)
    samples = sorted(data.glob("*/*.png"))[::360][:5]
    scored = predictor.probabilities(samples)
    read = [samples[row] for row in scored.readable]
    ranked = top_k(scored.probs[scored.readable], predictor.spec.classes, 1)
    predictions = list(zip(read, ranked, strict=True))
    return result, predictions
