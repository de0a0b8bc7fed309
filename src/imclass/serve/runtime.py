"""The served model once loaded: its Predictor, the batcher feeding it, and its description.
Only the loading thread imports this module (it imports torch), so the server answers /healthz
and /readyz while torch and the model load."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from imclass._version import __version__
from imclass.errors import UploadError
from imclass.inference import Predictor
from imclass.inference.answers import decode_for, label_records, ranked_labels
from imclass.inference.backends import warm_up
from imclass.models.run_dir import ModelSpec, RunDirectory
from imclass.progress import Reporter
from imclass.serve.batcher import Batcher
from imclass.serve.settings import ServeSettings
from imclass.web.uploads import Upload, refusal

VERSION_DIGITS = 12  # of the weights' SHA-256, as a short commit id


class ModelRuntime:
    """ModelRuntime.load(settings): decode(uploads) in a worker thread, then
    `await probabilities(images)` and labels(rows, top_k); stop() at shutdown."""

    def __init__(self, predictor: Predictor, settings: ServeSettings, version: str):
        self.predictor, self.spec, self.settings = predictor, predictor.spec, settings
        self.description = describe(self.spec, version, predictor.runtime)
        self.warm_up_calls = 0  # full batches run before ready (warm_up)
        self.batcher = Batcher(
            predictor.predict_images,
            window=settings.batch_window_s,
            max_batch=settings.max_batch,
        ).start()

    @classmethod
    def load(cls, settings: ServeSettings) -> ModelRuntime:
        if settings.threads is not None:  # this server process's own setting
            torch.set_num_threads(settings.threads)
        run = RunDirectory(settings.run_dir)
        predictor = Predictor.from_run_dir(
            run.path,
            runtime=settings.runtime,
            batch_size=settings.max_batch,
            threads=settings.threads,
            reporter=Reporter(),
        )
        runtime = cls(predictor, settings, weights_version(run.weights_path))
        runtime.warm_up()
        return runtime

    def warm_up(self) -> None:
        """Run a full batch of blank pictures until the runtime is warm (inference/backends.py
        warm_up), so that /readyz says ready when answers come at full speed: cold, ONNX
        Runtime took 2.1 s for the first batch of 32 that later took 1.0 s."""
        size = self.spec.preprocessing.image_size
        blank = [Image.new("RGB", (size, size))] * self.settings.max_batch
        self.warm_up_calls = warm_up(lambda: self.predictor.predict_images(blank))

    def decode(self, uploads: list[Upload]) -> list[Image.Image]:
        """Every upload's picture; the first that does not decode refuses the request (400,
        or 413 when over the limit), naming it."""
        images = []
        for index, upload in enumerate(uploads):
            try:
                images.append(decode_for(self.spec, upload.data, self.settings.max_request_bytes))
            except UploadError as error:
                raise refusal(error, upload.name(index)) from None
        return images

    async def probabilities(self, images: list[Image.Image]) -> np.ndarray:
        """(N, C) rows for images, computed by the batcher with other requests' images."""
        futures = self.batcher.submit(images)
        return np.stack(await asyncio.gather(*map(asyncio.wrap_future, futures)))

    def labels(self, probs: np.ndarray, top_k: int | None) -> list[list[dict]]:
        return [label_records(pairs) for pairs in ranked_labels(probs, self.spec, top_k)]

    def stop(self) -> None:
        self.batcher.stop()


def describe(spec: ModelSpec, version: str, runtime: str) -> dict:
    """GET /v1/model: what the model answers and how it wants its input."""
    pre = spec.preprocessing
    return {
        "architecture": spec.architecture,
        "classes": list(spec.classes),
        "multilabel": spec.multilabel,
        "thresholds": list(spec.decision_thresholds()) if spec.multilabel else None,
        "temperature": spec.temperature,
        "flip_tta": spec.flip_tta,
        "preprocessing": {
            **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(pre).items()},
            "resize_size": pre.resize_size,
        },
        "version": version,
        "runtime": runtime,
        "imclass_version": __version__,
    }


def weights_version(path: Path) -> str:
    """The first digits of the weights file's SHA-256: another model, another version."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:VERSION_DIGITS]
