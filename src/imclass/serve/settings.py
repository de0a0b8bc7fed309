"""What one `imclass serve` works on and within which limits: every setting in one place, with
its default and where the number came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from imclass.data.uploads import MAX_UPLOAD_BYTES

MAX_IMAGES = 32  # a request's images; as many as one batch
MAX_BATCH = 32  # the Predictor's default batch
# Long enough for requests arriving together to meet, short beside a CPU batch's ~100 ms;
# see README "Serving a model" for the throughput it gives under load.
BATCH_WINDOW_S = 0.005
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ServeSettings:
    """run_dir: the trained run served; max_request_bytes: a request's body (every image
    together, base64 included); max_images: images a request; max_batch and batch_window_s:
    how the batcher groups images of concurrent requests; timeout_s: how long a request's body
    may take to arrive, and then its answer; runtime: "auto", "onnx" or "torch", as for
    `imclass predict` (inference/runtime.py); threads: the runtime's threads in each server
    process (None: its own choice); answer_while_loading: take connections while the model loads
    (/readyz says 503 meanwhile), or only once it is loaded (several worker processes share
    one port: a loading one then leaves the connections to those ready)."""

    run_dir: Path
    max_request_bytes: int = MAX_UPLOAD_BYTES
    max_images: int = MAX_IMAGES
    max_batch: int = MAX_BATCH
    batch_window_s: float = BATCH_WINDOW_S
    timeout_s: float = TIMEOUT_S
    runtime: str = "auto"
    threads: int | None = None
    answer_while_loading: bool = True
