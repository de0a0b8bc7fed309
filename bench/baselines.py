"""Pieces the benchmarks' baselines share: pooled frozen features of an image set."""

from __future__ import annotations

import numpy as np
import torch

from imclass.data.dataset import ImageSet
from imclass.data.loader import make_loader
from imclass.data.transforms import eval_transform
from imclass.inference.batches import run_inference


def pooled_features(model, pre, images: ImageSet) -> np.ndarray:
    """Pooled pre-logit features, one row per image in the set's order (labels not needed)."""
    unlabelled = ImageSet(images.paths, (0,) * len(images))
    loader = make_loader(
        unlabelled, eval_transform(pre), batch_size=32, decode_size=pre.resize_size
    )
    out = run_inference(model, loader, torch.device("cpu"), lambda *_: None, features=True)
    return out.values[out.indices.argsort()].numpy()
