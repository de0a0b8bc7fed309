"""How fast a trained model predicts on this machine, and what it costs: batch-1 latency,
batch throughput, parameters and FLOPs. Used by `imclass compare`; kept apart so benchmarks and
exported models measure the same way.

Every timing runs the model as `imclass predict` does (inference/batches.py forward_pieces: eval
mode, channels_last, autocast on a GPU, a few images at a time on the CPU) on random inputs of
the model's own size, one network pass per image (flip TTA, when a run uses it, doubles that).
Threads are the caller's: the CLI uses every core.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from imclass.inference.batches import forward_pieces
from imclass.inference.device import prepare


@dataclass(frozen=True)
class SpeedSettings:
    """How many calls are timed. 30 batch-1 calls give a stable median and a p95 that is not
    the single slowest call; the warm-up calls let allocators and caches settle first."""

    latency_calls: int = 30
    warmup_calls: int = 5
    batch_size: int = 32
    batch_calls: int = 5


@dataclass(frozen=True)
class Speed:
    """Measured figures, with what they were measured on."""

    latency_ms_median: float
    latency_ms_p95: float
    throughput_ips: float  # images per second in batches of batch_size
    device: str
    threads: int
    latency_calls: int
    batch_size: int

    def to_json(self) -> dict:
        return asdict(self)


def measure_speed(
    model: nn.Module,
    image_size: int,
    device: torch.device,
    settings: SpeedSettings = SpeedSettings(),
) -> Speed:
    """Batch-1 latency (median and 95th percentile) and batch throughput of model in eval mode
    on device, on random square images of image_size."""
    model = prepare(model.eval(), device)
    generator = torch.Generator().manual_seed(0)
    single = torch.randn(1, 3, image_size, image_size, generator=generator)
    batch = torch.randn(settings.batch_size, 3, image_size, image_size, generator=generator)
    call_times(model, single, device, settings.warmup_calls)
    latencies = np.array(call_times(model, single, device, settings.latency_calls)) * 1000
    call_times(model, batch, device, 1)
    batch_seconds = sum(call_times(model, batch, device, settings.batch_calls))
    return Speed(
        latency_ms_median=round(float(np.median(latencies)), 3),
        latency_ms_p95=round(float(np.percentile(latencies, 95)), 3),
        throughput_ips=round(settings.batch_size * settings.batch_calls / batch_seconds, 2),
        device=str(device),
        threads=torch.get_num_threads(),
        latency_calls=settings.latency_calls,
        batch_size=settings.batch_size,
    )


@torch.inference_mode()
def call_times(model: nn.Module, inputs: torch.Tensor, device: torch.device, calls: int):
    """Seconds of each of `calls` predictions on inputs, waiting for the device to finish."""
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        for _out in forward_pieces(model, inputs, device):
            pass
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds.append(time.perf_counter() - start)
    return seconds


def count_gflops(model: nn.Module, image_size: int) -> float:
    """GFLOPs of one forward pass of one image, by torch's FlopCounterMode: a multiply-add
    counts as 2 FLOPs (so GMACs are half of this); convolutions and matrix products only,
    the element-wise operations between them are not counted."""
    model.eval()
    inputs = torch.zeros(1, 3, image_size, image_size, device=next(model.parameters()).device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(inputs)
    return counter.get_total_flops() / 1e9


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
